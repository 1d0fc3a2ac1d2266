"""Identical panel requests from walls of the same role and region share one serialised answer."""

from __future__ import annotations

import pytest

from callbacks.live import signal as live_signal
from callbacks.live import response_cache
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all
from callbacks.panels import PANEL_OUTPUTS as PANEL_OUTPUTS_
from callbacks.panels import PANEL_STATES

from .api_seed import FAST_HASHER, PASSWORD, add_users

from .wall_fixtures import seed_small_county

PANEL_OUTPUTS = [(o.component_id, o.component_property) for o in PANEL_OUTPUTS_]
SLA_OUTPUT = ".." + "...".join(f"{i}.{p}" for i, p in PANEL_OUTPUTS) + ".."


def panel_body(slow: dict, search: str = "", output: str = SLA_OUTPUT) -> dict:
    return {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in PANEL_OUTPUTS],
        "inputs": [{"id": "live-slow", "property": "data", "value": slow},
                   {"id": "url", "property": "search", "value": search}],
        "changedPropIds": ["live-slow.data"],
        "state": [{"id": state_id, "property": "data", "value": None} for state_id in PANEL_STATES],
    }


@pytest.fixture
def site(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed_small_county(engine)
    add_users(engine)
    response_cache.clear()
    app = create_app(Settings(database_url=backend_url, secret_key="answers-test"), auth=True)
    yield app
    live_signal.forget(backend_url)
    response_cache.clear()
    dispose_all()


def logged_in(app, username: str):
    client = app.server.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_a_second_wall_of_the_same_role_and_region_gets_the_kept_answer(site):
    one, two = logged_in(site, "center1"), logged_in(site, "center1")
    slow = {"v": "not-a-signed-version", "view": "320585|live", "stale": False}
    first = one.post("/_dash-update-component", json=panel_body(slow), headers={"Origin": "http://localhost"})
    assert first.status_code == 200 and "X-Gridwall-Answer" not in first.headers
    second = two.post("/_dash-update-component", json=panel_body(slow), headers={"Origin": "http://localhost"})
    assert second.status_code == 200 and second.headers["X-Gridwall-Answer"] == "shared"
    assert second.get_data() == first.get_data()
    # Security headers are still set on a kept answer.
    assert second.headers["X-Content-Type-Options"] == "nosniff"


def test_answers_are_not_shared_across_roles_regions_or_bodies(site):
    slow = {"v": "x", "view": "320585|live", "stale": False}
    center = logged_in(site, "center1")
    assert center.post("/_dash-update-component", json=panel_body(slow),
                       headers={"Origin": "http://localhost"}).status_code == 200
    for username in ("leader1", "street_a"):
        other = logged_in(site, username).post("/_dash-update-component", json=panel_body(slow),
                                               headers={"Origin": "http://localhost"})
        assert "X-Gridwall-Answer" not in other.headers, username
    changed = center.post("/_dash-update-component", json=panel_body(slow, "?region=320585100"),
                          headers={"Origin": "http://localhost"})
    assert "X-Gridwall-Answer" not in changed.headers
    # Without a session nothing is answered, kept or not.
    anonymous = site.server.test_client().post("/_dash-update-component", json=panel_body(slow),
                                                headers={"Origin": "http://localhost"})
    assert anonymous.status_code == 401


def test_only_live_slow_panels_are_kept(site):
    client = logged_in(site, "center1")
    body = {"output": "trend-data.data", "outputs": {"id": "trend-data", "property": "data"},
            "inputs": [{"id": "slow-tick", "property": "n_intervals", "value": 1},
                       {"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["slow-tick.n_intervals"], "state": []}
    for _ in range(2):
        resp = client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})
        assert "X-Gridwall-Answer" not in resp.headers
