"""The contract's figures (contract.md, "Figures: exact definitions"), each for a scope and a moment.

Every figure is one SQL statement over the platform tables. The definitions are followed to the
letter, including SQL's NULL semantics: a comparison with NULL is false, so a case with a NULL
deadline is never overdue but still open.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.engine import Connection

from .models import Alert, Case, Grid, Staff, StaffPing, StaffShift
from .moment import Moment
from .scope import Scope
from .sqlfuncs import epoch_seconds

CASE_KEYS = ("open", "overdue", "warning", "accept_overdue", "dispatch_overdue", "new_today", "closed_today")
RATE_KEYS = ("on_time", "closed", "satisfied", "self_resolved")
STAFFING_KEYS = ("grids", "grids_staffed", "workers", "on_duty", "online", "patrolled_today")
ALERT_STATUSES = ("new", "acknowledged")

ONLINE_WINDOW = timedelta(minutes=10)

c = Case.__table__.c


def open_at(t):
    """Open at T: reported_at <= T and (closed_at IS NULL or closed_at > T)."""
    return and_(c.reported_at <= t, or_(c.closed_at.is_(None), c.closed_at > t))


def overdue_at(t):
    return and_(open_at(t), c.resolve_due_at < t)


def warning_at(t):
    # T >= reported + 0.8 (due - reported)  <=>  5 T >= 4 due + reported, in epoch seconds.
    return and_(
        open_at(t),
        c.resolve_due_at >= t,
        epoch_seconds(c.resolve_due_at) * 4 + epoch_seconds(c.reported_at) <= epoch_seconds(literal(t, c.reported_at.type)) * 5,
    )


def accept_overdue_at(t):
    return and_(open_at(t), or_(c.accepted_at.is_(None), c.accepted_at > t), c.accept_due_at < t)


def dispatch_overdue_at(t):
    return and_(open_at(t), or_(c.dispatched_at.is_(None), c.dispatched_at > t), c.dispatch_due_at < t)


def _open_counts(conn: Connection, scope: Scope, m: Moment, group=None) -> dict[Any, dict[str, int]]:
    t = m.at
    cols = [
        func.count().label("open"),
        func.count().filter(c.resolve_due_at < t).label("overdue"),
        func.count().filter(warning_at(t)).label("warning"),
        func.count().filter(accept_overdue_at(t)).label("accept_overdue"),
        func.count().filter(dispatch_overdue_at(t)).label("dispatch_overdue"),
    ]
    return _grouped(conn, cols, and_(open_at(t), scope.case_filter(c.grid_code)), group)


def _today_counts(conn: Connection, scope: Scope, m: Moment, group=None) -> dict[Any, dict[str, int]]:
    t, mid = m.at, m.midnight
    new = _grouped(conn, [func.count().label("new_today")],
                   and_(c.reported_at >= mid, c.reported_at <= t, scope.case_filter(c.grid_code)), group)
    closed = _grouped(conn, [func.count().label("closed_today")],
                      and_(c.status == "closed", c.closed_at >= mid, c.closed_at <= t,
                           scope.case_filter(c.grid_code)), group)
    for key, row in closed.items():
        new.setdefault(key, {}).update(row)
    return new


def _grouped(conn: Connection, cols, where, group) -> dict[Any, dict[str, int]]:
    if group is None:
        row = conn.execute(select(*cols).select_from(Case.__table__).where(where)).mappings().one()
        return {None: {k: int(v or 0) for k, v in row.items()}}
    stmt = select(group.label("g"), *cols).select_from(Case.__table__).where(where).group_by(group)
    out: dict[Any, dict[str, int]] = {}
    for row in conn.execute(stmt).mappings():
        out[row["g"]] = {k: int(v or 0) for k, v in row.items() if k != "g"}
    return out


def case_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """open, overdue, warning, accept_overdue, dispatch_overdue, new_today, closed_today."""
    figures = dict.fromkeys(CASE_KEYS, 0)
    figures.update(_open_counts(conn, scope, m)[None])
    figures.update(_today_counts(conn, scope, m)[None])
    return figures


def case_figures_by_child(conn: Connection, scope: Scope, m: Moment) -> dict[str | None, dict[str, int]]:
    """The case figures of each child of the scope's region, keyed by the child's code.

    Children are the next level of the code hierarchy (county → street → community → grid).
    Unlocated cases (NULL grid code, root only) are keyed None.
    """
    child_len = {4: 6, 6: 9, 9: 12, 12: 15}.get(len(scope.region))
    if child_len is None:
        return {}
    group = func.substr(c.grid_code, 1, child_len)
    merged: dict[str | None, dict[str, int]] = {}
    for part in (_open_counts(conn, scope, m, group), _today_counts(conn, scope, m, group)):
        for key, row in part.items():
            merged.setdefault(key, dict.fromkeys(CASE_KEYS, 0)).update(row)
    return merged


def rate_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, float | None]:
    """on_time, closed, satisfied and self_resolved rates over W7 = (T - 7 days, T]; None on an empty denominator."""
    t, start = m.at, m.w7_start
    closed_in_w7 = and_(c.status == "closed", c.closed_at > start, c.closed_at <= t)
    due_in_w7 = and_(c.resolve_due_at > start, c.resolve_due_at <= t)
    due_7d = and_(c.status.notin_(("rejected", "merged")), c.reported_at <= t, or_(due_in_w7, closed_in_w7))
    closed_by_t = and_(c.status == "closed", c.closed_at <= t)
    rated = and_(closed_in_w7, c.satisfaction.is_not(None))
    patrol_closed = and_(closed_in_w7, c.source == "patrol")
    stmt = select(
        func.count().filter(due_7d).label("due"),
        func.count().filter(and_(due_7d, closed_by_t, c.closed_at <= c.resolve_due_at)).label("on_time"),
        func.count().filter(and_(due_7d, closed_by_t)).label("closed"),
        func.count().filter(rated).label("rated"),
        func.count().filter(and_(rated, c.satisfaction >= 3)).label("satisfied"),
        func.count().filter(patrol_closed).label("patrol_closed"),
        func.count().filter(and_(patrol_closed, c.escalations == 0,
                                 c.level.in_(("grid", "community")))).label("self_resolved"),
    ).select_from(Case.__table__).where(
        # The two halves of W7 membership, each served by its own index.
        or_(due_in_w7, and_(c.closed_at > start, c.closed_at <= t)),
        scope.case_filter(c.grid_code),
    )
    r = conn.execute(stmt).mappings().one()

    def share(num: int, den: int) -> float | None:
        return None if not den else num / den

    return {
        "on_time": share(r["on_time"], r["due"]),
        "closed": share(r["closed"], r["due"]),
        "satisfied": share(r["satisfied"], r["rated"]),
        "self_resolved": share(r["self_resolved"], r["patrol_closed"]),
    }


def staffing_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """grids, grids_staffed, workers, on_duty, online, patrolled_today."""
    t = m.at
    g = Grid.__table__.c
    s = Staff.__table__.alias("s")
    sh = StaffShift.__table__.c
    p = StaffPing.__table__.c
    worker = and_(s.c.role == "grid_worker", s.c.active.is_(True))
    in_scope = scope.code_filter(g.code)

    grids = conn.execute(select(func.count(g.code.distinct())).where(in_scope)).scalar_one()
    staffed = conn.execute(select(func.count(g.code.distinct())).where(
        in_scope, exists().where(s.c.grid_code == g.code, worker))).scalar_one()

    on_duty = exists().where(sh.staff_id == s.c.id, sh.starts_at <= t, sh.ends_at > t)
    pinged = exists().where(p.staff_id == s.c.id, p.ts > t - ONLINE_WINDOW, p.ts <= t)
    workers_q = (
        select(
            func.count().label("workers"),
            func.count().filter(on_duty).label("on_duty"),
            func.count().filter(and_(on_duty, pinged)).label("online"),
        )
        .select_from(s)
        # "assigned to grids in R": the grid must exist; its code carries the region.
        .where(worker, scope.code_filter(s.c.grid_code),
               s.c.grid_code.in_(select(g.code).where(in_scope).scalar_subquery()))
    )
    w = conn.execute(workers_q).mappings().one()

    patrolled = conn.execute(select(func.count(g.code.distinct())).where(
        in_scope,
        exists().where(s.c.grid_code == g.code, worker,
                       exists().where(p.staff_id == s.c.id, p.ts >= m.midnight, p.ts <= t)),
    )).scalar_one()
    return {
        "grids": int(grids),
        "grids_staffed": int(staffed),
        "workers": int(w["workers"]),
        "on_duty": int(w["on_duty"]),
        "online": int(w["online"]),
        "patrolled_today": int(patrolled),
    }


def alert_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """Alerts in the region created by T, by current status (new, acknowledged)."""
    a = Alert.__table__.c
    rows = conn.execute(
        select(a.status, func.count()).where(scope.code_filter(a.region_code), a.created_at <= m.at,
                                             a.status.in_(ALERT_STATUSES)).group_by(a.status)
    ).all()
    counts = dict.fromkeys(ALERT_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def summary(conn: Connection, scope: Scope, m: Moment) -> dict[str, Any]:
    """All figures of the contract for one region and moment, shaped like ``/api/v1/summary``."""
    return {
        "cases": case_figures(conn, scope, m),
        "rates_7d": rate_figures(conn, scope, m),
        "staffing": staffing_figures(conn, scope, m),
        "alerts": alert_figures(conn, scope, m),
    }
