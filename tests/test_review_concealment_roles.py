"""The concealment watch (疑似瞒报漏报) is for roles ``center`` and ``leader`` only, on SQLite and PostgreSQL:
a street user's page has no such section, a forged callback from one is refused (403) before anything is
read, and so is the API route; duty officers and leaders get the flagged communities worded as suspicion."""

from __future__ import annotations

import json

import pytest

from dashboard.app import create_app, dash_apps
from dashboard.core.config import Settings
from data_access.db import dispose_all

from .api_seed import FAST_HASHER, PASSWORD, add_users
from .review_forecast_county import S1, S2, load_alerts, load_channels, load_geography

WEEK = "period=week&date=2026-11-16&at=2026-11-26T10:00:00"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def site(engine, backend_url):
    load_geography(engine)
    load_alerts(engine)
    load_channels(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="watch-test"), auth=True)
    return app, tokens


def login(app, who: str):
    client = app.server.test_client()
    assert client.post("/login", data={"username": who, "password": PASSWORD}).status_code == 302
    return client


def review_app(app):
    return next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == "/review/")


def post_watch(client, app, search: str):
    key, cb = next((k, cb) for k, cb in review_app(app).callback_map.items() if k == "review-concealment.children")
    body = {"output": key, "outputs": {"id": "review-concealment", "property": "children"},
            "inputs": [{**d, "value": search if d["property"] == "search" else None} for d in cb["inputs"]], "state": [],
            "changedPropIds": ["url.search"]}
    return client.post("/review/_dash-update-component", json=body)


def text(resp) -> str:
    return json.dumps(resp.get_json(silent=True), ensure_ascii=False)


def test_a_street_users_page_has_no_concealment_watch(site):
    app, _ = site
    street = login(app, "street_a").get("/review/_dash-layout").get_data(as_text=True)
    assert '"review-concealment"' not in street and "疑似瞒报漏报" not in json.dumps(json.loads(street), ensure_ascii=False)
    assert '"review-forecast"' in street                                          # the forecast is everyone's
    for who in ("center1", "leader1"):
        assert '"review-concealment"' in login(app, who).get("/review/_dash-layout").get_data(as_text=True)


@pytest.mark.parametrize("search", [f"?{WEEK}", f"?region={S1}&{WEEK}", f"?region={S2}&{WEEK}", "", "?region=x"])
def test_a_forged_watch_request_from_a_street_user_is_refused(site, search):
    app, _ = site
    resp = post_watch(login(app, "street_a"), app, search)
    assert resp.status_code == 403
    assert "东林村" not in resp.get_data(as_text=True) and "南郊社区" not in resp.get_data(as_text=True)


def test_duty_officers_and_leaders_see_the_flagged_communities_as_suspicion(site):
    app, _ = site
    for who in ("center1", "leader1"):
        resp = post_watch(login(app, who), app, f"?{WEEK}")
        assert resp.status_code == 200
        shown = text(resp)
        assert "城厢镇东林村" in shown and "城厢镇南郊社区" in shown and "沙溪镇印溪社区" in shown
        assert "疑似瞒报漏报 · 建议核实" in shown and "25%（5/20）" in shown      # C1's patrol share in the week
        assert "与自身以往比" in shown and "已确认" in shown
    narrowed = text(post_watch(login(app, "center1"), app, f"?region={S2}&{WEEK}"))
    assert "沙溪镇印溪社区" in narrowed and "东林村" not in narrowed
    quiet = text(post_watch(login(app, "center1"), app, "?period=week&date=2026-10-05&at=2026-11-26T10:00:00"))
    assert "未标记疑似瞒报漏报" in quiet


def test_the_watch_route_answers_duty_officers_and_leaders_only(site):
    app, tokens = site
    client = app.server.test_client()

    def get(who, query):
        return client.get(f"/api/v1/review/concealment?{query}", headers={"Authorization": f"Bearer {tokens[who]}"})

    for who in ("street_a", "wall_a"):
        for query in (WEEK, f"region={S1}&{WEEK}", f"region={S2}&{WEEK}", "period=bogus"):
            resp = get(who, query)
            assert resp.status_code == 403 and set(resp.get_json()) == {"error"}, (who, query)
    body = get("leader1", WEEK).get_json()
    assert set(body) == {"region", "name", "at", "period", "before_weeks", "wording", "communities"}
    assert [c["name"] for c in body["communities"]] == ["东林村", "印溪社区", "南郊社区"]
    c1 = body["communities"][0]
    assert c1["period"] == {"patrol": 5, "other": 15, "share": 0.25} and c1["peers"]["communities"] == 2
    assert c1["alerts"][0]["created_at"] == "2026-11-10T01:00:00+08:00"
    assert "疑似" in body["wording"] and "建议核实" in body["wording"]
    assert [c["community"] for c in get("center1", f"region={S2}&{WEEK}").get_json()["communities"]] == ["320585101001"]
    assert get("center1", "period=week&date=2026-13-01").status_code == 400
    assert get("center1", "period=week&date=2026-11-30&at=2026-11-26T10:00:00").status_code == 400   # not begun at T
    assert get("center1", "region=3205859").status_code == 400
