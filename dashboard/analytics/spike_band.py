"""A rise's evidence as a duty officer reads it: the series' daily counts with the expected level,
its usual range and the count that would alarm, day by day (issue 17 §4).

Each day is judged as the detector judges it (``spikes.test_day``: the same baseline window, guard
days, day-of-week factors, negative-binomial fit, and EARS for a short history), on one series at a
time. One difference: the detector shrinks the series' overdispersion ``k`` toward the pooled ``k``
of every series it tests that day; alone, a series has only its own, so the band can be a little
wider or narrower than the detector's was. The engine stores the band it computed when it raised
the alert (``detail.band``, ``dashboard.warning.case_detectors``); the alert view recomputes only
what that does not cover (the days after, and alerts raised before the band was stored).

Pure numpy: the counts come from ``data_access.feeds_cases.case_facts`` (the engine) or
``data_access.alert_evidence.series_day_counts`` (the alert view).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import spikes

DAYS_BEFORE = 21   # the weeks before the alert's window shown (3 weeks: within the engine's 84 days of facts)
DAYS_AFTER = 7     # the days after it, once they are complete
USUAL = 0.9        # the usual range: the central 90 % of the expected distribution
# Days of counts a band needs before its first shown day: a full baseline, the guard and the windows.
HISTORY_DAYS = spikes.SpikeParams().baseline_days + spikes.SpikeParams().guard_days + max(spikes.SpikeParams().windows)


def level_of(region_code: str, category_code: str) -> tuple[str, str]:
    """The detector's level of a series: (street | community, major | category_code)."""
    return ("street" if len(region_code) == 9 else "community", "major" if len(category_code) == 2 else "category_code")


def alpha_for(region_code: str, category_code: str, stored: Any = None) -> float:
    """The per-test level the detector used: the alert's own (``detail.alpha``), else the default of its level."""
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and 0 < stored < 1:
        return float(stored)
    return spikes.DEFAULT_ALPHA[level_of(region_code, category_code)]


def category_dow(days: np.ndarray, baseline: np.ndarray, major_daily: np.ndarray,
                 minor_daily: np.ndarray | None = None) -> np.ndarray:
    """Day-of-week factors (7,) of one category as the detector estimates them
    (``spikes._dow_by_category``): the major's over the baseline days, shrunk toward flat; a minor's
    shrunk toward its major's. ``baseline`` is a boolean mask over ``days``; the daily arrays are the
    category's counts in the whole area (not only the series' region)."""
    days = np.asarray(days, dtype="datetime64[D]")
    wd = spikes.weekday(days[baseline])
    n_days = np.bincount(wd, minlength=7).astype(float)
    n_days[n_days == 0] = 1.0

    def per_day(daily):
        return np.bincount(wd, weights=np.asarray(daily, dtype=float)[baseline], minlength=7) / n_days * 7

    major_f = spikes.dow_factors(per_day(major_daily)[None, :], strength=5.0)[0]
    if minor_daily is None:
        return major_f
    return spikes.dow_factors(per_day(minor_daily)[None, :], prior=major_f[None, :], strength=10.0)[0]


def alarm_count(mu: float, k: float, alpha: float, params: spikes.SpikeParams = spikes.SpikeParams()) -> int:
    """The smallest count of one day that the detector would alarm at: improbable (upper tail below
    ``alpha``) and large (``min_count``, ``min_excess``, ``min_ratio``)."""
    c = int(spikes.nb_quantile(1.0 - alpha, mu, k)) + 1
    c = max(c, params.min_count, math.ceil(mu + params.min_excess - 1e-9), math.ceil(params.min_ratio * mu - 1e-9))
    for _ in range(50):
        if float(spikes.nb_upper_p(c, mu, k)) < alpha:
            break
        c += 1
    return int(c)


def _num(x: float, digits: int = 2) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def series_band(y: np.ndarray, days: np.ndarray, dow_f: np.ndarray, shown: range, alpha: float,
                params: spikes.SpikeParams = spikes.SpikeParams(), first_day: int = 0) -> dict[str, Any]:
    """The band of the days ``shown`` (indices into ``days``) of one series.

    ``y`` (T,) daily counts on ``days`` (T,) datetime64[D]; ``dow_f`` (7,); ``first_day`` the first
    index with data (history before it is unknown, not zero). Returns the compact form the engine
    stores in ``detail.band``: ``start`` (the first shown day), per shown day ``observed``,
    ``expected``, ``lo`` and ``hi`` (the usual range), ``alarm_at`` (the count that would alarm) and
    ``alarm`` (the day alarmed in one of the detector's windows), plus ``usual``, ``alpha`` and the
    ``method`` of the last day ("nb" or "ears"). Values are None where the history is too short.
    """
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    dow_f = np.asarray(dow_f, dtype=float).reshape(1, 7)
    out: dict[str, Any] = {"start": str(days[shown.start]) if len(shown) else None, "observed": [], "expected": [],
                           "lo": [], "hi": [], "alarm_at": [], "alarm": [], "usual": USUAL,
                           "alpha": float(f"{alpha:.3g}"), "method": None}
    tail = (1.0 - USUAL) / 2
    for d in shown:
        res = spikes.test_day(y[None, : d + 1], days[: d + 1], d, dow_f, alpha, params, first_day=first_day)
        mu = float(res.expected[1][0]) if 1 in res.expected else float("nan")
        out["observed"].append(int(y[d]))
        out["method"] = res.method
        if not np.isfinite(mu):
            for key in ("expected", "lo", "hi", "alarm_at"):
                out[key].append(None)
            out["alarm"].append(False)
            continue
        k = float(res.k[0]) if res.method == "nb" else 0.1 + 1.0 / (7.0 * mu + 1.0)
        out["expected"].append(_num(mu))
        out["lo"].append(int(spikes.nb_quantile(tail, mu, k)))
        out["hi"].append(int(spikes.nb_quantile(1.0 - tail, mu, k)))
        out["alarm_at"].append(alarm_count(mu, k, alpha, params))
        out["alarm"].append(bool(res.alarm[0]))
    return out


def band_days(band: dict[str, Any]) -> list[str]:
    """The local dates (YYYY-MM-DD) of a band's values."""
    try:
        start = np.datetime64(band["start"], "D")
    except (KeyError, TypeError, ValueError):
        return []
    n = len(band.get("observed") or [])
    return [str(start + np.timedelta64(i, "D")) for i in range(n)]


def facts_band(facts, region_code: str, category_code: str, first_shown: np.datetime64, last_shown: np.datetime64,
               alpha: float, params: spikes.SpikeParams = spikes.SpikeParams()) -> dict[str, Any] | None:
    """The band of one series from the engine's case facts (``data_access.feeds_cases.case_facts``:
    columns day, street, community, category_code, major): what ``detail.band`` stores."""
    if not len(facts):
        return None
    first_shown, last_shown = np.datetime64(first_shown, "D"), np.datetime64(last_shown, "D")
    d = facts["day"].values.astype("datetime64[D]")
    first_data = d.min()
    start = max(first_data, first_shown - np.timedelta64(HISTORY_DAYS, "D"))
    first_shown = max(first_shown, start)
    if last_shown < first_shown:
        return None
    days = np.arange(start, last_shown + np.timedelta64(1, "D"), dtype="datetime64[D]")
    region_col = "street" if len(region_code) == 9 else "community"
    cat_col = "major" if len(category_code) == 2 else "category_code"
    inside = (d >= start) & (d <= last_shown)
    t = (d - start).astype(np.int64)

    def daily(mask) -> np.ndarray:
        return np.bincount(t[mask & inside], minlength=len(days))[: len(days)].astype(float)

    major = facts["major"].values == category_code[:2]
    series = daily((facts[region_col].values == region_code) & (facts[cat_col].values == category_code))
    minor = daily(facts["category_code"].values == category_code) if cat_col == "category_code" else None
    return band_from_counts(days, series, daily(major), minor, first_shown, last_shown, alpha,
                            first_day=int((first_data - start).astype(np.int64)) if first_data > start else 0,
                            params=params)


def band_from_counts(days: np.ndarray, series: np.ndarray, major_daily: np.ndarray, minor_daily: np.ndarray | None,
                     first_shown, last_shown, alpha: float, first_day: int = 0,
                     params: spikes.SpikeParams = spikes.SpikeParams()) -> dict[str, Any]:
    """``series_band`` over [first_shown, last_shown], with the category's day-of-week factors taken
    over the baseline of the last shown day (the detector takes them over each tested day's; over a
    few weeks they hardly move)."""
    days = np.asarray(days, dtype="datetime64[D]")
    lo = int((np.datetime64(first_shown, "D") - days[0]).astype(np.int64))
    hi = int((np.datetime64(last_shown, "D") - days[0]).astype(np.int64))
    end = max(0, hi - params.guard_days)
    baseline = np.zeros(len(days), dtype=bool)
    baseline[max(first_day, end - params.baseline_days): end] = True
    dow_f = category_dow(days, baseline, major_daily, minor_daily)
    return series_band(series, days, dow_f, range(max(lo, 0), hi + 1), alpha, params, first_day=first_day)
