"""EARS C1, C2 and C3 (CDC Early Aberration Reporting System) for series with little history.

C1: baseline = the 7 days before t; C2: the 7 days t-9..t-3 (a 2-day guard band); C3: the sum of
max(0, C2 - 1) over t, t-1 and t-2. Alarm thresholds of the original method: 3 for C1/C2, 2 for C3.

The baseline standard deviation is floored: a quiet series (all zeros, sd 0) would otherwise alarm
at its first case. The floor is ``max(sd, sqrt(mean), MIN_SD)``, i.e. never tighter than Poisson.
"""

from __future__ import annotations

import numpy as np

MIN_SD = 0.5
THRESHOLD = {"C1": 3.0, "C2": 3.0, "C3": 2.0}


def _window_stats(y: np.ndarray, lag: int, width: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Mean and floored sd of y[..., t-lag-width+1 .. t-lag] for each t (NaN where not available)."""
    y = np.asarray(y, dtype=float)
    n = y.shape[-1]
    mean = np.full(y.shape, np.nan)
    sd = np.full(y.shape, np.nan)
    for t in range(lag + width - 1, n):
        base = y[..., t - lag - width + 1: t - lag + 1]
        mu = base.mean(axis=-1)
        mean[..., t] = mu
        sd[..., t] = np.maximum.reduce([base.std(axis=-1, ddof=1), np.sqrt(mu), np.full(mu.shape, MIN_SD)])
    return mean, sd


def c1(y: np.ndarray) -> np.ndarray:
    """C1 statistic for every day (NaN for the first 7 days)."""
    mean, sd = _window_stats(y, lag=1)
    return (np.asarray(y, dtype=float) - mean) / sd


def c2(y: np.ndarray) -> np.ndarray:
    """C2 statistic for every day (NaN for the first 9 days)."""
    mean, sd = _window_stats(y, lag=3)
    return (np.asarray(y, dtype=float) - mean) / sd


def c3(y: np.ndarray) -> np.ndarray:
    """C3 statistic: sum over the day and the two before of max(0, C2 - 1)."""
    z = np.maximum(0.0, c2(y) - 1.0)
    out = np.full(z.shape, np.nan)
    for t in range(2, z.shape[-1]):
        out[..., t] = z[..., t - 2: t + 1].sum(axis=-1)
    return out


def ears_expected(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C2's baseline mean and floored sd for every day (the 'expected' reported with a C alarm)."""
    return _window_stats(y, lag=3)


def ears_alarms(y: np.ndarray, method: str = "C2", threshold: float | None = None) -> np.ndarray:
    """Boolean alarms per day for ``method`` in C1, C2, C3 (False where the statistic is undefined)."""
    stat = {"C1": c1, "C2": c2, "C3": c3}[method](y)
    limit = THRESHOLD[method] if threshold is None else threshold
    return np.nan_to_num(stat, nan=-np.inf) > limit
