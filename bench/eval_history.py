"""Evaluation histories: the timeline, the seeded baseline county, its copies, and what the bench reads back.

A baseline is ``seed_county`` over ``history_days`` local days ending at ``END`` (a Sunday night,
in the past), written once per seed to ``var/eval/base_s<seed>_d<days>.db`` and reused while its
marker file says it was seeded with the same parameters. Every run works on copies of it: the
replay writes alerts, the injections add and delete cases, the baseline stays clean.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = REPO / "var" / "eval"
TZ = ZoneInfo("Asia/Shanghai")
COUNTY = "320585"
END = datetime(2026, 11, 22, 23, 59, tzinfo=TZ)  # a Sunday: the history ends with a complete week
STEP_CLOCK = timedelta(minutes=10)   # replay steps at 00:10 local: yesterday is complete, as for the live loop


@dataclass(frozen=True)
class Timeline:
    """Day numbers count local days from the history's first day (a Monday)."""

    history_days: int = 182          # 26 weeks: 8 weeks of rise baseline + 14 weeks of concealment facts + the window
    window_days: int = 56            # the scored window: daily replay steps, injected events, concealment horizon
    warmup_days: int = 3             # replay steps before the window whose alerts are not scored
    slot_days: int = 11              # events of one street start at least this far apart
    honest_first_weekly: int = 35    # honest history: weekly steps from here (5 complete weeks) to the window

    @property
    def first_day(self) -> date:
        return END.date() - timedelta(days=self.history_days - 1)

    @property
    def window_start(self) -> int:
        return self.history_days - self.window_days

    @property
    def last_step(self) -> int:
        return self.history_days          # 00:10 the day after the last day of data

    def day(self, n: int) -> date:
        return self.first_day + timedelta(days=n)

    def local_midnight(self, n: int) -> datetime:
        d = self.day(n)
        return datetime(d.year, d.month, d.day, tzinfo=TZ)

    def step_at(self, n: int) -> datetime:
        return self.local_midnight(n) + STEP_CLOCK

    def day_number(self, when: datetime | date) -> int:
        d = when.astimezone(TZ).date() if isinstance(when, datetime) else when
        return (d - self.first_day).days

    def slots(self) -> list[int]:
        """First days of the event slots: an event starts in [slot, slot + slot_days - 6] and, lasting at
        most 5 days, is over (with 3 days to be detected) before the next slot."""
        last_start = self.history_days - 8   # a 5-day event plus 3 days of detection inside the data
        return list(range(self.window_start, last_start - 4, self.slot_days))

    @property
    def conceal_weeks(self) -> int:
        return self.window_days // 7

    def as_dict(self) -> dict:
        out = asdict(self)
        out.update(first_day=self.first_day.isoformat(), end=END.isoformat(), window_start_day=self.day(self.window_start).isoformat(),
                   last_step=self.step_at(self.last_step).isoformat())
        return out


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def base_path(seed: int, tl: Timeline, volume: float = 1.0) -> Path:
    return EVAL_DIR / (f"base_s{seed}_d{tl.history_days}.db" if volume == 1.0 else f"base_s{seed}_d{tl.history_days}_v{volume:g}.db")


def volume_only(volume: float):
    """``seasons.Realism`` with the plain county's volume scaled by ``volume`` and nothing else
    (no seasons, trends, storms or hotspot episodes): the same stationary county, busier."""
    from dashboard.synth.seasons import Realism

    return Realism(volume=volume, county_trend=0.0, street_trend_sd=0.0, street_wander=0.0, hotspots_per_week=0.0,
                   storm_cases=0.0, season_strength=0.0)


def ensure_base(seed: int, tl: Timeline, *, reseed: bool = False, log=print, volume: float = 1.0) -> Path:
    """The seeded baseline for ``seed`` (seeded now when missing, stale or ``reseed``); ``volume`` != 1:
    the same county with that many times the cases (``volume_only``)."""
    from dashboard.synth.seed import seed_county
    from data_access.db import init_db, make_engine

    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    path = base_path(seed, tl, volume)
    marker = path.with_suffix(".json")
    want = {"seed": seed, "days": tl.history_days, "end": END.isoformat(), "county": COUNTY}
    if volume != 1.0:
        want["volume"] = volume
    if not reseed and path.exists() and marker.exists() and json.loads(marker.read_text()).get("params") == want:
        return path
    for p in (path, marker):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    engine = make_engine(sqlite_url(path))
    try:
        init_db(engine)
        # Hourly pings on all but the last day: the warning families that need minute pings skip older
        # days anyway, and the file stays small enough to copy per run.
        stats = seed_county(engine, county=COUNTY, days=tl.history_days, seed=seed, now=END,
                            full_ping_days=1, sparse_ping_minutes=60,
                            **({"realism": volume_only(volume)} if volume != 1.0 else {}))
    finally:
        engine.dispose()
    marker.write_text(json.dumps({"params": want, "stats": stats}, ensure_ascii=False, indent=1))
    log(f"seeded {path.name}: {stats.get('cases')} cases in {time.perf_counter() - started:.0f} s")
    return path


def copy_db(src: Path, name: str) -> Path:
    dst = EVAL_DIR / name
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    return dst


# --- what the bench reads back ---------------------------------------------------------------------

def case_frame(engine, tl: Timeline) -> pd.DataFrame:
    """Every case of the history: id, reported_at (UTC), grid_code, category_code, source, plus local
    day (datetime64[D]), day number ``dn``, seconds since local midnight ``tod``, street, community, major."""
    from data_access.models import Case

    c = Case.__table__.c
    with engine.connect() as conn:
        # in the order the engine reads them (the scan's Monte Carlo permutes cases in this order)
        rows = conn.execute(select(c.id, c.reported_at, c.grid_code, c.category_code, c.source)
                            .order_by(c.reported_at, c.id)).all()
    df = pd.DataFrame(rows, columns=["id", "reported_at", "grid_code", "category_code", "source"])
    when = pd.to_datetime(df["reported_at"], utc=True).dt.tz_convert(TZ)
    local = when.dt.tz_localize(None)
    day = local.values.astype("datetime64[D]")
    df["day"] = day
    df["dn"] = (day - np.datetime64(tl.first_day, "D")).astype(np.int64)
    df["tod"] = (local - local.dt.normalize()).dt.total_seconds().astype(np.int64)
    ok = df["grid_code"].map(lambda v: isinstance(v, str) and len(v) == 15 and v.isdigit())
    df = df[ok & df["category_code"].map(lambda v: isinstance(v, str) and len(v) == 4)].copy()
    df["street"] = df["grid_code"].str[:9]
    df["community"] = df["grid_code"].str[:12]
    df["major"] = df["category_code"].str[:2]
    df["source"] = df["source"].fillna("other")
    return df.reset_index(drop=True)


def grid_frame(engine) -> pd.DataFrame:
    """Every grid: code, community, street, centroid lon/lat, area in km² (local equirectangular projection)."""
    from data_access.geo import parse_boundary
    from data_access.models import Grid

    g = Grid.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(g.code, g.boundary)).all()
    out = []
    for code, boundary in rows:
        geom = parse_boundary(boundary)
        if geom is None or not (isinstance(code, str) and len(code) == 15):
            continue
        lat0 = np.deg2rad(geom.centroid.y)
        area = geom.area * 110.57 ** 2 * np.cos(lat0)
        out.append((code, code[:12], code[:9], geom.centroid.x, geom.centroid.y, area))
    return pd.DataFrame(out, columns=["grid_code", "community", "street", "lon", "lat", "area_km2"])
