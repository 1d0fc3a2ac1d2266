"""The worker duties' instances (``gw_duties``): which instance holds each duty, which stand by, and
each duty's last successful run. Written by ``dashboard.warning.lock.run_loop``; read by ``/healthz``
(last success only) and ``/ops`` (the holder and the standby instances too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from .models import GwDuty

d = GwDuty.__table__.c
STATES = ("active", "standby", "stopped")


def record_duty(conn: Connection, *, duty: str, instance: str, state: str, now: datetime, succeeded: bool = False,
                lock_kind: str | None = None, interval_s: float | None = None) -> None:
    """Upsert one instance's row: its state, seen now, and (``succeeded``) a run finished now."""
    if state not in STATES:
        raise ValueError(f"unknown duty state {state!r}")
    values: dict[str, Any] = {"state": state, "seen_at": now, "lock_kind": lock_kind, "interval_s": interval_s}
    if succeeded:
        values["last_success_at"] = now
    done = conn.execute(update(GwDuty.__table__).where(d.duty == duty, d.instance == instance).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(GwDuty.__table__).values(duty=duty, instance=instance, started_at=now, **values))


def prune_duty(conn: Connection, duty: str, *, keep: str, unseen_before: datetime) -> int:
    """Forget the duty's instances not seen since ``unseen_before`` (processes long gone), all but
    ``keep`` (the instance that just succeeded: it holds the newest success)."""
    return conn.execute(delete(GwDuty.__table__).where(
        d.duty == duty, d.instance != keep, d.seen_at < unseen_before)).rowcount


def last_successes(conn: Connection) -> dict[str, datetime | None]:
    """Each duty known to the table: its newest successful run (None: never)."""
    rows = conn.execute(select(d.duty, func.max(d.last_success_at)).group_by(d.duty)).all()
    return {duty: at for duty, at in rows}


def duty_instances(conn: Connection) -> list[dict[str, Any]]:
    """Every recorded instance, by duty, most recently seen first."""
    stmt = select(GwDuty.__table__).order_by(d.duty, d.seen_at.desc(), d.instance)
    return [dict(r) for r in conn.execute(stmt).mappings()]
