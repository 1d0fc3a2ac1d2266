"""Acknowledging an alert (确认预警): by a duty officer from the wall, the phone page or the API, with
a disposition (研判结论: 属实 / 误报 / 已知 and a note); and taking it back (撤销) from the wall just after.

The disposition is asked for on every screen; the API takes an acknowledgement without one (the
interface of version 1), which then counts as not judged. Acknowledging an alert acknowledged
before, with a disposition, records (or replaces) the judgement: the alert's status stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from data_access.alerts import (
    AlertClosed,
    AlertNotFound,
    ack_alert,
    get_alert,
    unack_alert,
)
from data_access.dispositions import DISPOSITIONS, disposition_of, drop_disposition, record_disposition
from data_access.rollup import is_county_refusal
from data_access.scope import Scope
from data_access.users import User, write_audit

DEMO_USER = "demo"  # who acknowledges with auth off (the loopback demo)
COUNTY_ALERT = "a county's alert (replicated into this roll-up): its own county's center acknowledges it"


@dataclass(frozen=True)
class AckOutcome:
    """``ok`` (the alert after it, also for one acknowledged before), ``not_found`` (not in the
    scope, or no such alert), ``closed`` (resolved or dismissed: nothing to acknowledge) or
    ``elsewhere`` (on a roll-up, a county's alert: that county's center acknowledges it)."""

    status: Literal["ok", "not_found", "closed", "elsewhere"]
    alert: dict[str, Any] | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def acknowledge_alert(engine: Engine, scope: Scope, user: User | None, alert_id: int, *, via: str,
                      now: datetime | None = None, disposition: str | None = None,
                      note: str | None = None) -> AckOutcome:
    """Acknowledge alert ``alert_id`` of ``scope`` as ``user`` (None: auth off), record the disposition
    when given, and write the audit row in the same transaction; ``via`` says where from (``wall``,
    ``phone``, ``api``) in that row. ValueError for a disposition that is not one of DISPOSITIONS."""
    if disposition is not None and disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    by = user.username if user is not None else DEMO_USER
    now = now or datetime.now(timezone.utc)
    try:
        with engine.begin() as conn:
            row = ack_alert(conn, scope, alert_id, by, now)
            audit = {"alert_id": alert_id, "status": row["status"], "via": via}
            if disposition is not None:
                record_disposition(conn, row, disposition, note, by, now)
                audit.update(disposition=disposition, note=(note or "").strip()[:200] or None)
            write_audit(conn, by, "alert_ack", audit, now)
            row = {**row, "disposition": disposition_of(conn, scope, alert_id)}
    except AlertNotFound:
        return AckOutcome("not_found", reason=f"no alert {alert_id} in your scope")
    except AlertClosed as exc:
        return AckOutcome("closed", reason=str(exc))
    except DBAPIError as exc:
        if is_county_refusal(exc):
            return AckOutcome("elsewhere", reason=COUNTY_ALERT)
        raise
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
            drop_disposition(conn, alert_id)
            write_audit(conn, by, "alert_unack", {"alert_id": alert_id, "via": via}, now)
            row = get_alert(conn, scope, alert_id)
    except AlertNotFound:
        return AckOutcome("not_found", reason=f"no alert {alert_id} in your scope")
    return AckOutcome("ok", row)
