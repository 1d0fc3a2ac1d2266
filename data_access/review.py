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

Where the scope's cases carry no flow log at all (an imported export), the figures only a flow log
gives (``FLOW_FIGURES``: self-resolved, return, rework and extension rates, urged) are NULL: unknown,
not 0 (``flow_log_kept``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache
from typing import Any, Callable, TypeVar

from sqlalchemy import and_, bindparam, case, exists, func, literal, literal_column, or_, select
from sqlalchemy.engine import Connection, Engine

from .models import Case, CaseAction, Grid, Org, Staff
from .period import Period
from .scope import CHILD_LENGTH, Scope
from .scoped import child_key, in_scope
from .sqlfuncs import epoch_seconds

WINDOWS = ("current", "previous", "last_year")
T = TypeVar("T")

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


def _bounds(i: int):
    """The bound parameters S and E' of window i."""
    return (bindparam(f"gw_s{i}", type_=c.reported_at.type), bindparam(f"gw_e{i}", type_=c.reported_at.type))


def _window_params(windows: dict[str, tuple[datetime, datetime]]) -> dict[str, datetime]:
    out = {}
    for i, name in enumerate(WINDOWS):
        out[f"gw_s{i}"], out[f"gw_e{i}"] = windows[name]
    out["gw_emax"] = max(e for _, e in windows.values())
    out["gw_emin"] = min(e for _, e in windows.values())
    return out


def _in(col, s, e):
    return and_(col >= s, col < e)


def _child_key(column, scope: Scope):
    """The child's code (the first n characters of ``column``, a column of cases or staff), or None
    below the grid level (``scoped.child_key``, with its constants literal so that the same expression
    may appear in SELECT, GROUP BY and GROUPING)."""
    return child_key(scope, column.table, column, literal_length=True)


# --- the flow log, once per case ----------------------------------------------------------------------

FLOW_FIRSTS = ("return", "rework", "extend")


@cache
def _flow_firsts():
    """Per case, the first ``return``, ``rework`` and ``extend`` with ts before the latest E'.

    "At least one such action with ts < E' of window i" is "the first one is before E'", so one read
    of these (rare) actions, through the index on (action, ts, case_id), serves every window and
    every case: no per-case or per-window look-up of the flow log.
    """
    emax = bindparam("gw_emax", type_=a.ts.type)
    firsts = [func.min(case((a.action == name, a.ts))).label(f"first_{name}") for name in FLOW_FIRSTS]
    return (select(a.case_id.label("case_id"), *firsts)
            .where(a.action.in_(FLOW_FIRSTS), a.ts < emax)
            .group_by(a.case_id)
            .subquery("flow"))


# --- the case figures, one pass ------------------------------------------------------------------

COUNT_KEYS = ("reported", "patrol", "accepted", "rejected", "closed", "due", "on_time", "closed_due", "rated", "satisfied", "patrol_closed", "self_resolved", "dispatched",
              "returned", "reworked", "extended", "patrol_accepted")
# The figures that only the platform's flow log gives (case_actions, and the escalations and level it
# keeps on the case). A case export has no flow log: there they are unknown (NULL, shown "—"), not 0.
FLOW_FIGURES = ("self_resolved_rate", "return_rate", "rework_rate", "extension_rate", "urged")


@cache
def _case_columns():
    """(the per-row conditions, computed once per case: ``{name: condition}``; the count columns
    ``<key>_<i>`` of every window i over them, given the subquery's columns; the rows at least one
    window counts).

    Each count of the contract's table is a conjunction of a few facts about the case (reported in
    window i, closed in it, due in it, accepted before E', the first return before E' ...). The facts
    are evaluated once per case in a subquery, and the 51 counts combine them: evaluating each
    count's whole condition per case costs about a third more on both backends (docs/benchmarks.md,
    section 7). NULLs stay NULL in the facts, so a comparison with NULL is still false.
    """
    fl = _flow_firsts().c
    facts = {
        "live": c.status.notin_(("rejected", "merged")),
        "rej": c.status == "rejected",
        "pat": c.source == "patrol",
        "ontime": c.closed_at <= c.resolve_due_at,
        "rated": c.satisfaction.is_not(None),
        "sat": c.satisfaction >= 3,
        "selfres": and_(c.escalations == 0, c.level.in_(("grid", "community"))),
    }
    rows = []
    for i in range(len(WINDOWS)):
        s, e = _bounds(i)
        facts.update({
            f"r{i}": _in(c.reported_at, s, e),                          # reported in P
            f"c{i}": and_(c.status == "closed", _in(c.closed_at, s, e)),  # closed in P
            f"dw{i}": _in(c.resolve_due_at, s, e),                     # falls due in P
            f"p{i}": _in(c.dispatched_at, s, e),                       # dispatched in P
            f"a{i}": c.accepted_at < e,
            f"rb{i}": c.reported_at < e,
            f"cb{i}": and_(c.status == "closed", c.closed_at < e),     # closed by E'
            f"fr{i}": fl.first_return < e,
            f"fw{i}": fl.first_rework < e,
            f"fe{i}": fl.first_extend < e,
        })
        # Each is served by its own time index.
        rows += [_in(c.reported_at, s, e), _in(c.closed_at, s, e), _in(c.resolve_due_at, s, e),
                 _in(c.dispatched_at, s, e)]
    return facts, or_(*rows)


def _count_columns(x):
    """The count columns ``<key>_<i>`` over the facts of subquery ``x`` (``_case_columns``)."""
    cols = []
    for i in range(len(WINDOWS)):
        f = {k[:-1] if k[-1].isdigit() else k: col for k, col in x.c.items()
             if not k[-1].isdigit() or k.endswith(str(i))}
        rep, closed = f["r"], f["c"]
        due = and_(f["live"], f["rb"], or_(f["dw"], closed))
        conditions = {
            "reported": rep,
            "patrol": and_(rep, f["pat"]),
            "accepted": and_(rep, f["a"]),
            "rejected": and_(rep, f["rej"]),
            "closed": closed,
            "due": due,
            "on_time": and_(due, f["cb"], f["ontime"]),
            "closed_due": and_(due, f["cb"]),
            "rated": and_(closed, f["rated"]),
            "satisfied": and_(closed, f["rated"], f["sat"]),
            "patrol_closed": and_(closed, f["pat"]),
            "self_resolved": and_(closed, f["pat"], f["selfres"]),
            "dispatched": f["p"],
            "returned": and_(f["p"], f["fr"]),
            "reworked": and_(closed, f["fw"]),
            "extended": and_(due, f["fe"]),
            "patrol_accepted": and_(rep, f["pat"], f["a"], f["live"]),
        }
        cols += [func.count().filter(cond).label(f"{key}_{i}") for key, cond in conditions.items()]
    return cols


def _grouped_counts(conn: Connection, scope: Scope, params: dict):
    """({child key: [counts of window i]}, {child key: [{source: reported} of window i]}).

    The key is None for the region itself (below the grid level) or for unlocated cases. One
    statement grouped by child and source: the counts are sums over the sources, and the reported
    count of each source is ``by_source`` (only sources that occur; a NULL source is "").
    The facts subquery has OFFSET 0 so that neither backend folds it back into the counts.
    """
    facts, rows = _case_columns()
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    fl = _flow_firsts()
    x = (select(key.label("g"), c.source.label("src"), *(cond.label(name) for name, cond in facts.items()))
         .select_from(Case.__table__.outerjoin(fl, fl.c.case_id == c.id))
         .where(rows, in_scope(scope, Case, index=False))
         .offset(0)
         .subquery("x"))
    stmt = select(x.c.g, x.c.src, *_count_columns(x)).group_by(x.c.g, x.c.src)
    counts: dict[Any, list[dict[str, int]]] = {}
    sources: dict[Any, list[dict[str, int]]] = {}
    n = range(len(WINDOWS))
    for row in conn.execute(stmt, params).mappings():
        per = counts.setdefault(row["g"], [dict.fromkeys(COUNT_KEYS, 0) for _ in n])
        by = sources.setdefault(row["g"], [{} for _ in n])
        for i in n:
            got = {k: int(row[f"{k}_{i}"] or 0) for k in COUNT_KEYS}
            _add(per[i], got)
            if got["reported"]:
                src = row["src"] or ""
                by[i][src] = by[i].get(src, 0) + got["reported"]
    return counts, sources


def _open_late():
    """Open, or closed after its deadline: every case overdue at some moment is one of these (open at
    E' with ``resolve_due_at`` < E' means ``closed_at`` NULL or >= E' > ``resolve_due_at``). The
    condition of the partial index ``ix_cases_open_late`` (data_access/models.py), written the same
    way so that both backends see the index applies."""
    return or_(c.closed_at.is_(None), c.closed_at > c.resolve_due_at)


def _overdue_at_end(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[int]]:
    """{child key: [cases overdue at E' of window i]}: reported before E', open at E', due before E'.

    Its own statement: open at E' is a range of ``closed_at`` far wider than the period for the
    comparisons a year back (or NULL), so the rows come from the partial index of the cases that are
    open or were closed late (a few percent of all), ``closed_at`` NULL or after the earliest E'.
    """
    key = _child_key(c.grid_code, scope)
    key = key if key is not None else literal(None)
    conds = []
    for i in range(len(WINDOWS)):
        _, e = _bounds(i)
        conds.append(and_(or_(c.closed_at.is_(None), c.closed_at >= e), c.resolve_due_at < e, c.reported_at < e))
    emin = bindparam("gw_emin", type_=c.closed_at.type)
    cols = [func.count().filter(cond).label(f"n{i}") for i, cond in enumerate(conds)]
    stmt = (select(key.label("g"), *cols)
            .where(_open_late(), or_(c.closed_at.is_(None), c.closed_at >= emin), or_(*conds),
                   in_scope(scope, Case, index=False))
            .group_by(key))
    return {row["g"]: [int(row[f"n{i}"] or 0) for i in range(len(WINDOWS))]
            for row in conn.execute(stmt, params).mappings()}


def _urged(conn: Connection, scope: Scope, params: dict) -> dict[Any, list[int]]:
    """{child key: [cases with an urge action in window i]}: the urges of each window through the
    index on (action, ts, case_id), their cases by key."""
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


def _median(values: list[float]) -> float | None:
    """The mean of the middle one or two of ``values`` (sorted); None when empty."""
    n = len(values)
    if not n:
        return None
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def _medians(conn: Connection, scope: Scope, params: dict) -> tuple[list[float | None], dict[Any, list]]:
    """The exact median close hours of window i: ([of the region], {child key: [of the child]}).

    PostgreSQL: percentile_cont(0.5) of each window, by child and for the region in one statement
    (GROUP BY ROLLUP). SQLite has no ordered-set aggregate, and ranking rows with window functions
    sorts them three times; it returns each window's close times sorted by child and hours (through
    the closed_at index), and the middle values are picked here: the same mean of the middle one or
    two values.
    """
    key = _child_key(c.grid_code, scope)
    hours = (epoch_seconds(c.closed_at) - epoch_seconds(c.reported_at)) / 3600.0
    if conn.dialect.name == "postgresql":
        return _medians_percentile_cont(conn, scope, params, key, hours)
    g = key if key is not None else literal(None)
    region: list[float | None] = [None] * len(WINDOWS)
    children: dict[Any, list] = {}
    for i in range(len(WINDOWS)):
        stmt = (select(g.label("g"), hours.label("h"))
                .where(c.status == "closed", _in(c.closed_at, *_bounds(i)), c.reported_at.is_not(None),
                       in_scope(scope, Case, index=False)))
        rows = conn.execute(stmt, params).all()
        by_child: dict[Any, list[float]] = {}
        for child, h in rows:
            by_child.setdefault(child, []).append(h)
        region[i] = _median(sorted(h for _, h in rows))
        for child, values in by_child.items():
            children.setdefault(child, [None] * len(WINDOWS))[i] = _median(sorted(values))
    return region, children


def _medians_percentile_cont(conn: Connection, scope: Scope, params: dict, key, hours):
    """``_medians`` on PostgreSQL: percentile_cont(0.5) is the same exact median, without ranking rows;
    GROUP BY ROLLUP(child) gives the children's and the region's in one pass."""
    closed = [and_(c.status == "closed", _in(c.closed_at, *_bounds(i)), c.reported_at.is_not(None))
              for i in range(len(WINDOWS))]
    cols = [func.percentile_cont(0.5).within_group(hours).filter(cond).label(f"m{i}") for i, cond in enumerate(closed)]
    where = and_(or_(*closed), in_scope(scope, Case, index=False))

    def values(row) -> list[float | None]:
        return [None if row[f"m{i}"] is None else float(row[f"m{i}"]) for i in range(len(WINDOWS))]

    if key is None:
        return values(conn.execute(select(*cols).where(where), params).mappings().one()), {}
    region: list[float | None] = [None] * len(WINDOWS)
    children: dict[Any, list] = {}
    stmt = select(key.label("g"), func.grouping(key).label("total"), *cols).where(where).group_by(func.rollup(key))
    for row in conn.execute(stmt, params).mappings():
        if row["total"]:
            region = values(row)
        else:
            children[row["g"]] = values(row)
    return region, children


# --- from counts to figures ------------------------------------------------------------------------

def _share(num: int, den: int) -> float | None:
    return None if not den else num / den


def _figures(counts: dict[str, int], by_source: dict[str, int], overdue: int, urged: int, workers: int,
             median: float | None, flow_log: bool = True) -> dict[str, Any]:
    k = counts
    figures = {
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
    if not flow_log:
        figures.update(dict.fromkeys(FLOW_FIGURES))
    return figures


def empty_figures(workers: int = 0, flow_log: bool = True) -> dict[str, Any]:
    """The figures of a region with no case in a window."""
    return _figures(dict.fromkeys(COUNT_KEYS, 0), {}, 0, 0, workers, None, flow_log)


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def _planner_settings(conn: Connection) -> None:
    """PostgreSQL: no JIT compilation and no parallel workers for the rest of this transaction.

    The review's statements are costed above ``jit_above_cost`` (a hundred thousand rows, fifty
    filtered counts) yet run in a few hundred milliseconds; compiling them took longer than running
    them. A parallel plan has each worker build its own hash of the flow log's first actions, three
    times the work for a slower answer on a two-core server (docs/benchmarks.md, section 7).
    SET LOCAL ends with the transaction (the connection begins one, as for any read), so a pooled
    connection is returned unchanged.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        # The flow log's firsts (~100k rows at a million cases) and the median's sort fit in memory
        # instead of spilling to disk at the server's default 4 MB.
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def review_figures(conn: Connection, scope: Scope, period: Period, at: datetime) -> dict[str, Any]:
    """The period figures of the scope's region and of each of its children, for the three windows.

    ``{"windows": {name: (S, E')}, "region": {name: F}, "children": {child code: {name: F}}, "since": the
    scope's first case (``first_case_at``), "flow_log": whether its cases carry a flow log
    (``flow_log_kept``; without one the ``FLOW_FIGURES`` are None)}``; a child
    is keyed by the next level of its code (street, community, grid) and listed when it has cases or
    workers. Cases with a NULL grid code count in the region (at the root) and in no child.
    """
    windows = period.windows(at)
    params = _window_params(windows)
    _planner_settings(conn)
    return _assemble(scope, windows, _grouped_counts(conn, scope, params), _other_reads(conn, scope, params))


def review_reads(engine: Engine, scope: Scope, period: Period, at: datetime,
                 also: Callable[[Connection], T] | None = None) -> tuple[dict[str, Any], T | None]:
    """(``review_figures``, ``also(conn)``) read on two connections of ``engine`` at once.

    The grouped case counts are about half of the work; the other statements (overdue, urged,
    workers, medians) and ``also`` (the departments and bounced cases of /api/v1/review) the other
    half, so the answer comes in about half the time on a server with a spare core for it
    (docs/benchmarks.md, section 7). On a busy server it costs nothing more than reading in turn.
    Each connection reads in its own transaction: figures of moments before T do not move between
    the two.
    """
    windows = period.windows(at)
    params = _window_params(windows)
    if engine.dialect.name == "sqlite" and (engine.url.database or ":memory:") == ":memory:":
        # an in-memory database is one per connection: read it in turn on one
        with engine.connect() as conn:
            return review_figures(conn, scope, period, at), (also(conn) if also is not None else None)

    def counts():
        with engine.connect() as conn:
            _planner_settings(conn)
            return _grouped_counts(conn, scope, params)

    with ThreadPoolExecutor(1, thread_name_prefix="review-counts") as pool:
        grouped = pool.submit(counts)
        with engine.connect() as conn:
            _planner_settings(conn)
            other = _other_reads(conn, scope, params)
            extra = also(conn) if also is not None else None
        return _assemble(scope, windows, grouped.result(), other), extra


def _other_reads(conn: Connection, scope: Scope, params: dict) -> tuple:
    """(overdue, urged, workers, (median of the region, medians of the children), first case, flow log)."""
    return (_overdue_at_end(conn, scope, params), _urged(conn, scope, params), _workers(conn, scope),
            _medians(conn, scope, params), first_case_at(conn, scope), flow_log_kept(conn, scope))


def first_case_at(conn: Connection, scope: Scope) -> datetime | None:
    """The earliest ``reported_at`` in the scope (aware UTC), None without cases: where the database's
    history begins, so a comparison window before it is not read as a window without cases."""
    return conn.execute(select(c.reported_at).where(c.reported_at.is_not(None), in_scope(scope, Case, index=False))
                        .order_by(c.reported_at).limit(1)).scalar()


def flow_log_kept(conn: Connection, scope: Scope) -> bool:
    """Whether the scope's cases carry the platform's flow log (any ``case_actions`` row of theirs).

    A case export loaded by ``gridwall import`` has none: its returns, reworks, extensions, urges and
    self-resolutions (``FLOW_FIGURES``) are not known, and reading them as 0 would show a perfect 0 %
    退单率 and hand every child the rules' best part for them."""
    if conn.execute(select(a.id).limit(1)).first() is None:  # no flow log anywhere: no scan of the cases
        return False
    kept = exists().where(a.case_id == c.id)
    return conn.execute(select(c.id).where(kept, in_scope(scope, Case, index=False)).limit(1)).first() is not None


def _assemble(scope: Scope, windows: dict, grouped: tuple, other: tuple) -> dict[str, Any]:
    """``review_figures``' answer from the reads' results."""
    counts, sources = grouped
    overdue, urged, workers, (median_region, median_children), since, flow_log = other
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
                             median_region[i], flow_log)
              for i, name in enumerate(WINDOWS)}

    children: dict[str, dict[str, Any]] = {}
    if CHILD_LENGTH.get(len(scope.region)):
        keys = {k for k in (*counts, *sources, *overdue, *urged, *workers) if k is not None}
        zero = [dict.fromkeys(COUNT_KEYS, 0) for _ in n]
        for key in sorted(keys):
            children[key] = {name: _figures(counts.get(key, zero)[i], sources.get(key, [{}] * 3)[i],
                                            overdue.get(key, [0] * 3)[i], urged.get(key, [0] * 3)[i],
                                            workers.get(key, 0),
                                            median_children.get(key, [None] * 3)[i], flow_log)
                             for i, name in enumerate(WINDOWS)}
    return {"windows": windows, "region": region, "children": children, "since": since, "flow_log": flow_log}


def period_figures(conn: Connection, scope: Scope, period: Period, at: datetime) -> dict[str, dict[str, Any]]:
    """The period figures of the scope's region: ``{"current": F, "previous": F, "last_year": F}``."""
    return review_figures(conn, scope, period, at)["region"]


# --- departments and bounced cases -----------------------------------------------------------------

def departments(conn: Connection, scope: Scope, period: Period, at: datetime) -> list[dict[str, Any]]:
    """Per org, over the cases of the scope: dispatches to it and returns by it with ts in P.

    ``[{"org_id", "name", "received", "returned", "return_rate"}]``, most returns first; orgs with
    neither are left out (as are actions naming no org).

    The dispatches and returns of P come from the index on (action, ts, case_id); each one's case is
    looked up by its key to check the scope (a correlated look-up, not a join: the planner would
    otherwise read the whole cases table in key order to meet a few ten thousand actions).
    """
    s, e = period.windows(at)["current"]
    o = Org.__table__.c
    inside = (select(c.id).where(c.id == a.case_id, in_scope(scope, Case, index=False))
              .correlate(CaseAction.__table__).scalar_subquery())
    steps = (select(a.action, a.to_org_id, a.from_org_id, func.count().label("n"))
             .where(a.action.in_(("dispatch", "return")), _in(a.ts, s, e), inside.is_not(None))
             .group_by(a.action, a.to_org_id, a.from_org_id))
    counts: dict[int, list[int]] = {}
    for row in conn.execute(steps):
        org = row.to_org_id if row.action == "dispatch" else row.from_org_id
        if org is not None:
            counts.setdefault(int(org), [0, 0])[0 if row.action == "dispatch" else 1] += int(row.n)
    if not counts:
        return []
    names = dict(conn.execute(select(o.id, o.name).where(o.id.in_(list(counts)))).all())
    rows = [{"org_id": org, "name": names.get(org), "received": got, "returned": back,
             "return_rate": _share(back, got)} for org, (got, back) in counts.items()]
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
