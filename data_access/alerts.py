"""Alerts (预警) of a scope: the list and acknowledgement by a duty officer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import Connection

from .cases import _with_names
from .models import Alert, Case, Org
from .moment import Moment
from .scope import Scope
from .scoped import in_scope

a = Alert.__table__.c

STATUSES = ("new", "acknowledged", "resolved", "dismissed")
_COLUMNS = (a.id, a.created_at, a.kind, a.severity, a.region_code, a.category_code, a.title, a.detail,
            a.status, a.ack_by, a.ack_at, a.resolved_at, a.source)


class AlertNotFound(LookupError):
    """No such alert in the scope."""


class AlertClosed(ValueError):
    """The alert is resolved or dismissed and can no longer be acknowledged."""


def list_alerts(conn: Connection, scope: Scope, m: Moment, status: str | None = None,
                limit: int = 100) -> list[dict]:
    """Alerts in the region created by T, newest first; optionally of one status."""
    stmt = (select(*_COLUMNS).where(in_scope(scope, Alert), a.created_at <= m.at)
            .order_by(a.created_at.desc(), a.id.desc()).limit(limit))
    if status is not None:
        stmt = stmt.where(a.status == status)
    return [dict(row) for row in conn.execute(stmt).mappings()]


# The wall's order: new before acknowledged, then the most severe, then the newest.
SEVERITY_ORDER = ("critical", "warning", "info")


def wall_alerts(conn: Connection, scope: Scope, m: Moment, limit: int = 10) -> dict:
    """What the wall's alert panel shows: the ``new`` alerts in its order (at most ``limit``) and the
    true totals (``new``, ``new_critical``, ``acknowledged``) of the region created by T.

    The totals count every alert the list would hold uncut, so that "另有 N 项" is total - shown and
    equals the 新预警 tile (``data_access.figures.alert_figures``, same conditions).
    """
    base = (in_scope(scope, Alert), a.created_at <= m.at)
    severity = case({s: i for i, s in enumerate(SEVERITY_ORDER)}, value=a.severity, else_=len(SEVERITY_ORDER))
    rows = conn.execute(select(*_COLUMNS).where(*base, a.status == "new")
                        .order_by(severity, a.created_at.desc(), a.id.desc()).limit(limit)).mappings()
    is_new = a.status == "new"
    totals = conn.execute(select(
        func.count().filter(is_new),
        func.count().filter(is_new, a.severity == "critical"),
        func.count().filter(a.status == "acknowledged"),
    ).where(*base, a.status.in_(("new", "acknowledged")))).one()
    return {"rows": [dict(row) for row in rows], "new": int(totals[0]), "new_critical": int(totals[1]),
            "acknowledged": int(totals[2])}


def get_alert(conn: Connection, scope: Scope, alert_id: int) -> dict | None:
    row = conn.execute(select(*_COLUMNS).where(a.id == alert_id, in_scope(scope, Alert))).mappings().first()
    return dict(row) if row else None


def ack_alert(conn: Connection, scope: Scope, alert_id: int, by: str, at: datetime) -> dict:
    """Acknowledge a new alert (idempotent for an acknowledged one); returns the alert after it.

    Raises AlertNotFound outside the scope, AlertClosed when resolved or dismissed.
    """
    alert = get_alert(conn, scope, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert["status"] in ("resolved", "dismissed"):
        raise AlertClosed(f"alert {alert_id} is {alert['status']}")
    if alert["status"] != "acknowledged":
        conn.execute(update(Alert).where(a.id == alert_id, a.status.is_distinct_from("acknowledged"))
                     .values(status="acknowledged", ack_by=by, ack_at=at))
        alert = get_alert(conn, scope, alert_id)
    return alert


def unack_alert(conn: Connection, scope: Scope, alert_id: int, by: str, since: datetime) -> bool:
    """Take back an acknowledgement: the alert is ``new`` again if ``by`` acknowledged it at or after
    ``since``; False (nothing written) otherwise."""
    if get_alert(conn, scope, alert_id) is None:
        raise AlertNotFound(alert_id)
    done = conn.execute(update(Alert).where(a.id == alert_id, a.status == "acknowledged", a.ack_by == by,
                                            a.ack_at >= since)
                        .values(status="new", ack_by=None, ack_at=None))
    return done.rowcount == 1


# The cases an alert names (``detail.case_ids``), as its evidence page lists them: the newest first,
# at most this many (a cluster may name 50; a phone shows the first screenful and says how many more).
ALERT_CASES_LIMIT = 30


def alert_cases(conn: Connection, scope: Scope, ids: list[int], limit: int = ALERT_CASES_LIMIT) -> list[dict]:
    """The cases of ``ids`` inside the scope, newest report first, with the names a person reads:
    category, grid, community, street and the org holding the case (``handler_org_id``). Ids outside
    the scope or unknown are left out (an alert of the whole county seen from a street names only
    its own)."""
    ids = [int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)][:500]
    if not ids:
        return []
    c = Case.__table__.c
    picked = (select(c.id, c.code, c.title, c.address, c.category_code, c.status, c.reported_at,
                     c.resolve_due_at, c.closed_at, c.grid_code, c.handler_org_id)
              .where(c.id.in_(ids), in_scope(scope, Case)).subquery("picked"))
    named = _with_names(picked).subquery("named")
    org = Org.__table__
    rows = conn.execute(select(named, org.c.name.label("handler_name"))
                        .select_from(named.outerjoin(org, org.c.id == named.c.handler_org_id))
                        .order_by(named.c.reported_at.desc(), named.c.id.desc()).limit(limit)).mappings()
    return [dict(row) for row in rows]
