"""The contract's figures (contract.md, "Figures: exact definitions"), each for a scope and a moment.

Each group of figures (cases, rates, staffing, alerts) is one SQL statement over the platform
tables; summary() reads cases and rates in one pass. bench/summary_1m.py times them against
hand-written SQL on 1M cases (docs/benchmarks.md). The definitions are followed to the letter,
including SQL's NULL semantics: a comparison with NULL is false, so a case with a NULL deadline
is never overdue but still open.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, true, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter

from .models import Alert, Case, Grid, Staff, StaffPing, StaffShift
from . import rollup_figures
from .moment import Moment
from .scope import COUNTY_LENGTH, Scope
from .scoped import child_key, in_scope, in_scope_param, params_key, scope_params
from .sqlfuncs import epoch_seconds

CASE_KEYS = ("open", "overdue", "warning", "accept_overdue", "dispatch_overdue", "new_today", "closed_today")
RATE_KEYS = ("on_time", "closed", "satisfied", "self_resolved")
RATE_COUNT_KEYS = ("due", "on_time", "closed", "rated", "satisfied", "patrol_closed", "self_resolved")
STAFFING_KEYS = ("grids", "grids_staffed", "workers", "on_duty", "online", "patrolled_today")
ALERT_STATUSES = ("new", "acknowledged")

ONLINE_WINDOW = timedelta(minutes=10)

c = Case.__table__.c

# The big statements are built once, with the moment as named parameters: building one anew costs
# about as much time as PostgreSQL takes to run it for a street of a 1M-case county (bench/).
_AT = bindparam("gw_at", type_=c.reported_at.type)
_MIDNIGHT = bindparam("gw_midnight", type_=c.reported_at.type)
_W7_START = bindparam("gw_w7_start", type_=c.reported_at.type)


_ONLINE_FROM = bindparam("gw_online_from", type_=c.reported_at.type)


def _moment_params(m: Moment) -> dict[str, Any]:
    return {"gw_at": m.at, "gw_midnight": m.midnight, "gw_w7_start": m.w7_start,
            "gw_online_from": m.at - ONLINE_WINDOW}


def open_at(t):
    """Open at T: reported_at <= T and (closed_at IS NULL or closed_at > T)."""
    return and_(c.reported_at <= t, or_(c.closed_at.is_(None), c.closed_at > t))


def overdue_at(t):
    return and_(open_at(t), c.resolve_due_at < t)


def warning_at(t):
    return and_(open_at(t), _warning(c.reported_at, c.resolve_due_at, t))


def _warning(reported, due, t):
    """Not yet due, 80 % of the way there: T >= reported + 0.8 (due - reported) <=> 5 T >= 4 due +
    reported, in epoch seconds (the open condition is the caller's)."""
    at = t if isinstance(t, BindParameter) else literal(t, c.reported_at.type)
    return and_(due >= t, epoch_seconds(due) * 4 + epoch_seconds(reported) <= epoch_seconds(at) * 5)


def accept_overdue_at(t):
    return and_(open_at(t), or_(c.accepted_at.is_(None), c.accepted_at > t), c.accept_due_at < t)


def dispatch_overdue_at(t):
    return and_(open_at(t), or_(c.dispatched_at.is_(None), c.dispatched_at > t), c.dispatch_due_at < t)


@cache
def _case_columns():
    """The case figures as counts, and the rows at least one of them counts (moment as parameters)."""
    t, mid = _AT, _MIDNIGHT
    new_today = and_(c.reported_at >= mid, c.reported_at <= t)
    closed_today = and_(c.status == "closed", c.closed_at >= mid, c.closed_at <= t)
    cols = [
        func.count().filter(open_at(t)).label("open"),
        func.count().filter(overdue_at(t)).label("overdue"),
        func.count().filter(warning_at(t)).label("warning"),
        func.count().filter(accept_overdue_at(t)).label("accept_overdue"),
        func.count().filter(dispatch_overdue_at(t)).label("dispatch_overdue"),
        func.count().filter(new_today).label("new_today"),
        func.count().filter(closed_today).label("closed_today"),
    ]
    # Open at T is re-checked in each count; as a row source only its closed_at half is indexable.
    return cols, or_(c.closed_at.is_(None), c.closed_at > t, new_today, closed_today)


@cache
def _rate_columns():
    """The counts behind the 7-day rates, and the rows at least one of them counts (moment as parameters)."""
    t, start = _AT, _W7_START
    closed_in_w7 = and_(c.status == "closed", c.closed_at > start, c.closed_at <= t)
    due_in_w7 = and_(c.resolve_due_at > start, c.resolve_due_at <= t)
    due_7d = and_(c.status.notin_(("rejected", "merged")), c.reported_at <= t, or_(due_in_w7, closed_in_w7))
    closed_by_t = and_(c.status == "closed", c.closed_at <= t)
    rated = and_(closed_in_w7, c.satisfaction.is_not(None))
    patrol_closed = and_(closed_in_w7, c.source == "patrol")
    cols = [
        func.count().filter(due_7d).label("due"),
        func.count().filter(and_(due_7d, closed_by_t, c.closed_at <= c.resolve_due_at)).label("on_time"),
        func.count().filter(and_(due_7d, closed_by_t)).label("closed"),
        func.count().filter(rated).label("rated"),
        func.count().filter(and_(rated, c.satisfaction >= 3)).label("satisfied"),
        func.count().filter(patrol_closed).label("patrol_closed"),
        func.count().filter(and_(patrol_closed, c.escalations == 0,
                                 c.level.in_(("grid", "community")))).label("self_resolved"),
    ]
    # The two halves of W7 membership, each served by its own index.
    return cols, or_(due_in_w7, and_(c.closed_at > start, c.closed_at <= t))


def _rates(r: dict[str, int]) -> dict[str, float | None]:
    def share(num: int, den: int) -> float | None:
        return None if not den else num / den

    return {
        "on_time": share(r["on_time"], r["due"]),
        "closed": share(r["closed"], r["due"]),
        "satisfied": share(r["satisfied"], r["rated"]),
        "self_resolved": share(r["self_resolved"], r["patrol_closed"]),
    }


def _in_case_scope(scope: Scope):
    # The time windows drive these statements; the region only filters (index=False).
    return in_scope(scope, Case, index=False)


def _case_counts(conn: Connection, scope: Scope, m: Moment, group=None) -> dict[Any, dict[str, int]]:
    """The case figures in one statement, over the cases that at least one of them may count."""
    cols, rows = _case_columns()
    return _grouped(conn, cols, and_(rows, _in_case_scope(scope)), group, _moment_params(m))


def _grouped(conn: Connection, cols, where, group, params) -> dict[Any, dict[str, int]]:
    if group is None:
        row = conn.execute(select(*cols).select_from(Case.__table__).where(where), params).mappings().one()
        return {None: {k: int(v or 0) for k, v in row.items()}}
    stmt = select(group.label("g"), *cols).select_from(Case.__table__).where(where).group_by(group)
    out: dict[Any, dict[str, int]] = {}
    for row in conn.execute(stmt, params).mappings():
        out[row["g"]] = {k: int(v or 0) for k, v in row.items() if k != "g"}
    return out


def case_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """open, overdue, warning, accept_overdue, dispatch_overdue, new_today, closed_today."""
    figures = dict.fromkeys(CASE_KEYS, 0)
    if scope.rollup:  # the sum of the counties' own
        counts = rollup_figures.summed(conn, scope, lambda c, s: _counts(c, s, m))
        figures.update({k: counts.get(k, 0) for k in CASE_KEYS})
        return figures
    figures.update(_case_counts(conn, scope, m)[None])
    return figures


def case_figures_by_child(conn: Connection, scope: Scope, m: Moment) -> dict[str | None, dict[str, int]]:
    """The case figures of each child of the scope's region, keyed by the child's code.

    Children are the next level of the code hierarchy (county → street → community → grid).
    Unlocated cases (NULL grid code, root only) are keyed None; on a roll-up database above the
    county they fall in the child holding the county they came from.
    """
    if scope.rollup:
        above = len(scope.region) < COUNTY_LENGTH
        rows = rollup_figures.by_child(conn, scope, m, _counts if above else case_figures_by_child, CASE_KEYS)
        return {key: {**dict.fromkeys(CASE_KEYS, 0), **row} for key, row in rows.items()}
    group = child_key(scope, Case.__table__)
    if group is None:
        return {}
    # A child is listed when it has something to count.
    return {key: {**dict.fromkeys(CASE_KEYS, 0), **row}
            for key, row in _case_counts(conn, scope, m, group).items() if any(row.values())}


def rate_counts(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """The numerators and denominators of the 7-day rates (due, on_time, closed, rated, satisfied,
    patrol_closed, self_resolved): a roll-up's rates are these summed over its counties, divided."""
    if scope.rollup:  # summed numerators and denominators of the counties' own
        counts = rollup_figures.summed(conn, scope, lambda c, s: _counts(c, s, m))
        return {k: counts.get(k, 0) for k in RATE_COUNT_KEYS}
    cols, rows = _rate_columns()
    return _grouped(conn, cols, and_(rows, _in_case_scope(scope)), None, _moment_params(m))[None]


def rate_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, float | None]:
    """on_time, closed, satisfied and self_resolved rates over W7 = (T - 7 days, T]; None on an empty denominator."""
    return _rates(rate_counts(conn, scope, m))


def staffing_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """grids, grids_staffed, workers, on_duty, online, patrolled_today, in one statement."""
    if scope.rollup:  # the sum of the counties' own
        counts = rollup_figures.summed(conn, scope, lambda c, s: staffing_figures(c, s, m))
        return {k: counts.get(k, 0) for k in STAFFING_KEYS}
    stmt = _staffing_statement(params_key(scope))
    row = conn.execute(stmt, {**_moment_params(m), **scope_params(scope)}).mappings().one()
    return {k: int(row[k] or 0) for k in STAFFING_KEYS}


@cache
def _staffing_statement(key):
    """One pass over the workers: each worker's grid (which must exist in R), whether on duty at T,
    and its last ping at or before T, from which online and patrolled follow; the grid figures are
    counts of distinct grids over those rows.

    A worker is online when on duty with a ping in (T - 10 min, T]; a grid is patrolled today when
    one of its workers pinged in [midnight, T]: each holds exactly when the last ping up to T lies in
    the window. For a whole county that last ping is read for all workers at once from the pings of
    the last 10 minutes (an index-only range scan of ``ix_staff_pings_ts_staff``), and by one
    backward probe of the primary key only for the workers without one; below it, by a probe each.
    Two EXISTS probes per worker and three passes over the grids took three times as long (about 11
    against 3.5 ms on a 1M-case county, docs/scale.md)."""
    t = _AT
    g = Grid.__table__.c
    s = Staff.__table__.alias("s")
    sh = StaffShift.__table__.c
    p = StaffPing.__table__.c
    grid_in_scope = in_scope_param(key, Grid)

    probe = select(func.max(p.ts)).where(p.staff_id == s.c.id, p.ts <= t).scalar_subquery()
    staff_grids = s.join(Grid.__table__, g.code == s.c.grid_code)
    if key.root:
        # The whole county: the last 10 minutes' pings of everyone, then a probe for the rest. Below the
        # root a probe a worker is cheaper than the county's window (a street's staffing on SQLite:
        # 4.5 against 1 ms, bench/summary_1m.py).
        recent = (select(p.staff_id, func.max(p.ts).label("last")).where(p.ts > _ONLINE_FROM, p.ts <= t)
                  .group_by(p.staff_id).cte("recent_pings").prefix_with("MATERIALIZED", dialect="postgresql"))
        last_ping = case((recent.c.last.is_not(None), recent.c.last), else_=probe)
        staff_grids = staff_grids.outerjoin(recent, recent.c.staff_id == s.c.id)
    else:
        last_ping = probe
    # The roster at T is read once (an IN list), not once per worker.
    on_duty = s.c.id.in_(select(sh.staff_id).where(sh.starts_at <= t, sh.ends_at > t))
    workers = (
        select(s.c.grid_code, on_duty.label("on_duty"), last_ping.label("last_ping"))
        # "assigned to grids in R": the grid must exist; its code carries the region.
        .select_from(staff_grids)
        .where(s.c.role == "grid_worker", s.c.active.is_(True), in_scope_param(key, s), grid_in_scope)
        # Computed once a worker: PostgreSQL would otherwise inline the probe into each count.
        .cte("w").prefix_with("MATERIALIZED", dialect="postgresql")
    )
    w = workers.c
    grids = select(func.count()).select_from(Grid.__table__).where(grid_in_scope).scalar_subquery()
    return select(
        grids.label("grids"),
        func.count(w.grid_code.distinct()).label("grids_staffed"),
        func.count().label("workers"),
        func.count().filter(w.on_duty).label("on_duty"),
        func.count().filter(and_(w.on_duty, w.last_ping > _ONLINE_FROM)).label("online"),
        func.count(case((w.last_ping >= _MIDNIGHT, w.grid_code)).distinct()).label("patrolled_today"),
    ).select_from(workers)


def alert_figures(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """Alerts in the region created by T, by current status (new, acknowledged)."""
    a = Alert.__table__.c
    rows = conn.execute(
        select(a.status, func.count()).where(in_scope(scope, Alert), a.created_at <= m.at,
                                             a.status.in_(ALERT_STATUSES)).group_by(a.status)
    ).all()
    counts = dict.fromkeys(ALERT_STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def _counts(conn: Connection, scope: Scope, m: Moment) -> dict[str, int]:
    """The case figures and the counts behind the rates, in one statement (one round trip)."""
    row = conn.execute(_summary_statement(params_key(scope)),
                       {**_moment_params(m), **scope_params(scope)}).mappings().one()
    return {k: int(row[k] or 0) for k in CASE_KEYS + RATE_COUNT_KEYS}


def counts_and_staffing(conn: Connection, scope: Scope, m: Moment) -> tuple[dict[str, int], dict[str, int]]:
    """``_counts`` and ``staffing_figures`` in one round trip: a roll-up reads them for each county."""
    row = conn.execute(_counts_and_staffing_statement(params_key(scope)),
                       {**_moment_params(m), **scope_params(scope)}).mappings().one()
    return ({k: int(row[k] or 0) for k in CASE_KEYS + RATE_COUNT_KEYS},
            {k: int(row[k] or 0) for k in STAFFING_KEYS})


@cache
def _counts_and_staffing_statement(key):
    counts = _summary_statement(key).subquery("case_counts")
    staffing = _staffing_statement(key).subquery("staffing")
    return select(*counts.c, *staffing.c).select_from(counts.join(staffing, true()))


@cache
def _summary_statement(key):
    """The summary's case figures in two parts joined into one row.

    Open at T (open, overdue, warning, accept_overdue, dispatch_overdue) reads the cases with no
    closed_at from the covering partial index ``ix_cases_open_cover`` (an index-only scan: the
    long-open cases lie scattered over years of the table, a heap page each), plus those closed
    after T (none at the live moment). Today's and the 7-day window's counts read the recent cases,
    which lie together. One pass over both sets with every count's condition, as before, read 6x the
    pages: 1,900 a 1M-case county, more than PostgreSQL's default buffers hold for ten counties.
    """
    t, mid = _AT, _MIDNIGHT
    region = in_scope_param(key, Case, index=False)
    cols = (c.reported_at, c.resolve_due_at, c.accepted_at, c.accept_due_at, c.dispatched_at, c.dispatch_due_at)
    open_rows = union_all(
        select(*cols).where(c.closed_at.is_(None), c.reported_at <= t, region),
        select(*cols).where(c.closed_at > t, c.reported_at <= t, region),
    ).subquery("open_at_t")
    o = open_rows.c
    warning = _warning(o.reported_at, o.resolve_due_at, t)
    open_counts = select(
        func.count().label("open"),
        func.count().filter(o.resolve_due_at < t).label("overdue"),
        func.count().filter(warning).label("warning"),
        func.count().filter(and_(or_(o.accepted_at.is_(None), o.accepted_at > t),
                                 o.accept_due_at < t)).label("accept_overdue"),
        func.count().filter(and_(or_(o.dispatched_at.is_(None), o.dispatched_at > t),
                                 o.dispatch_due_at < t)).label("dispatch_overdue"),
    ).select_from(open_rows).subquery("open_counts")

    # Today's and the 7-day window's rows, each row's conditions evaluated once (OFFSET 0 keeps
    # PostgreSQL from inlining them back into every count that uses them: 30 % of this part).
    start = _W7_START
    new_today = and_(c.reported_at >= mid, c.reported_at <= t)
    closed_in_w7 = and_(c.status == "closed", c.closed_at > start, c.closed_at <= t)
    due_in_w7 = and_(c.resolve_due_at > start, c.resolve_due_at <= t)
    _, rate_rows = _rate_columns()
    rows = select(
        c.closed_at, c.resolve_due_at, c.satisfaction, c.source, c.escalations, c.level,
        new_today.label("new_today"),
        closed_in_w7.label("closed_in_w7"),
        and_(c.status == "closed", c.closed_at <= t).label("closed_by_t"),
        and_(c.status.notin_(("rejected", "merged")), c.reported_at <= t,
             or_(due_in_w7, closed_in_w7)).label("due_7d"),
    ).where(or_(new_today, rate_rows), region).offset(0).subquery("window_rows")
    r = rows.c
    patrol_closed = and_(r.closed_in_w7, r.source == "patrol")
    # The same counts as _rate_columns (rate_figures), over the flags.
    window_counts = select(
        func.count().filter(r.new_today).label("new_today"),
        # closed today = closed in W7 on or after midnight (midnight lies inside W7).
        func.count().filter(and_(r.closed_in_w7, r.closed_at >= mid)).label("closed_today"),
        func.count().filter(r.due_7d).label("due"),
        func.count().filter(and_(r.due_7d, r.closed_by_t, r.closed_at <= r.resolve_due_at)).label("on_time"),
        func.count().filter(and_(r.due_7d, r.closed_by_t)).label("closed"),
        func.count().filter(and_(r.closed_in_w7, r.satisfaction.is_not(None))).label("rated"),
        func.count().filter(and_(r.closed_in_w7, r.satisfaction >= 3)).label("satisfied"),
        func.count().filter(patrol_closed).label("patrol_closed"),
        func.count().filter(and_(patrol_closed, r.escalations == 0,
                                 r.level.in_(("grid", "community")))).label("self_resolved"),
    ).select_from(rows).subquery("window_counts")
    return select(*open_counts.c, *window_counts.c).select_from(open_counts.join(window_counts, true()))


def summary(conn: Connection, scope: Scope, m: Moment) -> dict[str, Any]:
    """All figures of the contract for one region and moment, shaped like ``/api/v1/summary``.

    On a roll-up database, the sum of the counties' own (``data_access.rollup_figures``)."""
    if scope.rollup:
        r = rollup_figures.summary(conn, scope, m, counts_and_staffing, alert_figures)
        counts = {**dict.fromkeys(CASE_KEYS + RATE_COUNT_KEYS, 0), **r["counts"]}
        return {"cases": {k: counts[k] for k in CASE_KEYS}, "rates_7d": _rates(counts),
                "staffing": {k: r["staffing"].get(k, 0) for k in STAFFING_KEYS}, "alerts": r["alerts"]}
    r, staffing = counts_and_staffing(conn, scope, m)
    return {
        "cases": {k: r[k] for k in CASE_KEYS},
        "rates_7d": _rates(r),
        "staffing": staffing,
        "alerts": alert_figures(conn, scope, m),
    }
