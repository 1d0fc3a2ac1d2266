"""What an alert's evidence panel reads beside the alert and its cases (issue 17 §4): a rise's
daily series, the points of a cluster's cases and the outlines of its grids, the names of the grids
an alert names, and (where the deployment allows names) the last positions of offline workers.

Every read takes the viewer's scope: codes and ids from the alert's detail outside it are left out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from shapely.geometry import mapping
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from .feeds_cases import _bucket
from .geo import SIMPLIFY_DEGREES, parse_boundary
from .models import Case, Grid, Region, Staff, StaffPing
from .period import local_midnight
from .scope import REGION_CODE, Scope
from .scoped import in_scope, select_in

c = Case.__table__.c
g = Grid.__table__.c
r = Region.__table__.c
s = Staff.__table__.c
p = StaffPing.__table__.c

MAX_DAYS = 120          # a series read is at most this many days
MAX_CODES = 200         # grids, cases or workers named by one alert that are looked up
PING_LOOKBACK = timedelta(hours=16)


def series_day_counts(conn: Connection, scope: Scope, region_code: str, category_code: str, first: date,
                      last: date, tz: ZoneInfo) -> dict[str, Any] | None:
    """Cases per local day in [first, last] of one rise series (the region's cases of the category,
    a 2-digit major or a 4-digit minor) and of its category in the whole scope (the detector's
    day-of-week factors are the category's). None when the region or category code is malformed or
    the region lies outside the scope.

    Returns ``days`` (datetime64[D]), ``series``, ``major`` and ``minor`` (None for a major series)
    daily counts, and ``first_day``: the index of the first day with any case of the scope (history
    before it is unknown, not zero).
    """
    if not REGION_CODE.fullmatch(region_code or "") or len(region_code) not in (9, 12) or not scope.contains(region_code):
        return None
    if not (isinstance(category_code, str) and category_code.isdigit() and len(category_code) in (2, 4)):
        return None
    n = (last - first).days + 1
    if n <= 0 or n > MAX_DAYS:
        return None
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + np.timedelta64(1, "D"), dtype="datetime64[D]")
    bounds = [local_midnight(first + timedelta(days=i), tz) for i in range(n + 1)]
    day = _bucket(c.reported_at, bounds, 0, n)
    in_region = case((in_scope(scope.narrow(region_code), Case), 1), else_=0)
    stmt = (select(day.label("d"), in_region.label("here"), c.category_code, func.count())
            .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case),
                   func.substr(c.category_code, 1, 2) == category_code[:2])
            .group_by(day, in_region, c.category_code))
    series, major = np.zeros(n), np.zeros(n)
    minor = np.zeros(n) if len(category_code) == 4 else None
    for d, here, cat, count in conn.execute(stmt):
        if not (isinstance(cat, str) and len(cat) == 4 and cat.isdigit()):
            continue
        d = int(d)
        major[d] += count
        if minor is not None and cat == category_code:
            minor[d] += count
        if here and cat.startswith(category_code):
            series[d] += count
    earliest = conn.execute(select(func.min(c.reported_at))
                            .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case))).scalar()
    first_day = 0
    if earliest is not None:
        local = (earliest if earliest.tzinfo else earliest.replace(tzinfo=ZoneInfo("UTC"))).astimezone(tz).date()
        first_day = max(0, (local - first).days)
    return {"days": days, "series": series, "major": major, "minor": minor, "first_day": first_day}


def case_points(conn: Connection, scope: Scope, ids: list[int]) -> list[dict[str, Any]]:
    """The cases of ``ids`` in the scope with a plausible location: id, code, lon, lat, grid_code."""
    ids = [int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)][:MAX_CODES]
    if not ids:
        return []
    stmt = select_in(scope, Case, c.id, c.code, c.lon, c.lat, c.grid_code).where(c.id.in_(ids)).order_by(c.id)
    out = []
    for row in conn.execute(stmt).mappings():
        lon, lat = row["lon"], row["lat"]
        if lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90:
            out.append({"id": row["id"], "code": row["code"], "lon": round(float(lon), 5), "lat": round(float(lat), 5),
                        "grid_code": row["grid_code"]})
    return out


def _codes(scope: Scope, codes: list[str], length: int | None = 15) -> list[str]:
    return sorted({x for x in codes if isinstance(x, str) and REGION_CODE.fullmatch(x)
                   and (length is None or len(x) == length) and scope.contains(x)})[:MAX_CODES]


def grid_outlines(conn: Connection, scope: Scope, codes: list[str]) -> dict[str, Any]:
    """The boundaries of the grids of ``codes`` in the scope, as a GeoJSON FeatureCollection
    (property ``code``); a grid without a usable boundary is left out."""
    wanted = _codes(scope, codes)
    features = []
    if wanted:
        for code, boundary in conn.execute(select_in(scope, Grid, g.code, g.boundary).where(g.code.in_(wanted))
                                           .order_by(g.code)):
            geom = parse_boundary(boundary)
            if geom is None:
                continue
            shape = mapping(geom.simplify(SIMPLIFY_DEGREES, preserve_topology=True))
            features.append({"type": "Feature", "geometry": {"type": shape["type"], "coordinates": shape["coordinates"]},
                             "properties": {"code": code}})
    return {"type": "FeatureCollection", "features": features}


def grid_places(conn: Connection, scope: Scope, codes: list[str]) -> dict[str, str]:
    """A name for each grid of ``codes`` in the scope: community and grid ("沙溪第1社区第2网格"); the
    code when the grid is unknown."""
    wanted = _codes(scope, codes)
    if not wanted:
        return {}
    grids = dict(conn.execute(select_in(scope, Grid, g.code, g.name).where(g.code.in_(wanted))).all())
    communities = sorted({x[:12] for x in wanted})
    names = dict(conn.execute(select_in(scope, Region, r.code, r.name).where(r.code.in_(communities))).all())
    return {x: f"{names.get(x[:12]) or ''}{grids.get(x) or ('第' + str(int(x[12:])) + '网格')}" for x in wanted}


def worker_positions(conn: Connection, scope: Scope, staff_ids: list[int], at: datetime) -> list[dict[str, Any]]:
    """Workers of ``staff_ids`` assigned to a grid in the scope, by grid code and name (never by any
    figure of theirs): id, name, grid_code and their last ping at or before ``at`` within 16 hours
    (``last_ping``, ``lon``, ``lat``; None when none). Only for a user allowed to see names
    (docs/security.md, "Staffing without surveillance")."""
    ids = [int(i) for i in staff_ids if isinstance(i, int) and not isinstance(i, bool)][:MAX_CODES]
    if not ids:
        return []
    rows = [dict(row) for row in conn.execute(
        select_in(scope, Staff, s.id, s.name, s.grid_code).where(s.id.in_(ids))).mappings()]
    if not rows:
        return []
    last = (select(p.staff_id, func.max(p.ts).label("ts"))
            .where(p.staff_id.in_([row["id"] for row in rows]), p.ts <= at, p.ts > at - PING_LOOKBACK)
            .group_by(p.staff_id).subquery())
    pings = {sid: (ts, lon, lat) for sid, ts, lon, lat in conn.execute(
        select(p.staff_id, p.ts, p.lon, p.lat).join(last, and_(last.c.staff_id == p.staff_id, last.c.ts == p.ts)))}
    out = []
    for row in rows:
        ts, lon, lat = pings.get(row["id"], (None, None, None))
        ok = lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90
        out.append({"id": row["id"], "name": row["name"], "grid_code": row["grid_code"], "last_ping": ts,
                    "lon": round(float(lon), 5) if ok else None, "lat": round(float(lat), 5) if ok else None})
    out.sort(key=lambda w: (w["grid_code"] or "", w["name"] or "", w["id"]))
    return out
