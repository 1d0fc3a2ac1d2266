"""Forecast (预测研判): the next days' expected cases per series (street x major category), with 80 % intervals.

Simple baselines are strong for counts like these (M5: only 36 % of teams beat seasonal naive), so
the model is small: a multiplicative level x day-of-week model,

    mu(s, t) = level(s) * f(major(s), weekday(t)),

where the level is an exponentially weighted mean of the series' day-of-week-adjusted counts
(half-life ``half_life_days``: recent weeks count more, old ones still steady it), and the
day-of-week profile is pooled over every series of the same major category (one street's week is
too noisy to fit its own). Intervals are negative-binomial quantiles with the series' k estimated
by moments, plus the uncertainty of the level itself.

Against the naive forecasts (last week's same weekday, the 4-week mean, the 4-week same-weekday
mean) it wins by averaging more days than they do while keeping the weekly rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spikes import dow_factors, nb_quantile, weekday


@dataclass(frozen=True)
class ForecastParams:
    history_days: int = 84
    half_life_days: float = 28.0
    horizon: int = 7
    interval: float = 0.80
    dow_strength: float = 5.0


@dataclass
class Forecast:
    days: np.ndarray        # (H,) datetime64[D]
    expected: np.ndarray    # (S, H)
    lo: np.ndarray          # (S, H)
    hi: np.ndarray          # (S, H)


def forecast_counts(y: np.ndarray, days: np.ndarray, groups: list[str], params: ForecastParams = ForecastParams(),
                    first_day: int = 0) -> Forecast:
    """Forecast the ``horizon`` days after ``days[-1]`` for each series of y (S, T).

    ``groups`` names each series' day-of-week group (its major category); ``first_day`` is the
    first index with data (days before it are unknown, not zero).
    """
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    lo_idx = max(first_day, len(days) - params.history_days)
    y, days = y[:, lo_idx:], days[lo_idx:]
    s, n = y.shape
    future = days[-1] + np.arange(1, params.horizon + 1).astype("timedelta64[D]")
    if n == 0 or s == 0:
        empty = np.zeros((s, params.horizon))
        return Forecast(future, empty, empty, empty)
    wd = weekday(days)
    age = (n - 1 - np.arange(n)).astype(float)
    weight = 0.5 ** (age / params.half_life_days)
    # day-of-week profile per group, pooled over its series
    groups = np.asarray(groups)
    n_days = np.bincount(wd, minlength=7).astype(float)
    n_days[n_days == 0] = 1.0
    profile = {}
    for gname in np.unique(groups):
        tot = y[groups == gname].sum(0)
        per_day = np.bincount(wd, weights=tot, minlength=7) / n_days
        profile[gname] = dow_factors(per_day * 7, strength=params.dow_strength)[0]
    f = np.array([profile[gname] for gname in groups])          # (S, 7)
    f_hist = f[:, wd]
    level = (weight * y).sum(1) / np.maximum((weight * f_hist).sum(1), 1e-9)
    fitted = level[:, None] * f_hist
    # dispersion by moments over the history (weighted), level uncertainty from the effective count
    num = (weight * ((y - fitted) ** 2 - fitted)).sum(1)
    den = np.maximum((weight * fitted ** 2).sum(1), 1e-9)
    k_pool = max(num.sum() / den.sum(), 0.0)
    k = np.clip((num + 20.0 * k_pool) / (den + 20.0), 0.0, 3.0)
    eff_cases = (weight * y).sum(1)
    k = k + 1.0 / (eff_cases + 1.0)
    expected = level[:, None] * f[:, weekday(future)]
    tail = (1.0 - params.interval) / 2.0
    lo = nb_quantile(tail, expected, k[:, None])
    hi = nb_quantile(1.0 - tail, expected, k[:, None])
    return Forecast(future, expected, np.nan_to_num(lo), np.nan_to_num(hi))


def naive_forecasts(y: np.ndarray, horizon: int = 7) -> dict[str, np.ndarray]:
    """The naive baselines the model must beat, each (S, horizon): last week's same weekday
    (seasonal naive), the 4-week mean, the 4-week same-weekday mean."""
    y = np.asarray(y, dtype=float)
    s, n = y.shape
    out = {}
    h = np.arange(horizon)
    out["last_week"] = y[:, n - 7 + (h % 7)] if n >= 7 else np.repeat(y.mean(1, keepdims=True), horizon, 1)
    out["mean_4w"] = np.repeat(y[:, -28:].mean(1, keepdims=True), horizon, 1)
    if n >= 28:
        out["weekday_mean_4w"] = np.stack([y[:, [n - 7 * j + (i % 7) - 7 for j in range(4)]].mean(1) for i in h], axis=1)
    return out
