"""Two `gridwall worker --duties push` processes on one database: one dispatcher is active, the other stands
by; when the active one is killed, the other takes over (PostgreSQL: the advisory lock frees at once; SQLite:
the lease, 3 s here, runs out) and delivers what came since; no alert is sent twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from data_access.models import GwPushOutbox

from .push_support import FakeRobot, add_alert

REPO = Path(__file__).resolve().parent.parent
ACTIVE = "push: this instance is active"
STANDBY = "push: another instance is active; standing by"


def _wait(what, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(message)


def _sent(engine, alert_id: int) -> bool:
    with engine.connect() as conn:
        rows = conn.execute(select(GwPushOutbox.state).where(GwPushOutbox.alert_id == alert_id)).scalars().all()
    return bool(rows) and all(state == "sent" for state in rows)


@pytest.fixture
def workers(engine, backend_url, tmp_path):
    with FakeRobot("webhook") as hook:
        config = tmp_path / "gridwall.toml"
        config.write_text(f"""
[push]
poll_seconds = 0.2
lease_seconds = 3

[[push.channel]]
name = "duty"
kind = "webhook"
url = "{hook.url}"

[[push.route]]
min_severity = "info"
channels = ["duty"]
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDWALL_", "PROMETHEUS_"))}
        env.update(GRIDWALL_CONFIG=str(config), GRIDWALL_DATABASE_URL=backend_url, GRIDWALL_ROOT="320585")
        procs: list[tuple[subprocess.Popen, Path]] = []

        def start(name: str):
            log = tmp_path / f"{name}.log"
            proc = subprocess.Popen([sys.executable, "-m", "dashboard.cli", "worker", "--duties", "push"],
                                    cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
            procs.append((proc, log))
            return proc, log

        yield hook, start
        for proc, log in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_one_dispatcher_is_active_and_another_takes_over_when_it_dies(engine, workers):
    hook, start = workers
    first, first_log = start("first")
    _wait(lambda: ACTIVE in first_log.read_text(), 30, "the first worker never became active")
    second, second_log = start("second")
    _wait(lambda: STANDBY in second_log.read_text(), 30, "the second worker did not stand by")

    one = add_alert(engine, created_at=datetime.now(timezone.utc), title="第一条")
    _wait(lambda: hook.alert_ids() == [one], 15, f"not delivered by the active worker: {hook.alert_ids()}")
    assert ACTIVE not in second_log.read_text()

    # Delivery is at least once: a kill between the robot's answer and the commit marking the row
    # sent would send it again (dashboard/push/dispatcher.py). Kill after that commit.
    _wait(lambda: _sent(engine, one), 15, "the delivered alert was never marked sent")
    first.kill()  # no goodbye: the lock is freed by PostgreSQL or runs out (SQLite lease)
    first.wait()
    two = add_alert(engine, created_at=datetime.now(timezone.utc), title="第二条")
    _wait(lambda: two in hook.alert_ids(), 30, "the standby worker did not take over and deliver")
    assert ACTIVE in second_log.read_text()
    time.sleep(1.0)  # a few more passes: nothing again
    assert hook.alert_ids() == [one, two]
    second.terminate()
    assert second.wait(timeout=15) == 0  # SIGTERM: a clean stop
