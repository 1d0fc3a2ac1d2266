"""Data-quality counts behind the figures of one scope and moment (the wall's small badge).

The contract's figures keep defective rows wherever the definition lets them and count the defect
here instead (contract.md, "Rules of the contract"). Only the cases the current figures read are
looked at: those open at T or reported in W7 = (T - 7 days, T]. Every count is answered from the
indexes on ``reported_at``, ``closed_at`` and ``grid_code``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from .models import Case, Category
from .moment import Moment
from .scope import Scope

UTC = timezone.utc
# Clock skew between the platform's servers and ours is not a defect.
FUTURE_TOLERANCE = timedelta(minutes=5)

QUALITY_KEYS = ("unknown_category", "no_resolve_due", "null_reported_at", "future_reported_at", "unlocated")
QUALITY_LABELS = {
    "unknown_category": "未知分类",
    "no_resolve_due": "在办无时限",
    "null_reported_at": "上报时间为空",
    "future_reported_at": "上报时间在未来",
    "unlocated": "未定位",
}

c = Case.__table__.c
cat = Category.__table__.c


class _unindexed(FunctionElement):
    """The column, kept from driving the plan: SQLite's unary ``+`` disables its index.

    Over a wide scope (a county, a street) the grid-code range covers most cases, and "reported
    by T" covers nearly all of them, while the other conditions pick a few thousand; SQLite's
    planner would still walk those indexes.
    """

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column):
        super().__init__(column)
        self.type = column.type


@compiles(_unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(_unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.clauses, **kw)


def quality_counts(conn: Connection, scope: Scope, m: Moment, *, now: datetime | None = None) -> dict[str, int]:
    """Counts of data-quality issues among the scope's cases, with ``total`` (a case may count twice).

    - unknown_category: open at T or reported in W7, category code NULL or not in categories
    - no_resolve_due: open at T with a NULL resolve_due_at (never overdue, never in warning)
    - null_reported_at: reported_at NULL (in no figure at all)
    - future_reported_at: reported_at after the wall clock ``now`` (default: the real now)
    - unlocated: open at T or reported in W7 with a NULL grid_code (only the root scope sees them)
    """
    t = m.at
    now = now or datetime.now(UTC)
    grid_code = c.grid_code if len(scope.region) >= 12 else _unindexed(c.grid_code)
    in_scope = scope.case_filter(grid_code)
    unknown_category = or_(c.category_code.is_(None), ~exists().where(cat.code == c.category_code))
    unlocated = c.grid_code.is_(None)

    def count(where, **filters) -> dict[str, int]:
        cols = [func.count().filter(cond).label(name) for name, cond in filters.items()]
        row = conn.execute(select(*cols).select_from(Case.__table__).where(in_scope, where)).mappings().one()
        return {k: int(v or 0) for k, v in row.items()}

    # Open at T, then reported in W7 but no longer open: two disjoint sets, each on a time index.
    open_at_t = and_(_unindexed(c.reported_at) <= t, or_(c.closed_at.is_(None), c.closed_at > t))
    open_now = count(open_at_t, unknown_category=unknown_category, unlocated=unlocated,
                     no_resolve_due=c.resolve_due_at.is_(None))
    closed_recent = count(and_(c.reported_at > m.w7_start, c.reported_at <= t, c.closed_at <= t),
                          unknown_category=unknown_category, unlocated=unlocated)
    out = {
        "unknown_category": open_now["unknown_category"] + closed_recent["unknown_category"],
        "no_resolve_due": open_now["no_resolve_due"],
        "null_reported_at": count(c.reported_at.is_(None), n=true())["n"],
        "future_reported_at": count(c.reported_at > now + FUTURE_TOLERANCE, n=true())["n"],
        "unlocated": open_now["unlocated"] + closed_recent["unlocated"],
    }
    out["total"] = sum(out.values())
    return out
