"""The change signal: a cheap fingerprint of the rows the wall shows, polled instead of pushed.

gridwall may only read the platform tables, so it cannot put a trigger (and LISTEN/NOTIFY) on a
vendor's database. It polls instead, with one statement of index range scans that stay small on
any history size:

- cases whose ``updated_at`` lies in a recent window: their count, latest value and the sum of
  their timestamps (a row inserted, updated or deleted in the window changes one of them, also
  when its transaction commits later than a newer one: ``max(updated_at)`` alone would miss it);
- the same over ``reported_at`` (platforms that never fill ``updated_at``) and ``max(id)``;
- alerts: ``max(id)`` and the number of new and acknowledged ones (an ack or a resolve moves them).

The window starts at a fixed quarter-hour boundary, so rows do not slide out of it between two
polls; it moves on every 15 minutes, which costs one extra refresh. Changes that no poll sees
(a platform that forgets ``updated_at``, a row deleted long ago) show at the next time-driven
refresh of the wall.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from .models import Alert, Case
from .rollup import STALE_AFTER_SECONDS, freshness
from .scope import Scope
from .scoped import in_scope
from .sqlfuncs import epoch_seconds

UTC = timezone.utc
WINDOW = timedelta(minutes=15)
STATEMENT_TIMEOUT_MS = 2000

c = Case.__table__.c
a = Alert.__table__.c


def window_start(now: datetime) -> datetime:
    """The start of the window: the quarter hour before the one ``now`` is in."""
    now = now.astimezone(UTC)
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return quarter - WINDOW


def _window(column, scope: Scope, since: datetime):
    """Count, latest value and sum of the timestamps of ``column`` from ``since`` on (an index range)."""
    return select(func.count(), func.max(column), func.sum(epoch_seconds(column))) \
        .where(column >= since, in_scope(scope, Case, index=False))


def _newest(id_column, in_scope):
    """The largest id in scope: a walk down the primary key that stops at the first match."""
    return select(id_column).where(in_scope).order_by(id_column.desc()).limit(1).scalar_subquery()


def data_version(conn: Connection, scope: Scope, now: datetime, *,
                 stale_after: float = STALE_AFTER_SECONDS) -> tuple:
    """The fingerprint of cases and alerts in ``scope`` (the deployment root: one poll serves all views).

    Equal fingerprints mean nothing the wall shows has changed (up to the limits in the module
    docstring). Values are plain and ``repr``-stable, so that every process derives the same version.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    since = window_start(now)
    in_region = in_scope(scope, Alert)
    newest = select(
        _newest(c.id, in_scope(scope, Case, index=False)),
        _newest(a.id, in_region),
        select(func.count()).where(a.status == "new", in_region).scalar_subquery(),
        select(func.count()).where(a.status == "acknowledged", in_region).scalar_subquery(),
    )
    row = (
        tuple(conn.execute(_window(c.updated_at, scope, since)).one())
        + tuple(conn.execute(_window(c.reported_at, scope, since)).one())
        + tuple(conn.execute(newest).one())
    )
    if scope.rollup:
        # A county feed that stops changes nothing else: its staleness is part of what the wall shows.
        fresh = freshness(conn, stale_after=stale_after)
        row += (",".join(sorted(county for county, f in fresh.items() if f.stale)),)
    if conn.dialect.name == "postgresql":
        conn.rollback()  # end the transaction that SET LOCAL opened
    return (since.isoformat(),) + tuple(_plain(v) for v in row)


def _plain(value):
    """A value whose ``repr`` is the same in every process (floats rounded to the millisecond)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return round(value, 3)
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)  # Decimal and the like
