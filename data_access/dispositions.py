"""Dispositions (研判结论) of alerts, and each detector's precision from them.

A duty officer acknowledging an alert says what it was: 属实 (``confirmed``), 误报 (``false_alarm``)
or 已知 (``known``: right, but the center knew already). The row is written in the acknowledging
transaction (``dashboard.usecases.alerts``); taking the acknowledgement back deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from .models import Alert, GwAlertDisposition
from .scope import Scope
from .scoped import in_scope

d = GwAlertDisposition.__table__.c

DISPOSITIONS = ("confirmed", "false_alarm", "known")
MAX_NOTE = 500


def record_disposition(conn: Connection, alert: dict[str, Any], disposition: str, note: str | None, by: str,
                       at: datetime) -> None:
    """Write (or replace) the judgement of ``alert`` (a row as ``data_access.alerts.get_alert`` gives it)."""
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    values = {"kind": alert.get("kind"), "region_code": alert.get("region_code"),
              "alert_created_at": alert.get("created_at"), "disposition": disposition,
              "note": (note or "").strip()[:MAX_NOTE] or None, "by": by, "at": at}
    done = conn.execute(update(GwAlertDisposition).where(d.alert_id == alert["id"]).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(GwAlertDisposition).values(alert_id=alert["id"], **values))


def drop_disposition(conn: Connection, alert_id: int) -> None:
    conn.execute(delete(GwAlertDisposition).where(d.alert_id == alert_id))


def disposition_of(conn: Connection, scope: Scope, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(d.disposition, d.note, d.by, d.at)
                       .where(d.alert_id == alert_id, in_scope(scope, GwAlertDisposition))).mappings().first()
    return dict(row) if row else None


def detector_judgements(conn: Connection, scope: Scope, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per alert kind, of the alerts of ``scope`` raised in [start, end): how many were raised, and how
    many were judged each way. Precision is the caller's arithmetic (what counts as right is a policy)."""
    a = Alert.__table__.c
    raised = dict(conn.execute(
        select(a.kind, func.count()).where(a.created_at >= start, a.created_at < end, in_scope(scope, Alert))
        .group_by(a.kind)).all())
    counts = {k: func.sum(case((d.disposition == k, 1), else_=0)).label(k) for k in DISPOSITIONS}
    judged = {row["kind"]: row for row in conn.execute(
        select(d.kind, func.count().label("judged"), *counts.values())
        .where(d.alert_created_at >= start, d.alert_created_at < end, in_scope(scope, GwAlertDisposition))
        .group_by(d.kind)).mappings()}
    out = []
    for kind in sorted(set(raised) | set(judged), key=lambda k: (k is None, k or "")):
        row = judged.get(kind) or {}
        out.append({"kind": kind, "raised": int(raised.get(kind, 0)), "judged": int(row.get("judged") or 0),
                    **{k: int(row.get(k) or 0) for k in DISPOSITIONS}})
    return out
