"""Each worker duty's state (gw_duties, written by run_loop): the active instance and its last success,
the standby instances, stopped at the end; /healthz reports each duty's last success (and no holder);
the duty status /ops shows (dashboard/core/duty_status.py)."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dashboard.core.duty_status import KNOWN_DUTIES, duty_statuses, process_of
from dashboard.warning import lock as wl
from dashboard.worker.run import DUTIES
from data_access import duties as duties_db
from data_access.db import dispose_all
from data_access.models import GwDuty

from .api_seed import T, make_app, seed

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")
S = timedelta(seconds=1)
WAIT = 60


def duty_rows(engine, duty: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(GwDuty.__table__).where(GwDuty.duty == duty)
                                              .order_by(GwDuty.instance)).mappings()]


def test_a_run_records_the_holder_and_its_last_success(engine):
    seed(engine)
    times = iter([T, T + 1 * S, T + 2 * S, T + 3 * S, T + 4 * S, T + 5 * S])
    lock = wl.LeaseLock(engine, "gridwall.test-duty", lease=60)
    runs = wl.run_loop(engine, tz=TZ, interval=0, max_runs=1, run=lambda *_: None, lock=lock, label="packs",
                       clock=lambda: next(times))
    assert runs == 1
    [row] = duty_rows(engine, "packs")
    assert row["instance"] == lock.holder and process_of(row["instance"]).startswith(socket.gethostname() + ":")
    assert row["state"] == "stopped" and row["lock_kind"] == "lease"
    assert row["last_success_at"] is not None and row["started_at"] <= row["last_success_at"] <= row["seen_at"]


def test_a_second_instance_stands_by_while_the_first_holds_the_duty(engine):
    seed(engine)
    stop_a, stop_b = threading.Event(), threading.Event()
    ran = threading.Semaphore(0)

    def record(*_):
        ran.release()

    a = threading.Thread(target=wl.run_loop, args=(engine,), daemon=True, kwargs=dict(
        tz=TZ, interval=0.05, standby_poll=0.05, stop=stop_a, lock=wl.LeaseLock(engine, "gridwall.t2", lease=60),
        run=record, label="warning"))
    a.start()
    assert ran.acquire(timeout=WAIT)
    b_lock = wl.LeaseLock(engine, "gridwall.t2", lease=60)
    b = threading.Thread(target=wl.run_loop, args=(engine,), daemon=True, kwargs=dict(
        tz=TZ, interval=0.05, standby_poll=0.05, stop=stop_b, lock=b_lock, run=record, label="warning"))
    b.start()
    for _ in range(WAIT * 20):
        states = {r["instance"]: r["state"] for r in duty_rows(engine, "warning")}
        if states.get(b_lock.holder) == "standby":
            break
        threading.Event().wait(0.05)
    assert sorted(states.values()) == ["active", "standby"]
    status = {d.duty: d for d in duty_statuses(["warning"], duties_db_rows(engine), datetime.now(UTC))}["warning"]
    assert status.state == "ok" and status.standby == (process_of(b_lock.holder),)
    assert status.holder == process_of(next(i for i, s in states.items() if s == "active"))
    stop_a.set()
    stop_b.set()
    a.join(WAIT)
    b.join(WAIT)
    assert {r["state"] for r in duty_rows(engine, "warning")} == {"stopped"}


def duties_db_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return duties_db.duty_instances(conn)


def test_recording_failures_never_stop_a_duty(engine):
    seed(engine)
    with engine.begin() as conn:
        GwDuty.__table__.drop(conn)
    runs = wl.run_loop(engine, tz=TZ, interval=0, max_runs=2, run=lambda *_: None,
                       lock=wl.LeaseLock(engine, "gridwall.t3", lease=60), label="walls")
    assert runs == 2


def test_healthz_reports_each_duty_last_success_without_its_holder(engine, backend_url):
    seed(engine)
    with engine.begin() as conn:
        duties_db.record_duty(conn, duty="warning", instance="secret-host-7:4242:abcd0001", state="active",
                              now=T, succeeded=True, lock_kind="postgres", interval_s=60)
        duties_db.record_duty(conn, duty="warning", instance="secret-host-8:4343:abcd0002", state="standby",
                              now=T + 5 * S)
        duties_db.record_duty(conn, duty="packs", instance="secret-host-7:4242:abcd0003", state="active", now=T)
    try:
        client = make_app(backend_url).test_client()
        resp = client.get("/healthz")  # an open path: no login
        body = resp.get_json()
    finally:
        dispose_all()
    assert resp.status_code == 200
    assert body["duties"] == {"warning": {"last_success": "2026-11-26T10:00:00+08:00"},
                              "packs": {"last_success": None}, "walls": {"last_success": None},
                              "push": {"last_success": None}, "rollup": {"last_success": None}}
    assert "secret-host" not in resp.get_data(as_text=True)


def test_healthz_duties_without_a_database():
    client = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1").test_client()
    body = client.get("/healthz").get_json()
    dispose_all()
    assert body["database"] == "down" and body["duties"]["warning"] == {"last_success": None}


def test_a_duty_status_at_a_moment():
    rows = [
        {"duty": "warning", "instance": "h1:1:n1", "state": "active", "seen_at": T - 170 * S, "interval_s": 60,
         "last_success_at": T - 170 * S},
        {"duty": "walls", "instance": "h1:1:n2", "state": "active", "seen_at": T - 121 * S, "interval_s": 30,
         "last_success_at": T - 121 * S},
        {"duty": "walls", "instance": "h2:2:n3", "state": "stopped", "seen_at": T - 900 * S, "interval_s": 30,
         "last_success_at": T - 30 * 60 * S},
    ]
    got = {d.duty: d for d in duty_statuses(["warning", "walls", "packs"], rows, T)}
    assert got["warning"].state == "ok"  # within three intervals of 60 s
    assert got["walls"].state == "late" and got["walls"].holder == "h1:1"  # at least two minutes
    assert got["walls"].last_success_at == T - 121 * S
    assert got["packs"].state == "none" and got["packs"].holder is None and got["packs"].last_success_at is None


def test_every_worker_duty_is_known_to_healthz():
    assert set(DUTIES) <= set(KNOWN_DUTIES)


def test_old_instances_are_forgotten_but_the_newest_success_is_kept(engine):
    with engine.begin() as conn:
        duties_db.record_duty(conn, duty="packs", instance="old:1:x", state="stopped", now=T - timedelta(days=3),
                              succeeded=True)
        duties_db.record_duty(conn, duty="packs", instance="new:2:y", state="active", now=T, succeeded=True)
        assert duties_db.prune_duty(conn, "packs", keep="new:2:y", unseen_before=T - timedelta(days=1)) == 1
        assert duties_db.last_successes(conn) == {"packs": T}
