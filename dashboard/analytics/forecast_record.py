"""The forecasts on the review page (预测研判) and their own record: pure functions over arrays.

Three things a review meeting needs to read the engine's forecast and to judge how far to trust it:

* **Weekly totals with an 80 % interval.** The engine stores, per street x major category x day,
  the mean and the central 80 % interval of a negative-binomial predictive distribution
  (``dashboard.analytics.forecast``). The interval of a sum is not the sum of the intervals (that
  would be far wider than 80 %), so ``sum_interval`` reads each day's variance off its interval,
  ``((hi - lo) / (2 z))**2`` with z the normal 90 % quantile, never below the day's mean (the
  Poisson floor; a stored row without an interval counts as Poisson), adds the variances of the
  days (and of the series, for a street's or the county's total) as if they were independent,
  and takes the quantiles of the negative binomial with that mean and variance. Whether that is
  good enough is not assumed: the record below measures it.
* **The record (回测).** For each of the last weeks (Monday to Sunday), what the engine's model,
  fitted only on the days before that Monday, forecast for the week, against what happened
  (``weekly_record``). The model is the engine's: ``forecast.forecast_counts`` with the memory
  (weeks, half a year, a year) chosen the engine's way, by the smallest absolute error of the
  median over the 10 weeks before the Monday, each of those weeks forecast from the days before
  it. The fits are shared between the weeks (a fold of one week is the record week of another),
  which is why the history of a fold is the data read, not the engine's 364-day read as of that
  Monday (the long memory's folds may see a few more weeks). A series with no case before the
  Monday is forecast 0 (the engine would not know it). Nothing at or after a week's Monday enters
  that week's forecast or its memory choice; ``tests/test_review_forecast_analytics.py`` checks it.
  The model is fitted on the view's own counts (every read is scoped): for the county that is the
  engine's street-level fit; a street's view refits its own categories, so its record may differ
  a little from the county view's for the same street.
* **Totals move together.** A street's (or the county's) series are not independent: weather, a
  campaign, a holiday move them at once, and the independent sum above made the county's weekly
  interval cover 3 of 8 weeks on the seeded demo. ``common_variance`` measures, on the 10 weeks
  before, how much more the totals varied than their series' variances say (phi; a total's
  variance is then V + phi M**2); the record uses the phi of the weeks before each week, the page
  the phi of the weeks before T's week (6 of 8 county weeks and 52 of 64 street-weeks inside on
  the demo, series-weeks 85 %).
* **Hotspot record.** The same weeks for the hotspot grids (``hotspots.top_hotspots`` from the
  days before the Monday): the share of the predicted top grids that were among the week's
  actual top grids, beside the naive ranking by the week before.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from . import forecast, hotspots, spikes
from .spikes import nb_quantile

INTERVAL = 0.80


def _z(interval: float) -> float:
    return float(stats.norm.ppf(0.5 + interval / 2.0))


def day_variance(expected, lo, hi, interval: float = INTERVAL) -> np.ndarray:
    """The variance of each day's forecast read off its central interval; at least the mean (Poisson).

    ``lo``/``hi`` may be None or NaN (a stored row without an interval): the day counts as Poisson."""
    mu = np.asarray(expected, dtype=float)
    if lo is None or hi is None:
        return mu.copy()
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    width = np.where(np.isfinite(lo) & np.isfinite(hi), np.maximum(hi - lo, 0.0), 0.0)
    return np.maximum((width / (2.0 * _z(interval))) ** 2, mu)


def sum_interval(mean, variance, interval: float = INTERVAL) -> tuple[np.ndarray, np.ndarray]:
    """The central interval (lo, hi) of a count with this mean and variance: negative-binomial
    quantiles with k = (variance - mean) / mean**2 (Poisson when the variance is at most the mean)."""
    m = np.asarray(mean, dtype=float)
    v = np.asarray(variance, dtype=float)
    k = np.maximum(v - m, 0.0) / np.maximum(m, 1e-12) ** 2
    tail = (1.0 - interval) / 2.0
    lo = np.where(m > 0, np.nan_to_num(nb_quantile(tail, m, k)), 0.0)
    hi = np.where(m > 0, np.nan_to_num(nb_quantile(1.0 - tail, m, k)), 0.0)
    return lo, hi


@dataclass
class Totals:
    """Sums of forecasts: mean, variance and the 80 % interval, one per key."""

    keys: list
    mean: np.ndarray
    variance: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def totals_by(keys: list, mean, variance, interval: float = INTERVAL) -> Totals:
    """Sum means and variances of the items (one per entry of ``keys``) per distinct key, in first-seen order."""
    order: dict = {}
    for key in keys:
        order.setdefault(key, len(order))
    idx = np.array([order[k] for k in keys], dtype=np.int64)
    m = np.bincount(idx, weights=np.asarray(mean, dtype=float), minlength=len(order)) if len(keys) else np.zeros(0)
    v = np.bincount(idx, weights=np.asarray(variance, dtype=float), minlength=len(order)) if len(keys) else np.zeros(0)
    lo, hi = sum_interval(m, v, interval)
    return Totals(list(order), m, v, lo, hi)


# --- the stored forecast as the page shows it --------------------------------------------------------

def forecast_totals(rows: list[dict], common: dict[str, float] | None = None, interval: float = INTERVAL) -> dict:
    """The engine's stored daily rows (region_code, category_code, day, expected, lo80, hi80, made_at)
    as weekly totals per (region, category), per region, per category and overall, each with its
    80 % interval (``sum_interval``; the totals over several series add their level's common
    variance from the record, ``common`` = {"unit": .., "group": .., "total": ..}, see
    ``common_variance``). Rows without an expected value are left out.

    Returns {"cells": {(region, category): item}, "regions": {region: item}, "categories": {..},
    "total": item | None, "days": [first, last] | None, "n_days": int, "made_at": latest made_at | None};
    an item is {"expected", "lo", "hi", "days"}."""
    rows = [r for r in rows if r.get("expected") is not None]
    if not rows:
        return {"cells": {}, "regions": {}, "categories": {}, "total": None, "days": None, "n_days": 0,
                "made_at": None}
    mu = np.array([float(r["expected"]) for r in rows])
    lo = np.array([np.nan if r.get("lo80") is None else float(r["lo80"]) for r in rows])
    hi = np.array([np.nan if r.get("hi80") is None else float(r["hi80"]) for r in rows])
    var = day_variance(mu, lo, hi, interval)
    days = sorted({r["day"] for r in rows})

    common = common or {}

    def items(keys: list, level: str | None) -> dict:
        t = totals_by(keys, mu, var, interval)
        phi = common.get(level, 0.0) if level else 0.0
        lo_t, hi_t = sum_interval(t.mean, t.variance + phi * t.mean ** 2, interval)
        counted: dict = {}
        for key, r in zip(keys, rows):
            counted.setdefault(key, set()).add(r["day"])
        return {k: {"expected": float(t.mean[i]), "lo": float(lo_t[i]), "hi": float(hi_t[i]),
                    "days": len(counted[k])} for i, k in enumerate(t.keys)}

    return {
        "cells": items([(r["region_code"], r["category_code"]) for r in rows], None),
        "regions": items([r["region_code"] for r in rows], "unit"),
        "categories": items([r["category_code"] for r in rows], "group"),
        "total": items(["all"] * len(rows), "total")["all"],
        "days": [days[0], days[-1]], "n_days": len(days),
        "made_at": max((r["made_at"] for r in rows if r.get("made_at") is not None), default=None),
    }


# --- the record: weekly backtest of the engine's model -------------------------------------------------

@dataclass
class RecordWeek:
    """One week of the record, per series: the weekly forecast (mean, variance, 80 % interval) made
    from the days before ``start``, and what happened."""

    start: np.datetime64      # the Monday
    memory: str               # the memory the engine's rule chose at that Monday
    expected: np.ndarray      # (S,) weekly means (0 for a series with no case before the Monday)
    variance: np.ndarray      # (S,)
    lo: np.ndarray            # (S,)
    hi: np.ndarray            # (S,)
    actual: np.ndarray        # (S,)
    naive: np.ndarray         # (S,) the week before's count (the naive forecast); NaN without one
    common: dict[str, float] = field(default_factory=dict)   # per level: the totals' common variance (below)


@dataclass
class Record:
    weeks: list[RecordWeek]
    levels: dict[str, list]          # per level, each series' label (its street, its category, "all")
    common_now: dict[str, float]     # the common variance as estimated for the week after the record


def week_origins(days: np.ndarray, before: np.datetime64, weeks: int) -> np.ndarray:
    """The Mondays of the ``weeks`` complete weeks before the week containing ``before`` whose seven
    days lie in ``days`` (oldest first); fewer when the days do not reach back that far."""
    days = np.asarray(days, dtype="datetime64[D]")
    monday = monday_of(before)
    out = [monday - np.timedelta64(7 * k, "D") for k in range(weeks, 0, -1)]
    if not len(days):
        return np.array([], dtype="datetime64[D]")
    return np.array([o for o in out if o >= days[0] and o + np.timedelta64(6, "D") <= days[-1]],
                    dtype="datetime64[D]")


def monday_of(day) -> np.datetime64:
    day = np.datetime64(day, "D")
    return day - np.timedelta64(int((day.astype(np.int64) - 4) % 7), "D")   # 1970-01-05 was a Monday


def common_variance(expected: np.ndarray, variance: np.ndarray, actual: np.ndarray, labels: list) -> float:
    """How much more the totals over ``labels`` vary than the sum of their series' variances says.

    The series of a street (or the county) are not independent: a rainy week, a campaign or a
    holiday moves them together. Over past weeks k (rows of the (K, S) arrays) and the label values
    u, the totals M, V (sums of the series' means and variances) and A (the actual) give
    phi = sum((A - M)**2 - V) / sum(M**2), at least 0: a total's variance is then V + phi M**2."""
    expected = np.atleast_2d(np.asarray(expected, dtype=float))
    variance = np.atleast_2d(np.asarray(variance, dtype=float))
    actual = np.atleast_2d(np.asarray(actual, dtype=float))
    if not expected.size:
        return 0.0
    _, idx = np.unique(np.asarray([str(x) for x in labels]), return_inverse=True)
    num = den = 0.0
    for m, v, a in zip(expected, variance, actual):
        tm, tv, ta = (np.bincount(idx, weights=x) for x in (m, v, a))
        num += float(((ta - tm) ** 2 - tv).sum())
        den += float((tm ** 2).sum())
    return max(num / den, 0.0) if den > 0 else 0.0


def weekly_record(y: np.ndarray, days: np.ndarray, groups: list[str], units: list[str] | None,
                  origins: np.ndarray, candidates: dict[str, forecast.ForecastParams] | None = None,
                  folds: int = forecast.SELECTION_FOLDS, min_days: int = 28, interval: float = INTERVAL,
                  now: np.datetime64 | None = None) -> Record:
    """The record of the engine's forecast over the weeks starting at ``origins`` (Mondays in ``days``).

    ``y`` (S, T) daily counts per series on the contiguous ``days``; ``groups`` each series' major
    category, ``units`` its street. For each origin the memory is chosen as ``forecast.forecast_selected``
    chooses it (smallest median MAE over the ``folds`` weeks before, folds stopping where fewer than
    ``min_days`` days remain), then that memory's 7-day forecast from the days before the origin
    gives the week's mean and interval (daily intervals summed by ``sum_interval``'s rule). The same
    folds give each level's ``common_variance`` (street totals, category totals, the total), so that
    the record also judges the intervals of totals the way the page draws them. ``now`` (a Monday
    after the last origin, default the week after it) gets the same estimate for the page's forecast.
    """
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    candidates = candidates or forecast.MEMORIES
    groups_a = np.asarray(groups)
    units_a = None if units is None else np.asarray(units)
    s = y.shape[0]
    levels: dict[str, list] = {"total": ["all"] * s, "group": list(groups)}
    if units is not None:
        levels["unit"] = list(units)
    fits: dict[tuple[int, str], tuple[np.ndarray, forecast.Forecast | None]] = {}

    def fit(at: int, name: str):
        """(series seen before day index ``at``, the candidate's forecast of them from the days before)."""
        key = (at, name)
        if key not in fits:
            seen = y[:, :at].sum(1) > 0
            fc = None
            if seen.any():
                fc = forecast.forecast_counts(y[seen, :at], days[:at], list(groups_a[seen]),
                                              replace(candidates[name], horizon=7),
                                              units=None if units_a is None else list(units_a[seen]))
            fits[key] = (seen, fc)
        return fits[key]

    def weekly(at: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        seen, fc = fit(at, name)
        expected, variance = np.zeros(s), np.zeros(s)
        if fc is not None:
            expected[seen] = fc.expected.sum(1)
            variance[seen] = day_variance(fc.expected, fc.lo, fc.hi, interval).sum(1)
        return expected, variance

    def abs_error(at: int, name: str) -> float:
        seen, fc = fit(at, name)
        actual = y[:, at:at + 7]
        e = actual.sum(1)
        if fc is not None:
            e[seen] = np.abs(fc.median - actual[seen]).sum(1)
        return float(e.sum())

    def folds_before(at: int) -> list[int]:
        out = []
        for k in range(1, folds + 1):
            if at - 7 * k < min_days or at - 7 * k + 7 > len(days):
                break
            out.append(at - 7 * k)
        return out

    def choose(at: int) -> tuple[str, dict[str, float]]:
        before = folds_before(at)
        mae = {name: sum(abs_error(f, name) for f in before) for name in candidates} if before else {}
        chosen = min(mae, key=mae.get) if mae else next(iter(candidates))
        common = {}
        if before:
            past = [weekly(f, chosen) for f in before]
            actual = np.array([y[:, f:f + 7].sum(1) for f in before])
            common = {level: common_variance(np.array([p[0] for p in past]), np.array([p[1] for p in past]),
                                             actual, labels) for level, labels in levels.items()}
        return chosen, common

    def index_of(origin) -> int:
        return int((np.datetime64(origin, "D") - days[0]).astype(np.int64))

    weeks = []
    for origin in np.asarray(origins, dtype="datetime64[D]"):
        at = index_of(origin)
        if at < 0 or at + 7 > len(days):
            raise ValueError(f"week {origin} is not inside the days given")
        chosen, common = choose(at)
        expected, variance = weekly(at, chosen)
        lo, hi = sum_interval(expected, variance, interval)
        naive = y[:, at - 7:at].sum(1) if at >= 7 else np.full(s, np.nan)
        weeks.append(RecordWeek(origin, chosen, expected, variance, lo, hi, y[:, at:at + 7].sum(1), naive,
                                common))
    if now is None:
        now = (weeks[-1].start + np.timedelta64(7, "D")) if weeks else None
    common_now = choose(index_of(now))[1] if now is not None and len(days) else {}
    return Record(weeks, levels, common_now)


def total_interval(mean: float, variance: float, common: float, interval: float = INTERVAL) -> tuple[float, float]:
    """The interval of a total with the series' summed ``variance`` and the level's common variance."""
    lo, hi = sum_interval(np.array([mean]), np.array([variance + common * mean ** 2]), interval)
    return float(lo[0]), float(hi[0])


def _inside(actual, lo, hi) -> np.ndarray:
    return (np.asarray(actual) >= np.asarray(lo)) & (np.asarray(actual) <= np.asarray(hi))


def record_summary(record: Record, interval: float = INTERVAL) -> dict:
    """What the page and the API show of the record.

    * ``weeks``: per week, the total of all series (the view's total: its street, or the county)
      with its interval (``total_interval``) and whether the actual fell inside; the series'
      coverage (share of series whose actual weekly count fell inside their own interval) and MAE
      (mean absolute error of the series' weekly counts against the forecast mean the page shows),
      beside the naive forecast's MAE (each series' count of the week before).
    * ``units``: per unit (street) over the weeks: its weekly totals' coverage and MAE.
    * ``overall``: coverage of the totals (weeks inside of weeks), of the series-weeks, and the MAEs.
    """
    weeks = []
    series_in = series_n = 0
    err = err_naive = 0.0
    naive_n = total_in = 0
    per_unit: dict[str, dict] = {}
    units = record.levels.get("unit")
    for w in record.weeks:
        s = len(w.actual)
        tot_m, tot_v = float(w.expected.sum()), float(w.variance.sum())
        t_lo, t_hi = total_interval(tot_m, tot_v, w.common.get("total", 0.0), interval)
        actual = float(w.actual.sum())
        inside = bool(_inside(actual, t_lo, t_hi))
        s_in = int(_inside(w.actual, w.lo, w.hi).sum())
        e = np.abs(w.expected - w.actual)
        has_naive = np.isfinite(w.naive)
        e_naive = np.abs(w.naive[has_naive] - w.actual[has_naive])
        weeks.append({
            "start": w.start, "end": w.start + np.timedelta64(6, "D"), "memory": w.memory,
            "expected": tot_m, "lo": t_lo, "hi": t_hi, "actual": actual, "inside": inside,
            "series": s, "series_inside": s_in, "coverage": s_in / s if s else None,
            "mae": float(e.mean()) if s else None,
            "naive_mae": float(e_naive.mean()) if len(e_naive) else None,
        })
        total_in += inside
        series_in += s_in
        series_n += s
        err += float(e.sum())
        err_naive += float(e_naive.sum())
        naive_n += int(len(e_naive))
        if units is not None:
            t = totals_by(units, w.expected, w.variance, interval)
            act = totals_by(units, w.actual, np.zeros(s), interval).mean
            for i, unit in enumerate(t.keys):
                lo, hi = total_interval(float(t.mean[i]), float(t.variance[i]), w.common.get("unit", 0.0), interval)
                u = per_unit.setdefault(unit, {"weeks": 0, "inside": 0, "abs_error": 0.0, "actual": 0.0})
                u["weeks"] += 1
                u["inside"] += bool(_inside(act[i], lo, hi))
                u["abs_error"] += abs(float(t.mean[i]) - float(act[i]))
                u["actual"] += float(act[i])
    units_out = {unit: {"weeks": u["weeks"], "inside": u["inside"], "coverage": u["inside"] / u["weeks"],
                        "mae": u["abs_error"] / u["weeks"], "mean_actual": u["actual"] / u["weeks"]}
                 for unit, u in per_unit.items()}
    n = len(record.weeks)
    overall = {
        "weeks": n, "total_inside": total_in, "total_coverage": total_in / n if n else None,
        "series_weeks": series_n, "series_inside": series_in,
        "coverage": series_in / series_n if series_n else None,
        "mae": err / series_n if series_n else None,
        "naive_mae": err_naive / naive_n if naive_n else None,
        "mean_actual": float(np.mean([w.actual.mean() for w in record.weeks])) if series_n else None,
        "interval": interval,
    }
    return {"weeks": weeks, "units": units_out, "overall": overall}


# --- hotspots ------------------------------------------------------------------------------------------

TOP_HOTSPOTS = 10


def next_week_hotspots(y: np.ndarray, grids: list[str], top_n: int = TOP_HOTSPOTS,
                       params: hotspots.HotspotParams | None = None) -> list[dict]:
    """The grids with the most expected cases over the next 7 days, best first: the engine's grid
    model (``hotspots.grid_scores``: a grid's long-run rate shrunk toward its community's, updated by
    its last weeks) on daily counts y (G, T) of complete days. A grid's score depends only on its own
    counts and its community's, so the grids of a view score as they do county-wide.

    Rows: grid_code, rank (1-based within the grids given), expected (cases over 7 days)."""
    if not len(grids):
        return []
    p = replace(params or hotspots.HotspotParams(), top_n=top_n)
    top = hotspots.top_hotspots(np.asarray(y, dtype=float), list(grids), p)
    return [{"grid_code": g, "rank": int(r), "expected": float(e)}
            for g, r, e in zip(top.grids, top.rank, top.expected_week)]


def hotspot_record(y: np.ndarray, days: np.ndarray, grids: list[str], origins: np.ndarray,
                   top_n: int = TOP_HOTSPOTS, params: hotspots.HotspotParams | None = None) -> dict:
    """Per week starting at ``origins``: the share of the top ``top_n`` grids predicted from the days
    before the Monday that were among the week's actual top ``top_n`` (``hotspots.hit_rate``), beside
    the naive ranking by the week before. With fewer than ``top_n`` grids the top is all of them
    (hit rate 1) and the record says nothing: it is None then."""
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    if len(grids) <= top_n:
        return {"weeks": [], "hit_rate": None, "naive_hit_rate": None, "top_n": top_n}
    p = replace(params or hotspots.HotspotParams(), top_n=top_n)
    rows = []
    for origin in np.asarray(origins, dtype="datetime64[D]"):
        at = int((origin - days[0]).astype(np.int64))
        if at < 7 or at + 7 > len(days):
            continue
        scores = hotspots.grid_scores(y[:, :at], list(grids), p)
        predicted = np.argsort(-scores, kind="stable")[:top_n]
        actual_week = y[:, at:at + 7].sum(1)
        naive = hotspots.naive_rankings(y[:, :at], top_n)["last_week"]
        rows.append({"start": origin, "hit_rate": hotspots.hit_rate(predicted, actual_week, top_n),
                     "naive_hit_rate": hotspots.hit_rate(naive, actual_week, top_n)})
    return {"weeks": rows, "top_n": top_n,
            "hit_rate": float(np.mean([r["hit_rate"] for r in rows])) if rows else None,
            "naive_hit_rate": float(np.mean([r["naive_hit_rate"] for r in rows])) if rows else None}


# --- the section as the page and the API show it ---------------------------------------------------------

RECORD_WEEKS = 8


def record_days(weeks: int = RECORD_WEEKS, folds: int = forecast.SELECTION_FOLDS) -> int:
    """Complete days the record reads: the longest memory's year before the first fold of the first
    record week, the folds, the record weeks, and up to 6 days of the week in progress."""
    return max(p.history_days for p in forecast.MEMORIES.values()) + 7 * (weeks + folds + 1) + 6


def hotspot_days(weeks: int = RECORD_WEEKS) -> int:
    """Complete days the hotspots read: the grid model's history before the first record week."""
    return hotspots.HotspotParams().history_days + 7 * (weeks + 1) + 6


_MEMO_SIZE = 32
_memo_lock = threading.Lock()
_memo: OrderedDict[str, Record] = OrderedDict()


def _digest(*parts) -> str:
    h = hashlib.sha1()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str(part.dtype).encode() + str(part.shape).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
        h.update(b"|")
    return h.hexdigest()


def record_of(y: np.ndarray, days: np.ndarray, groups: list[str], units: list[str], origins: np.ndarray,
              now: np.datetime64) -> Record:
    """``weekly_record`` kept per process by its inputs (a county's record is about 60 model fits)."""
    key = _digest(np.asarray(y, dtype=float), np.asarray(days, dtype="datetime64[D]"), list(groups), list(units),
                  np.asarray(origins, dtype="datetime64[D]"), str(now))
    with _memo_lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    record = weekly_record(y, days, groups, units, origins, now=now)
    with _memo_lock:
        _memo[key] = record
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return record


def _num(value, digits: int = 1):
    return None if value is None else round(float(value), digits)


def _day(value) -> str:
    return str(np.datetime64(value, "D"))


def forecast_view(stored_rows: list[dict], street_days: np.ndarray, street_counts, grid_day_list: np.ndarray,
                  grid_codes: list[str], grid_y: np.ndarray, today, names: dict[str, str],
                  weeks: int = RECORD_WEEKS, top_n: int = TOP_HOTSPOTS, with_record: bool = True) -> dict:
    """The forecast section of a view as plain JSON-ready data (the page and ``/api/v1/review/forecast``).

    ``stored_rows``: the engine's stored forecast from T's date on (``data_access.forecasts.read_forecast``);
    only street rows are shown (per street x major category; the county's own rows are the engine's
    separate county model). ``street_days``/``street_counts``: daily counts per street x major
    category (``data_access.forecast_record.street_category_days``) for the record; ``grid_*``: daily
    counts per grid for the hotspots and their record; ``today``: T's local date; ``names``: codes
    to names (categories as ``cat:<code>``). ``with_record`` False (a community's or a grid's view,
    which the engine does not forecast): no record.

    Returns {"interval", "forecast": {...}, "hotspots": {...}, "record": {...}} (the API's shape).
    """
    today = np.datetime64(today, "D")
    keys, y = spikes.count_cube(street_counts, ["street", "major"], street_days, "n")
    record = None
    summary = None
    if keys and with_record:
        groups, units = [k[1] for k in keys], [k[0] for k in keys]
        origins = week_origins(street_days, today, weeks)
        record = record_of(y, street_days, groups, units, origins, monday_of(today))
        summary = record_summary(record)
    common = record.common_now if record is not None else {}

    rows = [r for r in stored_rows if isinstance(r.get("region_code"), str) and len(r["region_code"]) == 9]
    totals = forecast_totals(rows, common)

    def cat_name(code):
        return names.get(f"cat:{code}") or code

    def item(it):
        return {"expected": _num(it["expected"]), "lo80": int(it["lo"]), "hi80": int(it["hi"]), "days": it["days"]}

    fc = {
        "made_at": totals["made_at"],
        "start": str(totals["days"][0]) if totals["days"] else None,
        "end": str(totals["days"][1]) if totals["days"] else None,
        "days": totals["n_days"],
        "rows": [{"region_code": reg, "region_name": names.get(reg) or reg, "category_code": cat,
                  "category_name": cat_name(cat), **item(it)}
                 for (reg, cat), it in sorted(totals["cells"].items())],
        "regions": [{"region_code": reg, "region_name": names.get(reg) or reg, **item(it)}
                    for reg, it in sorted(totals["regions"].items())],
        "categories": [{"category_code": cat, "category_name": cat_name(cat), **item(it)}
                       for cat, it in sorted(totals["categories"].items())],
        "total": item(totals["total"]) if totals["total"] else None,
    }

    grid_y = np.asarray(grid_y, dtype=float)
    if len(grid_codes) and grid_y.size:
        # from the first day with a case, as the engine counts (days before it are unknown, not quiet)
        first = int(np.argmax(grid_y.sum(0) > 0))
        grid_y, grid_day_list = grid_y[:, first:], np.asarray(grid_day_list)[first:]
    spots = next_week_hotspots(grid_y, grid_codes, top_n) if len(grid_codes) else []
    hot_origins = week_origins(grid_day_list, today, weeks) if len(grid_day_list) else np.array([], "datetime64[D]")
    hot_record = hotspot_record(grid_y, grid_day_list, grid_codes, hot_origins, top_n) if len(grid_codes) else \
        {"weeks": [], "hit_rate": None, "naive_hit_rate": None, "top_n": top_n}
    hot = {
        "start": _day(today), "end": _day(today + np.timedelta64(6, "D")), "top_n": top_n,
        "grids": [{"grid_code": s["grid_code"], "rank": s["rank"], "expected": _num(s["expected"])} for s in spots],
        "record": {"top_n": hot_record["top_n"], "hit_rate": _num(hot_record["hit_rate"], 3),
                   "naive_hit_rate": _num(hot_record["naive_hit_rate"], 3),
                   "weeks": [{"start": _day(w["start"]), "hit_rate": _num(w["hit_rate"], 3),
                              "naive_hit_rate": _num(w["naive_hit_rate"], 3)} for w in hot_record["weeks"]]},
    }

    rec: dict[str, Any] = {"weeks": [], "regions": [], "overall": None}
    if summary is not None:
        rec["weeks"] = [{"start": _day(w["start"]), "end": _day(w["end"]), "memory": w["memory"],
                         "expected": _num(w["expected"]), "lo80": int(w["lo"]), "hi80": int(w["hi"]),
                         "actual": int(w["actual"]), "inside": w["inside"], "series": w["series"],
                         "series_inside": w["series_inside"], "coverage": _num(w["coverage"], 3),
                         "mae": _num(w["mae"], 2), "naive_mae": _num(w["naive_mae"], 2)} for w in summary["weeks"]]
        rec["regions"] = [{"region_code": unit, "region_name": names.get(unit) or unit, "weeks": u["weeks"],
                           "inside": u["inside"], "coverage": _num(u["coverage"], 3), "mae": _num(u["mae"], 1),
                           "mean_actual": _num(u["mean_actual"], 1)} for unit, u in sorted(summary["units"].items())]
        o = summary["overall"]
        rec["overall"] = {"weeks": o["weeks"], "total_inside": o["total_inside"],
                          "series_weeks": o["series_weeks"], "series_inside": o["series_inside"],
                          "coverage": _num(o["coverage"], 3), "mae": _num(o["mae"], 2),
                          "naive_mae": _num(o["naive_mae"], 2), "mean_actual": _num(o["mean_actual"], 2)}
    return {"interval": INTERVAL, "forecast": fc, "hotspots": hot, "record": rec}
