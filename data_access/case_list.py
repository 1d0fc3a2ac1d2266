"""Case lists for ``/api/v1/cases``: open, overdue or warning cases of a scope at a moment, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .figures import open_at, overdue_at, warning_at
from .models import Case, Category
from .moment import Moment
from .scope import Scope
from .scoped import in_scope

c = Case.__table__.c
cat = Category.__table__.c

STATES = {"open": open_at, "overdue": overdue_at, "warning": warning_at}


def list_cases(conn: Connection, scope: Scope, m: Moment, state: str = "open", limit: int = 100) -> list[dict]:
    """Cases in ``state`` at T, newest reported first; raw text (the caller masks it)."""
    condition = STATES[state](m.at)
    stmt = (
        select(c.code, c.title, c.category_code, cat.name.label("category_name"), c.source, c.urgency,
               c.status, c.reported_at, c.grid_code, c.address, c.resolve_due_at)
        .select_from(Case.__table__.outerjoin(Category.__table__, cat.code == c.category_code))
        .where(condition, in_scope(scope, Case))
        .order_by(c.reported_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]
