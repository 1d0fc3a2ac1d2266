"""Masking of personal data in case texts (pure function, no database)."""

from __future__ import annotations

import pytest

from dashboard.core.masking import mask_strings, mask_text


@pytest.mark.parametrize("raw,masked", [
    # mobile numbers, bare and written with separators or a country code
    ("电话13812345678", "电话138****5678"),
    ("联系电话：138-1234-5678。", "联系电话：138****5678。"),
    ("拨打138 1234 5678", "拨打138****5678"),
    ("+8613812345678", "+86138****5678"),
    ("手机19912345678和15000000001", "手机199****5678和150****0001"),
    # landlines
    ("座机0512-53521234", "座机0512-****1234"),
    ("座机025-8765432", "座机025-****5432"),
    # 18-digit resident ID numbers, check character X included
    ("身份证320585199001011234", "身份证320***********1234"),
    ("证件号32058519900101123X。", "证件号320***********123X。"),
    ("32058519900101123x", "320***********123x"),
    # bank cards
    ("卡号6222021234567890123", "卡号6222***********0123"),
    ("6222021234567890", "6222********7890"),
    # licence plates, ordinary, new-energy, with a middle dot, learner
    ("车牌苏E12345违停", "车牌苏E***45违停"),
    ("苏EA12345", "苏E****45"),
    ("苏E·12345", "苏E·***45"),
    ("沪A1234学", "沪A***4学"),
    # e-mail
    ("邮箱zhang.san@example.com", "邮箱z***@example.com"),
    # names after a cue
    ("居民张三反映楼道堆物", "居民张*反映楼道堆物"),
    ("姓名：王小明", "姓名：王**"),
    ("联系人 李四 电话", "联系人 李* 电话"),
    ("投诉人刘德华称噪音扰民", "投诉人刘**称噪音扰民"),
    ("业主欧阳娜娜家漏水", "业主欧阳**家漏水"),
    ("业主欧阳娜家漏水", "业主欧阳*家漏水"),
    ("村民陈一二", "村民陈**"),
])
def test_personal_data_is_masked(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize("text", [
    "网格320585100001003发现占道经营",          # a 15-digit grid code
    "事件320585-20261126-00042已派遣",           # a case code
    "社区320585100001、镇320585100、市320585",   # region codes
    "2026-11-26 10:00 上报",                      # dates and times
    "拨打12345热线",                              # the hotline itself
    "居民张某反映",                               # already anonymised
    "居民李某某投诉",
    "居民楼道堆放杂物",                           # a cue without a name
    "小区内共有住户320户，车位1200个",
    "",
])
def test_codes_and_plain_text_are_left_alone(text):
    assert mask_text(text) == text


def test_none_and_several_items_in_one_text():
    assert mask_text(None) is None
    text = "居民王小明（身份证320585199001011234，电话13812345678）车辆苏E12345占道"
    assert mask_text(text) == "居民王**（身份证320***********1234，电话138****5678）车辆苏E***45占道"


def test_masking_is_idempotent():
    text = "联系人：王小明 13812345678 苏E12345 320585199001011234"
    once = mask_text(text)
    assert mask_text(once) == once


def test_mask_strings_walks_json_values():
    value = {"note": "电话13812345678", "ids": [1, 2], "nested": [{"who": "居民张三反映"}], "n": None}
    assert mask_strings(value) == {"note": "电话138****5678", "ids": [1, 2],
                                   "nested": [{"who": "居民张*反映"}], "n": None}


@pytest.mark.parametrize("number,valid", [
    ("11010519491231002X", True),    # the GB 11643 example
    ("11010519491231002x", True),
    ("110105194912310021", False),   # wrong check character
    ("320585199001011234", False),
    ("32058519900101123", False),    # 17 characters
    ("３２０５８５１９９００１０１１２３４", False),  # full-width digits
])
def test_id_check_character(number, valid):
    from dashboard.core.masking import id18_valid

    assert id18_valid(number) is valid


@pytest.mark.parametrize("raw,masked", [
    # an ID number written in groups is masked when its check character is right ...
    ("身份证 110105 19491231 002X", "身份证 110*** ******** *02X"),
    ("证件110105-19491231-002X。", "证件110***-********-*02X。"),
    # ... and a bare 18-digit number always (a mistyped ID is still personal data)
    ("号码110105194912310021", "号码110***********0021"),
    # names that open a sentence before 反映/投诉/举报/来电
    ("张三反映楼道堆物", "张*反映楼道堆物"),
    ("接报：李小明投诉夜间施工", "接报：李**投诉夜间施工"),
    ("刘德华来电称", "刘**来电称"),
])
def test_more_personal_data_is_masked(raw, masked):
    assert mask_text(raw) == masked


@pytest.mark.parametrize("text", [
    "110105 19491231 0021",                      # grouped digits with a wrong check character
    "车主反映车位被占", "路人反映井盖缺失", "司机投诉路面坑洼", "方便群众反映问题",
    "王某反映", "群众举报",
])
def test_words_that_only_look_like_names_or_ids_stay(text):
    assert mask_text(text) == text


def test_hostile_markup_is_masked_but_not_altered_otherwise():
    # Masking is not escaping: markup stays text for the renderer (and the JSON encoder) to escape.
    text = '<img src=x onerror="alert(13812345678)">居民张三'
    assert mask_text(text) == '<img src=x onerror="alert(138****5678)">居民张*'
