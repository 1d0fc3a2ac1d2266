"""Data-quality counts behind the figures of one scope and moment (the wall's small badge).

The contract's figures keep defective rows wherever the definition lets them and count the defect
here instead (contract.md, "Rules of the contract"). Only the cases the current figures read are
looked at: those open at T or reported in W7 = (T - 7 days, T]. Every count is answered from the
indexes on ``reported_at``, ``closed_at`` and ``grid_code``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Connection

from .figures import open_at
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


def quality_counts(conn: Connection, scope: Scope, m: Moment, *, now: datetime | None = None) -> dict[str, int]:
    """Counts of data-quality issues among the scope's cases, with ``total`` (rows may repeat across keys).

    - unknown_category: open at T or reported in W7, category code NULL or not in categories
    - no_resolve_due: open at T with a NULL resolve_due_at (never overdue, never in warning)
    - null_reported_at: reported_at NULL (in no figure at all)
    - future_reported_at: reported_at after the wall clock ``now`` (default: the real now)
    - unlocated: open at T or reported in W7 with a NULL grid_code (only the root scope sees them)
    """
    t = m.at
    now = now or datetime.now(UTC)
    in_scope = scope.case_filter(c.grid_code)
    is_open = open_at(t)
    recent = or_(is_open, and_(c.reported_at > m.w7_start, c.reported_at <= t))
    unknown_category = or_(c.category_code.is_(None), ~exists().where(cat.code == c.category_code))

    row = conn.execute(
        select(
            func.count().filter(unknown_category).label("unknown_category"),
            func.count().filter(and_(is_open, c.resolve_due_at.is_(None))).label("no_resolve_due"),
            func.count().filter(c.grid_code.is_(None)).label("unlocated"),
        ).select_from(Case.__table__).where(in_scope, recent)
    ).mappings().one()
    counts = {k: int(row[k] or 0) for k in ("unknown_category", "no_resolve_due", "unlocated")}
    counts["null_reported_at"] = int(conn.execute(
        select(func.count()).select_from(Case.__table__).where(in_scope, c.reported_at.is_(None))).scalar_one())
    counts["future_reported_at"] = int(conn.execute(
        select(func.count()).select_from(Case.__table__).where(
            in_scope, c.reported_at > now + FUTURE_TOLERANCE)).scalar_one())
    out = {k: counts[k] for k in QUALITY_KEYS}
    out["total"] = sum(out.values())
    return out
