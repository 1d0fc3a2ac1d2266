"""Reads for two sections of the review page: hot issues (热点问题) and the 26-week trend (趋势).

**Hot issues.** ``category_counts``: the cases reported in the period's three windows (``Period.windows``:
current, previous, last_year, cut like for like while the period is partial), counted per category
code and per child of the region (street, community or grid), in one grouped statement. The test
and the major categories are ``dashboard.analytics.hot_issues`` (pure).

**Trend.** ``weekly_figures``: the main period figures (``TREND_KEYS``) of each of the last 26 ISO
weeks up to the period's end. Week w is read as of T like any period (S_w .. E'_w, E'_w = min(E_w, T)),
so its values equal ``data_access.review.review_figures(conn, scope, week, T)["region"]["current"]``
for those keys (tests/test_review_trend.py checks that on both backends). Instead of one
``review_figures`` per week, each figure family is one statement over all 26 weeks:

- a timestamp x is put in its week by ``b(x)`` = the number of weeks whose E' <= x, a CASE over the
  weeks' ends (bound parameters, so exact in any calendar, DST included). The weeks are contiguous
  (E'_w = S_{w+1}; only the last may end early, at T), so "x in week w" is ``S_0 <= x and b(x) = w``,
  and "x < E'_w" is ``b(x) <= w``; a NULL x has b = 26 (never before any E', as SQL's comparisons).
- reported (and patrol, for patrol_share) by b(reported_at); closed, rated, satisfied by b(closed_at);
  dispatched by b(dispatched_at) with the case's first ``return`` action, returned when b(first) <= w;
- due: a case is due in the week of its deadline and in the week it was closed (one row each, one
  row when they are the same week); on time and closed by E'_w are then conditions on b(closed_at);
- overdue at E'_w (reported, due and not closed before E'_w) holds for the weeks
  max(b(reported_at), b(resolve_due_at)) <= w < b(closed_at): the statement counts cases per
  (b(reported_at), b(resolve_due_at), b(closed_at)) and the weeks are summed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.engine import Connection

from .models import Case, CaseAction
from .period import Period, local_date
from .review import first_case_at, flow_log_kept
from .scope import Scope
from .scoped import child_key, in_scope
from .sqlfuncs import no_index

c = Case.__table__.c
a = CaseAction.__table__.c

WINDOWS = ("current", "previous", "last_year")

TREND_WEEKS = 26
# The figures of the trend, in the order the page draws them (keys of contract.md's period figures).
TREND_KEYS = ("reported", "closed", "on_time_rate", "closed_rate", "satisfied_rate", "return_rate",
              "overdue_at_end", "patrol_share")
# Their denominators, returned beside them (the page shows counts next to rates).
TREND_COUNTS = ("due", "rated", "dispatched")


def _ts(name: str):
    return bindparam(name, type_=c.reported_at.type)


def _child_key(scope: Scope):
    key = child_key(scope, Case.__table__)
    return literal(None) if key is None else key


# --- hot issues -----------------------------------------------------------------------------------

def category_counts(conn: Connection, scope: Scope, period: Period, at: datetime) -> dict[str, Any]:
    """Reported cases per category in the period's windows, and per child in the current one.

    ``{"windows": {name: (S, E')}, "counts": {category code: [current, previous, last_year]},
    "places": {category code: {child code: current count}}, "since": the earliest reported_at of the
    scope's cases (None without any)}``: a comparison window that starts before the history does is
    not a fair comparison (its count is short of what happened). A case without a category code is
    left out (it names no issue); a case without a grid counts for its category at the root and in
    no child.
    """
    windows = period.windows(at)
    params = {}
    conds = []
    for i, name in enumerate(WINDOWS):
        params[f"hs{i}"], params[f"he{i}"] = windows[name]
        conds.append(and_(c.reported_at >= _ts(f"hs{i}"), c.reported_at < _ts(f"he{i}")))
    key = _child_key(scope).label("g")
    inner = (select(c.category_code.label("k"), key, *(case((cond, 1), else_=0).label(f"n{i}")
                                                        for i, cond in enumerate(conds)))
             .where(or_(*conds), c.category_code.is_not(None), in_scope(scope, Case, index=False))
             .subquery("reported"))
    stmt = (select(inner.c.k, inner.c.g, *(func.sum(inner.c[f"n{i}"]).label(f"n{i}") for i in range(len(WINDOWS))))
            .group_by(inner.c.k, inner.c.g))
    counts: dict[str, list[int]] = {}
    places: dict[str, dict[str, int]] = {}
    for row in conn.execute(stmt, params).mappings():
        per = counts.setdefault(row["k"], [0] * len(WINDOWS))
        for i in range(len(WINDOWS)):
            per[i] += int(row[f"n{i}"] or 0)
        if row["g"] is not None and row["n0"]:
            places.setdefault(row["k"], {})[row["g"]] = int(row["n0"])
    since = first_case_at(conn, scope)
    return {"windows": windows, "counts": counts, "places": places, "since": since}


# --- the 26 weeks -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrendWeek:
    """An ISO week of the trend, read as of T."""

    week: Period
    until: datetime  # E' = min(E, T)
    partial: bool  # T falls inside the week
    in_period: bool  # the week overlaps the period under review


def trend_weeks(period: Period, at: datetime, n: int = TREND_WEEKS) -> list[TrendWeek]:
    """The ``n`` ISO weeks (Monday to Sunday) ending with the week of the period's last day read, oldest
    first: the week holding the period's last day, or, while the period is partial, the week holding T."""
    end = period.as_of(at)
    last_day = max(period.first, local_date(end - timedelta(microseconds=1), period.tz))
    last = Period.week(last_day, period.tz)
    weeks = []
    for k in range(n - 1, -1, -1):
        week = Period.week(last.first - timedelta(days=7 * k), period.tz)
        weeks.append(TrendWeek(week, week.as_of(at), week.partial(at),
                               week.first <= period.last and week.last >= period.first))
    return weeks


def _bucket(column, n: int, lo: int = 0):
    """b(x): the number of weeks whose E' <= x (n for NULL or past the last), for b known to lie in
    lo..n: a binary search over the weeks' ends (five comparisons for 26 weeks, not up to 26)."""
    if lo == n:
        return literal_column(str(n))
    mid = (lo + n) // 2
    return case((column < _ts(f"we{mid}"), _bucket(column, mid, lo)), else_=_bucket(column, n, mid + 1))


def _in_weeks(column):
    return and_(column >= _ts("ws"), column < _ts("wl"))


def _flag(cond):
    return case((cond, 1), else_=0)


def _closed_status():
    """status = 'closed', which SQLite must not look up through its index (every closed case of the
    history): the statements are driven by a time window."""
    return no_index(c.status) == "closed"


def _reported(conn, scope, params, n) -> dict[int, dict[str, int]]:
    inner = (select(_bucket(c.reported_at, n).label("w"), _flag(c.source == "patrol").label("patrol"))
             .where(_in_weeks(c.reported_at), in_scope(scope, Case, index=False)).subquery("reported"))
    stmt = (select(inner.c.w, func.count().label("reported"), func.sum(inner.c.patrol).label("patrol"))
            .group_by(inner.c.w))
    return {int(r.w): {"reported": int(r.reported), "patrol": int(r.patrol or 0)} for r in conn.execute(stmt, params)}


def _closed(conn, scope, params, n) -> dict[int, dict[str, int]]:
    inner = (select(_bucket(c.closed_at, n).label("w"), _flag(c.satisfaction.is_not(None)).label("rated"),
                    _flag(c.satisfaction >= 3).label("satisfied"))
             .where(_closed_status(), _in_weeks(c.closed_at), in_scope(scope, Case, index=False))
             .subquery("closed"))
    stmt = (select(inner.c.w, func.count().label("closed"), func.sum(inner.c.rated).label("rated"),
                   func.sum(inner.c.satisfied).label("satisfied")).group_by(inner.c.w))
    return {int(r.w): {"closed": int(r.closed), "rated": int(r.rated or 0), "satisfied": int(r.satisfied or 0)}
            for r in conn.execute(stmt, params)}


def _due(conn, scope, params, n) -> dict[int, dict[str, int]]:
    """due, on_time and closed_due per week: a case is due in its deadline's week and in its closing
    week (not rejected or merged, reported before that week's E')."""
    is_closed = _closed_status()
    flags = (_bucket(c.reported_at, n).label("br"), _bucket(c.closed_at, n).label("bc"),
             _flag(is_closed).label("closed"), _flag(c.closed_at <= c.resolve_due_at).label("in_time"))
    by_deadline = (select(_bucket(c.resolve_due_at, n).label("w"), *flags)
                   .where(c.status.notin_(("rejected", "merged")), _in_weeks(c.resolve_due_at),
                          in_scope(scope, Case, index=False)))
    by_closing = (select(_bucket(c.closed_at, n).label("w"), *flags)
                  .where(is_closed, _in_weeks(c.closed_at), in_scope(scope, Case, index=False),
                         or_(c.resolve_due_at.is_(None), c.resolve_due_at < _ts("ws"), c.resolve_due_at >= _ts("wl"),
                             _bucket(c.resolve_due_at, n) != _bucket(c.closed_at, n))))
    rows = union_all(by_deadline, by_closing).subquery("due")
    due = rows.c.br <= rows.c.w
    closed_by_end = and_(due, rows.c.closed == 1, rows.c.bc <= rows.c.w)
    stmt = (select(rows.c.w, func.count().filter(due).label("due"),
                   func.count().filter(and_(closed_by_end, rows.c.in_time == 1)).label("on_time"),
                   func.count().filter(closed_by_end).label("closed_due"))
            .group_by(rows.c.w))
    return {int(r.w): {"due": int(r.due or 0), "on_time": int(r.on_time or 0), "closed_due": int(r.closed_due or 0)}
            for r in conn.execute(stmt, params)}


def _dispatched(conn, scope, params, n) -> dict[int, dict[str, int]]:
    """dispatched per week, and returned: the case's first ``return`` action is before the week's E'.

    The first returns are grouped once, apart, and joined to the dispatched cases: a join on the
    actions themselves let SQLite walk every return of the history for each dispatched case (its
    (action, ts) index looked better to it than case_id): 45 s on the 400-day demo, 0.2 s this way."""
    first_return = (select(a.case_id, func.min(a.ts).label("first")).where(a.action == "return", a.ts < _ts("wl"))
                    .group_by(a.case_id).subquery("first_return"))
    per_case = (select(_bucket(c.dispatched_at, n).label("w"), _bucket(first_return.c.first, n).label("br"))
                .select_from(Case.__table__.outerjoin(first_return, first_return.c.case_id == c.id))
                .where(_in_weeks(c.dispatched_at), in_scope(scope, Case, index=False))
                .subquery("dispatched"))
    stmt = (select(per_case.c.w, func.count().label("dispatched"),
                   func.count().filter(per_case.c.br <= per_case.c.w).label("returned")).group_by(per_case.c.w))
    return {int(r.w): {"dispatched": int(r.dispatched), "returned": int(r.returned or 0)}
            for r in conn.execute(stmt, params)}


def _overdue(conn, scope, params, n) -> list[int]:
    """Cases overdue at each week's E': reported and due before it, not closed before it."""
    cols = (_bucket(c.reported_at, n).label("br"), _bucket(c.resolve_due_at, n).label("bd"),
            _bucket(c.closed_at, n).label("bc"))
    due = and_(no_index(c.reported_at) < _ts("wl"), no_index(c.resolve_due_at) < _ts("wl"),
               in_scope(scope, Case, index=False))
    # Open, or closed after the first week's end: two index ranges of closed_at, not the whole history.
    inner = union_all(select(*cols).where(c.closed_at.is_(None), due),
                      select(*cols).where(c.closed_at >= _ts("we0"), due)).subquery("open_due")
    keys = (inner.c.br, inner.c.bd, inner.c.bc)
    stmt = select(*keys, func.count().label("n")).group_by(*keys)
    change = [0] * (n + 1)
    for r in conn.execute(stmt, params):
        start, stop = max(int(r.br), int(r.bd)), int(r.bc)
        if start < stop:
            change[start] += int(r.n)
            change[stop] -= int(r.n)
    out, running = [], 0
    for w in range(n):
        running += change[w]
        out.append(running)
    return out


def _share(num: int, den: int) -> float | None:
    return None if not den else num / den


def weekly_figures(conn: Connection, scope: Scope, period: Period, at: datetime,
                   n: int = TREND_WEEKS, flow_log: bool | None = None) -> list[dict[str, Any]]:
    """The trend's weeks, oldest first: ``[{"week": TrendWeek, "figures": {key: value}, "before_data":
    bool}]`` with the ``TREND_KEYS`` figures and the ``TREND_COUNTS`` denominators of each week. A week
    that ends before the scope's first case (``first_case_at``, the rule the headline's comparisons
    follow) is ``before_data`` and its figures are None: no data, not a week without cases. Without a
    flow log (``flow_log_kept``, read here unless the caller has it) the return rate is None in every
    week: unknown, not 0."""
    weeks = trend_weeks(period, at, n)
    since = first_case_at(conn, scope)
    if flow_log is None:
        flow_log = flow_log_kept(conn, scope)
    params: dict[str, datetime] = {"ws": weeks[0].week.start, "wl": weeks[-1].until}
    params.update({f"we{i}": w.until for i, w in enumerate(weeks)})
    reported = _reported(conn, scope, params, n)
    closed = _closed(conn, scope, params, n)
    due = _due(conn, scope, params, n)
    dispatched = _dispatched(conn, scope, params, n)
    overdue = _overdue(conn, scope, params, n)
    out = []
    for w, week in enumerate(weeks):
        rep = reported.get(w, {"reported": 0, "patrol": 0})
        clo = closed.get(w, {"closed": 0, "rated": 0, "satisfied": 0})
        du = due.get(w, {"due": 0, "on_time": 0, "closed_due": 0})
        dis = dispatched.get(w, {"dispatched": 0, "returned": 0})
        before_data = since is None or week.until <= since
        figures = {
            "reported": rep["reported"],
            "closed": clo["closed"],
            "on_time_rate": _share(du["on_time"], du["due"]),
            "closed_rate": _share(du["closed_due"], du["due"]),
            "satisfied_rate": _share(clo["satisfied"], clo["rated"]),
            "return_rate": _share(dis["returned"], dis["dispatched"]) if flow_log else None,
            "overdue_at_end": overdue[w],
            "patrol_share": _share(rep["patrol"], rep["reported"]),
            "due": du["due"], "rated": clo["rated"], "dispatched": dis["dispatched"],
        }
        out.append({"week": week, "figures": dict.fromkeys(figures) if before_data else figures,
                    "before_data": before_data})
    return out
