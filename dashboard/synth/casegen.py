"""New cases: where (grid, point, address), what (category, title, description), from whom.

Source and report time come from the rhythm; the grid is drawn by weight (population and how
"hot" a grid is; patrol reports only in staffed grids, weighted by the worker's diligence); the
category depends on the source and on the grid's kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import texts
from .catalog import CATEGORY_WEIGHTS, DEFAULT_WEIGHT, Category
from .geography import GridTable
from .profiles import street_profile
from .rhythm import SOURCES

# How a source leans across major categories (default 1).
SOURCE_MAJOR: dict[str, dict[str, float]] = {
    "patrol": {"01": 1.2, "02": 1.3, "03": 1.2, "05": 0.9, "06": 0.8, "08": 0.4, "09": 0.6, "10": 0.6, "11": 0.5},
    "hotline": {"01": 0.8, "02": 0.3, "03": 0.7, "04": 1.5, "06": 1.8, "08": 3.0, "10": 3.0},
    "resident": {"01": 1.2, "02": 0.6, "04": 1.5, "05": 1.5, "06": 1.5, "09": 0.8, "11": 0.8},
    "video": {"02": 0.3, "03": 3.0, "04": 0.5, "05": 0.3, "06": 0.5, "08": 0.0, "10": 0.0, "09": 0.5},
    "sensor": {"01": 0.05, "02": 0.0, "03": 0.05, "04": 0.1, "05": 8.0, "06": 4.0, "07": 2.0, "08": 0.0,
               "09": 0.0, "10": 0.1, "11": 4.0},
    "department": {"01": 0.5, "02": 0.5, "03": 0.5, "04": 2.0, "05": 2.0, "06": 2.0, "07": 2.0, "08": 0.5,
                   "09": 1.5, "10": 1.5, "11": 0.5},
    "superior": {"01": 0.5, "02": 0.3, "03": 0.5, "04": 2.0, "06": 2.0, "08": 3.0, "09": 2.0, "10": 2.0},
}
# Special grids (industrial parks, ports, markets, schools) lean to safety, order and environment.
SPECIAL_MAJOR = {"03": 2.0, "06": 1.5, "07": 3.0, "09": 1.5}

URGENCY_BY_TIER = {"U": (0.0, 0.3, 0.7), "A": (0.75, 0.25, 0.0)}  # normal, urgent, critical
URGENCY_DEFAULT = (0.95, 0.05, 0.0)


@dataclass
class NewCases:
    """Columns of freshly reported cases (no lifecycle yet)."""

    reported: np.ndarray
    source: list[str]
    grid_code: list[str]
    category: list[str]
    urgency: list[str]
    lon: np.ndarray
    lat: np.ndarray
    address: list[str]
    title: list[str]
    description: list[str]
    reporter: list[int | None]

    def __len__(self) -> int:
        return len(self.reported)


class CaseFactory:
    def __init__(self, county_code: str, county_name: str, grids: GridTable, categories: list[Category],
                 workers: dict[str, int], weight: np.ndarray, patrol_weight: np.ndarray):
        self.county_code, self.county_name = county_code, county_name
        self.grids = grids
        self.categories = [c for c in categories if c.is_minor]
        self.workers = workers
        self.weight = np.asarray(weight, dtype=float)
        staffed = np.array([code in workers for code in grids.codes])
        self.patrol_weight = np.where(staffed, np.asarray(patrol_weight, dtype=float), 0.0)
        if self.patrol_weight.sum() <= 0:
            self.patrol_weight = self.weight.copy()
        self.roads = {}
        for code in set(grids.street_codes.tolist()):
            profile = street_profile(code)
            self.roads[code] = profile.roads if profile else ()
        codes = [c.code for c in self.categories]
        base = np.array([CATEGORY_WEIGHTS.get(c, DEFAULT_WEIGHT) for c in codes])
        majors = [c[:2] for c in codes]
        self.cat_p = {}
        for source in SOURCES:
            lean = SOURCE_MAJOR.get(source, {})
            for kind in ("basic", "special"):
                w = base * np.array([lean.get(m, 1.0) * (SPECIAL_MAJOR.get(m, 1.0) if kind == "special" else 1.0)
                                     for m in majors])
                self.cat_p[source, kind] = w / w.sum()
        self.tier = {c.code: c.limits()[0] for c in self.categories}

    def places(self, source_idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(grid index, category index into ``self.categories``) of each new case, by its source."""
        n = len(source_idx)
        patrol = np.asarray(source_idx) == SOURCES.index("patrol")
        grid_idx = np.empty(n, dtype=np.int64)
        for mask, w in ((patrol, self.patrol_weight), (~patrol, self.weight)):
            k = int(mask.sum())
            if k:
                grid_idx[mask] = rng.choice(len(w), size=k, p=w / w.sum())
        kinds = self.grids.kinds[grid_idx]
        cat_idx = np.empty(n, dtype=np.int64)
        src_arr = np.asarray([SOURCES[i] for i in source_idx])
        for (source, kind), p in self.cat_p.items():
            mask = (src_arr == source) & (kinds == kind)
            k = int(mask.sum())
            if k:
                cat_idx[mask] = rng.choice(len(p), size=k, p=p)
        return grid_idx, cat_idx

    def make(self, reported: np.ndarray, source_idx: np.ndarray, rng: np.random.Generator,
             grid_idx: np.ndarray | None = None, cat_idx: np.ndarray | None = None) -> NewCases:
        """The cases reported at ``reported`` by ``source_idx``; their places drawn here unless given."""
        n = len(reported)
        sources = [SOURCES[i] for i in source_idx]
        if grid_idx is None or cat_idx is None:
            grid_idx, cat_idx = self.places(source_idx, rng)
        lon, lat = self.grids.sample_points(grid_idx, rng)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        u = rng.random((n, 14)).tolist()
        codes = self.grids.codes
        out = NewCases(reported=np.asarray(reported, dtype=np.int64), source=sources, grid_code=[], category=[],
                       urgency=[], lon=lon, lat=lat, address=[], title=[], description=[], reporter=[])
        for i in range(n):
            gi, ui = int(grid_idx[i]), u[i]
            grid = str(codes[gi])
            cat = self.categories[int(cat_idx[i])].code
            community = str(self.grids.community_names[gi])
            street = str(self.grids.street_names[gi])
            if self.grids.kinds[gi] == "special":
                short, tail = str(self.grids.names[gi]).removesuffix("专属网格"), ""
                tail = f"{short}{1 + int(ui[0] * 20)}号"
            else:
                short, tail = texts.place(community, self.roads.get(grid[:9], ()), ui[0:4])
            p = URGENCY_BY_TIER.get(self.tier.get(cat, "C"), URGENCY_DEFAULT)
            urgency = "normal" if ui[4] < p[0] else ("urgent" if ui[4] < p[0] + p[1] else "critical")
            out.grid_code.append(grid)
            out.category.append(cat)
            out.urgency.append(urgency)
            out.address.append(f"{self.county_name}{street}{tail}")
            out.title.append(f"{short}{texts.phrase(cat, ui[5])}")
            out.description.append(texts.description(sources[i], cat, short, self.county_code, ui[5:13]))
            out.reporter.append(self.workers.get(grid) if sources[i] == "patrol" else None)
        return out


def seed_grid_weights(grids: GridTable, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(weight, patrol weight) per grid: population x hotness; a few hot grids, a few quiet patrols."""
    n = len(grids)
    hot = rng.lognormal(0.0, 0.45, n) * np.where(rng.random(n) < 0.06, rng.uniform(2.5, 4.0, n), 1.0)
    weight = grids.population / grids.population.mean() * hot
    diligence = rng.lognormal(0.0, 0.3, n) * np.where(rng.random(n) < 0.05, 0.25, 1.0)
    return weight, weight * diligence
