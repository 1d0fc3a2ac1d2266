"""The meeting pack (issue 15 parts 2 and 3) on both backends, built once per backend and read back:
the PDF's text holds the headline figures and every child's name, a table longer than a page repeats
its header on each page it spans, a CJK font is embedded, "第 N 页 / 共 M 页" footers, no concealment
section in a street's pack; the workbook's cells equal the API's values (children, departments,
trend, commitments) with percent formats on rates and frozen headers; the CLI writes both files and
refuses a bad period with exit code 2."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from dashboard.pack import tables as pack_tables
from dashboard.pack.content import comparison_note
from data_access.db import dispose_all, init_db, make_engine
from data_access.scope import Scope

from .api_seed import FAST_HASHER, add_users, make_app
from .conftest import _drop_pg_schema, _pg_schema_engine, pg_schema_url
from .review_handbuilt import COUNTY, S1, S2, T, load

AT = "2026-11-26T10:00:00"
WEEK = f"period=week&date=2026-11-18&at={AT}"
LONG = 70  # commitments: more rows than one A4 landscape page holds


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def packs(request, tmp_path_factory):
    """The hand-built county with 70 commitments, its API, and the packs (leader PDF and XLSX through
    the route, a street's PDF), each made once."""
    from data_access.commitments import create_commitment

    mp = pytest.MonkeyPatch()
    mp.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('pack') / 'gridwall.db'}"
    else:
        schema = f"gwtest_{uuid.uuid4().hex[:12]}"
        _pg_schema_engine(schema).dispose()
        url = pg_schema_url(schema)
    engine = make_engine(url)
    init_db(engine)
    load(engine)
    with engine.begin() as conn:
        for i in range(LONG):
            create_commitment(conn, Scope(COUNTY, COUNTY), {
                "text": f"督办第{i:02d}项：整改背街小巷占道经营", "region_code": S1 if i % 2 else S2,
                "meeting_date": "2026-11-16", "due_date": "2026-11-20" if i < 5 else "2026-12-20"},
                "center1", T - timedelta(days=2))
    tokens = add_users(engine)
    client = make_app(url).test_client()

    def get(path, who="leader1"):
        return client.get(path, headers={"Authorization": f"Bearer {tokens[who]}"})

    pdf = get(f"/api/v1/review/pack?region={COUNTY}&{WEEK}&format=pdf")
    xlsx = get(f"/api/v1/review/pack?region={COUNTY}&{WEEK}&format=xlsx")
    street = get(f"/api/v1/review/pack?{WEEK}&format=pdf", "street_a")
    yield {"url": url, "get": get, "pdf": pdf, "xlsx": xlsx, "street": street, "engine": engine}
    engine.dispose()
    dispose_all()
    mp.undo()
    if schema:
        _drop_pg_schema(schema)


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_the_pdf_holds_the_headline_figures_every_child_and_footers(packs):
    resp = packs["pdf"]
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="gridwall-320585-week-2026-11-16.pdf"')
    assert "filename*=UTF-8''" in disposition and "%E5%A4%AA%E4%BB%93%E5%B8%82" in disposition  # 太仓市
    pages = pages_text(resp.get_data())
    text = "\n".join(pages)
    review = packs["get"](f"/api/v1/review?region={COUNTY}&{WEEK}").get_json()
    cur = review["figures"]["current"]
    assert "太仓市 研判会商材料" in pages[0] and "2026-11-16 至 2026-11-22" in pages[0]
    assert "环比期 2026-11-09 至 2026-11-15" in pages[0] and "同比期 2025-11-16 至 2025-11-22" in pages[0]
    assert "数据截至" in pages[0] and "生成时间" in pages[0]
    headline = next(p for p in pages if "一、核心指标" in p)
    assert f"上报 reported {cur['reported']} " in headline
    assert f"按期结案率 on_time_rate {cur['on_time_rate'] * 100:.1f}%" in headline
    assert f"应结案 due {cur['due']} " in headline
    for child in review["children"]:
        assert child["name"] in text and child["code"] in text
    for section in ("二、下级排名与红黑榜", "三、部门退单与推诿扯皮", "四、热点问题", "五、趋势", "六、预测研判与热点地图",
                    "七、疑似瞒报漏报", "八、督办事项"):
        assert section in text, section
    for n, page in enumerate(pages, start=1):
        assert f"第 {n} 页 / 共 {len(pages)} 页" in page


def test_a_long_table_repeats_its_header_on_every_page_it_spans(packs):
    pages = pages_text(packs["pdf"].get_data())
    header = ("编号", "区域", "事项", "状态", "会议日期", "期限", "逾期天数", "责任单位")
    spanned = [p for p in pages if "督办第" in p]
    assert len(spanned) >= 2, "70 commitments should need more than one page"
    for page in spanned:
        first_row = page.index("督办第")
        assert all(label in page[:first_row] for label in header), page[:first_row]
    text = "\n".join(spanned)
    for i in range(LONG):
        assert f"督办第{i:02d}项" in text  # every row present
    # overdue ones first (due 11-20, before T's date)
    assert text.index("督办第00项") < text.index("督办第05项")


def test_a_cjk_font_is_embedded(packs):
    reader = PdfReader(io.BytesIO(packs["pdf"].get_data()))
    embedded = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts") or [font]
            for d in descendants:
                desc = d.get_object().get("/FontDescriptor")
                if desc is not None and any(k in desc.get_object() for k in ("/FontFile2", "/FontFile3")):
                    embedded.add(str(font["/BaseFont"]))
    assert any("CJK" in name and "Noto" in name for name in embedded), embedded


def test_a_street_pack_has_its_street_only_and_no_concealment_watch(packs):
    resp = packs["street"]
    assert resp.status_code == 200
    text = "\n".join(pages_text(resp.get_data()))
    assert "疑似瞒报漏报" not in text and "八、督办事项" in text
    assert "城厢镇" in text and "沙溪镇" not in text


def test_the_workbook_cells_equal_the_apis_values(packs):
    resp = packs["xlsx"]
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].startswith(
        'attachment; filename="gridwall-320585-week-2026-11-16.xlsx"')
    book = load_workbook(io.BytesIO(resp.get_data()))
    assert book.sheetnames[0] == "说明" and all(len(name) <= 31 for name in book.sheetnames)
    info = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True) if row and row[0]}
    assert info["区域代码"] == COUNTY and info["区域名称"] == "太仓市" and "领导" in info["阅读对象"]
    assert "周 2026-11-16 至 2026-11-22" in info["时段"] and "2026-11-09" in info["环比期"]
    get = packs["get"]
    review = get(f"/api/v1/review?region={COUNTY}&{WEEK}").get_json()

    def rows(sheet):
        ws = book[sheet]
        assert ws.freeze_panes == "A2", sheet
        head = [c.value for c in ws[1]]
        return ws, head, [dict(zip(head, r)) for r in ws.iter_rows(min_row=2)]

    ws, head, kids = rows("下级区域排名")
    by_code = {r["代码"].value: r for r in kids}
    assert set(by_code) == {S1, S2}
    for child in review["children"]:
        row = by_code[child["code"]]
        assert row["名称"].value == child["name"]
        assert row["上报"].value == child["figures"]["reported"] and row["应结案"].value == child["figures"]["due"]
        for label, key in (("按期结案率", "on_time_rate"), ("退单率", "return_rate"), ("满意率", "satisfied_rate")):
            assert row[label].value == child["figures"][key], (label, child["code"])
            if child["figures"][key] is not None:
                assert row[label].number_format == "0.0%"
        assert row["综合得分"].value == child["score"]

    _, _, heads = rows("核心指标")
    cur = {r["代码"].value: r["本期"] for r in heads}
    for key in ("reported", "due", "on_time_rate", "closed_rate", "median_close_hours", "return_rate"):
        assert cur[key].value == review["figures"]["current"][key], key
    assert cur["on_time_rate"].number_format == "0.0%" and isinstance(cur["reported"].value, int)

    _, _, deps = rows("部门退单")
    assert [(r["部门编号"].value, r["部门"].value, r["接收"].value, r["退回"].value, r["退单率"].value) for r in deps] == \
        [(d["org_id"], d["name"], d["received"], d["returned"], d["return_rate"]) for d in review["departments"]]
    _, _, bounced = rows("推诿扯皮")
    assert [(r["案件编号"].value, r["退回次数"].value) for r in bounced] == \
        [(b["code"], b["returns"]) for b in review["bounced"]]

    trend = get(f"/api/v1/review/trend?region={COUNTY}&{WEEK}").get_json()
    _, _, weeks = rows("趋势26周")
    assert len(weeks) == len(trend["weeks"]) == 26
    for row, week in zip(weeks, trend["weeks"]):
        assert row["周起"].value == week["start"]
        assert row["上报"].value == week["figures"]["reported"]
        assert row["按期结案率"].value == week["figures"]["on_time_rate"]

    commitments = get(f"/api/v1/commitments?region={COUNTY}&at={AT}").get_json()
    _, _, items = rows("督办事项")
    assert len(items) == LONG == len(commitments)
    texts = {c["id"]: c["text"] for c in commitments}
    assert all(texts[r["编号"].value] == r["事项"].value for r in items)
    # The agenda's order, as on /review: the five overdue ones first, with their days late.
    assert [r["逾期天数"].value for r in items[:5]] == [6] * 5 and items[5]["逾期天数"].value is None
    assert {texts[r["编号"].value][:6] for r in items[:5]} == {f"督办第0{i}项" for i in range(5)}
    assert "疑似瞒报漏报" in book.sheetnames  # a leader's pack


def test_the_cli_writes_both_files_and_refuses_a_bad_period(packs, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import main
    from dashboard.core.config import get_settings

    monkeypatch.setenv("GRIDWALL_DATABASE_URL", packs["url"])
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        for name in ("pack.xlsx", "pack.pdf"):
            out = tmp_path / name
            result = runner.invoke(main, ["report", "--region", S1, "--period", "week", "--date", "2026-11-18",
                                          "--out", str(out)])
            assert result.exit_code == 0, result.output
            assert str(out) in result.output and out.read_bytes()[:4] in (b"%PDF", b"PK\x03\x04")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf", "pack.xlsx"]  # no temp left
        for args in (["--period", "fortnight", "--date", "2026-11-18"], ["--date", "2026-13-01"],
                     ["--date", "2099-01-01"], ["--period", "custom", "--date", "2026-11-01"]):
            result = runner.invoke(main, ["report", "--region", S1, *args, "--out", str(tmp_path / "x.pdf")])
            assert result.exit_code == 2, (args, result.output)
        result = runner.invoke(main, ["report", "--region", "320599", "--date", "2026-11-18",
                                      "--out", str(tmp_path / "x.pdf")])
        assert result.exit_code == 2 and not (tmp_path / "x.pdf").exists()
    finally:
        get_settings.cache_clear()


def test_a_comparison_before_the_history_is_left_blank_and_the_cover_says_why():
    figs = {"reported": 5, "by_source": {"patrol": 5}}
    review = {"figures": {"current": figs, "previous": figs, "last_year": {"reported": 0, "by_source": {}}},
              "previous": {"start": "2025-12-29", "end": "2026-01-04", "coverage": "full"},
              "last_year": {"start": "2025-01-05", "end": "2025-01-11", "coverage": "none"},
              "data_from": "2025-01-31T23:59:59+08:00"}
    table = pack_tables.headline(SimpleNamespace(review=review))
    reported = next(r for r in table.rows if r["key"] == "reported")
    assert (reported["current"], reported["previous"], reported["last_year"]) == (5, 5, None)
    assert comparison_note(review["last_year"], review) == "（早于数据起点 2025-01-31，不作比较）"
    assert comparison_note(review["previous"], review) == ""
    assert comparison_note({"coverage": "none"}, {"data_from": None}) == "（库中尚无事件，不作比较）"


def test_the_packs_ranking_note_names_the_cases_under_no_child():
    from dashboard.pack.tables import outside_note

    review = {"figures": {"current": {"reported": 7, "due": 5, "overdue_at_end": 2}},
              "children": [{"figures": {"reported": 6, "due": 5, "overdue_at_end": 2}}, {"figures": {"reported": 0}}]}
    assert outside_note(review) == "未落入下级：上报 1 件（无网格，或网格不属于任何下级区域），计入核心指标合计，不参与排名。"
    review["figures"]["current"]["reported"] = 6
    assert outside_note(review) == ""
