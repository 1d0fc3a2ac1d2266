"""Data without a flow log (an imported case export has no ``case_actions``): the figures only a flow
log gives (self-resolved, return, rework and extension rates, urged) are unknown, not 0, on both
backends: null in the API, "—" on the page with a note saying why, left out of the composite score,
absent from the trend, and the departments and bounced-case sections say there is nothing to tell
them from instead of "none this period"."""

from __future__ import annotations

from pytest import approx
from sqlalchemy import delete, select

from data_access.models import Case, CaseAction
from data_access.review import FLOW_FIGURES, flow_log_kept, review_figures
from data_access.review_trends import weekly_figures
from layouts.review_departments import NO_FLOW_LOG
from layouts.review_format import NO_FLOW_LOG as NO_FLOW_LOG_NOTE

from .review_handbuilt import COUNTY, RANK_ROOT, S1, S2, T, WEEK, load, load_ranking, scope
from .test_review_api import WEEK as API_WEEK, _client, get
from .test_review_departments import WEEK_SEARCH, county, login, nodes, post, site, text  # noqa: F401 (fixtures)


def _drop_flow_log(engine, region: str | None = None) -> None:
    """Delete the actions of every case (of ``region``'s cases only, when given)."""
    with engine.begin() as conn:
        stmt = delete(CaseAction)
        if region:
            ids = select(Case.id).where(Case.grid_code.startswith(region))
            stmt = stmt.where(CaseAction.case_id.in_(ids))
        conn.execute(stmt)


def test_without_a_flow_log_the_flow_figures_are_unknown_and_the_others_unchanged(engine):
    load(engine)
    with engine.connect() as conn:
        kept = review_figures(conn, scope(), WEEK, T)
    _drop_flow_log(engine)
    with engine.connect() as conn:
        lost = review_figures(conn, scope(), WEEK, T)
    assert kept["flow_log"] is True and lost["flow_log"] is False
    # With the log, the hand-counted week has returns, a rework, an extension and urges.
    assert kept["region"]["current"]["return_rate"] == approx(2 / 3) and kept["region"]["current"]["urged"] == 1
    for window in ("current", "previous", "last_year"):
        for figures in [lost["region"][window]] + [child[window] for child in lost["children"].values()]:
            assert all(figures[k] is None for k in FLOW_FIGURES), (window, figures)
        others = {k: v for k, v in kept["region"][window].items() if k not in FLOW_FIGURES}
        assert {k: v for k, v in lost["region"][window].items() if k not in FLOW_FIGURES} == others


def test_the_flow_log_is_told_per_scope(engine):
    """A street whose cases have no action has no flow log, while its sibling and the county keep one."""
    load(engine)
    _drop_flow_log(engine, S2)
    with engine.connect() as conn:
        assert [flow_log_kept(conn, scope(r)) for r in (COUNTY, S1, S2)] == [True, True, False]
        assert review_figures(conn, scope(S2), WEEK, T)["region"]["current"]["urged"] is None
        assert review_figures(conn, scope(S1), WEEK, T)["region"]["current"]["urged"] == 1


def test_the_api_says_so_and_the_score_leaves_the_unknown_figures_out(engine, backend_url):
    client, tokens = _client(engine, backend_url, lambda e: (load(e), load_ranking(e)), root=RANK_ROOT)
    url = f"/api/v1/review?{API_WEEK}"
    before = get(client, tokens, url).get_json()
    _drop_flow_log(engine)
    after = get(client, tokens, url).get_json()
    assert (before["flow_log"], after["flow_log"]) == (True, False)
    assert after["figures"]["current"]["return_rate"] is None and after["figures"]["current"]["urged"] is None
    assert before["figures"]["current"]["rework_rate"] == 0
    rules = {r["figure"]: r for r in after["score_rules"]}
    for b, a in zip(before["children"], after["children"]):
        assert a["figures"]["rework_rate"] is None and a["parts"].get("rework_rate") is None
        if a["score"] is None:
            continue
        # The score is the weighted mean of the parts that remain (contract: NULL parts are left out).
        known = {k: v for k, v in a["parts"].items() if v is not None}
        assert set(known) == {"on_time_rate", "closed_rate", "satisfied_rate", "reports_per_worker"} & set(known)
        weight = sum(rules[k]["weight"] for k in known)
        assert a["score"] == approx(100 * sum(rules[k]["weight"] * v for k, v in known.items()) / weight)
        assert b["parts"]["rework_rate"] == approx(1.25)  # a known 0 earns the rule's best part
    assert [c["rank"] for c in after["children"]] == [c["rank"] for c in before["children"]]


def test_the_trend_has_no_return_rate_without_a_flow_log(engine, backend_url):
    from .test_review_trend import AT, api

    client, tokens = api(engine, backend_url)
    _drop_flow_log(engine)
    with engine.connect() as conn:
        weeks = weekly_figures(conn, scope(), WEEK, T)
    assert all(w["figures"]["return_rate"] is None for w in weeks)
    assert any(w["figures"]["dispatched"] for w in weeks)  # the dispatches are known, their returns are not
    body = get(client, tokens, f"/api/v1/review/trend?period=week&date=2026-11-18&at={AT}").get_json()
    assert body["flow_log"] is False and all(w["figures"]["return_rate"] is None for w in body["weeks"])


def test_the_page_says_why_the_flow_figures_are_blank(site, county):
    app, _ = site
    client = login(app, "leader1")
    _, values = post(client, app, "review-compare", WEEK_SEARCH)
    assert NO_FLOW_LOG_NOTE not in text(values["review-compare"]["children"])
    _drop_flow_log(county)
    status, values = post(client, app, "review-compare", WEEK_SEARCH)
    assert status == 200 and NO_FLOW_LOG_NOTE in text(values["review-compare"]["children"])
    headline = nodes(values["review-headline"]["children"], lambda p: "data-figure" in p)
    shown = {row["props"]["data-figure"]: text(row["props"]["children"][1]) for row in headline}
    assert all(shown[k] == "—" for k in FLOW_FIGURES), shown
    assert shown["reported"] != "—"
    _, values = post(client, app, "review-departments", WEEK_SEARCH)
    for section in ("review-departments", "review-bounced"):
        assert text(values[section]["children"]) == NO_FLOW_LOG, section


def test_the_meeting_pack_says_so_on_its_cover(engine, backend_url):
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    from dashboard.pack.content import FLOW_LOG_NOTE

    client, tokens = _client(engine, backend_url, load)
    pack = f"/api/v1/review/pack?region={COUNTY}&{API_WEEK}&format="
    _drop_flow_log(engine)
    pdf = get(client, tokens, pack + "pdf", "leader1")
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages]
    cover = pages[0].replace("\n", "")
    assert "流转记录" in cover and FLOW_LOG_NOTE[:20] in cover
    assert "数据截至 " in pages[0] and "一、核心指标" in pages[1]  # labels unbroken; the cover one page
    book = load_workbook(io.BytesIO(get(client, tokens, pack + "xlsx", "leader1").get_data()))
    info = [tuple(c.value for c in row[:2]) for row in book.worksheets[0].iter_rows()]
    assert ("流转记录", FLOW_LOG_NOTE) in info

