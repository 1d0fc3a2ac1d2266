"""Masking of personal data: the pure function, and its one exit point on every outward path
(wall pages, push frames, API JSON, CSV export) on both backends."""

from __future__ import annotations

import ast
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert

from dashboard.core.masking import mask_strings, mask_text
from tests.ast_support import parse_source


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
    # grid codes of the synthetic county whose middle reads as a date (1910-10-01, 1910-02-01 ...)
    "320585101001001", "320585100201001", "320585104012003", "网格320585105101002",
    "320585001001001", "320585002006001",        # street (街道) grids
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


# Formats that passed unmasked before the second security round (issue 12, item 3): each is
# tested here through mask_text and below through every outward path.
NEW_FORMATS = [
    pytest.param("１３８１２３４５６７８", "１３８****５６７８", id="full-width mobile"),
    pytest.param("１３９－１２３４－５６７８", "１３９****５６７８", id="full-width mobile with full-width dashes"),
    pytest.param("137.1234.5678", "137****5678", id="mobile with dots"),
    pytest.param("136-1234-5678", "136****5678", id="mobile with dashes"),
    pytest.param("(0512)53512345", "(0512)****2345", id="landline in parentheses"),
    pytest.param("（0512）53512346", "（0512）****2346", id="landline in full-width parentheses"),
    pytest.param("0512 5351 2347", "0512 ****2347", id="landline in groups"),
    pytest.param("０５１２－５３５１２３４８", "０５１２－****２３４８", id="full-width landline"),
    pytest.param("3205 8519 9001 0112 34", "320* **** **** **12 34", id="ID in groups of four"),
    pytest.param("3205-8519-9001-0112-3X", "320*-****-****-**12-3X", id="ID in groups of four with dashes"),
    pytest.param("３２０５８５１９９００１０１１２３５", "３２０***********１２３５", id="full-width ID"),
    pytest.param("320585850101123", "320*********123", id="15-digit ID"),
    pytest.param("身份证号：320585150101124", "身份证号：320*********124", id="15-digit ID of a holder born 1915, after a cue"),
    pytest.param("6222 0212 3456 7890", "6222 **** **** 7890", id="bank card in groups"),
]


@pytest.mark.parametrize("raw,masked", NEW_FORMATS)
def test_every_format_is_masked(raw, masked):
    assert mask_text(raw) == masked
    assert mask_text(f"联系方式：{raw}。") == f"联系方式：{masked}。"
    assert mask_text(masked) == masked


@pytest.mark.parametrize("text", [
    "320585101001001",              # reads 1910-10-01: a town's grid, not a holder born in 1910
    "320585850231123",              # 1985-02-31 is no date
    "320585851301123",              # nor is month 13
    "2026-11-26 10:00，0512",       # a date and an area code alone
    "共12345678户",                 # eight digits alone are no landline
])
def test_fifteen_digit_and_landline_lookalikes_stay(text):
    assert mask_text(text) == text


def test_every_grid_code_of_the_synthetic_county_stays_visible():
    import numpy as np

    from dashboard.synth.geography import build_geography
    from dashboard.synth.profiles import county_profile

    codes = [str(c) for c in build_geography(county_profile("320585"), np.random.default_rng(7)).table.codes]
    assert len(codes) > 500
    masked = [c for c in codes for text in (c, f"网格{c}发现", f"（{c}）") if mask_text(text) != text]
    assert masked == []


def test_hostile_markup_is_masked_but_not_altered_otherwise():
    # Masking is not escaping: markup stays text for the renderer (and the JSON encoder) to escape.
    text = '<img src=x onerror="alert(13812345678)">居民张三'
    assert mask_text(text) == '<img src=x onerror="alert(138****5678)">居民张*'


# --- one exit point: dashboard.core.outward, on every outward path --------------------------------

def test_outward_masks_free_text_fields_by_name_and_leaves_the_rest():
    from dashboard.core.outward import outward

    row = {"id": 13812345678, "code": "320585-20261126-00001", "grid_code": "320585100001001",
           "title": "居民张三反映，电话13812345678", "address": "东林村8组 苏E12345", "description": None,
           "name": "张三丰村", "reporter": "13812345678",
           "detail": '{"window": "身份证320585199001011234", "observed": 9, "case_ids": [1, 2]}',
           "nested": [{"note": "联系人 李四 电话"}]}
    out = outward(row)
    assert out["title"] == "居民张*反映，电话138****5678" and out["address"] == "东林村8组 苏E***45"
    assert out["nested"] == [{"note": "联系人 李* 电话"}] and out["description"] is None
    # codes, ids, numbers and fields that are not free text stay as they are
    assert {k: out[k] for k in ("id", "code", "grid_code", "name", "reporter")} == \
        {k: row[k] for k in ("id", "code", "grid_code", "name", "reporter")}
    # a JSON detail stays JSON, masked inside; numbers in it stay numbers
    assert json.loads(out["detail"]) == {"window": "身份证320***********1234", "observed": 9, "case_ids": [1, 2]}
    assert outward({"detail": {"who": ["居民张三反映"]}}) == {"detail": {"who": ["居民张*反映"]}}
    assert outward({"detail": "not json 13812345678"}) == {"detail": "not json 138****5678"}
    assert row["title"].endswith("13812345678"), "the argument (maybe a shared cached row) is not changed"


def test_a_free_text_field_nested_too_deep_to_walk_is_masked_as_text():
    from dashboard.core.outward import outward

    deep = "[" * 5000 + '"13812345678"' + "]" * 5000
    assert "13812345678" not in outward({"detail": deep})["detail"]


def _imports(path) -> set[str]:
    tree = parse_source(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_layouts_and_callbacks_do_not_mask_themselves():
    root = Path(__file__).resolve().parent.parent
    files = sorted((root / "layouts").rglob("*.py")) + sorted((root / "callbacks").rglob("*.py"))
    assert files
    offenders = [str(p.relative_to(root)) for p in files
                 if any(n == "dashboard.core.masking" or n.startswith("dashboard.core.masking.") for n in _imports(p))]
    assert offenders == [], "layouts and callbacks get masked rows from dashboard.core.outward"


PHONE, ID_NUMBER = "13812345678", "320585199001011234"
FORMATS = [p.values for p in NEW_FORMATS]  # (raw, masked)
FORMATS_TEXT = "；".join(raw for raw, _ in FORMATS)
PERSONAL_TITLE = f"居民张三反映漏水，电话{PHONE}，身份证{ID_NUMBER}；{FORMATS_TEXT}"
ALERT_TITLE = f"报案人电话{PHONE} 骤增；{FORMATS_TEXT}"
PERSONAL_CODE = "320585-MASK-00001"


@pytest.fixture
def personal_wall(engine, backend_url, monkeypatch):
    """The small county, a fresh overdue case and a new critical alert carrying a phone and an ID number."""
    from callbacks.live import push
    from callbacks.live import signal as live_signal
    from callbacks.live.cache import cache
    from dashboard.app import create_app
    from dashboard.core.config import Settings
    from data_access.models import Alert, Case

    from .test_live_signal import pin_live_signal
    from .wall_fixtures import seed_small_county

    now = datetime.now(timezone.utc)
    seed_small_county(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case).values(
            code=PERSONAL_CODE, title=PERSONAL_TITLE, address=f"东林村8组 {PHONE}", category_code="0101",
            source="resident", urgency="urgent", reported_at=now - timedelta(seconds=5),
            grid_code="320585100001001", status="reported", level="grid",
            resolve_due_at=now - timedelta(days=300), escalations=0, returns=0, reworks=0, urges=0,
            updated_at=now - timedelta(seconds=5)))
        conn.execute(insert(Alert).values(
            created_at=now - timedelta(seconds=30), kind="spike", severity="critical",
            region_code="320585100001", title=ALERT_TITLE,
            detail=json.dumps({"observed": 9, "expected": 2.5, "window": f"身份证{ID_NUMBER}"}),
            status="new", source="gridwall", dedup_key="t-personal"))
    pin_live_signal(monkeypatch)
    monkeypatch.setattr(push, "MIN_GAP_SECONDS", 0.0)
    app = create_app(Settings(database_url=backend_url, secret_key="mask-test"), auth=False)
    with app.server.app_context():
        cache.clear()
    yield app
    live_signal.forget(backend_url)


def _text(value) -> str:
    from plotly.utils import PlotlyJSONEncoder

    return json.dumps(value, cls=PlotlyJSONEncoder, ensure_ascii=False)


def _assert_masked(text: str) -> None:
    assert PHONE not in text and ID_NUMBER not in text
    assert "138****5678" in text and "320***********1234" in text
    for raw, masked in FORMATS:
        assert raw not in text and masked in text, raw


def test_the_wall_pages_show_cases_and_alerts_masked(personal_wall):
    from callbacks import panels, wall

    with personal_wall.server.test_request_context("/"):
        feed, _ = wall.update_stream(1, "", None)
        stream = _text(feed["entries"][PERSONAL_CODE])
        assert mask_text(PERSONAL_TITLE) in stream
        _assert_masked(stream)
        alerts, _total, banner, _view, _digests = panels.update_alerts(None, "", None)
        alert_text = _text(alerts)
        assert mask_text(ALERT_TITLE) in alert_text and "身份证320***********1234" in alert_text
        _assert_masked(alert_text)
        # The header's red banner names the new critical alert by its title: masked as well.
        banner_text = _text(banner)
        assert mask_text(ALERT_TITLE) in banner_text
        assert PHONE not in banner_text and ID_NUMBER not in banner_text
        assert all(raw not in banner_text for raw, _masked in FORMATS)
        board, _total, _digests = panels.update_sla(None, "", None)
        board_text = _text(board)
        assert mask_text(PERSONAL_TITLE) in board_text
        _assert_masked(board_text)


def test_the_api_json_and_csv_export_are_masked(personal_wall, backend_url):
    from .api_seed import make_app

    client = make_app(backend_url, auth=False).test_client()
    cases = client.get("/api/v1/cases")
    assert cases.status_code == 200
    row = next(r for r in cases.get_json() if r["code"] == PERSONAL_CODE)
    assert row["title"] == mask_text(PERSONAL_TITLE) and row["address"] == "东林村8组 138****5678"
    _assert_masked(cases.get_data(as_text=True))

    alerts = client.get("/api/v1/alerts")
    alert = next(a for a in alerts.get_json() if a["title"].startswith("报案人"))
    assert alert["title"] == mask_text(ALERT_TITLE)
    assert alert["detail"] == {"observed": 9, "expected": 2.5, "window": "身份证320***********1234"}
    _assert_masked(alerts.get_data(as_text=True))

    csv_text = client.get("/api/v1/cases?format=csv").get_data(as_text=True)
    line = next(line for line in csv_text.splitlines() if PERSONAL_CODE in line)
    _assert_masked(line)


def test_a_push_frame_carries_the_masked_stream(personal_wall):
    from .test_live_push import EventStream

    resp = personal_wall.server.test_client().get("/live/events", query_string={"search": ""}, buffered=False)
    assert resp.status_code == 200
    events = EventStream(resp)
    try:
        _, frame = events.next("frame")
    finally:
        events.close()
    entry = _text(frame["entries"][PERSONAL_CODE])
    assert mask_text(PERSONAL_TITLE) in entry
    _assert_masked(entry)
