"""The review page's 26-week trend (趋势): the weeks, their figures counted by hand and equal to
``review_figures`` of each week on both backends, ``GET /api/v1/review/trend`` and the section."""

from __future__ import annotations

import json
from datetime import date, timedelta, timezone

import pytest
from pytest import approx
from sqlalchemy import func, select

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all
from data_access.models import Case
from data_access.period import Period
from data_access.review import review_figures
from data_access.review_trends import TREND_COUNTS, TREND_KEYS, TREND_WEEKS, trend_weeks, weekly_figures

from . import review_handbuilt
from .api_seed import FAST_HASHER, PASSWORD, add_users, make_app
from .review_trends_data import (COUNTY, G1, S1, S2, SH, T, T_PARTIAL, WEEK_A, WEEK_B, load_random,
                                 load_trend, scope)

AT = "2026-11-26T10:00:00"
NOVEMBER = Period.month(date(2026, 11, 1), SH)


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def by_week(weeks: list[dict]) -> dict[date, dict]:
    return {row["week"].week.first: row["figures"] for row in weeks}


# --- the weeks -------------------------------------------------------------------------------------

def test_the_weeks_end_with_the_reviewed_week_and_mark_it():
    weeks = trend_weeks(WEEK_B, T)
    assert len(weeks) == TREND_WEEKS == 26
    assert weeks[-1].week == WEEK_B and weeks[0].week.first == date(2026, 5, 25)
    assert all(b.week.first - a.week.first == timedelta(days=7) for a, b in zip(weeks, weeks[1:]))
    assert [w.week.first for w in weeks if w.in_period] == [WEEK_B.first]
    assert not any(w.partial for w in weeks) and weeks[-1].until == WEEK_B.end


def test_a_running_period_ends_with_the_week_of_t_drawn_partial():
    # November 2026 read on Thursday 11-26 10:00: the last week is 11-23 .. 11-29, read to T.
    weeks = trend_weeks(NOVEMBER, T)
    assert weeks[-1].week.first == date(2026, 11, 23) and weeks[-1].partial and weeks[-1].until == T
    assert [w.partial for w in weeks].count(True) == 1
    # Every week touching November is marked: 10-26 .. 11-01 holds 11-01.
    assert [w.week.first for w in weeks if w.in_period] == [date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9),
                                                             date(2026, 11, 16), date(2026, 11, 23)]
    # A whole month whose last day is a Saturday: the week of that day, complete at T.
    october = trend_weeks(Period.month(date(2026, 10, 1), SH), T)
    assert october[-1].week.first == date(2026, 10, 26) and not october[-1].partial


# --- the figures, counted by hand ----------------------------------------------------------------------

@pytest.fixture
def trend(engine):
    load_trend(engine)
    return engine


def pick(figures: dict) -> dict:
    return {k: figures[k] for k in TREND_KEYS + TREND_COUNTS}


def test_two_whole_weeks_have_the_hand_counted_figures(trend):
    with trend.connect() as conn:
        weeks = by_week(weekly_figures(conn, scope(), WEEK_B, T))
    assert pick(weeks[WEEK_A.first]) == dict(
        reported=3, closed=2, on_time_rate=approx(2 / 3), closed_rate=approx(2 / 3), satisfied_rate=0.0,
        return_rate=0.5, overdue_at_end=1, patrol_share=approx(2 / 3), due=3, rated=1, dispatched=2)
    assert pick(weeks[WEEK_B.first]) == dict(
        reported=3, closed=1, on_time_rate=0.25, closed_rate=0.5, satisfied_rate=1.0, return_rate=0.0,
        overdue_at_end=2, patrol_share=approx(1 / 3), due=4, rated=1, dispatched=1)
    # The week before A: only X4's report; nothing due, closed or dispatched (rates NULL, not 0).
    before = weeks[WEEK_A.first - timedelta(days=7)]
    assert pick(before) == dict(reported=1, closed=0, on_time_rate=None, closed_rate=None, satisfied_rate=None,
                                return_rate=None, overdue_at_end=0, patrol_share=0.0, due=0, rated=0, dispatched=0)


def test_the_running_week_is_read_to_t(trend):
    with trend.connect() as conn:
        weeks = weekly_figures(conn, scope(), WEEK_B, T_PARTIAL)
    assert weeks[-1]["week"].partial and weeks[-1]["week"].until == T_PARTIAL
    assert pick(weeks[-1]["figures"]) == dict(
        reported=3, closed=1, on_time_rate=0.0, closed_rate=0.5, satisfied_rate=1.0, return_rate=0.0,
        overdue_at_end=1, patrol_share=approx(1 / 3), due=2, rated=1, dispatched=1)


def test_a_street_counts_only_its_own_cases(trend):
    with trend.connect() as conn:
        s2 = by_week(weekly_figures(conn, scope(S2), WEEK_B, T))[WEEK_B.first]
        s1 = by_week(weekly_figures(conn, scope(S1), WEEK_B, T))[WEEK_B.first]
    # S2 holds X3 and X6 (X7 is unlocated: the county's only; X8 another county's).
    assert (s2["reported"], s2["due"], s2["overdue_at_end"], s2["dispatched"]) == (2, 1, 1, 1)
    assert (s1["reported"], s1["closed"], s1["due"], s1["overdue_at_end"]) == (0, 1, 2, 0)


# --- equal to review_figures, week by week -------------------------------------------------------------

def assert_weeks_equal_review_figures(engine, region: str, period: Period, at) -> int:
    with engine.connect() as conn:
        weeks = weekly_figures(conn, scope(region), period, at)
        compared = 0
        for row in weeks:
            expected = review_figures(conn, scope(region), row["week"].week, at)["region"]["current"]
            got = row["figures"]
            for key in TREND_KEYS + TREND_COUNTS:
                assert got[key] == (approx(expected[key]) if isinstance(expected[key], float) else expected[key]), \
                    (region, row["week"].week.first, key, got[key], expected[key])
            compared += bool(expected["reported"] or expected["due"] or expected["overdue_at_end"])
    return compared


@pytest.mark.parametrize("region", [COUNTY, S2, G1])
def test_every_week_equals_review_figures_on_random_lifecycles(engine, region):
    load_random(engine)
    busy = 0
    for period, at in ((WEEK_B, T), (NOVEMBER, T), (WEEK_B, T_PARTIAL), (Period.week(date(2026, 11, 23), SH), T)):
        busy += assert_weeks_equal_review_figures(engine, region, period, at)
    assert busy > 40  # not vacuous: most weeks hold cases


def test_every_week_equals_review_figures_on_the_review_flow_logs(engine):
    review_handbuilt.load(engine)
    for at in (review_handbuilt.T, review_handbuilt.T_PARTIAL):
        assert assert_weeks_equal_review_figures(engine, COUNTY, review_handbuilt.WEEK, at) >= 2


def test_the_trend_reads_one_statement_per_figure_family(trend):
    """Eight statements for 26 weeks (five figure families, where the history begins, and whether it
    has a flow log: any action at all, then one of the scope's), not 26 x review_figures."""
    from sqlalchemy import event

    statements = []
    with trend.connect() as conn:
        event.listen(conn, "before_cursor_execute", lambda *args: statements.append(args[2]))
        weekly_figures(conn, scope(), WEEK_B, T)
    assert len(statements) == 8


def test_weeks_before_the_first_case_are_no_data_not_zero(trend):
    """A week that ends before the region's first case has no figures (drawn as a gap), the rule the
    headline's comparisons follow; the week holding the first case is read as usual."""
    with trend.connect() as conn:
        weeks = weekly_figures(conn, scope(), WEEK_B, T)
        first = conn.execute(select(func.min(Case.reported_at))).scalar()
    first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
    before = [w for w in weeks if w["week"].until <= first]
    assert before and all(w["before_data"] and set(w["figures"].values()) == {None} for w in before)
    after = [w for w in weeks if w["week"].until > first]
    assert after and not any(w["before_data"] for w in after)
    assert sum(w["figures"]["reported"] for w in after) > 0


# --- the API ---------------------------------------------------------------------------------------------

def api(engine, backend_url):
    load_trend(engine)
    tokens = add_users(engine)
    return make_app(backend_url).test_client(), tokens


def get(client, tokens, url, who="center1"):
    return client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})


def test_the_trend_route_gives_26_weeks_of_figures(engine, backend_url):
    client, tokens = api(engine, backend_url)
    resp = get(client, tokens, f"/api/v1/review/trend?period=week&date=2026-11-18&at={AT}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"region", "name", "at", "period", "figures", "flow_log", "weeks"}
    assert body["flow_log"] is True
    assert (body["region"], body["name"]) == (COUNTY, "太仓市")
    assert body["period"] == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22", "partial": False,
                              "until": "2026-11-23T00:00:00+08:00"}
    assert body["figures"] == list(TREND_KEYS) and len(body["weeks"]) == 26
    last = body["weeks"][-1]
    assert (last["start"], last["end"], last["until"], last["partial"], last["in_period"]) == \
        ("2026-11-16", "2026-11-22", "2026-11-23T00:00:00+08:00", False, True)
    assert last["figures"]["reported"] == 3 and last["figures"]["on_time_rate"] == 0.25
    assert body["weeks"][-2]["figures"]["return_rate"] == 0.5
    # While the month runs, its last week is read to T.
    body = get(client, tokens, f"/api/v1/review/trend?period=month&date=2026-11-01&at={AT}").get_json()
    assert body["weeks"][-1]["partial"] is True and body["weeks"][-1]["until"] == "2026-11-26T10:00:00+08:00"
    assert [w["start"] for w in body["weeks"] if w["in_period"]][0] == "2026-10-26"


def test_the_trend_route_is_scoped_and_validated_like_the_review(engine, backend_url):
    client, tokens = api(engine, backend_url)
    body = get(client, tokens, f"/api/v1/review/trend?period=week&date=2026-11-18&at={AT}", "street_a").get_json()
    assert body["region"] == S1 and body["weeks"][-1]["figures"]["closed"] == 1
    for region in (S2, COUNTY):
        assert get(client, tokens, f"/api/v1/review/trend?region={region}&at={AT}", "street_a").status_code == 403
    for query in ("period=fortnight", "period=week&date=2026-13-01", "period=custom&date=2026-11-01",
                  "period=week&date=2026-11-30", "period=week&date=0001-01-08", "region=12ab", "at=yesterday"):
        resp = get(client, tokens, f"/api/v1/review/trend?{query}" + ("" if "at=" in query else f"&at={AT}"))
        assert resp.status_code == 400 and set(resp.get_json()) == {"error"}, query


def test_the_trend_route_is_in_the_openapi_document():
    from dashboard.web.openapi import openapi_document
    from openapi_spec_validator import validate

    doc = openapi_document()
    validate(doc)
    route = doc["paths"]["/review/trend"]["get"]
    assert [p["name"] for p in route["parameters"]] == [p["name"] for p in doc["paths"]["/review"]["get"]["parameters"]]
    assert {"200", "400", "403"} <= set(route["responses"])


# --- the section -------------------------------------------------------------------------------------

def review_callback(app, client, output: str, search: str):
    from dashboard.app import dash_apps

    dash_app = next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == "/review/")
    key, cb = next((k, cb) for k, cb in dash_app.callback_map.items() if k == f"{output}.children")
    body = {"output": key, "outputs": {"id": output, "property": "children"},
            "inputs": [{**d, "value": search if d["property"] == "search" else None} for d in cb["inputs"]], "state": [],
            "changedPropIds": ["url.search"]}
    resp = client.post("/review/_dash-update-component", json=body)
    return resp.status_code, (resp.get_json(silent=True) or {}).get("response", {}).get(output, {}).get("children")


def test_the_section_draws_small_multiples_of_26_weeks(engine, backend_url):
    load_trend(engine)
    add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="trend-test"), auth=True)
    client = app.server.test_client()
    assert client.post("/login", data={"username": "leader1", "password": PASSWORD}).status_code == 302
    layout = json.dumps(client.get("/review/_dash-layout").get_json(), ensure_ascii=False)
    assert '"review-trend"' in layout and "趋势（近26周）" in layout
    status, children = review_callback(app, client, "review-trend", f"?period=month&date=2026-11-01&at={AT}")
    assert status == 200
    assert children["props"]["data-weeks"] == "26" and children["props"]["data-last"] == "2026-11-23"
    graph = children["props"]["children"][0]["props"]
    assert graph["id"] == "review-trend-graph" and graph["config"]["staticPlot"] is True
    figure = graph["figure"]
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles[0].startswith("上报") and "（截至）" in titles[0] and len(titles) == 8
    assert len(figure["layout"]["shapes"]) == 8  # the period's band in each panel
    # The running week is an open marker of its own trace; the whole weeks stop before it.
    reported = [t for t in figure["data"] if t.get("xaxis") in (None, "x")]
    assert reported[0]["y"][-1] is None and reported[1]["marker"]["symbol"] == "circle-open"
    # A street user's section: its own street's weeks.
    street = app.server.test_client()
    street.post("/login", data={"username": "street_a", "password": PASSWORD})
    status, children = review_callback(app, street, "review-trend", f"?region={S2}&at={AT}")
    assert status == 200 and children["props"]["data-weeks"] == "26"
