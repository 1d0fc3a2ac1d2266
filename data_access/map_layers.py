"""Point layers of the wall's map (open cases, alerts) and a region's own outline.

Coordinates from the platform may be missing or nonsense: points outside longitude/latitude range
are left off the map (they still count in every figure).
"""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .figures import open_at, overdue_at, warning_at
from .geo import SIMPLIFY_DEGREES, parse_boundary
from .models import Alert, Case, Grid, Region
from .moment import Moment
from .scope import Scope
from .scoped import in_scope, select_in

c = Case.__table__.c
a = Alert.__table__.c
g = Grid.__table__.c
r = Region.__table__.c

DIGITS = 5  # about 1 m: enough for a marker, and short on the wire


def _plausible(lon, lat) -> bool:
    return lon is not None and lat is not None and -180 <= lon <= 180 and -90 <= lat <= 90


def _point(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, DIGITS), round(lat, DIGITS)]},
            "properties": props}


def case_points(conn: Connection, scope: Scope, m: Moment, limit: int = 1500) -> dict[str, Any]:
    """Open cases at T with a location, newest first, as a FeatureCollection of points.

    Properties are kept short (they travel on every change): ``s`` the SLA state (``o`` overdue,
    ``w`` warning, ``n`` neither) and ``u`` the urgency code's first letter.
    """
    t = m.at
    state = sql_case((overdue_at(t), "o"), (warning_at(t), "w"), else_="n")
    stmt = (select(c.lon, c.lat, c.urgency, state.label("s"))
            .where(open_at(t), in_scope(scope, Case), c.lon.is_not(None), c.lat.is_not(None))
            .order_by(c.reported_at.desc(), c.id.desc()).limit(limit))
    features = []
    for lon, lat, urgency, s in conn.execute(stmt):
        if _plausible(lon, lat):
            features.append(_point(float(lon), float(lat), {"s": s, "u": (urgency or "n")[0]}))
    return {"type": "FeatureCollection", "features": features}


def _geometry_of(conn: Connection, scope: Scope, code: str):
    """The polygon of a grid or region in the scope: its own boundary, else the union of its grids."""
    inner = scope.narrow(code)
    if len(code) == 15:
        text = conn.execute(select_in(inner, Grid, g.boundary).where(g.code == code)).scalar()
        return parse_boundary(text)
    text = conn.execute(select_in(inner, Region, r.boundary).where(r.code == code)).scalar()
    geom = parse_boundary(text)
    if geom is not None:
        return geom
    parts = [parse_boundary(t) for t, in conn.execute(
        select(g.boundary).where(in_scope(inner, Grid), g.boundary.is_not(None)))]
    parts = [p for p in parts if p is not None]
    return shapely.union_all(parts) if parts else None


def anchor_points(conn: Connection, scope: Scope, codes: list[str]) -> dict[str, list[float]]:
    """A point inside each region or grid of ``codes`` (within the scope): [lon, lat]; unknown ones left out."""
    out = {}
    for code in codes:
        if not code or not scope.contains(code):
            continue
        try:
            geom = _geometry_of(conn, scope, code)
        except Exception:  # noqa: BLE001 - a bad code or geometry leaves the marker off, never the wall
            geom = None
        if geom is not None and not geom.is_empty:
            pt = geom.representative_point()
            out[code] = [round(pt.x, DIGITS), round(pt.y, DIGITS)]
    return out


def alert_rows(conn: Connection, scope: Scope, m: Moment, limit: int = 50) -> list[dict[str, Any]]:
    """New and acknowledged alerts below the scope's region (not on the region itself), newest first."""
    stmt = (select(a.id, a.region_code, a.severity, a.status, a.kind)
            .where(in_scope(scope, Alert), a.region_code != scope.region, a.created_at <= m.at,
                   a.status.in_(("new", "acknowledged")))
            .order_by(a.created_at.desc(), a.id.desc()).limit(limit))
    return [dict(row) for row in conn.execute(stmt).mappings()]


def alert_points(rows: list[dict[str, Any]], anchors: dict[str, list[float]]) -> dict[str, Any]:
    """Alert markers at their region's anchor point; alerts sharing a place are one marker (the worst)."""
    rank = {"critical": 0, "warning": 1, "info": 2}
    by_place: dict[str, dict[str, Any]] = {}
    for row in rows:
        at = anchors.get(row["region_code"])
        if at is None:
            continue
        key = row["region_code"]
        props = {"sev": row["severity"] if row["severity"] in rank else "info", "n": 1,
                 "new": row["status"] == "new"}
        if key in by_place:
            prev = by_place[key]["properties"]
            props["n"] = prev["n"] + 1
            props["new"] = props["new"] or prev["new"]
            if rank[prev["sev"]] < rank[props["sev"]]:
                props["sev"] = prev["sev"]
        by_place[key] = _point(at[0], at[1], props)
    return {"type": "FeatureCollection", "features": list(by_place.values())}


def own_outline(conn: Connection, scope: Scope, name: str | None = None) -> dict[str, Any]:
    """The scope region's own boundary as a one-feature collection (the map of a grid); empty when unusable."""
    geom = _geometry_of(conn, scope, scope.region)
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": [], "skipped": []}
    if geom is None or geom.is_empty:
        fc["skipped"] = [{"code": scope.region, "name": name or scope.region}]
        return fc
    simple = geom.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    if simple.is_empty:
        simple = geom
    geometry = json.loads(json.dumps(mapping(simple)))  # tuples to lists
    geometry["coordinates"] = _round(geometry["coordinates"])
    fc["features"] = [{"type": "Feature", "id": scope.region,
                       "properties": {"code": scope.region, "name": name or scope.region},
                       "geometry": geometry}]
    fc["bbox"] = [round(v, 6) for v in geom.bounds]
    return fc


def _round(value):
    if isinstance(value, list):
        if value and isinstance(value[0], (int, float)):
            return [round(float(v), 6) for v in value]
        return [_round(v) for v in value]
    return value

