"""The county's map: streets, communities and grids that tile the county outline.

Grid cells are a Voronoi tessellation (shapely.voronoi_polygons) of seeded points clipped to
the outline, so they never overlap and cover it exactly. Points are denser around town seats
(smaller urban grids). Each street takes the points drawn in its zone (the Voronoi zone of its
seat); communities are k-means clusters of a street's points. A final pass moves grids so that
every street and community is one connected piece.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

from .names import grid_ordinal_name
from .profiles import CountyProfile, StreetProfile

KM_PER_DEG_LAT = 110.57
MIN_POINT_SPACING_KM = 0.25
GEO_PRECISION = 1e-6  # degrees, ~0.1 m: GeoJSON stays short and shared edges stay shared


class LocalProjection:
    """Equirectangular kilometres around the county centre (good to <0.1 % over 50 km)."""

    def __init__(self, centre: tuple[float, float]):
        self.lon0, self.lat0 = centre
        self.kx = KM_PER_DEG_LAT * 1.0067 * math.cos(math.radians(self.lat0))
        self.ky = KM_PER_DEG_LAT

    def to_km(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def to_lonlat(self, x, y):
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def geom_to_lonlat(self, geoms):
        return shapely.transform(geoms, lambda xy: np.column_stack(self.to_lonlat(xy[:, 0], xy[:, 1])))

    def km_per_degree(self) -> tuple[float, float]:
        return self.kx, self.ky


@dataclass
class GridTable:
    """The grids of a county in arrays; what the case and ping generators need to know of them."""

    codes: np.ndarray          # str, 15 digits
    polygons: np.ndarray       # shapely geometries, lon/lat
    kinds: np.ndarray          # 'basic' / 'special'
    names: np.ndarray
    households: np.ndarray
    population: np.ndarray
    community_names: np.ndarray
    street_names: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def street_codes(self) -> np.ndarray:
        return np.array([c[:9] for c in self.codes])

    def sample_points(self, grid_idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A uniform random point inside grid ``grid_idx[i]`` for every i (lon, lat)."""
        grid_idx = np.asarray(grid_idx, dtype=np.int64)
        n = len(grid_idx)
        lon, lat = np.full(n, np.nan), np.full(n, np.nan)
        bounds = shapely.bounds(self.polygons)
        shapely.prepare(self.polygons)
        todo = np.arange(n)
        for _ in range(30):
            if len(todo) == 0:
                break
            g = grid_idx[todo]
            b = bounds[g]
            x = b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0])
            y = b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1])
            inside = shapely.contains_xy(self.polygons[g], x, y)
            lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
            todo = todo[~inside]
        if len(todo):  # degenerate sliver: its representative point
            reps = shapely.point_on_surface(self.polygons[grid_idx[todo]])
            lon[todo], lat[todo] = shapely.get_x(reps), shapely.get_y(reps)
        return lon, lat


@dataclass
class Geography:
    profile: CountyProfile
    regions: list[dict]        # rows of table regions
    grid_rows: list[dict]      # rows of table grids
    table: GridTable


# --- points -----------------------------------------------------------------------------------

def _street_zones(profile: CountyProfile, proj: LocalProjection, outline_km):
    seats = np.array([proj.to_km(*s.seat) for s in profile.streets])
    cells = shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=outline_km, ordered=True)
    return [shapely.intersection(c, outline_km) for c in shapely.get_parts(cells)], seats


def _is_urban(street: StreetProfile) -> bool:
    return street.name.endswith("街道") or street.code.endswith("100")


def _draw_points(profile, proj, outline_km, rng) -> tuple[np.ndarray, np.ndarray]:
    """Grid generator points (km) and the street index of each."""
    zones, seats = _street_zones(profile, proj, outline_km)
    points: list[tuple[float, float]] = []
    owner: list[int] = []
    for si, street in enumerate(profile.streets):
        zone = zones[si]
        shapely.prepare(zone)
        minx, miny, maxx, maxy = zone.bounds
        near_share, sigma = (0.7, 2.0) if _is_urban(street) else (0.35, 1.3)
        placed = 0
        for _ in range(200):
            if placed >= street.grids:
                break
            m = 256
            near = rng.random(m) < near_share
            cx = np.where(near, seats[si, 0] + rng.normal(0, sigma, m), minx + rng.random(m) * (maxx - minx))
            cy = np.where(near, seats[si, 1] + rng.normal(0, sigma, m), miny + rng.random(m) * (maxy - miny))
            ok = shapely.contains_xy(zone, cx, cy)
            for x, y in zip(cx[ok], cy[ok]):
                if points:
                    arr = np.asarray(points)
                    if np.min((arr[:, 0] - x) ** 2 + (arr[:, 1] - y) ** 2) < MIN_POINT_SPACING_KM ** 2:
                        continue
                points.append((x, y))
                owner.append(si)
                placed += 1
                if placed >= street.grids:
                    break
    return np.asarray(points), np.asarray(owner)


# --- grouping ---------------------------------------------------------------------------------

def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator, iters: int = 25) -> np.ndarray:
    """Labels of a k-means++ / Lloyd clustering (k <= len(xy))."""
    k = max(1, min(k, len(xy)))
    centres = [xy[rng.integers(len(xy))]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.asarray(centres)[None, :, :]) ** 2).sum(-1), axis=1)
        centres.append(xy[rng.choice(len(xy), p=d2 / d2.sum())] if d2.sum() > 0 else xy[rng.integers(len(xy))])
    centres = np.asarray(centres)
    labels = np.zeros(len(xy), dtype=np.int64)
    for _ in range(iters):
        labels = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            members = xy[labels == j]
            if len(members):
                centres[j] = members.mean(axis=0)
            else:  # an emptied cluster takes the point farthest from its centre
                far = np.argmax(((xy - centres[labels]) ** 2).sum(-1))
                centres[j] = xy[far]
                labels[far] = j
    return labels


def _adjacency(cells: np.ndarray) -> list[set[int]]:
    """Cells that share an edge (not just a corner)."""
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(cells[left]), shapely.boundary(cells[right])))
    neighbours: list[set[int]] = [set() for _ in range(len(cells))]
    for a, b, length in zip(left, right, shared):
        if length > 1e-6:
            neighbours[a].add(int(b))
            neighbours[b].add(int(a))
    return neighbours


def _components(members: list[int], neighbours: list[set[int]]) -> list[list[int]]:
    todo, comps = set(members), []
    while todo:
        stack = [todo.pop()]
        comp = []
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in neighbours[i]:
                if j in todo:
                    todo.remove(j)
                    stack.append(j)
        comps.append(comp)
    return sorted(comps, key=len, reverse=True)


def _make_contiguous(labels: np.ndarray, neighbours: list[set[int]], within: np.ndarray | None = None) -> np.ndarray:
    """Move detached pieces of a label to the neighbouring label they touch most.

    ``within``: an outer label per cell that a move must keep (communities stay in their street).
    """
    labels = labels.copy()
    for _ in range(20):
        moved = False
        groups = defaultdict(list)
        for i, lab in enumerate(labels):
            groups[lab].append(i)
        for lab, members in groups.items():
            for piece in _components(members, neighbours)[1:]:
                votes = Counter(labels[j] for i in piece for j in neighbours[i]
                                if labels[j] != lab and (within is None or within[j] == within[i]))
                if votes:
                    new = votes.most_common(1)[0][0]
                    labels[piece] = new
                    moved = True
        if not moved:
            break
    return labels


# --- assembly ---------------------------------------------------------------------------------

def build_geography(profile: CountyProfile, rng: np.random.Generator) -> Geography:
    proj = LocalProjection(profile.centre)
    outline_km = shapely.Polygon(np.column_stack(proj.to_km(*np.asarray(profile.outline).T)))
    points, street_of = _draw_points(profile, proj, outline_km, rng)

    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline_km, ordered=True))
    cells = shapely.intersection(cells, outline_km)
    neighbours = _adjacency(cells)
    street_of = _make_contiguous(street_of, neighbours)

    community_of = np.zeros(len(points), dtype=np.int64)  # global community index
    communities: list[dict] = []
    for si, street in enumerate(profile.streets):
        members = np.flatnonzero(street_of == si)
        names = street.communities + street.villages
        local = _kmeans(points[members], len(names), rng)
        community_of[members] = local + len(communities)
        for j in range(len(names)):
            communities.append({"street": si})
    community_of = _make_contiguous(community_of, neighbours, within=street_of)

    cells_ll = shapely.set_precision(proj.geom_to_lonlat(cells), GEO_PRECISION)
    return _name_and_code(profile, proj, points, street_of, community_of, cells_ll, rng)


def _name_and_code(profile, proj, points, street_of, community_of, cells_ll, rng) -> Geography:
    regions = [
        {"code": profile.city_code, "name": profile.city_name, "level": "city", "parent_code": None, "boundary": None},
    ]
    county_boundary = shapely.to_geojson(shapely.union_all(cells_ll))
    regions.append({"code": profile.code, "name": profile.name, "level": "county",
                    "parent_code": profile.city_code, "boundary": county_boundary})
    grid_rows: list[dict] = []
    for si, street in enumerate(profile.streets):
        in_street = np.flatnonzero(street_of == si)
        if len(in_street) == 0:
            continue
        regions.append({"code": street.code, "name": street.name, "level": "street", "parent_code": profile.code,
                        "boundary": shapely.to_geojson(shapely.union_all(cells_ll[in_street]))})
        seat = np.asarray(proj.to_km(*street.seat))
        groups = [g for g in np.unique(community_of[in_street])]
        dist = {g: float(np.hypot(*(points[community_of == g].mean(axis=0) - seat))) for g in groups}
        groups.sort(key=lambda g: dist[g])
        n_comm = len(street.communities) if street.villages else len(groups)
        specials = _pick_specials(street, in_street, rng)
        for rank, g in enumerate(groups):
            if rank < n_comm:
                base = street.communities[rank] if rank < len(street.communities) else f"{street.name[:2]}{rank + 1}"
                name, code = f"{base}社区", f"{street.code}{rank + 1:03d}"
            else:
                vi = rank - n_comm
                base = street.villages[vi] if vi < len(street.villages) else f"{street.name[:2]}{vi + 1}"
                name, code = f"{base}村", f"{street.code}{200 + vi:03d}"
            members = np.flatnonzero(community_of == g)
            regions.append({"code": code, "name": name, "level": "community", "parent_code": street.code,
                            "boundary": shapely.to_geojson(shapely.union_all(cells_ll[members]))})
            # number grids north to south, west to east
            order = members[np.lexsort((points[members, 0], -np.round(points[members, 1] / 0.8)))]
            village = code[-3] == "2"
            for seq, gi in enumerate(order, start=1):
                special = specials.get(int(gi))
                low, high = (150, 420) if village else (300, 600)
                households = int(rng.integers(150, 301) if special else rng.integers(low, high + 1))
                grid_rows.append({
                    "code": f"{code}{seq:03d}", "community_code": code,
                    "name": f"{special}专属网格" if special else grid_ordinal_name(seq),
                    "kind": "special" if special else "basic",
                    "boundary": shapely.to_geojson(cells_ll[gi]),
                    "households": households,
                    "population": int(round(households * rng.uniform(2.5, 3.3))),
                    "_geom": cells_ll[gi], "_community": name, "_street": street.name,
                })
    grid_rows.sort(key=lambda r: r["code"])
    table = GridTable(
        codes=np.array([r["code"] for r in grid_rows]),
        polygons=np.array([r.pop("_geom") for r in grid_rows], dtype=object),
        kinds=np.array([r["kind"] for r in grid_rows]),
        names=np.array([r["name"] for r in grid_rows]),
        households=np.array([r["households"] for r in grid_rows]),
        population=np.array([r["population"] for r in grid_rows]),
        community_names=np.array([r.pop("_community") for r in grid_rows]),
        street_names=np.array([r.pop("_street") for r in grid_rows]),
    )
    regions.sort(key=lambda r: (len(r["code"]), r["code"]))
    return Geography(profile=profile, regions=regions, grid_rows=grid_rows, table=table)


def _pick_specials(street: StreetProfile, members: np.ndarray, rng) -> dict[int, str]:
    if not street.specials or len(members) < 2 * len(street.specials):
        return {}
    chosen = rng.choice(members, size=len(street.specials), replace=False)
    return {int(gi): name for gi, name in zip(chosen, street.specials)}


def grid_table_from_rows(rows: list[dict], region_names: dict[str, str]) -> GridTable:
    """A GridTable from grids rows read back from the database (rows with unreadable boundaries are left out)."""
    kept, geoms = [], []
    for row in rows:
        try:
            geom = shapely.from_geojson(row["boundary"]) if row.get("boundary") else None
        except Exception:  # noqa: BLE001 - bad GeoJSON in a platform table: skip that grid
            geom = None
        if geom is None or geom.is_empty or geom.area <= 0 or not row.get("code"):
            continue
        kept.append(row)
        geoms.append(geom)
    return GridTable(
        codes=np.array([r["code"] for r in kept], dtype=object).astype(str),
        polygons=np.array(geoms, dtype=object),
        kinds=np.array([r.get("kind") or "basic" for r in kept]),
        names=np.array([r.get("name") or r["code"] for r in kept]),
        households=np.array([r.get("households") or 300 for r in kept]),
        population=np.array([r.get("population") or 900 for r in kept]),
        community_names=np.array([region_names.get(r["code"][:12], "") for r in kept]),
        street_names=np.array([region_names.get(r["code"][:9], "") for r in kept]),
    )
