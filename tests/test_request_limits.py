"""Requests anyone can send without logging in: too large, too deeply nested, for files that do not
exist, or invalid kiosk links in a loop. Each gets its own 4xx, cheaply, and fills nothing."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from dashboard.app import create_app
from dashboard.core.config import Settings
from dashboard.identity import audit_throttle
from dashboard.identity.audit_throttle import AuditThrottle
from data_access.db import dispose_all, init_db, make_engine
from data_access.models import GwAudit

from .api_seed import FAST_HASHER, PASSWORD, add_users, seed


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def make_site(tmp_path, **overrides):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    add_users(engine)
    app = create_app(Settings(database_url=url, secret_key="limits-test", **overrides), auth=True)
    return app, engine


@pytest.fixture
def site(tmp_path):
    app, engine = make_site(tmp_path)
    yield app, engine
    engine.dispose()


def logged_in(app):
    client = app.server.test_client()
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    return client


# --- request size ----------------------------------------------------------------------------------

def test_a_body_over_the_limit_answers_413_before_authentication_looks_at_it(site, monkeypatch):
    app, _ = site
    client = logged_in(app)  # a session cookie: authentication would look it up in the database
    looked_up = []
    monkeypatch.setattr("dashboard.identity.auth.session_user", lambda: looked_up.append(1))
    big = b"x" * (2 * 1024 * 1024)
    for path in ("/_dash-update-component", "/login", "/api/v1/alerts/1/ack", "/review/_dash-update-component",
                 "/anything"):
        for c in (client, app.server.test_client()):
            resp = c.post(path, data=big, content_type="application/json")
            assert resp.status_code == 413, (path, resp.status_code)
    assert looked_up == []


def test_the_request_limit_is_configurable_and_ordinary_requests_pass(tmp_path):
    app, engine = make_site(tmp_path, max_request_bytes=100_000)
    try:
        assert app.server.config["MAX_CONTENT_LENGTH"] == 100_000
        client = logged_in(app)  # a login form is far below it
        assert client.post("/_dash-update-component", data=b"x" * 100_001,
                           content_type="application/json").status_code == 413
        resp = client.post("/_dash-update-component", data=b"x" * 99_000, content_type="application/json")
        assert resp.status_code == 400  # within the limit: the callback guard answers, not the limit
    finally:
        engine.dispose()
    with pytest.raises(ValueError):
        Settings(database_url="sqlite://", max_request_bytes=1000)


def test_a_chunked_body_is_read_no_further_than_the_limit(site):
    """Without Content-Length the body is read up to the limit only (Werkzeug's LimitedStream); what
    was read is then no callback request (400)."""
    app, _ = site
    client = logged_in(app)

    body = io.BytesIO(b"[" * (2 * 1024 * 1024))  # no Content-Length: read until the stream ends
    resp = client.post("/_dash-update-component", input_stream=body, content_type="application/json",
                       headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code in (400, 413), resp.status_code
    assert body.tell() <= 1024 * 1024 + 65536  # the rest was never read


# --- nesting ---------------------------------------------------------------------------------------

def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def test_deeply_nested_callback_json_answers_400_never_500(site):
    app, _ = site
    client = logged_in(app)
    key = next(k for k in app.callback_map if k == "rotate-regions.data")
    for depth in (100_000, 5_000, 900, 150):
        bodies = [
            nested(depth),
            '{"output": "rotate-regions.data", "inputs": ' + nested(depth) + "}",
            json.dumps({"output": key, "outputs": {"id": "rotate-regions", "property": "data"},
                        "inputs": [{"id": "url", "property": "search", "value": "?rotate=30"}],
                        "state": [], "changedPropIds": ["url.search"]})[:-1] + ', "extra": ' + nested(depth) + "}",
        ]
        for body in bodies:
            resp = client.post("/_dash-update-component", data=body, content_type="application/json")
            assert resp.status_code == 400, (depth, body[:60], resp.status_code, resp.data[:200])
    # a pattern-matching id nested deeply inside changedPropIds (a string Dash parses itself)
    ack = next(k for k in app.callback_map if k.startswith("ack-result.children"))
    trigger = '{"id":' + nested(50_000, "5") + ',"type":"alert-ack"}'
    body = {"output": ack, "outputs": {"id": "ack-result", "property": "children"},
            "inputs": [[{"id": {"id": "5", "type": "alert-ack"}, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "url", "property": "search", "value": ""}],
            "changedPropIds": [trigger + ".n_clicks"]}
    resp = client.post("/_dash-update-component", json=body)
    assert resp.status_code in (204, 400), (resp.status_code, resp.data[:200])
    # the same body, well formed, still works: the guard is not in the way
    ok = {"output": key, "outputs": {"id": "rotate-regions", "property": "data"},
          "inputs": [{"id": "url", "property": "search", "value": "?rotate=30"}], "state": [],
          "changedPropIds": ["url.search"]}
    assert client.post("/_dash-update-component", json=ok).status_code == 200


# --- component files -------------------------------------------------------------------------------

def test_unknown_component_files_answer_404_without_a_login(site):
    app, _ = site
    client = app.server.test_client()
    for path in ("/_dash-component-suites/nonexistent/x.js", "/_dash-component-suites/dash/nothing.js",
                 "/_dash-component-suites/dash/../x.js", "/_dash-component-suites/dash_leaflet/%00.js",
                 "/_dash-component-suites/plotly/package_data/plotly.v9_9_9m1.min.js.map.x"):
        resp = client.get(path)
        assert resp.status_code == 404, (path, resp.status_code, resp.data[:200])
        assert "Traceback" not in resp.get_data(as_text=True)
    real = "/_dash-component-suites/dash/dcc/dash_core_components.v1_0_0m1.js"
    assert client.get(real).status_code == 200


# --- invalid kiosk links ---------------------------------------------------------------------------

def kiosk_failed_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.detail).where(GwAudit.action == "kiosk_failed")).scalars().all()
    return [json.loads(r) if isinstance(r, str) else r for r in rows]


def test_invalid_kiosk_links_are_refused_every_time_and_audited_at_most_once_a_minute(site, monkeypatch):
    app, engine = site
    clock = [1000.0 * 60]
    monkeypatch.setattr(audit_throttle.time, "monotonic", lambda: clock[0])
    client = app.server.test_client()
    for i in range(25):
        assert client.get(f"/kiosk/junk-{i}").status_code == 403
    assert kiosk_failed_rows(engine) == [{"ip": "127.0.0.1"}]
    # many addresses: at most PER_MINUTE rows a minute in all
    for i in range(audit_throttle.PER_MINUTE + 20):
        address = f"10.0.{i // 250}.{i % 250 + 1}"
        assert client.get("/kiosk/junk", environ_base={"REMOTE_ADDR": address}).status_code == 403
    assert len(kiosk_failed_rows(engine)) == audit_throttle.PER_MINUTE
    # a minute later the first address writes again, saying how many refusals were not written
    clock[0] += 61
    assert client.get("/kiosk/junk-again").status_code == 403
    assert kiosk_failed_rows(engine)[-1] == {"ip": "127.0.0.1", "repeats": 24}


def test_audit_throttle_bounds_rows_per_address_and_per_minute():
    throttle = AuditThrottle(per_address_seconds=60, per_minute=3, max_addresses=4)
    t = 600.0
    assert throttle.admit("a", t) == 0
    assert throttle.admit("a", t + 1) is None and throttle.admit("a", t + 59) is None
    assert throttle.admit("b", t + 2) == 0 and throttle.admit("c", t + 3) == 0
    assert throttle.admit("d", t + 4) is None  # the minute's cap
    assert throttle.admit("a", t + 61) == 2  # a new minute; two refusals of "a" were not written
    assert throttle.admit("d", t + 62) == 1
    for i in range(20):  # a flood of addresses: memory stays bounded
        throttle.admit(f"x{i}", t + 130 + i)
    assert len(throttle._last) <= 4 and len(throttle._repeats) <= 4
