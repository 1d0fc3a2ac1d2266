"""The period figures of a review meeting (contract.md, "Period figures", version 1.1).

For a scope and a Period read as of T, every figure of the contract's table for the current period
and its two comparisons (previous, last_year; cut like for like by ``Period.windows``), for the
region and for each of its children, plus the departments' dispatches and returns and the bounced
cases. Each window w is (S, E'): "x in P" is S <= x < E'.

One grouped statement reads the case figures of the three windows together (a FILTER per figure
and window, GROUP BY the child's code prefix as ``figures.case_figures_by_child`` does); the region's
counts are the sums of its groups. The flow-log figures (return, rework, extension) read the
matching ``case_actions`` once per statement (an uncorrelated IN). Overdue at the end, the median
close time (exact: percentile_cont on PostgreSQL, ranked rows on SQLite), the sources, the urged
cases and the workers are statements of their own (a median is not a sum of its children's
medians). NULL semantics are the contract's: a comparison with NULL is false.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection

from .models import Case, CaseAction, Grid, Org, Staff
from .period import Period
from .scope import Scope
from .scoped import in_scope
from .sqlfuncs import epoch_seconds

WINDOWS = ("current", "previous", "last_year")

# The period figures, in the contract's order. by_source is an object; the others are numbers
# (rates as fractions, NULL on an empty denominator).
FIGURE_KEYS = ("reported", "by_source", "patrol_share", "accepted", "rejected", "closed", "due", "on_time_rate",
               "closed_rate", "overdue_at_end", "median_close_hours", "satisfied_rate", "self_resolved_rate",
               "return_rate", "rework_rate", "extension_rate", "urged", "workers", "reports_per_worker")
# The figures a score rule may name: the numeric ones.
SCORABLE_KEYS = tuple(k for k in FIGURE_KEYS if k != "by_source")

BOUNCE_RETURNS = 2  # a case is bounced with at least this many returns (contract: "at least two")

c = Case.__table__.c
a = CaseAction.__table__.c
CHILD_LENGTH = {4: 6, 6: 9, 9: 12, 12: 15}


def _bounds(i: int):
    """The bound parameters S and E' of window i."""
    return (bindparam(f"gw_s{i}", type_=c.reported_at.type), bindparam(f"gw_e{i}", type_=c.reported_at.type))


def _window_params(windows: dict[str, tuple[datetime, datetime]]) -> dict[str, datetime]:
    out = {}
    for i, name in enumerate(WINDOWS):
        out[f"gw_s{i}"], out[f"gw_e{i}"] = windows[name]
    return out


def _in(col, s, e):
    return and_(col >= s, col < e)


def _has_action(case_id, action: str, e):
    """The case has at least one ``action`` in its flow log with ts < E'. An uncorrelated IN: each
    backend reads the matching actions once per statement (a hash or an ephemeral index), not once
    per case."""
    return case_id.in_(select(a.case_id).where(a.action == action, a.ts < e).scalar_subquery())


def _child_key(column, scope: Scope):
    n = CHILD_LENGTH.get(len(scope.region))
    return None if n is None else func.substr(column, 1, n)


# --- the case figures, one pass ------------------------------------------------------------------

COUNT_KEYS = ("reported", "patrol", "accepted", "rejected", "closed", "due", "on_time", "closed_due", "rated", "satisfied", "patrol_closed", "self_resolved", "dispatched",
              "returned", "reworked", "extended", "patrol_accepted")


@cache
def _case_columns():
    """(the count columns ``<key>_<i>`` of every window i, the rows at least one of them counts)."""
    cols, rows = [], []
    for i in range(len(WINDOWS)):
        s, e = _bounds(i)
        reported = _in(c.reported_at, s, e)
        closed = and_(c.status == "closed", _in(c.closed_at, s, e))
        due = and_(c.status.notin_(("rejected", "merged")), c.reported_at < e,
                   or_(_in(c.resolve_due_at, s, e), closed))
        closed_by_end = and_(c.status == "closed", c.closed_at < e)
        rated = and_(closed, c.satisfaction.is_not(None))
        patrol = and_(reported, c.source == "patrol")
        patrol_closed = and_(closed, c.source == "patrol")
        dispatched = _in(c.dispatched_at, s, e)
        conditions = {
            "reported": reported,
            "patrol": patrol,
            "accepted": and_(reported, c.accepted_at < e),
            "rejected": and_(reported, c.status == "rejected"),
            "closed": closed,
            "due": due,
            "on_time": and_(due, closed_by_end, c.closed_at <= c.resolve_due_at),
            "closed_due": and_(due, closed_by_end),
            "rated": rated,
            "satisfied": and_(rated, c.satisfaction >= 3),
            "patrol_closed": patrol_closed,
            "self_resolved": and_(patrol_closed, c.escalations == 0, c.level.in_(("grid", "community"))),
            "dispatched": dispatched,
            "returned": and_(dispatched, _has_action(c.id, "return", e)),
            "reworked": and_(closed, _has_action(c.id, "rework", e)),
            "extended": and_(due, _has_action(c.id, "extend", e)),
            "patrol_accepted": and_(patrol, c.accepted_at < e, c.status.notin_(("rejected", "merged"))),
        }
        cols += [func.count().filter(cond).label(f"{key}_{i}") for key, cond in conditions.items()]
        # Each is served by its own time index.
        rows += [reported, _in(c.closed_at, s, e), _in(c.resolve_due_at, s, e), dispatched]
    return cols, or_(*rows)


def _grouped_counts(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[dict[str, int]]]:
    """{child key (None for the region itself or unlocated cases): [counts of window i]}."""
    cols, rows = _case_columns()
    key = _child_key(c.grid_code, scope)
    where = and_(rows, in_scope(scope, Case, index=False))
    if key is None:
        stmt = select(literal(None).label("g"), *cols).select_from(Case.__table__).where(where)
    else:
        stmt = select(key.label("g"), *cols).select_from(Case.__table__).where(where).group_by(key)
    out = {}
    for row in conn.execute(stmt, params).mappings():
        out[row["g"]] = [{k: int(row[f"{k}_{i}"] or 0) for k in COUNT_KEYS} for i in range(len(WINDOWS))]
    return out


def _by_source(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[dict[str, int]]]:
    """{child key: [{source: reported} of window i]} (only sources that occur; a NULL source is "")."""
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    cols = [func.count().filter(_in(c.reported_at, *_bounds(i))).label(f"n{i}") for i in range(len(WINDOWS))]
    stmt = (select(key.label("g"), c.source, *cols)
            .where(or_(*(_in(c.reported_at, *_bounds(i)) for i in range(len(WINDOWS)))),
                   in_scope(scope, Case, index=False))
            .group_by(key, c.source))
    out: dict[Any, list[dict[str, int]]] = {}
    for row in conn.execute(stmt, params).mappings():
        per = out.setdefault(row["g"], [{} for _ in WINDOWS])
        for i in range(len(WINDOWS)):
            if row[f"n{i}"]:
                per[i][row["source"] or ""] = int(row[f"n{i}"])
    return out


def _overdue_at_end(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[int]]:
    """{child key: [cases overdue at E' of window i]}: reported before E', open at E', due before E'.

    Its own statement: its rows (open at E') are found through closed_at (NULL or >= E'), a range
    far wider than the period for the comparisons a year back.
    """
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    conds = []
    for i in range(len(WINDOWS)):
        _, e = _bounds(i)
        conds.append(and_(or_(c.closed_at.is_(None), c.closed_at >= e), c.resolve_due_at < e, c.reported_at < e))
    cols = [func.count().filter(cond).label(f"n{i}") for i, cond in enumerate(conds)]
    stmt = (select(key.label("g"), *cols).where(or_(*conds), in_scope(scope, Case, index=False)).group_by(key))
    return {row["g"]: [int(row[f"n{i}"] or 0) for i in range(len(WINDOWS))]
            for row in conn.execute(stmt, params).mappings()}


def _urged(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[int]]:
    """{child key: [cases with an urge action in window i]}."""
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    cols = [func.count(c.id.distinct()).filter(_in(a.ts, *_bounds(i))).label(f"n{i}") for i in range(len(WINDOWS))]
    stmt = (select(key.label("g"), *cols)
            .select_from(CaseAction.__table__.join(Case.__table__, c.id == a.case_id))
            .where(a.action == "urge", or_(*(_in(a.ts, *_bounds(i)) for i in range(len(WINDOWS)))),
                   in_scope(scope, Case, index=False))
            .group_by(key))
    return {row["g"]: [int(row[f"n{i}"] or 0) for i in range(len(WINDOWS))]
            for row in conn.execute(stmt, params).mappings()}


def _workers(conn: Connection, scope: Scope) -> dict[Any, int]:
    """{child key: active grid workers assigned to existing grids} (today's roster)."""
    s, g = Staff.__table__.c, Grid.__table__.c
    key = _child_key(s.grid_code, scope)
    key = key if key is not None else literal(None)
    stmt = (select(key.label("g"), func.count().label("n"))
            .where(s.role == "grid_worker", s.active.is_(True), in_scope(scope, Staff),
                   s.grid_code.in_(select(g.code).where(in_scope(scope, Grid)).scalar_subquery()))
            .group_by(key))
    return {row.g: int(row.n) for row in conn.execute(stmt)}


def _medians(conn: Connection, scope: Scope, params: dict) -> tuple[list[float | None], dict[Any, list]]:
    """The exact median close hours of window i: ([of the region], {child key: [of the child]}).

    Window functions rank the closed cases of each window (both backends have them); the median is
    the mean of the middle one or two values.
    """
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    hours = (epoch_seconds(c.closed_at) - epoch_seconds(c.reported_at)) / 3600.0
    if conn.dialect.name == "postgresql":
        return _medians_percentile_cont(conn, scope, params, key, hours)
    parts = [select(key.label("g"), literal(i).label("w"), hours.label("h"))
             .where(c.status == "closed", _in(c.closed_at, *_bounds(i)), c.reported_at.is_not(None),
                    in_scope(scope, Case, index=False))
             for i in range(len(WINDOWS))]
    closed = union_all(*parts).subquery("closed")
    ranked = select(
        closed.c.g, closed.c.w, closed.c.h,
        func.row_number().over(partition_by=(closed.c.g, closed.c.w), order_by=closed.c.h).label("rk"),
        func.count().over(partition_by=(closed.c.g, closed.c.w)).label("nk"),
        func.row_number().over(partition_by=closed.c.w, order_by=closed.c.h).label("rt"),
        func.count().over(partition_by=closed.c.w).label("nt"),
    ).subquery("ranked")
    r = ranked.c
    by_key = (select(literal(1).label("child"), r.g, r.w, func.avg(r.h).label("m"))
              .where(or_(r.rk == (r.nk + 1) // 2, r.rk == (r.nk + 2) // 2)).group_by(r.g, r.w))
    total = (select(literal(0).label("child"), literal(None).label("g"), r.w, func.avg(r.h).label("m"))
             .where(or_(r.rt == (r.nt + 1) // 2, r.rt == (r.nt + 2) // 2)).group_by(r.w))
    region: list[float | None] = [None] * len(WINDOWS)
    children: dict[Any, list] = {}
    for row in conn.execute(union_all(by_key, total), params).mappings():
        if row["child"]:
            children.setdefault(row["g"], [None] * len(WINDOWS))[int(row["w"])] = float(row["m"])
        else:
            region[int(row["w"])] = float(row["m"])
    return region, children


def _medians_percentile_cont(conn: Connection, scope: Scope, params: dict, key, hours):
    """``_medians`` on PostgreSQL: percentile_cont(0.5) is the same exact median, without ranking rows."""
    closed = [and_(c.status == "closed", _in(c.closed_at, *_bounds(i)), c.reported_at.is_not(None))
              for i in range(len(WINDOWS))]
    cols = [func.percentile_cont(0.5).within_group(hours).filter(cond).label(f"m{i}") for i, cond in enumerate(closed)]
    where = and_(or_(*closed), in_scope(scope, Case, index=False))
    total = conn.execute(select(*cols).where(where), params).mappings().one()
    region = [None if total[f"m{i}"] is None else float(total[f"m{i}"]) for i in range(len(WINDOWS))]
    children: dict[Any, list] = {}
    if CHILD_LENGTH.get(len(scope.region)):
        for row in conn.execute(select(key.label("g"), *cols).where(where).group_by(key), params).mappings():
            children[row["g"]] = [None if row[f"m{i}"] is None else float(row[f"m{i}"]) for i in range(len(WINDOWS))]
    return region, children


# --- from counts to figures ------------------------------------------------------------------------

def _share(num: int, den: int) -> float | None:
    return None if not den else num / den


def _figures(counts: dict[str, int], by_source: dict[str, int], overdue: int, urged: int, workers: int,
             median: float | None) -> dict[str, Any]:
    k = counts
    return {
        "reported": k["reported"],
        "by_source": dict(sorted(by_source.items())),
        "patrol_share": _share(k["patrol"], k["reported"]),
        "accepted": k["accepted"],
        "rejected": k["rejected"],
        "closed": k["closed"],
        "due": k["due"],
        "on_time_rate": _share(k["on_time"], k["due"]),
        "closed_rate": _share(k["closed_due"], k["due"]),
        "overdue_at_end": overdue,
        "median_close_hours": median,
        "satisfied_rate": _share(k["satisfied"], k["rated"]),
        "self_resolved_rate": _share(k["self_resolved"], k["patrol_closed"]),
        "return_rate": _share(k["returned"], k["dispatched"]),
        "rework_rate": _share(k["reworked"], k["closed"]),
        "extension_rate": _share(k["extended"], k["due"]),
        "urged": urged,
        "workers": workers,
        "reports_per_worker": _share(k["patrol_accepted"], workers),
        # The denominators, for a page that shows them beside the rates.
        "dispatched": k["dispatched"], "rated": k["rated"], "patrol_closed": k["patrol_closed"],
    }


def empty_figures(workers: int = 0) -> dict[str, Any]:
    """The figures of a region with no case in a window."""
    return _figures(dict.fromkeys(COUNT_KEYS, 0), {}, 0, 0, workers, None)


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def review_figures(conn: Connection, scope: Scope, period: Period, at: datetime) -> dict[str, Any]:
    """The period figures of the scope's region and of each of its children, for the three windows.

    ``{"windows": {name: (S, E')}, "region": {name: F}, "children": {child code: {name: F}}}``; a child
    is keyed by the next level of its code (street, community, grid) and listed when it has cases or
    workers. Cases with a NULL grid code count in the region (at the root) and in no child.
    """
    windows = period.windows(at)
    params = _window_params(windows)
    counts = _grouped_counts(conn, scope, params)
    sources = _by_source(conn, scope, params)
    overdue = _overdue_at_end(conn, scope, params)
    urged = _urged(conn, scope, params)
    workers = _workers(conn, scope)
    median_region, median_children = _medians(conn, scope, params)

    n = range(len(WINDOWS))
    total_counts = [dict.fromkeys(COUNT_KEYS, 0) for _ in n]
    total_sources: list[dict[str, int]] = [{} for _ in n]
    for per in counts.values():
        for i in n:
            _add(total_counts[i], per[i])
    for per in sources.values():
        for i in n:
            _add(total_sources[i], per[i])
    total_overdue = [sum(o[i] for o in overdue.values()) for i in n]
    total_urged = [sum(u[i] for u in urged.values()) for i in n]
    total_workers = sum(workers.values())
    region = {name: _figures(total_counts[i], total_sources[i], total_overdue[i], total_urged[i], total_workers,
                             median_region[i])
              for i, name in enumerate(WINDOWS)}

    children: dict[str, dict[str, Any]] = {}
    if CHILD_LENGTH.get(len(scope.region)):
        keys = {k for k in (*counts, *sources, *overdue, *urged, *workers) if k is not None}
        zero = [dict.fromkeys(COUNT_KEYS, 0) for _ in n]
        for key in sorted(keys):
            children[key] = {name: _figures(counts.get(key, zero)[i], sources.get(key, [{}] * 3)[i],
                                            overdue.get(key, [0] * 3)[i], urged.get(key, [0] * 3)[i],
                                            workers.get(key, 0),
                                            median_children.get(key, [None] * 3)[i])
                             for i, name in enumerate(WINDOWS)}
    return {"windows": windows, "region": region, "children": children}


def period_figures(conn: Connection, scope: Scope, period: Period, at: datetime) -> dict[str, dict[str, Any]]:
    """The period figures of the scope's region: ``{"current": F, "previous": F, "last_year": F}``."""
    return review_figures(conn, scope, period, at)["region"]


# --- departments and bounced cases -----------------------------------------------------------------

def departments(conn: Connection, scope: Scope, period: Period, at: datetime) -> list[dict[str, Any]]:
    """Per org, over the cases of the scope: dispatches to it and returns by it with ts in P.

    ``[{"org_id", "name", "received", "returned", "return_rate"}]``, most returns first; orgs with
    neither are left out (as are actions naming no org).
    """
    s, e = period.windows(at)["current"]
    o = Org.__table__.c
    received = (select(a.to_org_id.label("org"), func.count().label("received"), literal(0).label("returned"))
                .select_from(CaseAction.__table__.join(Case.__table__, c.id == a.case_id))
                .where(a.action == "dispatch", _in(a.ts, s, e), a.to_org_id.is_not(None),
                       in_scope(scope, Case, index=False))
                .group_by(a.to_org_id))
    returned = (select(a.from_org_id.label("org"), literal(0).label("received"), func.count().label("returned"))
                .select_from(CaseAction.__table__.join(Case.__table__, c.id == a.case_id))
                .where(a.action == "return", _in(a.ts, s, e), a.from_org_id.is_not(None),
                       in_scope(scope, Case, index=False))
                .group_by(a.from_org_id))
    both = union_all(received, returned).subquery("b")
    stmt = (select(both.c.org, o.name, func.sum(both.c.received).label("received"),
                   func.sum(both.c.returned).label("returned"))
            .select_from(both.outerjoin(Org.__table__, o.id == both.c.org))
            .group_by(both.c.org, o.name))
    rows = []
    for row in conn.execute(stmt):
        got, back = int(row.received or 0), int(row.returned or 0)
        if got or back:
            rows.append({"org_id": int(row.org), "name": row.name, "received": got, "returned": back,
                         "return_rate": _share(back, got)})
    rows.sort(key=lambda r: (-r["returned"], -r["received"], r["org_id"]))
    return rows


def bounced_cases(conn: Connection, scope: Scope, period: Period, at: datetime) -> list[dict[str, Any]]:
    """The cases of the scope bounced in P: at least two ``return`` actions with ts < E', one in P.

    ``[{"case_id", "code", "title", "grid_code", "returns", "orgs", "days_lost"}]``, most returns first.
    ``orgs`` is the chain of orgs the case went through (the receiver of each dispatch and the sender
    of each return, in the order of the flow log, repeats in a row shown once); ``days_lost`` runs
    from the first dispatch to the dispatch that followed the last return (or to the last return
    when none followed before E').
    """
    s, e = period.windows(at)["current"]
    in_p = select(a.case_id).where(a.action == "return", _in(a.ts, s, e)).scalar_subquery()
    stmt = (select(c.id, c.code, c.title, c.grid_code, func.count().label("returns"))
            .select_from(Case.__table__.join(CaseAction.__table__, a.case_id == c.id))
            .where(a.action == "return", a.ts < e, c.id.in_(in_p), in_scope(scope, Case, index=False))
            .group_by(c.id, c.code, c.title, c.grid_code)
            .having(func.count() >= BOUNCE_RETURNS))
    cases = {row.id: {"case_id": int(row.id), "code": row.code, "title": row.title, "grid_code": row.grid_code,
                      "returns": int(row.returns), "orgs": [], "days_lost": None}
             for row in conn.execute(stmt)}
    if not cases:
        return []
    flows: dict[int, list] = {cid: [] for cid in cases}
    ids = list(cases)
    o = Org.__table__.c
    for chunk in range(0, len(ids), 500):
        steps = (select(a.case_id, a.ts, a.action, a.to_org_id, a.from_org_id, o.name)
                 .select_from(CaseAction.__table__.outerjoin(Org.__table__, o.id == _org_of_step()))
                 .where(a.case_id.in_(ids[chunk:chunk + 500]), a.action.in_(("dispatch", "return")), a.ts < e)
                 .order_by(a.case_id, a.ts, a.id))
        for row in conn.execute(steps):
            flows[row.case_id].append(row)
    for cid, steps in flows.items():
        chain: list = []
        for step in steps:
            org = step.name or (f"#{_step_org(step)}" if _step_org(step) is not None else None)
            if org is not None and (not chain or chain[-1] != org):
                chain.append(org)
        cases[cid]["orgs"] = chain
        cases[cid]["days_lost"] = _days_lost(steps)
    return sorted(cases.values(), key=lambda r: (-r["returns"], r["code"] or ""))


def _org_of_step():
    """The org of a flow step: a dispatch's receiver, a return's sender."""
    return case((a.action == "dispatch", a.to_org_id), else_=a.from_org_id)


def _step_org(step) -> int | None:
    return step.to_org_id if step.action == "dispatch" else step.from_org_id


def _days_lost(steps) -> float | None:
    dispatches = [st.ts for st in steps if st.action == "dispatch"]
    returns = [st.ts for st in steps if st.action == "return"]
    if not dispatches or not returns:
        return None
    last_return = returns[-1]
    after = [ts for ts in dispatches if ts >= last_return]
    end = after[0] if after else last_return
    return round((end - dispatches[0]).total_seconds() / 86400.0, 2)


# --- the flow log of one case -----------------------------------------------------------------------

def case_flow(conn: Connection, scope: Scope, code: str) -> dict[str, Any] | None:
    """A case of the scope and its flow log (``case_actions`` in order, with org names), or None
    when no case of the scope has that code."""
    case = conn.execute(
        select(c.id, c.code, c.title, c.status, c.grid_code, c.reported_at, c.closed_at, c.returns, c.urges)
        .where(c.code == code, in_scope(scope, Case))).mappings().first()
    if case is None:
        return None
    src, dst = Org.__table__.alias("src"), Org.__table__.alias("dst")
    steps = conn.execute(
        select(a.id, a.ts, a.action, a.from_org_id, src.c.name.label("from_org"), a.to_org_id,
               dst.c.name.label("to_org"), a.actor_staff_id, a.note)
        .select_from(CaseAction.__table__.outerjoin(src, src.c.id == a.from_org_id)
                     .outerjoin(dst, dst.c.id == a.to_org_id))
        .where(a.case_id == case["id"])
        .order_by(a.ts, a.id)).mappings().all()
    return {**dict(case), "actions": [dict(step) for step in steps]}
