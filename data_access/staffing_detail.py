"""Grid staffing in detail (力量在岗): by child region, vacant grids, workers offline while on duty, a grid's profile.

The words are the contract's staffing figures: a worker is an active ``grid_worker`` assigned to a
grid in the region; on duty when a shift covers T; online when on duty with a ping in (T - 10 min, T].
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import Connection

from .figures import ONLINE_WINDOW, case_figures
from .models import Grid, Region, Staff, StaffPing, StaffShift
from .moment import Moment
from . import rollup_figures
from .scope import CHILD_LENGTH, COUNTY_LENGTH, Scope
from .scoped import in_scope, select_in

g = Grid.__table__.c
r = Region.__table__.c
s = Staff.__table__.c
sh = StaffShift.__table__.c
p = StaffPing.__table__.c

OFFLINE_AFTER = timedelta(minutes=30)
# How far back the last ping of an offline worker is looked for (a shift is at most this long).
PING_LOOKBACK = timedelta(hours=16)


def _worker():
    return and_(s.role == "grid_worker", s.active.is_(True))


def _on_duty(t):
    return s.id.in_(select(sh.staff_id).where(sh.starts_at <= t, sh.ends_at > t))


def _assigned_in(scope: Scope):
    """Assigned to a grid of the region that exists (its code carries the region)."""
    return and_(in_scope(scope, Staff), s.grid_code.in_(select_in(scope, Grid, g.code)))


STAFF_CHILD_KEYS = ("grids", "grids_staffed", "workers", "on_duty", "online", "households", "population")


def staffing_by_child(conn: Connection, scope: Scope, m: Moment) -> dict[str, dict[str, int]]:
    """grids, grids_staffed, workers, on_duty, online, households and population per child region.

    On a roll-up database, each county's own, read on its schema (``data_access.rollup_figures``)."""
    length = CHILD_LENGTH.get(len(scope.region))
    if length is None:
        return {}
    if scope.rollup:
        above = len(scope.region) < COUNTY_LENGTH

        def county(c: Connection, cs: Scope, cm: Moment) -> dict:
            rows = staffing_by_child(c, cs, cm)
            return rollup_figures.add(list(rows.values())) if above else rows

        return rollup_figures.by_child(conn, scope, m, county, STAFF_CHILD_KEYS, reuse=False)
    t = m.at
    child = func.substr(g.code, 1, length)
    staffed = exists().where(s.grid_code == g.code, _worker())
    out: dict[str, dict[str, int]] = {}
    grid_rows = conn.execute(
        select(child.label("k"), func.count().label("grids"),
               func.count().filter(staffed).label("grids_staffed"),
               func.coalesce(func.sum(g.households), 0).label("households"),
               func.coalesce(func.sum(g.population), 0).label("population"))
        .where(in_scope(scope, Grid)).group_by(child)).mappings()
    for row in grid_rows:
        out[row["k"]] = {k: int(row[k] or 0) for k in ("grids", "grids_staffed", "households", "population")}
    pinged = exists().where(p.staff_id == s.id, p.ts > t - ONLINE_WINDOW, p.ts <= t)
    wchild = func.substr(s.grid_code, 1, length)
    worker_rows = conn.execute(
        select(wchild.label("k"), func.count().label("workers"),
               func.count().filter(_on_duty(t)).label("on_duty"),
               func.count().filter(and_(_on_duty(t), pinged)).label("online"))
        .where(_worker(), _assigned_in(scope)).group_by(wchild)).mappings()
    for row in worker_rows:
        entry = out.setdefault(row["k"], {"grids": 0, "grids_staffed": 0, "households": 0, "population": 0})
        entry.update({k: int(row[k] or 0) for k in ("workers", "on_duty", "online")})
    for entry in out.values():
        for key in ("workers", "on_duty", "online"):
            entry.setdefault(key, 0)
    return out


def _grid_names(conn: Connection, codes: list[str]) -> dict[str, dict[str, str | None]]:
    """Grid, community and street names of grid codes."""
    if not codes:
        return {}
    grids = {code: name for code, name in conn.execute(select(g.code, g.name).where(g.code.in_(codes)))}
    prefixes = sorted({code[:12] for code in codes} | {code[:9] for code in codes})
    regions = {code: name for code, name in conn.execute(select(r.code, r.name).where(r.code.in_(prefixes)))}
    return {code: {"grid_name": grids.get(code), "community_name": regions.get(code[:12]),
                   "street_name": regions.get(code[:9])} for code in codes}


def vacant_grids(conn: Connection, scope: Scope, limit: int = 50) -> list[dict[str, Any]]:
    """Grids of the region without an active grid worker (空缺网格), by code, with their names."""
    stmt = (select(g.code).where(in_scope(scope, Grid), ~exists().where(s.grid_code == g.code, _worker()))
            .order_by(g.code).limit(limit))
    codes = [code for code, in conn.execute(stmt) if code]
    names = _grid_names(conn, codes)
    return [{"code": code, **names.get(code, {})} for code in codes]


def offline_on_duty(conn: Connection, scope: Scope, m: Moment, after: timedelta = OFFLINE_AFTER,
                    limit: int = 200) -> list[dict[str, Any]]:
    """Workers on duty at T without a ping in (T - ``after``, T], grouped by grid, the longest silent first.

    Each grid: ``code``, its names, ``workers`` [{``id``, ``name``, ``last_ping`` or None}] and
    ``since`` (the oldest last ping among them; None when one of them has not pinged in the look-back).
    """
    t = m.at
    last = (select(func.max(p.ts)).where(p.staff_id == s.id, p.ts <= t, p.ts > t - PING_LOOKBACK)
            .correlate(Staff.__table__).scalar_subquery())
    stmt = (select(s.id, s.name, s.grid_code, last.label("last_ping"))
            .where(_worker(), _assigned_in(scope), _on_duty(t)))
    silent = [dict(row) for row in conn.execute(stmt).mappings()
              if row["last_ping"] is None or row["last_ping"] <= t - after]
    by_grid: dict[str, list[dict[str, Any]]] = {}
    for row in silent:
        by_grid.setdefault(row["grid_code"], []).append(
            {"id": row["id"], "name": row["name"], "last_ping": row["last_ping"]})
    names = _grid_names(conn, sorted(by_grid))
    out = []
    for code, workers in by_grid.items():
        pings = [w["last_ping"] for w in workers]
        since = None if any(v is None for v in pings) else min(pings)
        out.append({"code": code, **names.get(code, {}), "workers": workers, "since": since})
    epoch = datetime.min.replace(tzinfo=t.tzinfo)
    out.sort(key=lambda e: (e["since"] is not None, e["since"] or epoch, e["code"]))
    return out[:limit]


def grid_profile(conn: Connection, scope: Scope, m: Moment) -> dict[str, Any] | None:
    """One grid (scope.region is a grid code): its row, names, workers with status and its case figures."""
    code = scope.region
    if len(code) != 15:
        return None
    row = conn.execute(select_in(scope, Grid, g.code, g.name, g.kind, g.households, g.population, g.community_code)
                       .where(g.code == code)).mappings().first()
    if row is None:
        return None
    t = m.at
    last = (select(func.max(p.ts)).where(p.staff_id == s.id, p.ts <= t, p.ts > t - PING_LOOKBACK)
            .correlate(Staff.__table__).scalar_subquery())
    on_duty = _on_duty(t)
    workers = []
    stmt = (select(s.id, s.name, s.role, s.full_time, s.active, on_duty.label("on_duty"), last.label("last_ping"))
            .where(in_scope(scope, Staff), s.grid_code == code).order_by(s.role, s.id))
    for w in conn.execute(stmt).mappings():
        w = dict(w)
        w["on_duty"] = bool(w["on_duty"])
        w["online"] = bool(w["on_duty"] and w["last_ping"] is not None and w["last_ping"] > t - ONLINE_WINDOW)
        w["offline"] = bool(w["on_duty"] and (w["last_ping"] is None or w["last_ping"] <= t - OFFLINE_AFTER))
        workers.append(w)
    return {**dict(row), **_grid_names(conn, [code]).get(code, {}), "workers": workers,
            "cases": case_figures(conn, scope, m)}
