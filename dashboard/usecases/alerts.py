"""Acknowledging an alert (确认预警): by a duty officer from the wall or through the API; and taking
it back (撤销) from the wall just after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import Engine

from data_access.alerts import (
    AlertClosed,
    AlertNotFound,
    ack_alert,
    get_alert,
    unack_alert,
)
from data_access.scope import Scope
from data_access.users import User, write_audit

DEMO_USER = "demo"  # who acknowledges with auth off (the loopback demo)


@dataclass(frozen=True)
class AckOutcome:
    """``ok`` (the alert after it, also for one acknowledged before), ``not_found`` (not in the
    scope, or no such alert) or ``closed`` (resolved or dismissed: nothing to acknowledge)."""

    status: Literal["ok", "not_found", "closed"]
    alert: dict[str, Any] | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def acknowledge_alert(engine: Engine, scope: Scope, user: User | None, alert_id: int, *, via: str,
                      now: datetime | None = None) -> AckOutcome:
    """Acknowledge alert ``alert_id`` of ``scope`` as ``user`` (None: auth off) and write the audit row
    in the same transaction; ``via`` says where from (``wall``, ``api``) in that row."""
    by = user.username if user is not None else DEMO_USER
    now = now or datetime.now(timezone.utc)
    try:
        with engine.begin() as conn:
            row = ack_alert(conn, scope, alert_id, by, now)
            write_audit(conn, by, "alert_ack", {"alert_id": alert_id, "status": row["status"], "via": via}, now)
    except AlertNotFound:
        return AckOutcome("not_found", reason=f"no alert {alert_id} in your scope")
    except AlertClosed as exc:
        return AckOutcome("closed", reason=str(exc))
    return AckOutcome("ok", row)


UNDO_WINDOW = timedelta(seconds=30)  # the wall offers 撤销 for 5 s; this leaves room for a slow answer


def undo_acknowledge(engine: Engine, scope: Scope, user: User | None, alert_id: int, *, via: str,
                     now: datetime | None = None) -> AckOutcome:
    """Take back ``user``'s own acknowledgement of ``alert_id`` made within ``UNDO_WINDOW``; audited.

    ``ok`` (the alert is new again), ``not_found`` or ``closed`` (not acknowledged by this user lately:
    someone else's, too old, or no longer acknowledged; nothing written).
    """
    by = user.username if user is not None else DEMO_USER
    now = now or datetime.now(timezone.utc)
    try:
        with engine.begin() as conn:
            if not unack_alert(conn, scope, alert_id, by, now - UNDO_WINDOW):
                return AckOutcome("closed", reason=f"alert {alert_id} was not acknowledged by {by} lately")
            write_audit(conn, by, "alert_unack", {"alert_id": alert_id, "via": via}, now)
            row = get_alert(conn, scope, alert_id)
    except AlertNotFound:
        return AckOutcome("not_found", reason=f"no alert {alert_id} in your scope")
    return AckOutcome("ok", row)
