"""Region boundaries for the map, as a GeoJSON FeatureCollection.

A region's boundary is ``regions.boundary``; when that is NULL or unusable, the union of its grids'
polygons. Boundary text comes from the platform and may be anything: text that is not a polygonal
GeoJSON geometry with plausible longitude/latitude is skipped (and counted), never raised.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.engine import Connection

from .models import Grid, Region
from .regions import children
from .scope import Scope
from .scoped import in_scope, select_in

log = logging.getLogger(__name__)

r = Region.__table__.c
g = Grid.__table__.c

# About 10 m at Jiangsu's latitude: invisible on a county map, and it keeps the payload small.
SIMPLIFY_DEGREES = 0.0001
COORD_DIGITS = 6


def parse_boundary(text: str | None) -> BaseGeometry | None:
    """A polygonal shapely geometry from GeoJSON text, or None when the text is unusable."""
    if not text or not isinstance(text, str):
        return None
    try:
        obj = json.loads(text)
        if isinstance(obj, dict) and obj.get("type") == "Feature":
            obj = obj.get("geometry")
        if not isinstance(obj, dict) or obj.get("type") not in ("Polygon", "MultiPolygon"):
            return None
        geom = shape(obj)
        if geom.is_empty:
            return None
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
            polygons = [p for p in getattr(geom, "geoms", [geom]) if p.geom_type in ("Polygon", "MultiPolygon")]
            if not polygons:
                return None
            geom = shapely.union_all(polygons)
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            return None
        return geom if not geom.is_empty else None
    except Exception:  # noqa: BLE001 - any malformed text is a data-quality issue, not an error
        return None


def _rounded(geom: BaseGeometry) -> dict[str, Any]:
    def round_coords(value):
        if isinstance(value, (list, tuple)):
            if value and isinstance(value[0], (int, float)):
                return [round(float(v), COORD_DIGITS) for v in value]
            return [round_coords(v) for v in value]
        return value

    out = mapping(geom)
    return {"type": out["type"], "coordinates": round_coords(out["coordinates"])}


def _grid_union(conn: Connection, scope: Scope, codes: list[str]) -> dict[str, BaseGeometry]:
    """The union of grid polygons under each of ``codes`` (all inside the scope)."""
    if not codes:
        return {}
    rows = conn.execute(select(g.code, g.boundary).where(in_scope(scope, Grid), g.boundary.is_not(None)))
    parts: dict[str, list[BaseGeometry]] = {code: [] for code in codes}
    for grid_code, text in rows:
        if not grid_code:
            continue
        owner = next((code for code in codes if grid_code.startswith(code)), None)
        if owner is None:
            continue
        geom = parse_boundary(text)
        if geom is not None:
            parts[owner].append(geom)
    out = {}
    for code, geoms in parts.items():
        if geoms:
            merged = shapely.union_all(geoms)
            if not merged.is_empty:
                out[code] = merged
    return out


def child_boundaries(conn: Connection, scope: Scope) -> dict[str, Any]:
    """The boundaries of the scope region's children (streets of a county, ...) as a FeatureCollection.

    Each feature has ``id`` = the child's code and properties ``code`` and ``name``. The
    collection carries ``bbox`` ([min lon, min lat, max lon, max lat]) when it has any feature and
    ``skipped``: the children (code and name) whose boundary could not be drawn.
    """
    kids = children(conn, scope)
    names = {k["code"]: k["name"] for k in kids}
    codes = list(names)
    if len(scope.region) == 12:  # children are grids: their own polygons
        table_rows = conn.execute(select_in(scope, Grid, g.code, g.boundary).where(g.community_code == scope.region))
    else:
        table_rows = conn.execute(select_in(scope, Region, r.code, r.boundary).where(r.parent_code == scope.region))
    geoms: dict[str, BaseGeometry] = {}
    for code, text in table_rows:
        if code in names:
            geom = parse_boundary(text)
            if geom is not None:
                geoms[code] = geom
    missing = [code for code in codes if code not in geoms and len(code) < 15]
    geoms.update(_grid_union(conn, scope, missing))

    features = []
    for code in codes:
        geom = geoms.get(code)
        if geom is None:
            continue
        simple = geom.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        if simple.is_empty:
            simple = geom
        features.append({"type": "Feature", "id": code, "properties": {"code": code, "name": names[code]},
                         "geometry": _rounded(simple)})
    skipped = [{"code": code, "name": names[code]} for code in codes if code not in geoms]
    if skipped:
        log.info("no usable boundary for %d regions under %s: %s", len(skipped), scope.region,
                 [s["code"] for s in skipped[:10]])
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features, "skipped": skipped}
    if geoms:
        bounds = shapely.union_all([geoms[f["id"]] for f in features]).bounds
        fc["bbox"] = [round(v, COORD_DIGITS) for v in bounds]
    return fc
