"""Response headers: a CSP Dash runs under with no external origin, no server banner, no caching of data,
cross-site posts refused, forged callback bodies answered 400 (never 500)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all, init_db, make_engine

from .api_seed import FAST_HASHER, PASSWORD, add_users, seed

REPO = Path(__file__).resolve().parent.parent
HTML = {"Accept": "text/html"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    tokens = add_users(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key="headers-test"), auth=True)
    return app, tokens, url


def policy(resp) -> dict[str, list[str]]:
    header = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def logged_in(app, who="center1"):
    client = app.server.test_client()
    assert client.post("/login", data={"username": who, "password": PASSWORD}).status_code == 302
    return client


def test_every_response_has_the_headers_and_no_banner(site):
    app, tokens, _ = site
    client = logged_in(app)
    bearer = {"Authorization": f"Bearer {tokens['center1']}"}
    responses = [client.get("/login"), client.get("/", headers=HTML), client.get("/_dash-layout"),
                 client.get("/healthz"), client.get("/api/v1/summary", headers=bearer),
                 client.get("/api/v1/nothing"), client.get("/assets/gridwall.js"),
                 app.server.test_client().get("/", headers=HTML)]
    for resp in responses:
        csp = policy(resp)
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'self'"] and csp["base-uri"] == ["'self'"]
        assert "'unsafe-eval'" not in csp["script-src"] and "'unsafe-inline'" not in csp["script-src"]
        sources = [s for values in csp.values() for s in values]
        # no external origin anywhere: only keywords, hashes and data:/blob:
        assert all(s.startswith("'") or s in ("data:", "blob:") for s in sources), sources
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert "Server" not in resp.headers
    data = [client.get("/api/v1/summary", headers=bearer), client.get("/login"), client.get("/_dash-layout")]
    assert all(r.headers["Cache-Control"] == "no-store" for r in data)


def test_inline_scripts_of_the_page_are_exactly_the_hashed_ones(site):
    app, _, _ = site
    resp = logged_in(app).get("/", headers=HTML)
    page = resp.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", page, re.S)
    executable = [body for attrs, body in inline if "application/json" not in attrs]
    assert executable, "Dash bootstraps its renderer with an inline script"
    allowed = set(policy(resp)["script-src"])
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed
    assert all(src.startswith("/") and not src.startswith("//") for src in re.findall(r'src="([^"]+)"', page))


def test_cross_site_posts_are_refused(site):
    app, tokens, _ = site
    client = logged_in(app)
    evil = {"Origin": "http://evil.example"}
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}, headers=evil).status_code == 403
    assert client.post("/logout", headers={"Origin": "null"}).status_code == 403
    assert client.post("/api/v1/alerts/1/ack", headers={"Referer": "http://evil.example/x"}).status_code == 403
    assert client.post("/_dash-update-component", json={}, headers=evil).status_code == 403
    # same origin, and bearer-token clients (a browser never attaches those by itself), pass
    same = {"Origin": "http://localhost"}
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}, headers=same).status_code == 302
    bearer = {"Authorization": f"Bearer {tokens['center1']}", **evil}
    assert client.post("/api/v1/alerts/999/ack", headers=bearer).status_code == 404


GARBAGE = [
    b"not json", b"[]", b"null", b'"x"', b"{}", b'{"output": 5}', b'{"output": "nope.children"}',
    b'{"output": "clock.children", "outputs": {"id": "clock", "property": "children"}, "inputs": []}',
    b'{"output": "..stream-feed.data...stream-state.data..", "outputs": [], "inputs": "x"}',
    b'{"output": "..stream-feed.data...stream-state.data..", "outputs": [], "inputs": [], "state": []}',
]


def test_forged_callback_bodies_answer_400_never_500(site):
    app, _, _ = site
    client = logged_in(app)
    for body in GARBAGE:
        resp = client.post("/_dash-update-component", data=body, content_type="application/json")
        assert resp.status_code == 400, (body, resp.status_code, resp.data[:200])
        assert resp.get_json()["error"]
    # well-formed, but values of the wrong type for every input
    # the callback that answers the case stream (the wall tick), whatever else it outputs
    key = next(k for k in app.callback_map if "stream-feed.data" in k)
    stream = app.callback_map[key]
    outputs = [dict(zip(("id", "property"), part.rsplit(".", 1))) for part in key.strip(".").split("...")]
    for value in ("abc", {"x": 1}, [1, 2], 10 ** 30, -1):
        body = {
            "output": key,
            "outputs": outputs,
            "inputs": [{"id": d["id"], "property": d["property"], "value": value} for d in stream["inputs"]],
            "state": [{"id": d["id"], "property": d["property"], "value": value} for d in stream["state"]],
            "changedPropIds": ["tick.n_intervals"],
        }
        resp = client.post("/_dash-update-component", json=body)
        assert resp.status_code in (200, 204, 400), (value, resp.status_code, resp.data[:300])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_headers(port: int, path: str = "/login", deadline: float = 30.0) -> dict[str, str]:
    """GET through a real socket; waits for the server to come up."""
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                return {k.lower(): v for k, v in resp.headers.items()}
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_waitress_sends_no_server_banner(site, monkeypatch):
    import waitress

    from dashboard import cli

    app, _, _ = site
    seen = {}
    monkeypatch.setattr(waitress, "serve", lambda server, **kw: seen.update(kw))
    cli._serve(app.server, "127.0.0.1", 1)
    server = waitress.create_server(app.server, host="127.0.0.1", port=free_port(),
                                    **{k: v for k, v in seen.items() if k not in ("host", "port", "_quiet")})
    port = server.effective_port
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        headers = raw_headers(port)
    finally:
        server.close()
    assert seen["ident"] is None
    assert "server" not in headers and "content-security-policy" in headers


def test_gunicorn_with_its_config_sends_no_server_banner(tmp_path):
    url = f"sqlite:///{tmp_path / 'g.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "GRIDWALL_DATABASE_URL": url, "GRIDWALL_SECRET_KEY": "g", "GRIDWALL_VAR_DIR": str(tmp_path),
           "GRIDWALL_WORKERS": "1", "GRIDWALL_THREADS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:dashboard.gunicorn_conf",
                             "--bind", f"127.0.0.1:{port}", "dashboard.wsgi:server"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        headers = raw_headers(port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "server" not in headers, headers
    assert "content-security-policy" in headers


@pytest.mark.browser
def test_the_wall_runs_under_its_policy_after_a_real_login(dash_duo, site):
    """Headless Chromium: login form, then the wall with live figures, and not one CSP violation."""
    app, _, _ = site
    dash_duo.server(app, port=free_port())  # not start_server: the first page is the login form
    dash_duo.driver.get(dash_duo.server.url + "/")
    dash_duo.wait_for_element("#login-form")
    dash_duo.find_element("#username").send_keys("street_a")
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#case-stream", timeout=15)
    dash_duo.wait_for_contains_text("#breadcrumb", "城厢镇", timeout=15)
    assert dash_duo.find_element("#kpi-open").text.isdigit()
    logs = dash_duo.driver.get_log("browser")
    violations = [entry["message"] for entry in logs if "Content Security Policy" in entry["message"]]
    assert violations == []
    assert dash_duo.get_logs() == []
