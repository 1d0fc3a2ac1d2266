"""The deployment of docs/deploy.md, end to end (issue 16 §4): gunicorn with two workers, Redis, and one
`gridwall worker` process with every duty, on PostgreSQL, against fake WeCom and DingTalk robots.

It proves that an alert written by another system reaches the duty robot; that acknowledging one
critical alert through the API (answered by gunicorn) stops its escalation while its unacknowledged twin
escalates to the leaders' robot once; and that ``/metrics`` sums the processes (requests answered by
both gunicorn workers, the worker's sends and duty runs).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from data_access.db import init_db, make_engine
from data_access.push import enabled_since

from .api_seed import FAST_HASHER, add_users, seed
from .conftest import REDIS_URL, _drop_pg_schema, _pg_schema_engine, pg_schema_url
from .push_support import DING_SECRET, FakeRobot, add_alert

UTC = timezone.utc
REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def http(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None, ""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    schema = f"gwdeploy_{os.getpid()}_{int(time.time())}"
    _pg_schema_engine(schema).dispose()
    url = pg_schema_url(schema)
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    tokens = add_users(engine)
    with engine.begin() as conn:  # push was enabled ten minutes ago (the alerts below are newer)
        enabled_since(conn, datetime.now(UTC) - timedelta(minutes=10))
    processes = []
    with FakeRobot("wecom") as duty, FakeRobot("dingtalk", secret=DING_SECRET) as leader:
        port = free_port()
        metrics_dir = tmp_path / "metrics"
        metrics_dir.mkdir()
        config = tmp_path / "gridwall.toml"
        config.write_text(f"""
[packs]
enabled = false

[push]
poll_seconds = 0.5

[[push.channel]]
name = "county-duty"
kind = "wecom"
url = "{duty.url}"

[[push.channel]]
name = "county-leader"
kind = "dingtalk"
url = "{leader.url}"
secret = "{DING_SECRET}"

[[push.route]]
region = "320585"
min_severity = "warning"
channels = ["county-duty"]
escalate_after_min = 1
escalate_to = ["county-leader"]
""")
        env = {**os.environ, "GRIDWALL_CONFIG": str(config), "GRIDWALL_DATABASE_URL": url,
               "GRIDWALL_REDIS_URL": REDIS_URL, "GRIDWALL_SECRET_KEY": "deploy-test", "GRIDWALL_ROOT": "320585",
               "GRIDWALL_BIND": f"127.0.0.1:{port}", "GRIDWALL_WORKERS": "2", "GRIDWALL_THREADS": "8",
               "GRIDWALL_PUBLIC_URL": f"http://127.0.0.1:{port}", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
               "GRIDWALL_VAR_DIR": str(tmp_path / "var")}
        env.pop("GRIDWALL_METRICS_TOKEN", None)
        logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker")}
        processes.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "python:dashboard.gunicorn_conf", "dashboard.wsgi:server"],
            cwd=REPO, env=env, stdout=logs["web"], stderr=subprocess.STDOUT))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "worker", "--interval", "5"],
            cwd=REPO, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: http(base + "/healthz")[0] == 200, 90,
                     "gunicorn did not answer /healthz: " + (tmp_path / "web.log").read_text()[-2000:])
            yield {"base": base, "engine": engine, "tokens": tokens, "duty": duty, "leader": leader, "tmp": tmp_path}
        finally:
            for proc in processes:
                proc.terminate()
            for proc in processes:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for f in logs.values():
                f.close()
            engine.dispose()
            _drop_pg_schema(schema)
            shutil.rmtree(metrics_dir, ignore_errors=True)


def test_gunicorn_and_a_worker_push_escalate_stop_on_acknowledgement_and_expose_metrics(site):
    base, engine, duty, leader = site["base"], site["engine"], site["duty"], site["leader"]
    now = datetime.now(UTC)
    # Two critical alerts from another system, 50 s old: pushed at once, escalated 10 s from now.
    acked = add_alert(engine, created_at=now - timedelta(seconds=50), severity="critical", kind="external",
                      source="other-system", title="消防 烟感报警 · 城厢镇", dedup_key="deploy-acked")
    left = add_alert(engine, created_at=now - timedelta(seconds=50), severity="critical", kind="external",
                     source="other-system", title="消防 烟感报警 · 城厢镇 二", dedup_key="deploy-left")
    wait_for(lambda: {acked, left} <= set(duty.alert_ids()), 30,
             "the duty robot did not get both alerts: " + (site["tmp"] / "worker.log").read_text()[-3000:])
    token = site["tokens"]["center1"]
    status, body = http(f"{base}/api/v1/alerts/{acked}/ack", method="POST", body=b'{"disposition": "confirmed"}',
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert status == 200, body
    wait_for(lambda: left in leader.alert_ids(), 40,
             "the unacknowledged alert did not escalate: " + (site["tmp"] / "worker.log").read_text()[-3000:])
    time.sleep(3)  # several dispatcher passes after the escalation was due
    assert acked not in leader.alert_ids()  # acknowledging stopped its ladder
    assert leader.alert_ids().count(left) == 1 and duty.alert_ids().count(acked) == 1  # each once
    assert not leader.refused  # every DingTalk request was correctly signed

    for _ in range(12):  # spread over both gunicorn workers
        assert http(f"{base}/healthz")[0] == 200
    status, text = http(f"{base}/metrics")
    assert status == 200, text[:300]
    healthz = sum(float(v) for v in re.findall(
        r'gridwall_http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} ([0-9.e+]+)', text))
    assert healthz >= 12, healthz  # one worker alone answered only part of them: the scrape sums both
    sent = re.search(r'gridwall_push_sent_total\{channel="county-duty",result="ok"\} ([0-9.e+]+)', text)
    assert sent and float(sent.group(1)) >= 1, text[:2000]
    assert re.search(r'gridwall_duty_last_success_timestamp_seconds\{duty="push"\} [0-9.e+]+', text)
    assert re.search(r"gridwall_push_outbox_depth [0-9.e+]+", text)
    assert "key=" not in text and DING_SECRET not in text
