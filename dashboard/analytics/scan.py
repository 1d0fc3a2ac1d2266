"""Space-time clusters (时空聚集): Kulldorff's prospective space-time permutation scan statistic (2005).

It needs only case counts by place and day. A candidate cluster is a cylinder: a circle of the k
nearest grid centroids around a grid (k up to ``max_neighbors``, radius up to ``max_radius_km``)
over the last 1..``max_window`` days of the study period (prospective: every cylinder ends on the
last day). The expected count of a cylinder comes from the space and time marginals alone,

    mu(z, w) = sum over strata s of n(z, s) * n(w, s) / N(s),

so places that always report a lot and days that are busy everywhere explain themselves; only an
excess *interaction* of place and time is a cluster. Strata are reporting channels (sources): a
channel whose volume changes over time does not make clusters where it happens to be used more.
Automated channels (video AI, IoT sensors) are left out: their counts follow where and when
devices are installed, so a newly installed camera must never be a cluster. (Giving each
(channel, grid) its own stratum achieves that too, but such a stratum's expected count in any
cylinder equals its observed count: its cases carry no information on clusters and only dilute
the observed-to-expected ratio of the cylinders they fall in. A cluster whose video share is a
third loses half its log likelihood ratio that way.)

Significance: Monte Carlo, permuting the days of the cases within each stratum (which keeps both
marginals), ``replications`` times; p = rank / (R + 1). The recurrence interval of a cluster seen
with p-value p by a scan run ``runs_per_day`` times a day is 1 / (p * runs_per_day) days: how
often a cluster this strong arises by chance alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

KM_PER_DEG_LAT = 110.57


@dataclass(frozen=True)
class ScanParams:
    study_days: int = 28
    max_window: int = 7
    max_neighbors: int = 15
    max_radius_km: float = 3.0
    replications: int = 999
    min_cases: int = 5
    # report clusters at least this rare: by chance about one a 50 days in the county (measured on two
    # honest 57-day replays: 3 false clusters; at 100 days 2, but 8 instead of 10 of 16 injected found)
    min_recurrence_days: float = 50.0
    max_clusters: int = 5
    automated_sources: tuple[str, ...] = ("video", "sensor")


@dataclass
class Cluster:
    center: int                # location index of the centre
    members: np.ndarray        # location indices inside the circle
    window: int                # days, ending on the last day
    observed: int
    expected: float
    llr: float
    p_value: float
    recurrence_days: float
    radius_km: float
    extra: dict = field(default_factory=dict)


def neighbours(lon: np.ndarray, lat: np.ndarray, k: int, max_radius_km: float) -> tuple[np.ndarray, np.ndarray]:
    """For each location, the indices of its k nearest locations (itself first) and their distances (km).

    Distances beyond ``max_radius_km`` are returned as inf (those circles are not scanned)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    n = len(lon)
    if n == 0:
        return np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0))
    lat0 = np.deg2rad(np.mean(lat))
    xy = np.column_stack([lon * KM_PER_DEG_LAT * np.cos(lat0), lat * KM_PER_DEG_LAT])
    k = min(k, n)
    dist, idx = cKDTree(xy).query(xy, k=k)
    dist, idx = np.atleast_2d(dist).reshape(n, k), np.atleast_2d(idx).reshape(n, k)
    dist = np.where(dist <= max_radius_km, dist, np.inf)
    dist[:, 0] = 0.0
    return idx.astype(np.int64), dist


def strata_of(sources: np.ndarray, loc: np.ndarray, automated: tuple[str, ...]) -> np.ndarray:
    """Stratum per case: its channel (0, 1, ...), or -1 for automated channels (``scan`` leaves those out)."""
    sources = np.asarray(sources).astype(str).ravel()
    auto = np.isin(sources, automated)
    out = np.full(len(sources), -1, dtype=np.int64)
    if (~auto).any():
        _, chan = np.unique(sources[~auto], return_inverse=True)
        out[~auto] = chan.ravel()
    return out


def _llr(c: np.ndarray, e: np.ndarray, total: float, min_cases: int) -> np.ndarray:
    """Space-time permutation log likelihood ratio of cylinders with c observed and e expected."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = c * np.log(c / e) + (total - c) * np.log((total - c) / (total - e))
    out = np.where((c > e) & (c >= min_cases) & np.isfinite(e), out, 0.0)
    return np.nan_to_num(out, nan=0.0, posinf=0.0)


def _zone_sums(x: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """(L, W) per-location values -> (L, K, W) sums over the k nearest locations."""
    return np.cumsum(x[nbr], axis=1)


def _window_counts(loc: np.ndarray, day: np.ndarray, n_locs: int, last: int, max_window: int) -> np.ndarray:
    """(L, W) counts of cases at each location in the last w days (w = 1..W) ending on ``last``."""
    back = last - day
    inside = (back >= 0) & (back < max_window)
    flat = loc[inside] * max_window + back[inside]
    counts = np.bincount(flat, minlength=n_locs * max_window).reshape(n_locs, max_window)
    return np.cumsum(counts, axis=1)


def scan(loc: np.ndarray, day: np.ndarray, stratum: np.ndarray, n_locs: int, last: int, nbr: np.ndarray,
         dist: np.ndarray, params: ScanParams = ScanParams(), runs_per_day: float = 1.0,
         rng: np.random.Generator | None = None, null_maxima: list | None = None) -> list[Cluster]:
    """Scan cases (location index, day index, stratum; stratum -1: left out) of a study period ending
    on day ``last``.

    Returns the most likely cluster and secondary clusters that do not overlap it, each with its
    Monte Carlo p-value, strongest first; only clusters rarer than ``min_recurrence_days``.
    ``null_maxima``, a list, receives the replications' largest log likelihood ratios (diagnostics).
    """
    rng = rng or np.random.default_rng(20051)
    loc, day, stratum = (np.asarray(a, dtype=np.int64).ravel() for a in (loc, day, stratum))
    keep = stratum >= 0
    loc, day, stratum = loc[keep], day[keep], stratum[keep]
    total = float(len(loc))
    if total < params.min_cases or n_locs == 0:
        return []
    w_max = params.max_window
    valid = np.isfinite(dist)  # (L, K)
    # expected: sum over strata of n(l, s) * n(w, s) / N(s), accumulated case by case
    n_s = np.bincount(stratum).astype(float)
    frac = np.zeros((w_max, len(n_s)))
    back = last - day
    for w in range(1, w_max + 1):
        frac[w - 1] = np.bincount(stratum[(back >= 0) & (back < w)], minlength=len(n_s)) / np.maximum(n_s, 1)
    exp_loc = np.zeros((n_locs, w_max))
    for w in range(w_max):
        exp_loc[:, w] = np.bincount(loc, weights=frac[w, stratum], minlength=n_locs)
    expected = _zone_sums(exp_loc, nbr)
    observed = _zone_sums(_window_counts(loc, day, n_locs, last, w_max), nbr)
    llr = np.where(valid[:, :, None], _llr(observed, expected, total, params.min_cases), 0.0)
    if not (llr > 0).any() and null_maxima is None:
        return []
    # Monte Carlo: permute days within strata
    order = np.argsort(stratum, kind="stable")
    days_sorted = day[order]
    maxima = np.empty(params.replications)
    for r in range(params.replications):
        perm = np.lexsort((rng.random(len(stratum)), stratum))
        pday = np.empty_like(day)
        pday[perm] = days_sorted
        obs_r = _zone_sums(_window_counts(loc, pday, n_locs, last, w_max), nbr)
        # logs only where a cylinder can score at all (few): the rest are 0
        can = (obs_r > expected) & (obs_r >= params.min_cases) & valid[:, :, None]
        maxima[r] = _llr(obs_r[can], expected[can], total, params.min_cases).max(initial=0.0)
    if null_maxima is not None:
        null_maxima.extend(maxima.tolist())
    # the most likely cluster, then the best ones that share no location with those already taken
    flat = np.argsort(llr, axis=None)[::-1]
    taken: set[int] = set()
    out: list[Cluster] = []
    for f in flat:
        value = llr.flat[f]
        if value <= 0 or len(out) >= params.max_clusters:
            break
        c, k, w = np.unravel_index(f, llr.shape)
        members = nbr[c, : k + 1]
        if taken.intersection(members.tolist()):
            continue
        p = (1 + int((maxima >= value).sum())) / (params.replications + 1)
        ri = 1.0 / (p * runs_per_day)
        if ri < params.min_recurrence_days:
            break  # weaker ones are rarer still to pass
        taken.update(members.tolist())
        out.append(Cluster(center=int(c), members=members.copy(), window=int(w) + 1,
                           observed=int(observed[c, k, w]), expected=float(expected[c, k, w]), llr=float(value),
                           p_value=p, recurrence_days=ri, radius_km=float(dist[c, k])))
    return out
