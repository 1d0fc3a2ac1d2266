"""GET /metrics (dashboard/web/metrics.py): the names, bounded labels, access rules, the duties' and push
channel's gauges, and gunicorn's multiprocess mode (several processes, one scrape sums them)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all
from data_access.models import Case

from .api_seed import FAST_HASHER, add_users, seed

REPO = Path(__file__).resolve().parent.parent
UTC = timezone.utc
NAMES = ("gridwall_http_requests_total", "gridwall_http_request_duration_seconds", "gridwall_data_age_seconds",
         "gridwall_walls_connected", "gridwall_push_outbox_depth", "gridwall_push_sent_total",
         "gridwall_duty_last_success_timestamp_seconds")
FLOW_RULE = "/api/v1/cases/<code>/flow"


@pytest.fixture
def county(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed(engine)
    tokens = add_users(engine)
    with engine.begin() as conn:  # the newest change: two minutes ago
        conn.execute(insert(Case).values(code="AGE-1", title="t", category_code="0101", status="handling",
                                         updated_at=datetime.now(UTC) - timedelta(seconds=120)))
    yield {"engine": engine, "url": backend_url, "tokens": tokens}
    dispose_all()


def make(url: str, **overrides):
    return create_app(Settings(database_url=url, secret_key="metrics-test", **overrides), auth=True).server


def samples(text: str) -> list:
    """Every sample of the scrape: (name, labels, value)."""
    return [(s.name, s.labels, s.value) for fam in text_string_to_metric_families(text) for s in fam.samples]


def value(text: str, name: str, **labels) -> float:
    return sum(v for n, lab, v in samples(text) if n == name and all(lab.get(k) == w for k, w in labels.items()))


def test_names_present_and_routes_are_rules_not_paths(county):
    server = make(county["url"])
    client = server.test_client()
    bearer = {"Authorization": f"Bearer {county['tokens']['center1']}"}
    before = client.get("/metrics").get_data(as_text=True)
    for code in ("A-1", "B-1", "NO-SUCH-CASE-XYZ"):
        assert client.get(f"/api/v1/cases/{code}/flow", headers=bearer).status_code in (200, 404)
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/summary").status_code == 401  # refused by the login requirement: counted too
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain" and resp.headers["Cache-Control"] == "no-store"
    text = resp.get_data(as_text=True)
    for name in NAMES:
        assert f"# TYPE {name} " in text, name
    # three different codes, one label value; no code anywhere in the scrape
    flow = value(text, "gridwall_http_requests_total", route=FLOW_RULE, method="GET")
    assert flow - value(before, "gridwall_http_requests_total", route=FLOW_RULE, method="GET") == 3
    assert value(text, "gridwall_http_request_duration_seconds_count", route=FLOW_RULE) >= 3
    for code in ("A-1", "B-1", "XYZ", "center1"):
        assert code not in text, code
    routes = {lab["route"] for n, lab, _ in samples(text) if n == "gridwall_http_requests_total"}
    assert {FLOW_RULE, "/healthz", "/api/v1/summary", "/metrics"} <= routes
    assert all(r == "other" or r.startswith("/") and "/A-" not in r for r in routes), routes
    assert value(text, "gridwall_http_requests_total", route="/api/v1/summary", status="401") >= 1
    # the data's age, read at scrape time: the newest change was two minutes ago
    age = value(text, "gridwall_data_age_seconds")
    assert 100 < age < 600, age
    assert value(text, "gridwall_push_outbox_depth") == 0


def test_push_outbox_depth_is_read_at_scrape_time(county):
    from data_access.push import enqueue

    client = make(county["url"]).test_client()
    now = datetime.now(UTC)
    with county["engine"].begin() as conn:
        enqueue(conn, [(9001, "duty", 0), (9001, "leader", 10), (9002, "duty", 0)], now)
    assert value(client.get("/metrics").get_data(as_text=True), "gridwall_push_outbox_depth") == 3


def test_unknown_route_is_other(county):
    client = make(county["url"]).test_client()
    client.post("/healthz")  # no rule for POST: 405
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "gridwall_http_requests_total", route="other", method="POST", status="405") >= 1


def test_data_age_unknown_when_the_database_is_down():
    server = make("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    text = server.test_client().get("/metrics").get_data(as_text=True)
    assert math.isnan(value(text, "gridwall_data_age_seconds"))


def test_token_required_when_set(county):
    client = make(county["url"], metrics_token="m-token").test_client()
    assert client.get("/metrics").status_code == 401  # loopback is not enough then
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    # a user's API token is not the metrics token
    user = {"Authorization": f"Bearer {county['tokens']['center1']}"}
    assert client.get("/metrics", headers=user).status_code == 403
    remote = {"REMOTE_ADDR": "10.0.0.5"}
    resp = client.get("/metrics", headers={"Authorization": "Bearer m-token"}, environ_base=remote)
    assert resp.status_code == 200 and "gridwall_http_requests_total" in resp.get_data(as_text=True)


def test_loopback_only_without_a_token(county):
    client = make(county["url"]).test_client()
    assert client.get("/metrics").status_code == 200  # no login needed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 403
    # a reverse proxy on this host: the peer is loopback, the caller is not
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.0.0.5"}).status_code == 403
    # a logged-in session does not open it from elsewhere
    assert client.post("/login", data={"username": "center1", "password": "s3cret-密码"}).status_code == 302
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 403


def test_walls_connected_follows_the_push_slots(county):
    from callbacks.live import push

    server = make(county["url"])
    client = server.test_client()
    base = value(client.get("/metrics").get_data(as_text=True), "gridwall_walls_connected")
    with server.test_request_context("/live/events"):
        assert push._take_slot("u", "10.1.1.1") is None
        try:
            assert value(client.get("/metrics").get_data(as_text=True), "gridwall_walls_connected") == base + 1
        finally:
            push._give_slot("u", "10.1.1.1")
    assert value(client.get("/metrics").get_data(as_text=True), "gridwall_walls_connected") == base


def test_duty_success_sets_its_timestamp(county):
    from dashboard.warning.lock import run_loop

    class Held:
        kind = "test"

        def acquire(self):
            return True

        def held(self):
            return True

        def release(self):
            pass

    started = time.time()
    runs = run_loop(county["engine"], tz=Settings(database_url="sqlite://").tz, lock=Held(), max_runs=1, interval=0,
                    run=lambda *_: None, label="packs")
    assert runs == 1
    text = make(county["url"]).test_client().get("/metrics").get_data(as_text=True)
    assert value(text, "gridwall_duty_last_success_timestamp_seconds", duty="packs") >= started - 1


def test_multiprocess_mode_sums_the_workers(tmp_path):
    """Two "workers" count requests and hold a wall each; a third process scrapes: the counts are summed,
    and a worker gunicorn marks dead (child_exit) leaves the live gauge."""
    mp = tmp_path / "prom"
    mp.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(mp)}
    worker = textwrap.dedent("""
        import os
        from dashboard.core.metrics import HTTP_REQUESTS, WALLS_CONNECTED
        HTTP_REQUESTS.labels(route="/healthz", method="GET", status="200").inc(3)
        WALLS_CONNECTED.inc()
        print(os.getpid())
    """)
    pids = [subprocess.run([sys.executable, "-c", worker], env=env, cwd=REPO, capture_output=True, text=True,
                           check=True, timeout=30).stdout.strip() for _ in range(2)]
    scrape = textwrap.dedent(f"""
        import types
        import flask
        from dashboard import gunicorn_conf
        from dashboard.web.metrics import init_metrics
        gunicorn_conf.child_exit(None, types.SimpleNamespace(pid={int(pids[0])}))
        server = flask.Flask("scrape")
        server.config.update(GRIDWALL_DATABASE_URL="sqlite:///{tmp_path / 'none.db'}")
        init_metrics(server)
        resp = server.test_client().get("/metrics")
        assert resp.status_code == 200
        print(resp.get_data(as_text=True))
    """)
    out = subprocess.run([sys.executable, "-c", scrape], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert value(text, "gridwall_http_requests_total", route="/healthz", status="200") == 6
    assert value(text, "gridwall_walls_connected") == 1  # the dead worker's wall is gone
    # the scrape-time gauges are there too (the others appear once some process has written them)
    assert "# TYPE gridwall_data_age_seconds gauge" in text and "# TYPE gridwall_push_outbox_depth gauge" in text
