"""What the review page's concealment watch (疑似瞒报漏报) reads: the communities the engine flagged in
a period (alerts of kind ``underreport``) and the reports per community and channel around it.
Every read takes the view's scope, the period's window and T.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.engine import Connection

from .alerts_write import load_detail
from .feeds_cases import _bucket, _digits
from .models import Alert, Case
from .period import Period, local_midnight
from .scope import Scope
from .scoped import in_scope

a = Alert.__table__.c
c = Case.__table__.c

KIND = "underreport"


def flagged_communities(conn: Connection, scope: Scope, start: datetime, end: datetime, at: datetime) -> list[dict[str, Any]]:
    """The engine's concealment alerts in scope whose episode ran during [start, end) as known at T:
    created before ``end`` and by T, and not ended before ``start`` (an alert resolved without a
    time counts as ended). Oldest first; ``detail`` parsed (the engine's evidence), ``ended_at`` the
    end of the episode when it ended by T (else None), ``acknowledged`` whether it was by T."""
    stmt = (select(a.id, a.created_at, a.region_code, a.severity, a.title, a.detail, a.status, a.ack_at,
                   a.resolved_at)
            .where(in_scope(scope, Alert), a.kind == KIND, a.created_at < end, a.created_at <= at,
                   or_(a.resolved_at.is_(None), a.resolved_at > start),
                   not_(and_(a.status == "resolved", a.resolved_at.is_(None))))
            .order_by(a.created_at, a.id))
    out = []
    for row in conn.execute(stmt).mappings():
        resolved = row["resolved_at"]
        out.append({"id": row["id"], "created_at": row["created_at"], "region_code": row["region_code"],
                    "severity": row["severity"], "title": row["title"], "detail": load_detail(row["detail"]),
                    "ended_at": resolved if resolved is not None and resolved <= at else None,
                    "dismissed": row["status"] == "dismissed",
                    "acknowledged": row["ack_at"] is not None and row["ack_at"] <= at})
    return out


def community_channels(conn: Connection, scope: Scope, bounds: list[datetime]) -> pd.DataFrame:
    """Cases per community (of well-formed grid codes in scope), window and source, reported in the
    consecutive windows [bounds[i], bounds[i + 1]). Columns: community, window (index), source, n;
    a case without a source counts as ``other``."""
    window = _bucket(c.reported_at, bounds, 0, len(bounds) - 1)
    community = func.substr(c.grid_code, 1, 12)
    source = func.coalesce(c.source, "other")
    stmt = (select(community, window.label("w"), source, func.count())
            .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case),
                   func.length(c.grid_code) == 15, *_digits(c.grid_code, range(1, 16)))
            .group_by(community, window, source))
    rows = [(comm, int(w), src, int(n)) for comm, w, src, n in conn.execute(stmt)]
    return pd.DataFrame(rows, columns=["community", "window", "source", "n"])


def watch_inputs(conn: Connection, scope: Scope, period: Period, at: datetime,
                 before_weeks: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """What the watch of ``period`` as of T reads: the flagged communities (``flagged_communities``)
    and, when there are any, the reports per community and channel in two windows: 0 = the
    ``before_weeks`` weeks before the period, 1 = the period up to T (E')."""
    end = period.as_of(at)
    alerts = flagged_communities(conn, scope, period.start, end, at)
    if not alerts:
        return [], pd.DataFrame(columns=["community", "window", "source", "n"])
    before = local_midnight(period.first - timedelta(weeks=before_weeks), period.tz)
    return alerts, community_channels(conn, scope, [before, period.start, max(end, period.start)])
