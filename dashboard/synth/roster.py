"""Duty roster (staff_shifts) and patrol-app heartbeats (staff_pings).

Grid workers and leaders work 08:30-17:30 on weekdays (a few on leave) with a skeleton weekend
duty; the county center's dispatchers run day and night shifts. While on duty a grid worker's
phone pings about once a minute from a point wandering around a base inside the grid (an
Ornstein-Uhlenbeck walk, reset to the base if it strays outside); some phones drop out for a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely

from .local_calendar import HOUR, LocalCalendar
from .geography import GridTable, LocalProjection

MINUTE = 60
OU_TAU_MIN = 30.0          # how fast a walker returns towards its base
P_LEAVE = 0.05             # weekday absence
P_WEEKEND_DUTY = 0.15
P_SILENT_SHIFT = 0.02      # phone never online that shift
P_DROPOUT = 0.10           # one gap of 20-90 minutes in a shift


@dataclass
class Shifts:
    staff_id: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.staff_id)

    @staticmethod
    def concat(parts: list["Shifts"]) -> "Shifts":
        if not parts:
            return Shifts(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return Shifts(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("staff_id", "starts", "ends")))


def day_roster(staff: list[dict], day: date, cal: LocalCalendar, rng: np.random.Generator, county_center: int | None
               ) -> Shifts:
    """The shifts that start on local date ``day``."""
    weekend = day.weekday() >= 5
    ids, starts, ends = [], [], []
    office = [s for s in staff if s.get("active") and s.get("role") in ("grid_worker", "grid_leader")]
    if office:
        n = len(office)
        present = rng.random(n) < (P_WEEKEND_DUTY if weekend else 1 - P_LEAVE)
        start_min = (9 * 60 if weekend else 8 * 60 + 30) + rng.integers(-15, 16, n)
        end_min = (17 * 60 if weekend else 17 * 60 + 30) + rng.integers(-15, 16, n)
        for s, p, a, e in zip(office, present, start_min, end_min):
            if p:
                ids.append(s["id"])
                starts.append(cal.at(day, int(a) * MINUTE))
                ends.append(cal.at(day, int(e) * MINUTE))
    desk = [s for s in staff if s.get("active") and s.get("role") == "dispatcher"]
    center = [s["id"] for s in desk if s.get("org_id") == county_center]
    if center:
        k = day.toordinal() % len(center)
        rotated = center[k:] + center[:k]
        for i, sid in enumerate(rotated[:7]):  # four on the day shift, three through the night
            begin = 8 if i < 4 else 20
            ids.append(sid)
            starts.append(cal.at(day, begin * HOUR))
            ends.append(cal.at(day, (begin + 12) * HOUR))
    others = [s["id"] for s in desk if s.get("org_id") != county_center]
    if others:
        on = rng.random(len(others)) < (0.35 if weekend else 0.8)
        for sid, o in zip(others, on):
            if o:
                ids.append(sid)
                starts.append(cal.at(day, 8 * HOUR + 30 * MINUTE))
                ends.append(cal.at(day, 17 * HOUR + 30 * MINUTE))
    return Shifts(np.asarray(ids, np.int64), np.asarray(starts, np.int64), np.asarray(ends, np.int64))


class Walkers:
    """Where each grid worker's patrol wanders: base point, grid polygon, step scale (degrees)."""

    def __init__(self, staff: list[dict], grids: GridTable, proj: LocalProjection, rng: np.random.Generator):
        index = {code: i for i, code in enumerate(grids.codes)}
        workers = [s for s in staff if s.get("role") == "grid_worker" and s.get("grid_code") in index]
        self.staff_ids = np.array([s["id"] for s in workers], dtype=np.int64)
        self.row = {int(sid): i for i, sid in enumerate(self.staff_ids)}
        gidx = np.array([index[s["grid_code"]] for s in workers], dtype=np.int64)
        self.polygons = grids.polygons[gidx] if len(gidx) else np.array([], dtype=object)
        shapely.prepare(self.polygons)
        self.base_lon, self.base_lat = grids.sample_points(gidx, rng) if len(gidx) else (np.zeros(0), np.zeros(0))
        kx, ky = proj.km_per_degree()
        area_km2 = shapely.area(self.polygons) * kx * ky if len(gidx) else np.zeros(0)
        sd_km = 0.3 * np.sqrt(np.maximum(area_km2, 0.05))
        self.sd_lon, self.sd_lat = sd_km / kx, sd_km / ky
        self.phase = (self.staff_ids * 37) % 60  # each phone pings at its own second of the minute

    def rows_of(self, staff_ids: np.ndarray) -> np.ndarray:
        return np.array([self.row.get(int(s), -1) for s in staff_ids], dtype=np.int64)

    def walk(self, rows: np.ndarray, n_steps: int, step_min: float, rng: np.random.Generator,
             start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions (len(rows), n_steps) of an OU walk with ``step_min`` minutes per step."""
        keep = np.exp(-step_min / OU_TAU_MIN)
        noise = np.sqrt(1 - keep ** 2)
        bx, by = self.base_lon[rows], self.base_lat[rows]
        sx, sy = self.sd_lon[rows], self.sd_lat[rows]
        x = np.empty((len(rows), n_steps))
        y = np.empty((len(rows), n_steps))
        if start is None:
            dx, dy = rng.normal(0, 1, len(rows)) * sx, rng.normal(0, 1, len(rows)) * sy
        else:
            dx, dy = start[0] - bx, start[1] - by
        zx = rng.normal(0, 1, (len(rows), n_steps))
        zy = rng.normal(0, 1, (len(rows), n_steps))
        for k in range(n_steps):
            dx = dx * keep + noise * sx * zx[:, k]
            dy = dy * keep + noise * sy * zy[:, k]
            x[:, k], y[:, k] = bx + dx, by + dy
        inside = shapely.contains_xy(self.polygons[rows][:, None], x, y) if len(rows) else np.zeros((0, n_steps), bool)
        x = np.where(inside, x, bx[:, None])
        y = np.where(inside, y, by[:, None])
        return np.round(x, 6), np.round(y, 6)


@dataclass
class Pings:
    staff_id: np.ndarray
    ts: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return len(self.staff_id)

    @staticmethod
    def concat(parts: list["Pings"]) -> "Pings":
        if not parts:
            return Pings(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        return Pings(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("staff_id", "ts", "lon", "lat")))


def shift_pings(walkers: Walkers, shifts: Shifts, every_min: int, until: int, rng: np.random.Generator) -> Pings:
    """Pings of grid workers' shifts, one every ``every_min`` minutes, none after ``until``."""
    rows = walkers.rows_of(shifts.staff_id)
    ok = rows >= 0
    rows, sid, starts, ends = rows[ok], shifts.staff_id[ok], shifts.starts[ok], shifts.ends[ok]
    if len(rows) == 0:
        return Pings.concat([])
    step = every_min * MINUTE
    first = starts - starts % MINUTE + walkers.phase[rows]
    first = np.where(first < starts, first + MINUTE, first)
    # sparse pings start at a random minute of the interval
    if every_min > 1:
        first = first + rng.integers(0, every_min, len(rows)) * MINUTE
    stop = np.minimum(ends, until + 1)
    counts = np.maximum(0, (stop - first + step - 1) // step)
    n_max = int(counts.max()) if len(counts) else 0
    if n_max == 0:
        return Pings.concat([])
    lon, lat = walkers.walk(rows, n_max, float(every_min), rng)
    k = np.arange(n_max)[None, :]
    ts = first[:, None] + k * step
    valid = k < counts[:, None]
    # phones that stay silent, and dropouts of 20-90 minutes
    silent = rng.random(len(rows)) < P_SILENT_SHIFT
    valid &= ~silent[:, None]
    gap = rng.random(len(rows)) < P_DROPOUT
    gap_start = starts + rng.random(len(rows)) * (ends - starts)
    gap_end = gap_start + rng.integers(20, 91, len(rows)) * MINUTE
    valid &= ~(gap[:, None] & (ts >= gap_start[:, None]) & (ts < gap_end[:, None]))
    return Pings(np.broadcast_to(sid[:, None], ts.shape)[valid], ts[valid], lon[valid], lat[valid])
