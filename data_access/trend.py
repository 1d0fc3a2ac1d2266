"""Today's cases by hour against the same weekday of the last four weeks (今日趋势).

New = reported in the hour; closed = reached status ``closed`` in the hour (the contract's
``new_today`` and ``closed_today`` by hour). Hours are local hours of ``Moment.tz``. A past day
without a single case (before the platform's history starts, an outage) is left out of the baseline
rather than pulling it to zero.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from .models import Case
from .moment import Moment
from .scope import Scope
from .scoped import in_scope

c = Case.__table__.c

HOURS = 24
WEEKS = 4


def day_start(day: date, tz) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _bucket(ts: datetime, start: datetime) -> int:
    return int((ts - start).total_seconds() // 3600)


def hourly_counts(conn: Connection, scope: Scope, start: datetime, end: datetime) -> dict[str, list[int]]:
    """New and closed cases per hour from ``start`` (a local midnight) up to ``end`` (exclusive of later)."""
    new = [0] * HOURS
    closed = [0] * HOURS
    cases_in_scope = in_scope(scope, Case)
    for ts, in conn.execute(select(c.reported_at).where(cases_in_scope, c.reported_at >= start, c.reported_at <= end)):
        if ts is not None:
            new[min(_bucket(ts, start), HOURS - 1)] += 1
    stmt = select(c.closed_at).where(cases_in_scope, and_(c.closed_at >= start, c.closed_at <= end), c.status == "closed")
    for ts, in conn.execute(stmt):
        if ts is not None:
            closed[min(_bucket(ts, start), HOURS - 1)] += 1
    return {"new": new, "closed": closed}


def baseline_days(m: Moment, weeks: int = WEEKS) -> list[date]:
    today = m.at.astimezone(m.tz).date()
    return [today - timedelta(days=7 * k) for k in range(1, weeks + 1)]


def past_day(conn: Connection, scope: Scope, day: date, tz) -> dict[str, list[int]]:
    """One whole past day by hour (cacheable for the day: it no longer changes)."""
    start = day_start(day, tz)
    end = day_start(day + timedelta(days=1), tz) - timedelta(microseconds=1)
    return hourly_counts(conn, scope, start, end)


def today_so_far(conn: Connection, scope: Scope, m: Moment) -> dict[str, list[int]]:
    return hourly_counts(conn, scope, m.midnight, m.at)


def band(days: list[dict[str, list[int]]]) -> dict[str, Any]:
    """Mean, min and max per hour of each series over the days that have any case at all."""
    used = [d for d in days if sum(d["new"]) + sum(d["closed"]) > 0]
    out: dict[str, Any] = {"days": len(used)}
    for series in ("new", "closed"):
        if not used:
            out[series] = {"mean": [0.0] * HOURS, "min": [0] * HOURS, "max": [0] * HOURS}
            continue
        arr = np.array([d[series] for d in used], dtype=float)
        out[series] = {"mean": [round(float(v), 2) for v in arr.mean(axis=0)],
                       "min": [int(v) for v in arr.min(axis=0)],
                       "max": [int(v) for v in arr.max(axis=0)]}
    return out


def hourly_trend(conn: Connection, scope: Scope, m: Moment, weeks: int = WEEKS) -> dict[str, Any]:
    """Today up to T and the baseline band; ``hour`` is T's local hour (today's last, partial, bucket)."""
    today = today_so_far(conn, scope, m)
    base = band([past_day(conn, scope, d, m.tz) for d in baseline_days(m, weeks)])
    return {"hour": m.at.astimezone(m.tz).hour, "today": today, "baseline": base}
