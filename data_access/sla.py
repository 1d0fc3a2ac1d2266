"""The SLA board (超期/临期督办): open cases late or nearly late in each stage, by the org holding them.

Stages follow the contract's deadlines: accept (受理, ``accept_due_at`` until ``accepted_at``),
dispatch (派遣, ``dispatch_due_at`` until ``dispatched_at``) and resolve (处置, ``resolve_due_at``
until closed). A stage is overdue (red) when its deadline has passed while it is pending, and in
warning (yellow) when 80 % of the time from report to its deadline is used. The accept and dispatch
overdue counts are the contract's ``accept_overdue`` and ``dispatch_overdue``; the resolve counts
are its ``overdue`` and ``warning``. A case may be late in several stages; it counts in each.

The case list counts each case once, in its most pressing stage (its earliest overdue stage, else its
earliest warning one): a case is 已超期 when any stage is overdue, else 即将超期. Overdue cases fall in
age groups by how long that stage is overrun: under a day, one to three days, three days or more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.engine import Connection

from .cases import _with_names
from .figures import open_at
from .models import Case, Org
from .moment import Moment
from .scope import Scope
from .scoped import in_scope
from .sqlfuncs import epoch_seconds

c = Case.__table__.c
o = Org.__table__.c

STAGES = ("accept", "dispatch", "resolve")
STATES = ("overdue", "warning")
WARNING_SHARE = 0.8

# (stage, the column that ends it, its deadline); resolve ends when the case closes (open_at).
_STAGE_COLUMNS = (("accept", c.accepted_at, c.accept_due_at), ("dispatch", c.dispatched_at, c.dispatch_due_at),
                  ("resolve", None, c.resolve_due_at))

_AT = bindparam("gw_at", type_=c.reported_at.type)
_DAY_AGO = bindparam("gw_day_ago", type_=c.reported_at.type)
_DAYS_AGO = bindparam("gw_days_ago", type_=c.reported_at.type)

# Overdue age groups: (key, overrun below this); the last has no bound.
AGE_GROUPS = (("day", timedelta(days=1)), ("days", timedelta(days=3)), ("long", None))
# The center's own stages (it accepts and dispatches; the holding orgs resolve): first on its wall.
CENTER_STAGES = ("accept", "dispatch")

# Rows fetched for the case list, of the overdue cases and of the warnings each (read apart: 3,801
# overdue cases of a real city's backlog once filled a single cap and left 即将超期 empty); beyond it
# the earliest resolve deadlines come first.
CASE_ROW_CAP = 3000


def _stage_conditions(done, due) -> tuple[Any, Any]:
    """(overdue, warning) of one stage at T; NULL deadlines are never late (SQL's comparison rule).

    The resolve stage (``done`` None) is pending while the case is open, which every query here requires.
    """
    pending = [] if done is None else [or_(done.is_(None), done > _AT)]
    overdue = and_(*pending, due < _AT)
    # T >= reported + 0.8 (due - reported)  <=>  5 T >= 4 due + reported, in epoch seconds.
    warning = and_(*pending, due >= _AT,
                   epoch_seconds(due) * 4 + epoch_seconds(c.reported_at) <= epoch_seconds(_AT) * 5)
    return overdue, warning


def _overdue_and_warning_only():
    """(overdue in some stage, late only as a warning): a case's most pressing state, as SQL conditions."""
    conditions = [_stage_conditions(done, due) for _, done, due in _STAGE_COLUMNS]
    # CASE answers 0 where a NULL deadline makes the plain condition NULL (never late).
    overdue = case((or_(*[ov for ov, _ in conditions]), 1), else_=0) == 1
    return overdue, and_(~overdue, or_(*[wn for _, wn in conditions]))


def _late_case_columns() -> list[Any]:
    """Cases counted once in their most pressing state (``late_*``), overdue ones by age group (``age_*``)."""
    conditions = [(_stage_conditions(done, due), due) for _, done, due in _STAGE_COLUMNS]
    overdue, warning = _overdue_and_warning_only()
    pressing_due = case(*[(ov, due) for (ov, _), due in conditions])  # the earliest overdue stage's deadline
    return [func.count().filter(overdue).label("late_overdue"),
            func.count().filter(warning).label("late_warning"),
            func.count().filter(overdue, pressing_due > _DAY_AGO).label("age_day"),
            func.count().filter(overdue, pressing_due <= _DAY_AGO, pressing_due > _DAYS_AGO).label("age_days"),
            func.count().filter(overdue, pressing_due <= _DAYS_AGO).label("age_long")]


def _counts_by_org(conn: Connection, scope: Scope, m: Moment) -> list[dict[str, Any]]:
    cols = [func.count().label("open")]
    for stage, done, due in _STAGE_COLUMNS:
        overdue, warning = _stage_conditions(done, due)
        cols += [func.count().filter(overdue).label(f"{stage}_overdue"),
                 func.count().filter(warning).label(f"{stage}_warning")]
    cols += [func.coalesce(func.sum(c.urges), 0).label("urges"),
             func.coalesce(func.sum(c.returns), 0).label("returns")]
    cols += _late_case_columns()
    stmt = (select(c.handler_org_id.label("org_id"), *cols)
            .where(open_at(_AT), in_scope(scope, Case, index=False))
            .group_by(c.handler_org_id))
    params = {"gw_at": m.at, "gw_day_ago": m.at - AGE_GROUPS[0][1], "gw_days_ago": m.at - AGE_GROUPS[1][1]}
    return [dict(row) for row in conn.execute(stmt, params).mappings()]


def age_group(due: datetime, at: datetime) -> str:
    """The age group of an overdue stage: ``day`` (overrun under a day), ``days`` (under three), ``long``."""
    for key, below in AGE_GROUPS:
        if below is None or at - due < below:
            return key
    raise AssertionError("unreachable")


def _org_names(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(select(o.id, o.name, o.kind, o.region_code).where(o.id.in_(ids))).mappings()
    return {row["id"]: dict(row) for row in rows}


def stage_state(case: dict[str, Any], at: datetime) -> list[tuple[str, str, datetime]]:
    """(stage, state, deadline) of each late or nearly late stage of an open case, in stage order."""
    out = []
    reported = case.get("reported_at")
    for stage, done_key, due_key in (("accept", "accepted_at", "accept_due_at"),
                                     ("dispatch", "dispatched_at", "dispatch_due_at"),
                                     ("resolve", None, "resolve_due_at")):
        due = case.get(due_key)
        done = case.get(done_key) if done_key else None
        if due is None or (done is not None and done <= at):
            continue
        if due < at:
            out.append((stage, "overdue", due))
        elif reported is not None and at >= reported + (due - reported) * WARNING_SHARE:
            out.append((stage, "warning", due))
    return out


def _pressing(case: dict[str, Any], at: datetime) -> tuple[str, str, datetime] | None:
    """The stage to show for a case: its earliest overdue stage, else its earliest warning one."""
    states = stage_state(case, at)
    for wanted in STATES:
        for stage, state, due in states:
            if state == wanted:
                return stage, state, due
    return None


def sla_board(conn: Connection, scope: Scope, m: Moment, *, cases: int = 40, orgs: int = 40) -> dict[str, Any]:
    """The board at T: totals per stage, the orgs holding late cases, and the most pressing cases.

    ``totals``: {stage: {"overdue": n, "warning": n}} plus "urges" and "returns" over open cases, and
    ``late``: the late cases counted once each, {"overdue": n, "warning": n, "day": n, "days": n,
    "long": n} (the last three: overdue cases by age group).
    ``orgs``: one row per holding org (``org_id`` None: not assigned to an org) with ``name``,
    ``kind``, ``region_code``, ``open`` and ``<stage>_<state>`` counts, ``urges``, ``returns``;
    orgs with any late case, the most overdue first.
    ``cases``: open cases with a late stage, each with ``stage``, ``sla_state`` and ``due_at`` (that
    stage's deadline), ``org_name`` and the place names: up to ``cases`` warnings, the soonest due
    first, then up to ``cases`` overdue ones, the longest overrun first, and after them any overdue in
    the center's own stages (``CENTER_STAGES``) that did not make the cut, up to ``cases`` more.
    """
    at = m.at
    by_org = _counts_by_org(conn, scope, m)
    totals: dict[str, Any] = {stage: {state: 0 for state in STATES} for stage in STAGES}
    totals["urges"] = totals["returns"] = totals["open"] = 0
    late_keys = {"overdue": "late_overdue", "warning": "late_warning",
                 **{key: f"age_{key}" for key, _ in AGE_GROUPS}}
    totals["late"] = {key: 0 for key in late_keys}
    for row in by_org:
        for stage in STAGES:
            for state in STATES:
                totals[stage][state] += int(row[f"{stage}_{state}"] or 0)
        for key in ("urges", "returns", "open"):
            totals[key] += int(row[key] or 0)
        for key, column in late_keys.items():
            totals["late"][key] += int(row.pop(column) or 0)
    names = _org_names(conn, [r["org_id"] for r in by_org if r["org_id"] is not None])

    def late(row) -> int:
        return sum(int(row[f"{stage}_overdue"]) for stage in STAGES)

    def nearly(row) -> int:
        return sum(int(row[f"{stage}_warning"]) for stage in STAGES)

    org_rows = []
    for row in by_org:
        if not late(row) and not nearly(row):
            continue
        info = names.get(row["org_id"], {})
        org_rows.append({**{k: int(v or 0) if k != "org_id" else v for k, v in row.items()},
                         "name": info.get("name"), "kind": info.get("kind"),
                         "region_code": info.get("region_code")})
    org_rows.sort(key=lambda r: (-late(r), -nearly(r), -r["urges"], r["name"] or ""))

    # The late cases themselves: ids and deadlines first, names only for the ones shown.
    ranked = []
    for state_condition in _overdue_and_warning_only():
        stmt = (select(c.id, c.reported_at, c.accepted_at, c.dispatched_at, c.accept_due_at, c.dispatch_due_at,
                       c.resolve_due_at, c.handler_org_id)
                .where(open_at(_AT), in_scope(scope, Case, index=False), state_condition)
                .order_by(c.resolve_due_at, c.id).limit(CASE_ROW_CAP))
        for row in conn.execute(stmt, {"gw_at": at}).mappings():
            pressing = _pressing(dict(row), at)
            if pressing is not None:
                ranked.append((row["id"], *pressing))
    warnings = sorted((r for r in ranked if r[2] == "warning"), key=lambda r: (r[3], r[0]))
    overdue = sorted((r for r in ranked if r[2] == "overdue"), key=lambda r: (r[3], r[0]))
    center_more = [r for r in overdue[cases:] if r[1] in CENTER_STAGES][:cases]
    ranked = warnings[:cases] + overdue[:cases] + center_more
    detail = {}
    if ranked:
        ids = [r[0] for r in ranked]
        sub = (select(c.id, c.code, c.title, c.category_code, c.urgency, c.status, c.reported_at, c.grid_code,
                      c.handler_org_id, c.urges, c.returns).where(c.id.in_(ids)).subquery("late"))
        detail = {row["id"]: dict(row) for row in conn.execute(_with_names(sub)).mappings()}
    more_names = _org_names(conn, sorted({d["handler_org_id"] for d in detail.values()
                                          if d["handler_org_id"] is not None and d["handler_org_id"] not in names}))
    names.update(more_names)
    case_rows = []
    for case_id, stage, state, due in ranked:
        d = detail.get(case_id)
        if d is None:
            continue
        case_rows.append({**d, "stage": stage, "sla_state": state, "due_at": due,
                          "org_name": names.get(d["handler_org_id"], {}).get("name")})
    return {"totals": totals, "orgs": org_rows[:orgs], "org_count": len(org_rows), "cases": case_rows}

