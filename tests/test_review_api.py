"""``GET /api/v1/review`` on both backends: the interface's shape, the hand-built figures, the children's
scores and ranks (1, 1, 3 and 样本不足), departments, bounced cases, 400 and 403."""

from __future__ import annotations

import pytest
from pytest import approx

from data_access.db import dispose_all

from .api_seed import FAST_HASHER, add_users, make_app
from .review_handbuilt import COUNTY, RANK_ROOT, R1, R2, R3, R4, S1, S2, load, load_ranking

AT = "2026-11-26T10:00:00"
WEEK = f"period=week&date=2026-11-18&at={AT}"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def _client(engine, backend_url, loader, root=None):
    loader(engine)
    tokens = add_users(engine)
    app = make_app(backend_url)
    app.config["GRIDWALL_ROOT"] = root
    return app.test_client(), tokens


def get(client, tokens, url, who="center1"):
    return client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})


def test_a_comparison_before_the_history_says_so_and_keeps_its_exact_figures(engine, backend_url):
    """A window before the scope's first case is "none" (not a week without cases), one that begins
    before it "partial"; the figures stay the contract's counts of what the database holds."""
    client, tokens = _client(engine, backend_url, load)
    body = get(client, tokens, f"/api/v1/review?region={S1}&{WEEK}").get_json()
    assert body["data_from"] == "2025-11-18T09:00:00+08:00"  # K11, S1's first case, inside last year's week
    assert (body["previous"]["coverage"], body["last_year"]["coverage"]) == ("full", "partial")
    assert body["figures"]["last_year"]["reported"] == 1
    body = get(client, tokens, f"/api/v1/review?region={COUNTY}&period=week&date=2026-01-05&at={AT}").get_json()
    assert (body["previous"]["coverage"], body["last_year"]["coverage"]) == ("full", "none")
    assert body["last_year"]["start"] == "2025-01-05" and body["figures"]["last_year"]["reported"] == 0


def test_review_has_the_interface_shape_and_the_hand_counted_figures(engine, backend_url):
    client, tokens = _client(engine, backend_url, load)
    resp = get(client, tokens, f"/api/v1/review?region={COUNTY}&{WEEK}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"region", "name", "at", "period", "previous", "last_year", "data_from", "flow_log", "figures",
                         "children", "departments", "bounced", "score_rules"}
    assert (body["region"], body["name"], body["at"]) == (COUNTY, "太仓市", "2026-11-26T10:00:00+08:00")
    assert body["period"] == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22", "partial": False,
                              "until": "2026-11-23T00:00:00+08:00"}
    assert body["previous"] == {"start": "2026-11-09", "end": "2026-11-15", "until": "2026-11-16T00:00:00+08:00",
                                "coverage": "full"}
    assert body["last_year"] == {"start": "2025-11-16", "end": "2025-11-22", "until": "2025-11-23T00:00:00+08:00",
                                 "coverage": "full"}
    assert body["data_from"] == "2025-01-31T23:59:59+08:00"  # M3, the county's first case
    cur = body["figures"]["current"]
    assert (cur["reported"], cur["due"], cur["on_time_rate"], cur["median_close_hours"]) == (7, 5, approx(0.4), 42.0)
    assert body["figures"]["last_year"]["return_rate"] is None
    assert [c["code"] for c in body["children"]] == [S1, S2]
    s1 = body["children"][0]
    assert set(s1) >= {"code", "name", "level", "figures", "score", "rank", "rank_change", "unranked"}
    assert s1["level"] == "street" and s1["unranked"] is True and s1["rank"] is None  # due 5 < 10
    assert [d["org_id"] for d in body["departments"]] == [1, 2, 4, 3]
    assert [(b["code"], b["returns"]) for b in body["bounced"]] == [("K01", 2), ("K10", 2)]
    assert [r["figure"] for r in body["score_rules"]] == ["on_time_rate", "closed_rate", "satisfied_rate",
                                                          "return_rate", "rework_rate", "reports_per_worker"]
    # reports_per_worker's target: the median over S1 (3 / 2 = ... K01 K04 / 2 workers = 1.0) and S2 (0 / 1).
    assert body["score_rules"][-1] == {"figure": "reports_per_worker", "weight": 15.0, "target": 0.5,
                                       "better": "higher", "target_rule": "siblings_median"}


def test_a_street_user_sees_its_street_and_is_refused_others(engine, backend_url):
    client, tokens = _client(engine, backend_url, load)
    body = get(client, tokens, f"/api/v1/review?{WEEK}", "street_a").get_json()
    assert body["region"] == S1 and body["figures"]["current"]["reported"] == 6
    assert [b["code"] for b in body["bounced"]] == ["K01"]  # K10 is S2's
    assert get(client, tokens, f"/api/v1/review?region={S2}&{WEEK}", "street_a").status_code == 403
    assert get(client, tokens, f"/api/v1/review?region={COUNTY}&{WEEK}", "street_a").status_code == 403


@pytest.mark.parametrize("query", [
    "period=fortnight", "period=week&date=2026-13-01", "period=custom&date=2026-11-01",
    "period=custom&date=2026-01-01&end=2027-01-05", "period=week&date=2026-11-30",  # future at T
    "region=12ab", "at=yesterday"])
def test_malformed_or_future_periods_answer_400(engine, backend_url, query):
    client, tokens = _client(engine, backend_url, load)
    resp = get(client, tokens, f"/api/v1/review?{query}" + ("" if "at=" in query else f"&at={AT}"))
    assert resp.status_code == 400 and set(resp.get_json()) == {"error"}


def test_default_is_the_last_complete_week_and_a_partial_period_says_so(engine, backend_url):
    client, tokens = _client(engine, backend_url, load)
    body = get(client, tokens, f"/api/v1/review?at={AT}").get_json()
    assert (body["period"]["start"], body["period"]["end"], body["period"]["partial"]) == ("2026-11-16", "2026-11-22", False)
    body = get(client, tokens, "/api/v1/review?period=week&date=2026-11-16&at=2026-11-18T12:00").get_json()
    assert body["period"]["partial"] is True and body["previous"]["until"] == "2026-11-11T12:00:00+08:00"
    assert body["figures"]["current"]["reported"] == 3


def test_children_are_scored_and_ranked_1_1_3_with_an_unranked_one(engine, backend_url):
    client, tokens = _client(engine, backend_url, lambda e: (load(e), load_ranking(e)), root=RANK_ROOT)
    body = get(client, tokens, f"/api/v1/review?{WEEK}").get_json()
    assert body["region"] == "320586"
    got = {c["code"]: (c["rank"], c["unranked"], c["rank_change"]) for c in body["children"]}
    assert got == {R1: (1, False, None), R2: (1, False, None), R3: (3, False, None), R4: (None, True, None)}
    # No workers: the discovery part is NULL; no dispatch: return rate NULL; rework 0 -> 1.25.
    full = 100 * (30 * (1 / 0.95) + 15 * (1 / 0.98) + 20 * (1 / 0.95) + 10 * 1.25) / 75
    half = 100 * (30 * (0.5 / 0.95) + 15 * (0.5 / 0.98) + 20 * (1 / 0.95) + 10 * 1.25) / 75
    scores = {c["code"]: c["score"] for c in body["children"]}
    assert scores == {R1: approx(full), R2: approx(full), R3: approx(half), R4: approx(full)}
