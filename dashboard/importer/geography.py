"""The imported city's hierarchy with stable generated codes, and where a case lies in it.

Where an export has no official codes, the mapping builds the contract's hierarchy:

- **root** (county level, 6 digits): ``[root] code``, the city.
- **districts** (street level, root + 3 digits): the polygons of ``districts.geojson`` (features with
  the same name are one district), else the distinct values of the ``districts.names`` table.
  Numbered 001, 002 ... in natural order of their names ("District 2" before "District 10"), so the
  same mapping and polygons always give the same codes, whatever the data.
- **areas** (community level, district + 3 digits): with ``areas.geojson``, the pieces of a district
  cut by those polygons (neighbourhood x ward), numbered in natural order of the area polygon's name;
  a piece under ``areas.min_area_m2`` (a sliver where two boundary files disagree) joins the piece of
  the same district it shares the longest border with. Without it, one area 001 = the district.
- **grids** (15 digits, area + 3 digits): with ``grids.cell_m``, square cells of that size in a local
  metre grid anchored at ``grids.origin`` (default: the districts' south-west corner rounded down to
  0.1°), clipped to each area; a clipped piece under ``min_piece_share`` of a cell joins its neighbour
  in the same area with the longest shared border; the pieces are numbered by (row, column) of their
  cell. Without cells, one grid 001 = the area.
- **areas and grids by name** (``columns.area``, ``columns.grid``, with districts by name only): the
  file's community and grid names within each district, numbered by ``add_named_places`` (an earlier
  import's code for the same name is kept, so the codes depend on the data seen, never change once
  given); the district's own area 001 / grid 001001 take the cases that name only the district.
- **catch-all**: when areas or cells divide a district, a case that names only its district (no usable
  point) goes to the district's area 999 / grid 999 ("位置不详"), so district-level views count it; a
  district with a single grid takes such cases itself. A case with neither point nor district has no
  grid and counts in the root only (contract: "未定位").

Boundaries are stored as GeoJSON geometry text (WGS-84), simplified by ``grids.simplify_m`` metres and
rounded to 6 decimals. The hierarchy is pure computation (shapely); data_access.imports writes it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping as to_geojson
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from .coords import LocalProjection, to_wgs84
from .mapping import Mapping, MappingError, resolve_path

CATCH_ALL = "999"
MAX_SEQ = 998  # 999 is the catch-all
ROOT_SIMPLIFY_M = 20.0


def natural_key(text: str):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in re.split(r"(\d+)", text) if part]


def _feature_name(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """Only the polygons of ``geom`` (an intersection may add lines and points), or None."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not parts:
        return None
    return shapely.union_all(parts)


def load_polygons(path: Path, prop: str, crs: str = "wgs84") -> dict[str, BaseGeometry]:
    """name -> (multi)polygon of a GeoJSON FeatureCollection, in WGS-84 (from ``crs``); features sharing
    a name are united."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(f"{path}: not readable GeoJSON: {exc}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise MappingError(f"{path}: not a GeoJSON FeatureCollection")
    parts: dict[str, list[BaseGeometry]] = {}
    for feat in features:
        props = (feat or {}).get("properties") or {}
        name = _feature_name(props.get(prop))
        if name is None:
            continue
        try:
            geom = shape(feat["geometry"])
            if crs != "wgs84":
                geom = shapely.transform(geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs)))
        except Exception:  # noqa: BLE001 - a broken feature is left out, named below when none is left
            continue
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        geom = _polygonal(geom)
        if geom is not None:
            parts.setdefault(name, []).append(geom)
    if not parts:
        raise MappingError(f"{path}: no polygon feature with property {prop!r}")
    return {name: (geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)) for name, geoms in parts.items()}


@dataclass
class Geography:
    root: dict
    regions: list[dict] = field(default_factory=list)  # districts then areas (the root is ``root``)
    grids: list[dict] = field(default_factory=list)
    proj: LocalProjection | None = None
    district_by_value: dict[str, str] = field(default_factory=dict)  # casefolded file value -> district code
    district_grid: dict[str, str] = field(default_factory=dict)  # district code -> grid for district-only cases
    # columns.area / columns.grid: (district code, casefolded area, casefolded grid or "") -> grid code
    named_grid: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _tree: STRtree | None = None
    _tree_codes: np.ndarray | None = None

    @property
    def can_locate_points(self) -> bool:
        return self._tree is not None

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The grid code of each WGS-84 point (object array; None outside every grid)."""
        out = np.full(len(lon), None, dtype=object)
        if self._tree is None or len(lon) == 0:
            return out
        x, y = self.proj.forward(lon, lat)
        points = shapely.points(x, y)
        hits = self._tree.query(points, predicate="intersects")
        if hits.shape[1]:
            first_points, first_at = np.unique(hits[0], return_index=True)
            out[first_points] = self._tree_codes[hits[1][first_at]]
        missing = np.flatnonzero(out == None)  # noqa: E711 - elementwise on an object array
        if len(missing):
            # a point on a seam the numerics left open (< 1 m): the nearest piece
            near = self._tree.query_nearest(points[missing], max_distance=1.0)
            if near.shape[1]:
                first_points, first_at = np.unique(near[0], return_index=True)
                out[missing[first_points]] = self._tree_codes[near[1][first_at]]
        return out

    def named_grid_of(self, districts, areas, grids) -> list[str | None]:
        """The grid of each (district code, area name, grid name) of ``columns.area`` / ``columns.grid``;
        None when the area is blank or unknown (the case then takes its district's grid)."""
        table = self.named_grid
        out = []
        for d, a, g in zip(districts, areas, grids):
            if not d or not a:
                out.append(None)
                continue
            a, g = a.strip().casefold(), (g or "").strip().casefold()
            out.append(table.get((d, a, g)) or table.get((d, a, "")))
        return out

    def district_of(self, values) -> list[str | None]:
        """The district code of each file value of ``columns.district`` (None when unknown or empty)."""
        table = self.district_by_value
        return [table.get(v.casefold()) if v else None for v in values]

    def counts(self) -> dict[str, int]:
        """Districts, areas and grids, the catch-alls (area 999 / grid 999 of a district) apart."""
        levels = [(r["level"], r["code"].endswith(CATCH_ALL)) for r in self.regions]
        catch_all = levels.count(("community", True))
        return {"districts": sum(1 for lv, _ in levels if lv == "street"), "areas": levels.count(("community", False)),
                "grids": len(self.grids) - catch_all, "catch_all": catch_all}


def build_geography(m: Mapping, data_file: Path, mapping_file: Path | None) -> Geography:
    """The hierarchy the mapping describes (see the module docstring)."""
    root_code = m.root.code
    d_spec, a_spec, g_spec = m.districts, m.areas, m.grids

    district_geoms: dict[str, BaseGeometry] = {}
    if d_spec.geojson:
        district_geoms = load_polygons(resolve_path(d_spec.geojson, data_file, mapping_file), d_spec.name_property,
                                       m.location.polygons_crs)
        names = sorted(district_geoms, key=natural_key)
        unknown = sorted({v for v in d_spec.names.values() if v not in district_geoms})
        if unknown:
            raise MappingError(f"districts.names: {', '.join(map(repr, unknown[:10]))} name no polygon of "
                               f"{d_spec.geojson} (property {d_spec.name_property!r})")
    else:
        names = sorted(set(d_spec.names.values()), key=natural_key)
    if len(names) > 999:
        raise MappingError(f"{len(names)} districts: at most 999 fit the 3 digits of the street level")

    district_code = {name: f"{root_code}{i + 1:03d}" for i, name in enumerate(names)}
    display = {name: d_spec.name_format.format(name) for name in names}

    geo = Geography(root={"code": root_code, "name": m.root.name, "level": "county",
                          "parent_code": m.root.parent_code, "boundary": None})
    for name in names:
        for key in (name, display[name]):
            geo.district_by_value.setdefault(key.casefold(), district_code[name])
    for value, name in d_spec.names.items():
        geo.district_by_value[value.strip().casefold()] = district_code[name]

    if not district_geoms:  # districts by name only: one area, one grid each, no boundary
        for name in names:
            code = district_code[name]
            geo.regions.append(_region(code, display[name], "street", root_code, None))
            geo.regions.append(_region(code + "001", display[name], "community", code, None))
            geo.grids.append(_grid(code + "001001", code + "001", display[name], None))
            geo.district_grid[code] = code + "001001"
        return geo

    # Metres about a fixed origin: everything below is cut and measured in it.
    minx, miny, _, _ = shapely.union_all(list(district_geoms.values())).bounds
    origin = g_spec.origin or (math.floor(minx * 10) / 10, math.floor(miny * 10) / 10)
    proj = geo.proj = LocalProjection(*origin)
    to_m = lambda g: shapely.transform(g, proj.forward_coords)  # noqa: E731
    simplify = g_spec.simplify_m

    def boundary(geom_m: BaseGeometry | None, tolerance: float = simplify) -> str | None:
        if geom_m is None:
            return None
        simple = geom_m.simplify(tolerance, preserve_topology=True) if tolerance else geom_m
        simple = _polygonal(simple) or geom_m
        ll = shapely.transform(simple, proj.inverse_coords)
        ll = shapely.set_precision(ll, 1e-6)
        ll = _polygonal(ll) or shapely.transform(geom_m, proj.inverse_coords)
        return json.dumps(to_geojson(ll), separators=(",", ":"))

    d_m = {name: to_m(g) for name, g in district_geoms.items()}
    geo.root["boundary"] = boundary(shapely.union_all(list(d_m.values())), max(simplify, ROOT_SIMPLIFY_M))

    # areas: (district name, area display name, geometry in metres)
    if a_spec.geojson:
        area_geoms = load_polygons(resolve_path(a_spec.geojson, data_file, mapping_file), a_spec.name_property,
                                   m.location.polygons_crs)
        area_names = sorted(area_geoms, key=natural_key)
        area_m = [to_m(area_geoms[n]) for n in area_names]
        tree = STRtree(area_m)
        areas_of: dict[str, list[tuple[str, BaseGeometry]]] = {}
        for dname in names:
            dgeom = d_m[dname]
            pieces = []
            for i in sorted(tree.query(dgeom, predicate="intersects")):
                piece = _polygonal(shapely.intersection(dgeom, area_m[i]))
                if piece is not None and piece.area > 0:
                    pieces.append((a_spec.name_format.format(area_names[i]), piece))
            areas_of[dname] = _merge_small(pieces, a_spec.min_area_m2) if pieces else [(display[dname], dgeom)]
    else:
        areas_of = {dname: [(display[dname], d_m[dname])] for dname in names}

    pieces_m: list[BaseGeometry] = []
    piece_codes: list[str] = []
    side = g_spec.cell_m
    divided = bool(a_spec.geojson or side)
    for dname in names:
        dcode = district_code[dname]
        geo.regions.append(_region(dcode, display[dname], "street", root_code, boundary(d_m[dname])))
        areas = sorted(areas_of[dname], key=lambda a: natural_key(a[0]))
        if len(areas) > MAX_SEQ:
            raise MappingError(f"district {display[dname]!r} has {len(areas)} areas: at most {MAX_SEQ}")
        for ai, (aname, ageom) in enumerate(areas, start=1):
            acode = f"{dcode}{ai:03d}"
            geo.regions.append(_region(acode, aname, "community", dcode, boundary(ageom)))
            cells = _cells(ageom, side, g_spec.min_piece_share) if side else [((0, 0), ageom)]
            if len(cells) > MAX_SEQ:
                raise MappingError(f"area {aname!r} holds {len(cells)} cells of {side:g} m: at most {MAX_SEQ}; "
                                   f"raise grids.cell_m")
            for gi, ((row, col), cgeom) in enumerate(cells, start=1):
                gcode = f"{acode}{gi:03d}"
                gname = g_spec.name_format.format(row=row, col=col, n=gi) if side else aname
                geo.grids.append(_grid(gcode, acode, gname, boundary(cgeom)))
                pieces_m.append(cgeom)
                piece_codes.append(gcode)
        if divided:
            acode = dcode + CATCH_ALL
            uname = a_spec.unlocated_name.format(display[dname])
            geo.regions.append(_region(acode, uname, "community", dcode, None))
            geo.grids.append(_grid(acode + CATCH_ALL, acode, uname, None))
            geo.district_grid[dcode] = acode + CATCH_ALL
        else:
            geo.district_grid[dcode] = f"{dcode}001001"
    geo._tree = STRtree(pieces_m)
    geo._tree_codes = np.array(piece_codes, dtype=object)
    return geo


def add_named_places(geo: Geography, m: Mapping, found: set[tuple[str, str, str]],
                     existing_regions: list[dict], existing_grids: list[dict]) -> None:
    """Areas and grids by name (``columns.area``, ``columns.grid``) under districts by name.

    ``found``: the file's (district value, area value, grid value), stripped. An area keeps the code an
    earlier import gave its name in the district (``existing_regions``), else takes the next free number
    (002-998, in natural order of the new names; 001 stays the district's own catch-all, where cases
    that name only the district go, now named ``areas.unlocated_name``). Likewise a grid in its area
    (001-998); an area whose cases sometimes name no grid also gets grid 999 (``unlocated_name``); with
    no grid column, an area is one grid 001. Pure: the caller reads the existing rows."""
    grid_col = m.columns.grid is not None
    unlocated = m.areas.unlocated_name
    areas: dict[str, dict[str, str]] = {}            # district code -> {area key: display name}
    grids: dict[tuple[str, str], dict[str, str]] = {}  # (district code, area key) -> {grid key: name}
    for dvalue, avalue, gvalue in found:
        dcode = geo.district_by_value.get(dvalue.casefold()) if dvalue else None
        if dcode is None or not avalue:
            continue
        akey = avalue.casefold()
        areas.setdefault(dcode, {}).setdefault(akey, avalue)
        grids.setdefault((dcode, akey), {}).setdefault(gvalue.casefold() if grid_col else "", gvalue)
    # every district's own area 001 and grid 001001 take the cases that name no area (in every file)
    for region in geo.regions:
        if region["level"] == "community" and region["code"].endswith("001"):
            region["name"] = unlocated.format(region["name"])
    for grid in geo.grids:
        if grid["code"].endswith("001001"):
            grid["name"] = unlocated.format(grid["name"])
    if not areas:
        return
    known_areas: dict[str, dict[str, str]] = {}
    for r in existing_regions:
        if r.get("level") == "community" and r.get("parent_code") in areas and r.get("name") \
                and not r["code"].endswith(("001", CATCH_ALL)):
            known_areas.setdefault(r["parent_code"], {}).setdefault(r["name"].casefold(), r["code"])
    known_grids: dict[str, dict[str, str]] = {}
    for g in existing_grids:
        if g.get("name"):
            known_grids.setdefault(g.get("community_code") or "", {}).setdefault(g["name"].casefold(), g["code"])

    def numbered(keys: dict[str, str], known: dict[str, str], prefix: str, first: int, what: str) -> dict[str, str]:
        taken = {int(code[-3:]) for code in known.values() if code.startswith(prefix)} | {first - 1, 999}
        out = {k: known[k] for k in keys if k in known and known[k].startswith(prefix)}
        free = (n for n in range(first, 999) if n not in taken)
        for key in sorted((k for k in keys if k not in out), key=lambda k: natural_key(keys[k])):
            n = next(free, None)
            if n is None:
                raise MappingError(f"{what}: more than {998 - first + 1} names do not fit 3 digits")
            out[key] = f"{prefix}{n:03d}"
        return out

    for dcode, akeys in sorted(areas.items()):
        codes = numbered(akeys, known_areas.get(dcode, {}), dcode, 2, f"district {dcode}")
        for akey, acode in sorted(codes.items(), key=lambda kv: kv[1]):
            geo.regions.append(_region(acode, akeys[akey], "community", dcode, None))
            gkeys = grids[(dcode, akey)]
            named = {k: v for k, v in gkeys.items() if k}
            if not grid_col:
                gcodes = {"": acode + "001"}
                geo.grids.append(_grid(acode + "001", acode, akeys[akey], None))
            else:
                gcodes = numbered(named, known_grids.get(acode, {}), acode, 1, f"area {akeys[akey]!r}")
                for gkey, gcode in sorted(gcodes.items(), key=lambda kv: kv[1]):
                    geo.grids.append(_grid(gcode, acode, named[gkey], None))
                if "" in gkeys:
                    gcodes[""] = acode + CATCH_ALL
                    geo.grids.append(_grid(acode + CATCH_ALL, acode, unlocated.format(akeys[akey]), None))
            for gkey, gcode in gcodes.items():
                geo.named_grid[(dcode, akey, gkey)] = gcode


def _region(code: str, name: str, level: str, parent: str, boundary: str | None) -> dict:
    return {"code": code, "name": name, "level": level, "parent_code": parent, "boundary": boundary}


def _grid(code: str, community: str, name: str, boundary: str | None) -> dict:
    return {"code": code, "community_code": community, "name": name, "kind": "basic", "boundary": boundary,
            "households": None, "population": None}


def _near(a: tuple, b: tuple, pad: float = 0.05) -> bool:
    return a[0] - pad <= b[2] and b[0] - pad <= a[2] and a[1] - pad <= b[3] and b[1] - pad <= a[3]


def _shared_border(a: BaseGeometry, b: BaseGeometry) -> float:
    """Length of ``a``'s boundary within 1 cm of ``b``."""
    if not _near(a.bounds, b.bounds):
        return 0.0
    grown = b.buffer(0.01)
    if not a.intersects(grown):
        return 0.0
    return a.boundary.intersection(grown).length


def _merge_small(pieces: list, min_area: float) -> list:
    """Pieces (key, geometry) under ``min_area`` join the piece they share the longest border with; an
    isolated small piece joins the largest piece. The largest piece always stays."""
    pieces = [list(p) for p in pieces]
    if len(pieces) < 2 or min_area <= 0:
        return [tuple(p) for p in pieces]
    while True:
        small = [p for p in pieces if p[1].area < min_area]
        if not small or len(pieces) == 1:
            break
        victim = min(small, key=lambda p: p[1].area)
        others = [p for p in pieces if p is not victim]
        best = max(others, key=lambda p: (_shared_border(victim[1], p[1]), p[1].area))
        best[1] = _polygonal(shapely.union(best[1], victim[1])) or best[1]
        pieces.remove(victim)
    return [tuple(p) for p in pieces]


def _cells(area: BaseGeometry, side: float, min_share: float) -> list[tuple[tuple[int, int], BaseGeometry]]:
    """The square cells of ``side`` metres (row, column from the origin) clipped to ``area``, small
    clipped pieces joined to a neighbour; sorted by (row, column)."""
    minx, miny, maxx, maxy = area.bounds
    c0, c1 = math.floor(minx / side), math.floor(maxx / side)
    r0, r1 = math.floor(miny / side), math.floor(maxy / side)
    rows, cols = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
    rows, cols = rows.ravel(), cols.ravel()
    boxes = shapely.box(cols * side, rows * side, (cols + 1) * side, (rows + 1) * side)
    keep = shapely.intersects(area, boxes)
    clipped = shapely.intersection(boxes[keep], area)
    pieces = []
    for (r, c), geom in zip(zip(rows[keep], cols[keep]), clipped):
        geom = _polygonal(geom)
        if geom is not None and geom.area > 0:
            pieces.append(((int(r), int(c)), geom))
    merged = _merge_small(pieces, min_share * side * side)
    return sorted(merged, key=lambda p: p[0])
