"""Sensitive signs (重大风险苗头): words and categories raise one finding per case."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics import sensitive


def test_words_and_categories():
    frame = pd.DataFrame([
        (1, "C1", "某工地农民工讨薪", "十余名工人聚集在项目部门口", "0803", "320585100001001"),
        (2, "C2", "某小区业主", "扬言要跳楼", "0804", "320585100001002"),
        (3, "C3", "群体性矛盾苗头", None, "0807", None),
        (4, "C4", "暴露垃圾", "垃圾桶满溢，影响市容", "0101", "320585100001003"),
        (5, "C5", None, None, None, None),
    ], columns=["id", "code", "title", "description", "category_code", "grid_code"])
    signs = {s.case_id: s for s in sensitive.find_signs(frame)}
    assert set(signs) == {1, 2, 3}
    assert set(signs[1].themes) == {"wage", "collective"} and not signs[1].by_category
    assert "跳楼" in signs[2].words and "self_harm" in signs[2].themes
    assert signs[3].by_category


def test_the_alert_title_does_not_repeat_a_reason_the_case_title_already_says():
    from dashboard.warning.case_detectors import sensitive_title

    assert sensitive_title("三港村4组重点人员异常动态", "重点人员异常动态") == "重大风险苗头：三港村4组重点人员异常动态"
    assert sensitive_title("杨漕村7组有人扬言跳楼", "跳楼") == "重大风险苗头：杨漕村7组有人扬言跳楼"
    assert sensitive_title("杨漕村7组邻里纠纷", "扬言、报复") == "重大风险苗头：杨漕村7组邻里纠纷（扬言、报复）"
    assert sensitive_title("有人扬言报复邻居", "扬言、报复、持刀") == "重大风险苗头：有人扬言报复邻居（持刀）"
