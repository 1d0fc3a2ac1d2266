"""Hot issues (热点问题): the exact test and its multiple-comparison guard with literal numbers, the
category counts on both backends (tests/review_trends_data.py), ``GET /api/v1/review/hot-issues``
and the page's section."""

from __future__ import annotations

import json

import pytest
from pytest import approx

from dashboard.analytics.hot_issues import (coverage, find_hot_issues, holm, min_attainable_p, places_with_majors,
                                            rate_ratio, rise_p_value, top_places, window_lengths, with_majors)
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all
from data_access.review_trends import category_counts

from .api_seed import FAST_HASHER, PASSWORD, add_users, make_app
from .review_trends_data import COUNTY, S1, S2, T, T_PARTIAL, WEEK_B, L, load_hot, scope

AT = "2026-11-26T10:00:00"
WEEK = f"period=week&date=2026-11-18&at={AT}"
EQUAL = {"current": 7.0, "previous": 7.0, "last_year": 7.0}

# The hand-built week (tests/review_trends_data.py), exact tails of Binomial(n, 1/2):
P_0101_PREV = 254 / 2 ** 22     # P(X >= 20 | n = 22): 1 + 22 + 231
P_0101_LY = 2048 / 2 ** 23      # P(X >= 20 | n = 23): 1 + 23 + 253 + 1771
P_01_PREV = 122438 / 2 ** 28    # P(X >= 23 | n = 28)
P_01_LY = 2952 / 2 ** 26        # P(X >= 23 | n = 26)


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


# --- the test, pure -----------------------------------------------------------------------------------

def test_the_p_value_is_the_exact_upper_binomial_tail():
    assert rise_p_value(10, 0) == approx(1 / 1024)
    assert rise_p_value(9, 1) == approx(11 / 1024)
    assert rise_p_value(3, 1) == approx(5 / 16)
    assert rise_p_value(20, 2) == approx(P_0101_PREV)
    assert rise_p_value(0, 0) == 1.0
    assert rise_p_value(0, 5) == 1.0  # a fall is no rise
    # Unequal windows: a 2/3 share of the time, both cases in the current window: (2/3)^2.
    assert rise_p_value(2, 0, 2 / 3) == approx(4 / 9)


def test_the_ratio_is_per_unit_of_time():
    assert rate_ratio(30, 10) == 3.0
    assert rate_ratio(31, 30, 31 / 61) == approx(1.0)  # a 31-day month against a 30-day one
    assert rate_ratio(5, 0) is None


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm({"a": 0.001, "b": 0.004, "c": 0.02}) == {"a": approx(0.003), "b": approx(0.008), "c": approx(0.02)}
    assert holm({"a": 0.01, "b": 0.011, "c": 0.5}) == {"a": approx(0.03), "b": approx(0.03), "c": approx(0.5)}
    assert holm({"a": 0.6, "b": 0.7}) == {"a": 1.0, "b": 1.0}


def test_a_test_that_cannot_reach_the_threshold_is_left_out_of_the_family():
    assert min_attainable_p(7) == approx(1 / 128) and min_attainable_p(6) == approx(1 / 64)
    # 6 against 0: p = 1/64 at best, never below 0.01; 7 against 0 can be.
    found = find_hot_issues({"0101": [6, 0, 0], "0201": [7, 0, 0]}, {}, EQUAL)
    assert found.tests == 4  # 0201 and its major 02, each against both comparisons
    row = {issue.code: issue.to_dict() for issue in find_hot_issues({"0101": [6, 0, 0]}, {}, EQUAL).issues}
    assert row == {}


def test_majors_are_the_sums_of_their_minors():
    assert with_majors({"0101": [3, 1, 0], "0102": [2, 2, 2], "02": [1, 0, 0], "0201": [4, 0, 1]}) == {
        "0101": [3, 1, 0], "0102": [2, 2, 2], "01": [5, 3, 2], "02": [5, 0, 1], "0201": [4, 0, 1]}
    assert places_with_majors({"0101": {"A": 2}, "0102": {"A": 1, "B": 4}}) == {
        "0101": {"A": 2}, "0102": {"A": 1, "B": 4}, "01": {"A": 3, "B": 4}}


def test_places_are_the_top_three_by_count_with_their_share():
    assert top_places({"B": 5, "A": 5, "C": 2, "D": 8, "E": 0}, 20) == [
        {"code": "D", "count": 8, "share": 0.4}, {"code": "A", "count": 5, "share": 0.25},
        {"code": "B", "count": 5, "share": 0.25}]


def test_the_hand_built_week_lists_the_major_and_the_minor_that_rose():
    counts = {"0101": [20, 2, 3], "0102": [3, 3, 0], "0201": [1, 0, 0]}
    places = {"0101": {S1: 14, S2: 6}, "0102": {S2: 3}}
    found = find_hot_issues(counts, places, EQUAL)
    # In the family: 0101 and 01 against both (n >= 7); 0102 (n = 6, 3) and 02 / 0201 (n = 1) cannot reach 0.01.
    assert found.tests == 4
    # Holm over 4: 01-ly x4, 0101-prev x3, 0101-ly x2, 01-prev x1 (raised to the running maximum).
    assert [issue.to_dict() for issue in found.issues] == [
        {"category_code": "01", "level": "major", "current": 23,
         "previous": {"count": 5, "ratio": approx(4.6), "p_value": approx(P_01_PREV),
                      "p_adjusted": approx(2 * P_0101_LY), "significant": True, "covered": True},
         "last_year": {"count": 3, "ratio": approx(23 / 3), "p_value": approx(P_01_LY),
                       "p_adjusted": approx(4 * P_01_LY), "significant": True, "covered": True},
         "places": [{"code": S1, "count": 14, "share": approx(14 / 23)},
                    {"code": S2, "count": 9, "share": approx(9 / 23)}]},
        {"category_code": "0101", "level": "minor", "current": 20,
         "previous": {"count": 2, "ratio": 10.0, "p_value": approx(P_0101_PREV),
                      "p_adjusted": approx(3 * P_0101_PREV), "significant": True, "covered": True},
         "last_year": {"count": 3, "ratio": approx(20 / 3), "p_value": approx(P_0101_LY),
                       "p_adjusted": approx(2 * P_0101_LY), "significant": True, "covered": True},
         "places": [{"code": S1, "count": 14, "share": 0.7}, {"code": S2, "count": 6, "share": 0.3}]},
    ]


def test_a_raw_p_below_001_is_not_listed_when_the_family_lifts_it_above():
    # 0101: 10 against 0 (p = 1/1024) among 12 flat minors of 03: 30 tests, 30/1024 > 0.01.
    counts = {"0101": [10, 0, 5], **{f"03{k:02d}": [7, 7, 7] for k in range(1, 13)}}
    found = find_hot_issues(counts, {}, EQUAL)
    assert found.tests == 30 and found.issues == []
    # Alone, the same rise is listed (its major 01 is the same test: a family of 4).
    alone = find_hot_issues({"0101": [10, 0, 5]}, {}, EQUAL)
    assert [issue.code for issue in alone.issues] == ["01", "0101"]
    assert alone.issues[1].comparisons["previous"].p_adjusted == approx(4 / 1024)
    assert alone.issues[1].comparisons["last_year"].significant is False  # 10 against 5: p = 0.15


def test_a_comparison_before_the_history_starts_is_not_tested():
    windows = {"current": (L("11-16 00:00"), L("11-23 00:00")), "previous": (L("11-09 00:00"), L("11-16 00:00")),
               "last_year": (L("2025-11-16 00:00"), L("2025-11-23 00:00"))}
    assert coverage(windows, L("2025-11-16 00:00")) == {"previous": True, "last_year": True}
    assert coverage(windows, L("2025-11-16 00:01")) == {"previous": True, "last_year": False}
    assert coverage(windows, None) == {"previous": False, "last_year": False}
    # 0101 against an empty year before the data starts: no rise, and not in the family.
    found = find_hot_issues({"0101": [20, 18, 0]}, {}, EQUAL, covered={"previous": True, "last_year": False})
    assert found.tests == 2 and found.issues == []  # 0101 and 01 against the previous week only
    listed = find_hot_issues({"0101": [20, 2, 0]}, {}, EQUAL, covered={"previous": True, "last_year": False})
    last_year = listed.issues[0].to_dict()["last_year"]
    assert last_year == {"count": 0, "ratio": None, "p_value": None, "p_adjusted": None, "significant": False,
                         "covered": False}


def test_no_issue_when_a_window_is_empty():
    assert find_hot_issues({"0101": [50, 0, 0]}, {}, {"current": 0.0, "previous": 7.0, "last_year": 7.0}).issues == []


# --- the counts, both backends ---------------------------------------------------------------------------

@pytest.fixture
def hot(engine):
    load_hot(engine)
    return engine


def test_category_counts_of_the_hand_built_week(hot):
    with hot.connect() as conn:
        data = category_counts(conn, scope(), WEEK_B, T)
        street = category_counts(conn, scope(S1), WEEK_B, T)
    assert data["counts"] == {"0101": [20, 2, 3], "0102": [3, 3, 0], "0201": [1, 0, 0]}
    assert data["places"] == {"0101": {S1: 14, S2: 6}, "0102": {S2: 3}}  # 0201 is unlocated: no place
    assert data["since"] == L("2024-06-03 08:00")
    assert window_lengths(data["windows"]) == {"current": 7 * 86400.0, "previous": 7 * 86400.0,
                                               "last_year": 7 * 86400.0}
    # A street: its own cases; its places are its communities.
    assert street["counts"] == {"0101": [14, 2, 0], "0102": [0, 3, 0]}
    assert street["places"] == {"0101": {"320585100001": 14}}


def test_a_partial_week_is_counted_like_for_like(hot):
    # At Wed 11-18 12:00: B to that moment (0101: S1's 14 on 11-17, S2's first 4 from 11-18 08:00);
    # A to Wed 11-11 12:00 (0101's two on 11-10); last year to 2025-11-18 12:00 (none: 11-19).
    with hot.connect() as conn:
        data = category_counts(conn, scope(), WEEK_B, T_PARTIAL)
    assert data["counts"] == {"0101": [18, 2, 0]}  # 0102's cases fall after each cut
    assert len({v for v in window_lengths(data["windows"]).values()}) == 1


# --- the API ---------------------------------------------------------------------------------------------

def api(engine, backend_url):
    load_hot(engine)
    tokens = add_users(engine)
    return make_app(backend_url).test_client(), tokens


def get(client, tokens, url, who="center1"):
    return client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})


def test_the_route_lists_the_significant_rises_with_counts_and_places(engine, backend_url):
    client, tokens = api(engine, backend_url)
    resp = get(client, tokens, f"/api/v1/review/hot-issues?region={COUNTY}&{WEEK}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"region", "name", "at", "period", "previous", "last_year", "test", "hot_issues"}
    assert body["period"] == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22", "partial": False,
                              "until": "2026-11-23T00:00:00+08:00"}
    assert body["last_year"] == {"start": "2025-11-16", "end": "2025-11-22", "until": "2025-11-23T00:00:00+08:00"}
    assert body["test"] == {"method": "exact conditional binomial, one-sided (rise)", "adjustment": "holm",
                            "alpha": 0.01, "tests": 4}
    first, second = body["hot_issues"]
    assert (first["category_code"], first["name"], first["level"], first["current"]) == ("01", "市容环境", "major", 23)
    assert (first["previous"]["count"], first["last_year"]["count"]) == (5, 3)
    assert first["last_year"]["p_value"] == approx(P_01_LY) and first["last_year"]["p_adjusted"] == approx(4 * P_01_LY)
    assert first["places"] == [{"code": S1, "name": "城厢镇", "count": 14, "share": approx(14 / 23)},
                               {"code": S2, "name": "沙溪镇", "count": 9, "share": approx(9 / 23)}]
    assert (second["category_code"], second["name"], second["previous"]["ratio"]) == ("0101", "暴露垃圾", 10.0)


def test_the_route_is_scoped_and_validated_like_the_review(engine, backend_url):
    client, tokens = api(engine, backend_url)
    body = get(client, tokens, f"/api/v1/review/hot-issues?{WEEK}", "street_a").get_json()
    # S1 alone: 0101 14 against 2 and 0 (p = 137/65536 and 1/16384); 01 14 against 5 is not enough.
    assert body["region"] == S1 and body["test"]["tests"] == 4
    assert [(i["category_code"], i["current"]) for i in body["hot_issues"]] == [("01", 14), ("0101", 14)]
    assert body["hot_issues"][0]["places"] == [{"code": "320585100001", "name": "东林村", "count": 14, "share": 1.0}]
    for region in (S2, COUNTY):
        assert get(client, tokens, f"/api/v1/review/hot-issues?region={region}&{WEEK}", "street_a").status_code == 403
    for query in ("period=fortnight", "period=week&date=2026-13-01", "period=custom&date=2026-11-01",
                  "period=custom&date=2026-01-01&end=2027-01-05", "period=week&date=2026-11-30",
                  "period=week&date=0001-01-08", "region=12ab", "at=yesterday"):
        resp = get(client, tokens, f"/api/v1/review/hot-issues?{query}" + ("" if "at=" in query else f"&at={AT}"))
        assert resp.status_code == 400 and set(resp.get_json()) == {"error"}, query


def test_the_route_is_in_the_openapi_document():
    from dashboard.web.openapi import openapi_document
    from openapi_spec_validator import validate

    doc = openapi_document()
    validate(doc)
    route = doc["paths"]["/review/hot-issues"]["get"]
    assert [p["name"] for p in route["parameters"]] == ["region", "period", "date", "end", "at"]
    schema = route["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/HotIssues"}


# --- the section -------------------------------------------------------------------------------------

def section(app, client, search: str):
    from dashboard.app import dash_apps

    dash_app = next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == "/review/")
    cb = dash_app.callback_map["review-hot-issues.children"]
    body = {"output": "review-hot-issues.children", "outputs": {"id": "review-hot-issues", "property": "children"},
            "inputs": [{**d, "value": search if d["property"] == "search" else None} for d in cb["inputs"]], "state": [],
            "changedPropIds": ["url.search"]}
    resp = client.post("/review/_dash-update-component", json=body)
    return resp.status_code, (resp.get_json(silent=True) or {}).get("response", {}).get("review-hot-issues", {})


def rows_of(children) -> list[dict]:
    """The table rows (their props) of the section's answer."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if node.get("type") == "Tr" and "data-category" in props:
                found.append(props)
            walk(props.get("children"))
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(children)
    return found


def test_the_section_shows_the_hot_issues_with_names_and_places(engine, backend_url):
    load_hot(engine)
    add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="hot-test"), auth=True)
    client = app.server.test_client()
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    layout = json.dumps(client.get("/review/_dash-layout").get_json(), ensure_ascii=False)
    assert '"review-hot-issues"' in layout and "热点问题" in layout
    status, values = section(app, client, f"?{WEEK}")
    text = json.dumps(values, ensure_ascii=False)
    assert status == 200
    assert [(r["data-category"], r["data-level"]) for r in rows_of(values["children"])] == [("01", "major"),
                                                                                             ("0101", "minor")]
    assert "市容环境" in text and "暴露垃圾" in text and "城厢镇 14（61%）" in text and "沙溪镇 6（30%）" in text
    assert "▲ 0.0002" in text and "共检验 4 项" in text  # 0101 against the previous week: 3 x 254/2^22
    assert "10.0倍" not in text  # 20 against 2: no ratio on a count under 10
    assert "基数" in text  # the note: no ratio on a comparison count under 10
    # A quiet period: the empty state says so.
    status, values = section(app, client, f"?period=week&date=2026-10-14&at={AT}")
    assert status == 200 and "本期没有显著上升的类别" in json.dumps(values, ensure_ascii=False)
