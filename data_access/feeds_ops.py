"""Feeds of the operational early-warning detectors (SLA risk, staffing, feed staleness).

Each function reads the platform tables of a scope as of a moment T and hands back a pandas
frame (or a small dict) for the pure detectors in ``dashboard.analytics``. "As of T" is read
from the timestamps, not from the current status, so a replay over history sees what the
engine would have seen then: a case is open at T by contract.md's definition, accepted when
``accepted_at <= T``, held by the org its flow log last sent it to by T.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.engine import Connection

from .figures import open_at
from .models import Case, CaseAction, Grid, Org, Region, Staff, StaffPing, StaffShift
from .moment import Moment
from .scope import Scope
from .scoped import in_scope, select_in
from .sqlfuncs import epoch_seconds

c = Case.__table__.c
ca = CaseAction.__table__.c
g = Grid.__table__.c
o = Org.__table__.c
s = Staff.__table__.c
sh = StaffShift.__table__.c
p = StaffPing.__table__.c

# Actions that are not the holder's progress on a case: a supervisor's urge, a remark, the report itself.
NOT_PROGRESS = ("urge", "comment", "report")
# Actions that hand a case to the org in to_org_id.
HANDOVERS = ("report", "accept", "dispatch", "escalate", "return", "sign", "rework", "reopen")
_CHUNK = 500

SLA_COLUMNS = ("id", "code", "grid_code", "category_code", "urgency", "reported_at", "accept_due_at",
               "dispatch_due_at", "resolve_due_at", "accepted_at", "dispatched_at", "handler_org_id")
TIME_COLUMNS = ("reported_at", "accept_due_at", "dispatch_due_at", "resolve_due_at", "accepted_at",
                "dispatched_at", "last_progress_at")


def _frame(rows, columns, times=()) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in rows], columns=list(columns))
    for col in times:
        if col in df:
            df[col] = pd.to_datetime(df[col], utc=True)
    return df


def _worker():
    return and_(s.role == "grid_worker", s.active.is_(True))


# --- SLA risk -------------------------------------------------------------------------------

def sla_candidates(conn: Connection, scope: Scope, m: Moment, *, used_share: float = 0.8,
                   due_soon: timedelta = timedelta(minutes=15)) -> pd.DataFrame:
    """Open cases at T near a deadline: at least ``used_share`` of the resolve time used (overdue
    included), or acceptance/dispatch still pending with its due time within ``due_soon``.

    Columns: SLA_COLUMNS with accepted_at/dispatched_at as of T (NULL when later), plus
    ``holder_org_id`` (the org the flow log last handed the case to by T; the case's
    handler_org_id when the log names none) and ``last_progress_at`` (the last action by T that
    is not an urge, a comment or the report; the report time when there is none).
    """
    t = m.at
    soon = t + due_soon
    t_lit = literal(t, c.reported_at.type)
    resolve_near = and_(c.resolve_due_at.is_not(None), c.reported_at.is_not(None),
                        epoch_seconds(c.resolve_due_at) * used_share + epoch_seconds(c.reported_at) * (1 - used_share)
                        <= epoch_seconds(t_lit))
    accept_near = and_(or_(c.accepted_at.is_(None), c.accepted_at > t), c.accept_due_at <= soon)
    dispatch_near = and_(or_(c.dispatched_at.is_(None), c.dispatched_at > t), c.dispatch_due_at <= soon)
    stmt = (select(*(c[k] for k in SLA_COLUMNS))
            .where(open_at(t), in_scope(scope, Case), or_(resolve_near, accept_near, dispatch_near)))
    df = _frame(conn.execute(stmt), SLA_COLUMNS, TIME_COLUMNS)
    df["accepted_at"] = df["accepted_at"].where(df["accepted_at"] <= t)
    df["dispatched_at"] = df["dispatched_at"].where(df["dispatched_at"] <= t)
    holder, progress = _flow_as_of(conn, df["id"].tolist(), t)
    df["holder_org_id"] = [holder.get(i, h) for i, h in zip(df["id"], df["handler_org_id"])]
    df["holder_org_id"] = pd.array(df["holder_org_id"], dtype="Int64")
    last = pd.to_datetime(pd.Series([progress.get(i) for i in df["id"]], index=df.index, dtype=object), utc=True)
    df["last_progress_at"] = last.where(last.notna(), df["reported_at"])
    return df


def _flow_as_of(conn: Connection, ids: list[int], t: datetime) -> tuple[dict[int, int], dict[int, datetime]]:
    """For each case: the org its log last handed it to by T, and its last progress action by T."""
    holder: dict[int, int] = {}
    progress: dict[int, datetime] = {}
    for lo in range(0, len(ids), _CHUNK):
        chunk = ids[lo:lo + _CHUNK]
        rows = conn.execute(
            select(ca.case_id, ca.ts, ca.action, ca.to_org_id)
            .where(ca.case_id.in_(chunk), ca.ts <= t)
            .order_by(ca.case_id, ca.ts, ca.id))
        for case_id, ts, action, to_org in rows:
            if action not in NOT_PROGRESS:
                progress[case_id] = ts
            if to_org is not None and action in HANDOVERS:
                holder[case_id] = to_org
    return holder, progress


def region_names(conn: Connection, scope: Scope) -> dict[str, str]:
    """Names of the regions in the scope (streets, communities ...) by code, for alert titles."""
    r = Region.__table__.c
    return {code: name for code, name in conn.execute(select_in(scope, Region, r.code, r.name))
            if code and name}


def engine_org_rows(conn: Connection, ids) -> pd.DataFrame:
    """id, name, kind, region_code of the given orgs, wherever they are (the holder of a case in scope
    may be an org above it: a county department)."""
    ids = sorted({int(i) for i in ids if i is not None and not pd.isna(i)})
    rows = []
    for lo in range(0, len(ids), _CHUNK):
        rows += conn.execute(select(o.id, o.name, o.kind, o.region_code).where(o.id.in_(ids[lo:lo + _CHUNK]))).all()
    return _frame(rows, ("id", "name", "kind", "region_code"))


def backlog_by_org(conn: Connection, scope: Scope, m: Moment, days: int = 28) -> pd.DataFrame:
    """Open cases per holding org at T and at the same time of day on each of the ``days`` days before.

    Rows: handler_org_id (the case's current holder: the history of who held a case is not
    replayed here); columns 0..days: open at T - k days. One statement, one pass over the cases
    open at some point of the window.
    """
    t = m.at
    bounds = [t - timedelta(days=k) for k in range(days + 1)]
    cols = [func.count().filter(open_at(b)).label(f"d{k}") for k, b in enumerate(bounds)]
    stmt = (select(c.handler_org_id, *cols)
            .where(c.reported_at <= t, or_(c.closed_at.is_(None), c.closed_at > bounds[-1]),
                   in_scope(scope, Case), c.handler_org_id.is_not(None))
            .group_by(c.handler_org_id))
    df = _frame(conn.execute(stmt), ["org_id"] + list(range(days + 1)))
    return df.set_index("org_id").astype(int)


# --- staffing -------------------------------------------------------------------------------

def on_duty_workers(conn: Connection, scope: Scope, m: Moment) -> pd.DataFrame:
    """Active grid workers of the scope on duty at T (a shift with starts_at <= T < ends_at).

    Columns: staff_id, name, grid_code, shift_start (the earliest covering shift), shift_end,
    last_ping (the last ping in [shift_start, T], NULL when none).
    """
    t = m.at
    in_grid = s.grid_code.in_(select_in(scope, Grid, g.code).scalar_subquery())
    duty = (select(sh.staff_id, func.min(sh.starts_at).label("shift_start"), func.max(sh.ends_at).label("shift_end"))
            .where(sh.starts_at <= t, sh.ends_at > t).group_by(sh.staff_id).subquery("duty"))
    last_ping = (select(func.max(p.ts)).where(p.staff_id == s.id, p.ts >= duty.c.shift_start, p.ts <= t)
                 .scalar_subquery())
    stmt = (select(s.id, s.name, s.grid_code, duty.c.shift_start, duty.c.shift_end, last_ping.label("last_ping"))
            .select_from(Staff.__table__.join(duty, duty.c.staff_id == s.id))
            .where(_worker(), in_scope(scope, Staff), in_grid)
            .order_by(s.grid_code, s.id))
    return _frame(conn.execute(stmt), ("staff_id", "name", "grid_code", "shift_start", "shift_end", "last_ping"),
                  ("shift_start", "shift_end", "last_ping"))


def grid_duty(conn: Connection, scope: Scope, m: Moment) -> pd.DataFrame:
    """One row per grid of the scope: grid_code, community_code, staffed (an active grid worker is
    assigned), on_duty (one of them has a shift covering T), rostered_today (one of them has a
    shift that began in [midnight(T), T]), patrolled_today (one of them pinged in [midnight(T), T])."""
    t, mid = m.at, m.midnight
    w = Staff.__table__.alias("w")
    assigned = and_(w.c.grid_code == g.code, w.c.role == "grid_worker", w.c.active.is_(True))
    staffed = exists().where(assigned)
    on_duty = exists().where(assigned, exists().where(sh.staff_id == w.c.id, sh.starts_at <= t, sh.ends_at > t))
    rostered = exists().where(assigned, exists().where(sh.staff_id == w.c.id, sh.starts_at >= mid, sh.starts_at <= t))
    patrolled = exists().where(assigned, exists().where(p.staff_id == w.c.id, p.ts >= mid, p.ts <= t))
    stmt = (select(g.code, g.community_code, staffed.label("staffed"), on_duty.label("on_duty"),
                   rostered.label("rostered_today"), patrolled.label("patrolled_today"))
            .where(in_scope(scope, Grid)).order_by(g.code))
    df = _frame(conn.execute(stmt), ("grid_code", "community_code", "staffed", "on_duty", "rostered_today",
                                     "patrolled_today"))
    for col in ("staffed", "on_duty", "rostered_today", "patrolled_today"):
        df[col] = df[col].astype(bool)
    # the community is in the grid's code; the column may be NULL or wrong in a real platform
    df["community_code"] = df["grid_code"].str[:12]
    return df


def ping_activity(conn: Connection, scope: Scope, m: Moment, window: timedelta) -> dict[str, int]:
    """Pings of the scope's active grid workers in (T - window, T]: rows and distinct workers."""
    t = m.at
    stmt = (select(func.count(), func.count(p.staff_id.distinct()))
            .select_from(StaffPing.__table__.join(Staff.__table__, s.id == p.staff_id))
            .where(p.ts > t - window, p.ts <= t, _worker(), in_scope(scope, Staff)))
    pings, workers = conn.execute(stmt).one()
    return {"pings": int(pings or 0), "workers": int(workers or 0)}


# --- feed staleness -------------------------------------------------------------------------

def feed_times(conn: Connection, scope: Scope, m: Moment, days: int = 28) -> dict[str, np.ndarray]:
    """Epoch seconds (sorted) of new cases (reported_at) and of flow steps (case_actions.ts) of the
    scope in (T - days, T]; the history the staleness detector learns its usual gaps from."""
    t = m.at
    start = t - timedelta(days=days)
    cases = conn.execute(select(c.reported_at).where(c.reported_at > start, c.reported_at <= t,
                                                     in_scope(scope, Case))).scalars().all()
    actions = conn.execute(
        select(ca.ts).select_from(CaseAction.__table__.join(Case.__table__, c.id == ca.case_id))
        .where(ca.ts > start, ca.ts <= t, in_scope(scope, Case))).scalars().all()
    return {"cases": _epochs(cases), "actions": _epochs(actions)}


def _epochs(values) -> np.ndarray:
    arr = np.array([v.timestamp() for v in values if v is not None], dtype=float)
    arr.sort()
    return arr


def feed_last(conn: Connection, scope: Scope, m: Moment) -> dict[str, datetime | None]:
    """The newest case report and the newest flow step of the scope at or before T."""
    t = m.at
    last_case = conn.execute(select(c.reported_at).where(c.reported_at <= t, in_scope(scope, Case))
                             .order_by(c.reported_at.desc()).limit(1)).scalar()
    last_action = conn.execute(
        select(ca.ts).select_from(CaseAction.__table__.join(Case.__table__, c.id == ca.case_id))
        .where(ca.ts <= t, in_scope(scope, Case)).order_by(ca.ts.desc()).limit(1)).scalar()
    return {"cases": last_case, "actions": last_action}
