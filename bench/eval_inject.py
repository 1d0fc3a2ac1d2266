"""Injected truth: outbreaks, space-time clusters and concealment written into a copy of a history.

* **Outbreak**: extra cases of one category (a major or a minor one) in one place (a street or a
  community) on 1-5 consecutive days. Size: ``k`` standard deviations of that series' daily count
  (``k`` in 2..10) more cases on each of those days, the standard deviation taken over the 56 days
  before the start and floored at 1 case (a series that is nearly always 0 has an sd of 0.2; two of
  those "standard deviations" would be no case at all).
* **Cluster**: extra cases of whatever the place usually reports in a centre grid and its 2-5 nearest
  grids (within 2 km) on 1-3 days; size ``k`` sd of those grids' summed daily count, per day.
* **Concealment**: from a given date on, one community's patrol-channel cases (巡查上报) are deleted
  until only ``keep`` (90 %, 74 %, 50 %) of them remain; the other channels are untouched.

Extra cases are copies of real cases of the same series from the 56 days before (so their grids,
channels, hours of the day and texts look like the place's own), moved to the event's day. They are
written with ``data_access.writes.bulk_insert``; deletions are plain SQLAlchemy deletes (the bench is
not the product). No flow log (``case_actions``) is written for the copies: no detector reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sqlalchemy import delete, func, select

from eval_history import COUNTY, END, TZ, Timeline

UTC = timezone.utc
BASELINE_DAYS = 56
SD_FLOOR = 1.0
KEEP_LEVELS = (0.90, 0.74, 0.50)
LEVELS = (("street", "major"), ("street", "category_code"), ("community", "major"), ("community", "category_code"))
MIN_PATROL_PER_WEEK = 7.0     # communities eligible to conceal: about one patrol report a day or more
CLUSTER_RADIUS_KM = 2.0
TIMESTAMP_COLUMNS = ("reported_at", "accept_due_at", "dispatch_due_at", "resolve_due_at", "accepted_at",
                     "dispatched_at", "closed_at", "updated_at")
LIFECYCLE = ("accepted_at", "dispatched_at", "closed_at")


@dataclass
class Truth:
    id: str
    kind: str                      # outbreak | cluster | concealment
    street: str
    region: str                    # street or community code (cluster: its centre grid)
    start_day: int                 # day number of the first day
    days: int                      # outbreak/cluster length; concealment: 0 (lasts to the end)
    start: str                     # ISO: first injected case (outbreak, cluster) or the thinning date
    end: str                       # ISO: local midnight after the last day (concealment: end of data)
    category: str | None = None    # outbreak: the major or minor code
    level: str = ""                # outbreak: street/community x major/minor
    k: int = 0
    sd: float = 0.0
    per_day: int = 0
    n_cases: int = 0
    grids: list[str] = field(default_factory=list)
    keep: float = 1.0              # concealment
    patrol_per_week: float = 0.0   # concealment: before the thinning
    deleted: int = 0
    case_ids: list[int] = field(default_factory=list)
    # how the extra cases are drawn (not part of the truth): cases to copy, or (cases of the category
    # anywhere, grids of the region) when the series has too few of its own
    templates: pd.DataFrame | None = field(default=None, repr=False)
    fallback: tuple | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("templates", "fallback")}


def _daily_series(frame: pd.DataFrame, first: int, last: int) -> np.ndarray:
    return np.bincount(frame["dn"].values - first, minlength=last - first + 1)[: last - first + 1]


def _sd(frame: pd.DataFrame, start: int) -> float:
    days = _daily_series(frame[(frame["dn"] >= start - BASELINE_DAYS) & (frame["dn"] < start)], start - BASELINE_DAYS,
                         start - 1)
    return max(float(np.std(days, ddof=1)), SD_FLOOR)


class Planner:
    """Draws the truths of one history (one random generator); ``apply`` writes them."""

    def __init__(self, facts: pd.DataFrame, grids: pd.DataFrame, tl: Timeline, rng: np.random.Generator,
                 conceal_per_level: int):
        self.facts, self.grids, self.tl, self.rng = facts, grids, tl, rng
        self.conceal_per_level = conceal_per_level
        self.truths: list[Truth] = []
        self.excluded: set[str] = set()   # concealing communities: no other truth touches them

    # --- concealment ------------------------------------------------------------------------------
    def plan_concealment(self) -> None:
        start = self.tl.window_start
        f = self.facts
        pre = f[(f["source"] == "patrol") & (f["dn"] >= start - BASELINE_DAYS) & (f["dn"] < start)]
        per_week = pre.groupby("community").size() / (BASELINE_DAYS / 7)
        eligible = sorted(per_week[per_week >= MIN_PATROL_PER_WEEK].index)
        n = min(len(eligible), self.conceal_per_level * len(KEEP_LEVELS))
        chosen = self.rng.choice(eligible, size=n, replace=False)
        for i, community in enumerate(chosen):
            keep = KEEP_LEVELS[i % len(KEEP_LEVELS)]
            self.excluded.add(str(community))
            self.truths.append(Truth(
                id=f"conceal-{i}", kind="concealment", street=str(community)[:9], region=str(community),
                start_day=start, days=0, start=self.tl.local_midnight(start).isoformat(),
                end=self.tl.local_midnight(self.tl.history_days).isoformat(), keep=keep,
                patrol_per_week=round(float(per_week[community]), 1)))

    # --- outbreaks and clusters -------------------------------------------------------------------
    def plan_events(self) -> None:
        streets = sorted(self.facts["street"].unique())
        slots = self.tl.slots()
        for street in streets:
            cluster_slot = int(self.rng.integers(len(slots)))
            majors_used: set[str] = set()
            for s, slot in enumerate(slots):
                start = slot + int(self.rng.integers(0, self.tl.slot_days - 5))
                ob = self._outbreak(street, start, majors_used, force_community=(s == cluster_slot))
                if ob is not None:
                    self.truths.append(ob)
                if s == cluster_slot:
                    avoid = {ob.region[:12]} if ob is not None else set()
                    cl = self._cluster(street, slot + int(self.rng.integers(0, self.tl.slot_days - 5)), avoid)
                    if cl is not None:
                        self.truths.append(cl)

    def _pool(self, start: int) -> pd.DataFrame:
        f = self.facts
        return f[(f["dn"] >= start - BASELINE_DAYS) & (f["dn"] < start) & ~f["community"].isin(self.excluded)]

    def _outbreak(self, street: str, start: int, majors_used: set[str], force_community: bool) -> Truth | None:
        pool = self._pool(start)
        in_street = pool[pool["street"] == street]
        if not len(in_street):
            return None
        for _ in range(30):
            level = LEVELS[int(self.rng.integers(2, 4) if force_community else self.rng.integers(len(LEVELS)))]
            seed_case = in_street.iloc[int(self.rng.integers(len(in_street)))]
            if seed_case["major"] in majors_used:
                continue
            region_col, cat_col = level
            region, category = seed_case[region_col], seed_case[cat_col]
            series = self.facts[(self.facts[region_col] == region) & (self.facts[cat_col] == category)]
            templates = pool[(pool[region_col] == region) & (pool[cat_col] == category)]
            majors_used.add(seed_case["major"])
            sd = _sd(series, start)
            k = int(self.rng.integers(2, 11))
            days = int(self.rng.integers(1, 6))
            per_day = max(1, int(round(k * sd)))
            t = Truth(id="", kind="outbreak", street=street, region=str(region), start_day=start, days=days,
                      start="", end=self.tl.local_midnight(start + days).isoformat(), category=str(category),
                      level=f"{region_col}x{'major' if cat_col == 'major' else 'minor'}", k=k, sd=round(sd, 3),
                      per_day=per_day)
            t.templates = templates
            if len(templates) < 5:
                # Too few cases of the series to copy: the category's cases anywhere, placed in the
                # series' region in grids drawn by how much they report.
                t.fallback = (pool[pool[cat_col] == category], pool.loc[pool[region_col] == region, "grid_code"].values)
            return t
        return None

    def _cluster(self, street: str, start: int, avoid: set[str]) -> Truth | None:
        g = self.grids
        ok = (g["street"] == street) & ~g["community"].isin(self.excluded | avoid)
        pool = self._pool(start)
        volume = pool.groupby("grid_code").size()
        cand = g[ok & g["grid_code"].isin(volume.index)]
        if not len(cand):
            return None
        w = volume.reindex(cand["grid_code"]).values.astype(float)
        centre = cand.iloc[int(self.rng.choice(len(cand), p=w / w.sum()))]
        allowed = g[~g["community"].isin(self.excluded | avoid)].reset_index(drop=True)
        lat0 = np.deg2rad(allowed["lat"].mean())
        xy = np.column_stack([allowed["lon"] * 110.57 * np.cos(lat0), allowed["lat"] * 110.57])
        size = int(self.rng.integers(3, 7))
        dist, idx = cKDTree(xy).query(xy[allowed.index[allowed["grid_code"] == centre["grid_code"]][0]], k=size)
        members = [allowed["grid_code"][i] for d, i in zip(np.atleast_1d(dist), np.atleast_1d(idx)) if d <= CLUSTER_RADIUS_KM]
        series = self.facts[self.facts["grid_code"].isin(members)]
        templates = pool[pool["grid_code"].isin(members)]
        if len(templates) < 3:
            return None
        sd = _sd(series, start)
        k = int(self.rng.integers(2, 11))
        days = int(self.rng.integers(1, 4))
        t = Truth(id="", kind="cluster", street=street, region=str(centre["grid_code"]), start_day=start, days=days,
                  start="", end=self.tl.local_midnight(start + days).isoformat(), k=k, sd=round(sd, 3),
                  per_day=max(1, int(round(k * sd))), grids=list(members))
        t.templates = templates
        return t

    def number(self) -> None:
        counters: dict[str, int] = {}
        for t in self.truths:
            if t.kind == "concealment":
                continue
            counters[t.kind] = counters.get(t.kind, 0) + 1
            t.id = f"{t.kind}-{counters[t.kind]}"


# --- writing ----------------------------------------------------------------------------------------

def _copies(t: Truth, rng: np.random.Generator) -> pd.DataFrame:
    """(template id, new day number, new time of day, grid override or None) for each extra case."""
    rows = []
    for d in range(t.days):
        if t.fallback is None:
            pick = t.templates.iloc[rng.integers(len(t.templates), size=t.per_day)]
            grid = [None] * t.per_day
        else:
            same_cat, region_grids = t.fallback
            pick = same_cat.iloc[rng.integers(len(same_cat), size=t.per_day)]
            grid = region_grids[rng.integers(len(region_grids), size=t.per_day)].tolist()
        for (_, tpl), gcode in zip(pick.iterrows(), grid):
            rows.append((int(tpl["id"]), t.start_day + d, int(tpl["tod"]), gcode))
    return pd.DataFrame(rows, columns=["template", "dn", "tod", "grid"])


def apply(engine, truths: list[Truth], facts: pd.DataFrame, tl: Timeline, rng: np.random.Generator) -> None:
    """Write the truths into the database behind ``engine`` (a copy of the baseline)."""
    from data_access import writes
    from data_access.models import Case, CaseAction

    c = Case.__table__.c
    plans = []
    for t in truths:
        if t.kind in ("outbreak", "cluster"):
            plans.append((t, _copies(t, rng)))
    with engine.begin() as conn:
        next_id = int(conn.execute(select(func.coalesce(func.max(c.id), 0))).scalar()) + 1
        ids = sorted({int(x) for _, p in plans for x in p["template"]})
        tpl_rows = {}
        for chunk in range(0, len(ids), 500):
            for r in conn.execute(select(Case.__table__).where(c.id.in_(ids[chunk: chunk + 500]))):
                tpl_rows[r.id] = dict(r._mapping)
        donors = _grid_donors(conn, {g for _, p in plans for g in p["grid"].dropna()})
        columns: dict[str, list] = {k: [] for k in Case.__table__.c.keys()}
        per_day_seq: dict[int, int] = {}
        end_utc = END.astimezone(UTC)
        for t, plan in plans:
            first = None
            for row in plan.itertuples(index=False):
                new = dict(tpl_rows[row.template])
                when = (tl.local_midnight(row.dn) + timedelta(seconds=row.tod)).astimezone(UTC)
                delta = when - new["reported_at"]
                for col in TIMESTAMP_COLUMNS:
                    if new[col] is not None:
                        new[col] = new[col] + delta
                for col in LIFECYCLE:   # as of the end of the history, nothing has happened after it
                    if new[col] is not None and new[col] > end_utc:
                        new[col] = None
                if new["closed_at"] is None and new["status"] in ("closed", "rejected", "merged"):
                    new["status"] = "handling"
                new["updated_at"] = min(new["updated_at"] or when, end_utc)
                if row.grid is not None and row.grid in donors:
                    new.update(donors[row.grid])
                new["id"] = next_id
                seq = per_day_seq.get(row.dn, 0)
                per_day_seq[row.dn] = seq + 1
                new["code"] = f"{COUNTY}-{tl.day(row.dn):%Y%m%d}-9{seq:04d}"
                new["merged_into"] = None
                for k in columns:
                    columns[k].append(new[k])
                t.case_ids.append(next_id)
                first = when if first is None or when < first else first
                next_id += 1
            t.n_cases = len(plan)
            t.start = first.astimezone(TZ).isoformat() if first else t.start
        if columns["id"]:
            writes.bulk_insert(conn, "cases", columns)
        # concealment: delete patrol cases down to the kept share
        a = CaseAction.__table__.c
        for t in truths:
            if t.kind != "concealment":
                continue
            mine = facts[(facts["community"] == t.region) & (facts["source"] == "patrol") & (facts["dn"] >= t.start_day)]
            n_drop = int(round((1.0 - t.keep) * len(mine)))
            drop = rng.choice(mine["id"].values, size=n_drop, replace=False).tolist() if n_drop else []
            for chunk in range(0, len(drop), 500):
                part = [int(x) for x in drop[chunk: chunk + 500]]
                conn.execute(delete(CaseAction.__table__).where(a.case_id.in_(part)))
                conn.execute(delete(Case.__table__).where(c.id.in_(part)))
            t.deleted = n_drop
            t.n_cases = len(mine) - n_drop


def _grid_donors(conn, grids: set[str]) -> dict[str, dict]:
    """For each grid, the place columns of one of its cases (point, address, reporter)."""
    from data_access.models import Case

    c = Case.__table__.c
    out = {}
    for g in sorted(grids):
        r = conn.execute(select(c.grid_code, c.lon, c.lat, c.address, c.reporter_staff_id)
                         .where(c.grid_code == g).order_by(c.id).limit(1)).first()
        if r is not None:
            out[g] = dict(r._mapping)
    return out


def inject(engine, facts: pd.DataFrame, grids: pd.DataFrame, tl: Timeline, seed: int, conceal_per_level: int) -> list[Truth]:
    """Plan and write every truth of one history; returns them (to be stored as JSON)."""
    rng = np.random.default_rng(seed * 7919 + 11)
    planner = Planner(facts, grids, tl, rng, conceal_per_level)
    planner.plan_concealment()
    planner.plan_events()
    planner.number()
    apply(engine, planner.truths, facts, tl, rng)
    return planner.truths
