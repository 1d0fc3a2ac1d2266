"""Case lists for the wall: the live case stream, the SLA board and the data age.

Each list is one statement over the platform tables, newest or most urgent first, with the names
the wall shows joined in (category, grid, community, street). Names may be NULL or missing in a
real platform; the wall falls back to codes, so nothing here filters on them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from .figures import open_at, overdue_at, warning_at
from .models import Case, Category, Grid, Region
from .moment import Moment
from .scope import Scope
from .scoped import in_scope

c = Case.__table__.c

# Look-back windows tried in turn. The newest cases almost always lie within the last day, and a
# bounded time range lets the planner walk the time index instead of sorting the whole scope
# (SQLite otherwise picks the grid-code index for the scope filter).
LOOKBACK = (timedelta(days=1), timedelta(days=7), timedelta(days=92), None)


def _within(column, m: Moment, back: timedelta | None):
    cond = column <= m.at
    return cond if back is None else and_(cond, column > m.at - back)


def _with_names(recent) -> Any:
    """Join category, grid, community and street names onto a subquery of cases."""
    cat = Category.__table__.alias("cat")
    grid = Grid.__table__.alias("grid")
    community = Region.__table__.alias("community")
    street = Region.__table__.alias("street")
    return (
        select(
            recent,
            cat.c.name.label("category_name"),
            grid.c.name.label("grid_name"),
            community.c.name.label("community_name"),
            street.c.name.label("street_name"),
        )
        .select_from(recent)
        .outerjoin(cat, cat.c.code == recent.c.category_code)
        .outerjoin(grid, grid.c.code == recent.c.grid_code)
        .outerjoin(community, community.c.code == func.substr(recent.c.grid_code, 1, 12))
        .outerjoin(street, street.c.code == func.substr(recent.c.grid_code, 1, 9))
    )


_CASE_COLUMNS = (c.id, c.code, c.title, c.address, c.category_code, c.source, c.urgency, c.status,
                 c.level, c.reported_at, c.resolve_due_at, c.grid_code)


def latest_cases(conn: Connection, scope: Scope, m: Moment, limit: int = 30) -> list[dict[str, Any]]:
    """The newest cases reported by T in the scope, newest first, with names joined in."""
    for back in LOOKBACK:
        recent = (
            select(*_CASE_COLUMNS)
            .where(in_scope(scope, Case), _within(c.reported_at, m, back))
            .order_by(c.reported_at.desc(), c.id.desc())
            .limit(limit)
            .subquery("recent")
        )
        stmt = _with_names(recent).order_by(recent.c.reported_at.desc(), recent.c.id.desc())
        rows = [dict(row) for row in conn.execute(stmt).mappings()]
        if len(rows) >= limit or back is None:
            return rows
    return rows


def sla_cases(conn: Connection, scope: Scope, m: Moment, limit: int = 12) -> list[dict[str, Any]]:
    """Open cases that are overdue (超期) or in warning (临期) at T, the most pressing first.

    ``sla_state`` is ``overdue`` or ``warning``; overdue cases come first, longest overdue first,
    then warnings by the time left.
    """
    t = m.at
    state = sql_case((overdue_at(t), "overdue"), else_="warning").label("sla_state")
    pressing = (
        select(*_CASE_COLUMNS, state)
        .where(in_scope(scope, Case), open_at(t), or_(overdue_at(t), warning_at(t)))
        .order_by(sql_case((overdue_at(t), 0), else_=1), c.resolve_due_at, c.id)
        .limit(limit)
        .subquery("pressing")
    )
    stmt = _with_names(pressing).order_by(
        sql_case((pressing.c.sla_state == "overdue", 0), else_=1), pressing.c.resolve_due_at, pressing.c.id)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def data_as_of(conn: Connection, scope: Scope, m: Moment) -> datetime | None:
    """The latest change to a case in the scope at or before T (the age of the data the wall shows).

    Platforms that never fill ``updated_at`` fall back to the latest report time.
    """
    cases_in_scope = in_scope(scope, Case)
    for back in LOOKBACK:
        known = [
            conn.execute(select(func.max(col)).where(cases_in_scope, _within(col, m, back))).scalar()
            for col in (c.updated_at, c.reported_at)
        ]
        known = [v for v in known if v is not None]
        if known:
            return max(known)
    return None
