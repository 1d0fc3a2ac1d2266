"""A realistic year for the synthetic county: volume, seasons, holidays, storms, trends, hotspots.

Off by default (``seed_county(realism=None)`` keeps the plain, stationary county the tests and
the latency benchmarks were written against); ``gridwall seed --realistic`` and the forecast
bench turn it on. What it adds, after domain.md:

* volume: 吴中区 (Suzhou) logged 573,251 valid work orders in 2018, about 1,570 a day for some
  1.39 million residents; 太仓 has about 0.83 million, so about 940 a day. The plain county
  makes about 365 a day, hence ``volume = 2.4`` (about 880 a day before the extras below).
* public holidays run like weekends and make-up working days (调休) like weekdays;
* category seasons: noise, night works, smoke and street vending peak in summer, e-bike charging
  and gas hazards in winter, leaf burning in late autumn; wage arrears (欠薪) build up over the
  ten weeks before the Spring Festival;
* storms: plum-rain (梅雨) and typhoon season days with a burst of waterlogging, overflowing
  drains and damaged roads, worst in the same low-lying grids each time, spilling into the next day;
* slow trends: the county grows a few per cent a year, each street drifts its own way and swings
  over months;
* hotspot episodes: a construction site, a new market, a crowded rental block or a property
  dispute makes one grid busy for weeks (ramp up, plateau, fade).

Seasonal and trend factors thin a denser base stream (a case is kept with probability
factor / max factor); storms and hotspots add their own cases. ``Shaper.expected`` gives the
true expected count per grid x major category x day, the oracle the forecast bench scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from dashboard.analytics.holidays import days_to_spring_festival, is_rest_day

from .local_calendar import HOUR, LocalCalendar
from .rhythm import HOURLY, SOURCES, expected_per_hour


@dataclass(frozen=True)
class Realism:
    volume: float = 2.4              # x the plain county's volume (see the module docstring)
    county_trend: float = 0.05       # yearly growth of all reports (log scale)
    street_trend_sd: float = 0.15    # sd of a street's own yearly log trend
    street_wander: float = 0.10      # amplitude of a street's slow swings (periods 8-26 weeks)
    hotspots_per_week: float = 2.0   # new hotspot episodes in the county a week
    hotspot_rate: float = 1.5        # mean extra cases a day on an episode's plateau
    storm_cases: float = 80.0        # extra cases county-wide on a heavy storm day (intensity 1)
    season_strength: float = 1.0     # scales every seasonal amplitude


# (amplitude, day of year of the peak): factor 1 + a cos(2 pi (doy - peak) / 365.25)
SEASONAL: dict[str, tuple[float, int]] = {
    "0603": (0.55, 200),   # noise: windows open, evenings outdoors
    "0402": (0.45, 200),   # night works
    "0602": (0.35, 195),   # smoke and smells: barbecue stalls
    "0301": (0.30, 190),   # street vending on summer evenings
    "0302": (0.25, 190),
    "0101": (0.20, 205),   # garbage smells
    "0601": (0.30, 215),   # black and smelly water
    "0702": (0.35, 15),    # e-bikes charged indoors in winter
    "0703": (0.40, 10),    # gas and heaters
    "1101": (0.30, 20),    # fires
    "0105": (0.50, 305),   # leaves and straw burnt in late autumn
}
WAGE = {"0803": 4.0, "1002": 0.8}   # extra factor at the Spring Festival, reached over RAMP_DAYS
WAGE_RAMP_DAYS = 70
STORM_CATS = {"1102": 0.45, "0504": 0.25, "0502": 0.12, "0505": 0.10, "0501": 0.08}
STORM_NEXT_DAY = 0.35
STORM_SOURCES = {"hotline": 0.45, "resident": 0.25, "sensor": 0.15, "patrol": 0.15}
HOTSPOT_KINDS = (   # (probability, category shares, report sources)
    (0.40, {"0402": 0.35, "0403": 0.30, "0404": 0.15, "0104": 0.20}),    # construction site
    (0.30, {"0301": 0.40, "0302": 0.30, "0101": 0.20, "0102": 0.10}),    # market, night stalls
    (0.20, {"0702": 0.50, "0704": 0.30, "0701": 0.20}),                  # crowded rentals
    (0.10, {"0804": 0.60, "0801": 0.40}),                                # property dispute
)
HOTSPOT_SOURCES = {"resident": 0.35, "hotline": 0.30, "patrol": 0.25, "video": 0.10}
HOTSPOT_WEEKEND = 0.7


def storm_probability(d: date) -> float:
    md = (d.month, d.day)
    if (6, 10) <= md <= (7, 15):
        return 0.15      # 梅雨
    if (7, 16) <= md <= (9, 30):
        return 0.07      # thunderstorms and typhoons
    if (4, 1) <= md <= (10, 31):
        return 0.03
    return 0.01


@dataclass
class Extra:
    """Cases a storm or a hotspot adds: times, source, grid and category indices."""

    times: np.ndarray
    source: np.ndarray
    grid: np.ndarray
    cat: np.ndarray


class Shaper:
    """The realistic year of one seed, over the local days ``first_day`` .. ``last_day``.

    ``realism=None`` is the plain county (factor 1, no extras); its ``expected`` is still the truth.
    """

    def __init__(self, realism: Realism | None, grids, factory, cal: LocalCalendar, first_day: date, last_day: date,
                 seed: int, scale: float):
        self.r = realism
        self.grids, self.factory, self.cal = grids, factory, cal
        self.days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        self.day_pos = {d: i for i, d in enumerate(self.days)}
        self.cats = [c.code for c in factory.categories]
        self.majors = sorted({c[:2] for c in self.cats})
        self.cat_major = np.array([self.majors.index(c[:2]) for c in self.cats])
        streets = grids.street_codes
        self.street_names = sorted(set(streets.tolist()))
        self.grid_street = np.array([self.street_names.index(s) for s in streets])
        self.scale = scale
        n_days, n_grids, n_cats = len(self.days), len(grids), len(self.cats)
        rng = np.random.default_rng([seed, 51])
        if realism is None:
            self.trend = np.ones((len(self.street_names), n_days))
            self.season = np.ones((n_cats, n_days))
            self.m_max = 1.0
            self.storm_mean = np.zeros(n_days)
            self.episodes: list[dict] = []
            return
        self.trend = self._trends(rng)
        self.season = self._seasons()
        self.m_max = float(self.trend.max() * self.season.max())
        # storms: intensity per day (0 = none); the low-lying spots are the same every storm
        p = np.array([storm_probability(d) for d in self.days])
        hit = rng.random(n_days) < p
        intensity = np.where(hit, np.minimum(rng.lognormal(0.0, 0.6, n_days), 5.0), 0.0)
        mean = intensity.copy()
        mean[1:] += STORM_NEXT_DAY * intensity[:-1]
        self.storm_mean = mean * realism.storm_cases * scale
        street_low = rng.lognormal(0.0, 0.5, len(self.street_names))
        low = factory.weight * street_low[self.grid_street] * rng.lognormal(0.0, 0.8, n_grids)
        self.storm_grid_p = low / low.sum()
        self.episodes = self._episodes(rng)

    # --- the factors ---------------------------------------------------------------------------

    def _trends(self, rng) -> np.ndarray:
        r = self.r
        t = np.arange(len(self.days)) - (len(self.days) - 1) / 2.0
        years = t / 365.25
        out = []
        for _ in self.street_names:
            slope = r.county_trend + rng.normal(0.0, r.street_trend_sd)
            swing = np.zeros(len(t))
            for _k in range(2):
                period = rng.uniform(56, 182)
                swing += r.street_wander / math.sqrt(2) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
            out.append(np.exp(slope * years + swing))
        return np.array(out)

    def _seasons(self) -> np.ndarray:
        s = self.r.season_strength
        doy = np.array([d.timetuple().tm_yday for d in self.days], dtype=float)
        to_sf = np.array([days_to_spring_festival(d) if days_to_spring_festival(d) is not None else 999
                          for d in self.days], dtype=float)
        ramp = np.clip(1.0 - to_sf / WAGE_RAMP_DAYS, 0.0, 1.0) ** 1.5
        out = np.ones((len(self.cats), len(self.days)))
        for i, code in enumerate(self.cats):
            if code in SEASONAL:
                a, peak = SEASONAL[code]
                out[i] *= 1.0 + s * a * np.cos(2 * np.pi * (doy - peak) / 365.25)
            if code in WAGE:
                out[i] *= 1.0 + s * WAGE[code] * ramp
        return out

    def _episodes(self, rng) -> list[dict]:
        r = self.r
        lead = 70
        span = len(self.days) + lead
        n = rng.poisson(r.hotspots_per_week * span / 7.0)
        basic = np.asarray(self.grids.kinds) == "basic"
        w = np.sqrt(self.factory.weight) * np.where(basic, 1.0, 0.5)
        out = []
        kinds_p = np.array([k[0] for k in HOTSPOT_KINDS])
        for _ in range(n):
            start = int(rng.integers(-lead, len(self.days)))
            kind = int(rng.choice(len(HOTSPOT_KINDS), p=kinds_p / kinds_p.sum()))
            shares = HOTSPOT_KINDS[kind][1]
            out.append({"grid": int(rng.choice(len(w), p=w / w.sum())), "start": start,
                        "ramp": int(rng.integers(3, 11)), "plateau": int(rng.integers(14, 57)),
                        "fade": int(rng.integers(7, 22)),
                        "rate": r.hotspot_rate * float(rng.lognormal(-0.125, 0.5)) * max(self.scale, 0.1),
                        "cats": np.array([self.cats.index(c) for c in shares]),
                        "shares": np.array(list(shares.values())) / sum(shares.values())})
        return out

    def episode_rate(self, ep: dict) -> np.ndarray:
        """Expected extra cases a day of one episode, over the history's days."""
        t = np.arange(len(self.days)) - ep["start"]
        up = np.clip((t + 1) / ep["ramp"], 0.0, 1.0)
        end_plateau = ep["ramp"] + ep["plateau"]
        down = np.clip(1.0 - (t - end_plateau) / ep["fade"], 0.0, 1.0)
        rate = ep["rate"] * np.where(t < 0, 0.0, np.minimum(up, down))
        rest = np.array([is_rest_day(d) for d in self.days])
        return rate * np.where(rest, HOTSPOT_WEEKEND, 1.0)

    def rest_day(self, d: date) -> bool | None:
        return is_rest_day(d) if self.r is not None else None

    # --- thinning and extras -------------------------------------------------------------------

    def keep(self, times: np.ndarray, grid_idx: np.ndarray, cat_idx: np.ndarray, rng) -> np.ndarray:
        """Which base cases survive the thinning (all of them for the plain county)."""
        if self.r is None:
            return np.ones(len(times), dtype=bool)
        day = np.array([self.day_pos.get(self.cal.local_date(int(t)), 0) for t in times])
        factor = self.trend[self.grid_street[grid_idx], day] * self.season[cat_idx, day]
        return rng.random(len(times)) < factor / self.m_max

    def extras(self, now_ts: int, rng) -> Extra:
        if self.r is None:
            z = np.zeros(0, dtype=np.int64)
            return Extra(z, z, z, z)
        parts = []   # (day index, grid, cat, source name)
        storm_cats = np.array([self.cats.index(c) for c in STORM_CATS])
        storm_p = np.array(list(STORM_CATS.values()))
        for di in np.nonzero(self.storm_mean > 0)[0]:
            k = rng.poisson(self.storm_mean[di])
            if k:
                g = rng.choice(len(self.storm_grid_p), size=k, p=self.storm_grid_p)
                c = storm_cats[rng.choice(len(storm_cats), size=k, p=storm_p / storm_p.sum())]
                parts.append((np.full(k, di), g, c, self._sources(STORM_SOURCES, k, g, rng)))
        for ep in self.episodes:
            counts = rng.poisson(self.episode_rate(ep))
            k = int(counts.sum())
            if k:
                di = np.repeat(np.arange(len(self.days)), counts)
                g = np.full(k, ep["grid"])
                c = ep["cats"][rng.choice(len(ep["cats"]), size=k, p=ep["shares"])]
                parts.append((di, g, c, self._sources(HOTSPOT_SOURCES, k, g, rng)))
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Extra(z, z, z, z)
        di = np.concatenate([p[0] for p in parts])
        g = np.concatenate([p[1] for p in parts])
        c = np.concatenate([p[2] for p in parts])
        src = np.concatenate([p[3] for p in parts])
        hour = np.array([rng.choice(24, p=HOURLY[s]) for s in src])
        midnight = np.array([self.cal.midnight(d) for d in self.days], dtype=np.int64)
        # wall-clock hours from midnight (no DST in Asia/Shanghai)
        times = midnight[di] + hour * HOUR + (rng.random(len(di)) * HOUR).astype(np.int64)
        ok = times <= now_ts
        return Extra(times[ok], src[ok], g[ok], c[ok])

    def _sources(self, mix: dict, k: int, grid_idx: np.ndarray, rng) -> np.ndarray:
        names = list(mix)
        p = np.array(list(mix.values()))
        idx = np.array([SOURCES.index(n) for n in names])[rng.choice(len(names), size=k, p=p / p.sum())]
        # patrols report only in staffed grids; elsewhere the report comes from a resident
        unstaffed = self.factory.patrol_weight[grid_idx] <= 0
        idx[(idx == SOURCES.index("patrol")) & unstaffed] = SOURCES.index("resident")
        return idx

    # --- the truth -----------------------------------------------------------------------------

    def expected(self, noise: dict[date, float] | None, base_scale: float, shocks: bool = True) -> np.ndarray:
        """True expected cases per grid x major category x day (G, K, D), float32.

        ``base_scale`` is the scale the base stream was drawn at (before thinning); ``noise`` the
        day factors it used. The first and last day are counted as whole days. ``shocks=False``
        leaves out what no forecast can know a week ahead: the day factors (taken as their mean,
        1) and the storms; hotspot episodes, seasons, holidays and trends stay in."""
        noise = noise if shocks and noise is not None else {}
        n_days, n_grids = len(self.days), len(self.grids)
        f = self.factory
        e_src = np.zeros((len(SOURCES), n_days))
        for di, d in enumerate(self.days):
            rest = self.rest_day(d)
            per_day = sum(expected_per_hour(h, d.weekday(), base_scale, rest) for h in range(24))
            e_src[:, di] = per_day * noise.get(d, 1.0)
        p_patrol = f.patrol_weight / f.patrol_weight.sum()
        p_other = f.weight / f.weight.sum()
        onehot = np.zeros((len(self.cats), len(self.majors)))
        onehot[np.arange(len(self.cats)), self.cat_major] = 1.0
        out = np.zeros((n_grids, len(self.majors), n_days))
        kinds = np.asarray(self.grids.kinds)
        for si, source in enumerate(SOURCES):
            pg = p_patrol if source == "patrol" else p_other
            for kind in ("basic", "special"):
                sel = kinds == kind
                if not sel.any():
                    continue
                q = (f.cat_p[source, kind][:, None] * self.season / self.m_max).T @ onehot   # (D, K)
                out[sel] += pg[sel][:, None, None] * (e_src[si][:, None] * q).T[None, :, :]
        out *= self.trend[self.grid_street][:, None, :]
        if self.r is not None and shocks:
            storm_cats = np.array([self.cats.index(c) for c in STORM_CATS])
            storm_p = np.array(list(STORM_CATS.values()))
            storm_p = storm_p / storm_p.sum()
            for c, p in zip(storm_cats, storm_p):
                out[:, self.cat_major[c], :] += self.storm_grid_p[:, None] * p * self.storm_mean[None, :]
        if self.r is not None:
            for ep in self.episodes:
                rate = self.episode_rate(ep)
                for c, p in zip(ep["cats"], ep["shares"]):
                    out[ep["grid"], self.cat_major[c], :] += p * rate
        return out.astype(np.float32)
