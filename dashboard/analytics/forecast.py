"""Forecast (预测研判): the next days' expected cases per series (street x major category), with 80 % intervals.

Simple baselines are strong for counts like these (M5: only 36 % of teams beat seasonal naive), so
the model stays small and pools wherever one series is too thin:

    mu(s, t) = share(s) * G(g, t) * f(g, type(t))

* ``f``: the day-type profile of the series' group g (its major category), pooled over the group:
  Monday..Sunday, plus public holidays on a weekday (their own type, shrunk toward the weekend
  when the history holds few of them); make-up working days (调休) count as a Friday.
* ``G``: the group's county-wide level, day-type-adjusted, as a Poisson log-linear fit over the
  recent weeks (half-life ``group_half_life``) with a damped trend: categories follow seasons
  (summer noise fades through the autumn, wage disputes build before the Spring Festival), and
  the pooled group sees that long before one street does. Storm days and other bursts are
  winsorized first so one flood does not lift next week.
* ``share``: the series' part of its group, an exponentially weighted ratio of its counts to the
  group curve (half-life ``half_life_days``), shrunk toward its unit's (street's) share of all
  cases with ``prior_cases`` pseudo cases: a thin series borrows from its street, a busy one
  speaks for itself. The last weeks (half-life ``recent_half_life``) then update that share with
  it as their prior worth ``recent_prior_days`` days: a new construction site or market shows
  within a week or two, one odd day does not.

How far back the model looks is not fixed: ``MEMORIES`` holds a short memory (12 weeks, the
half-lives above), half a year and a year (long half-lives, no recent-share update), and
``forecast_selected`` uses the one whose forecasts of each of the last ``SELECTION_FOLDS`` weeks,
made from the days before that week, had the smallest absolute error. A county that moves
(seasons, new sites, holiday weeks) keeps the short memory; where nothing moves, the long ones
stop the short memory's recent terms from chasing noise (docs/benchmarks.md 5.5).

Intervals are negative-binomial quantiles with the series' k estimated by moments, plus the
uncertainty of the share; ``median`` is the NB median (the point forecast that minimises the
absolute error; ``expected`` stays the mean the wall shows).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .holidays import HOLIDAY, day_types
from .spikes import _fit_level_trend, nb_quantile, weekday

N_TYPES = 8


@dataclass(frozen=True)
class ForecastParams:
    history_days: int = 84
    half_life_days: float = 28.0     # of a series' share of its group
    horizon: int = 7
    interval: float = 0.80
    dow_strength: float = 5.0        # pseudo days pulling each day-type factor toward its prior
    group_half_life: float = 14.0    # of the group level and trend
    trend_damping: float = 0.9       # per day: the trend's effect fades over the horizon
    max_trend: float = 0.03          # |log change a day| of the group level at most
    trend_z: float = 2.0             # a group trend is kept only when |slope| > trend_z se
    prior_cases: float = 3.0         # pseudo cases pulling a share toward its unit's share
    winsor_z: float = 3.0            # counts above fitted + z sd (+1) are cut there
    holidays: bool = True            # False: plain weekdays (public holidays and 调休 ignored)
    recent_half_life: float = 7.0
    recent_prior_days: float = 14.0   # the recent share's prior worth in days; inf: long-run share only
    unit_profile_strength: float = 50.0   # pseudo cases per day type; inf: every unit keeps its groups' week


@dataclass
class Forecast:
    days: np.ndarray        # (H,) datetime64[D]
    expected: np.ndarray    # (S, H)
    lo: np.ndarray          # (S, H)
    hi: np.ndarray          # (S, H)
    median: np.ndarray | None = None   # (S, H)


def type_profile(total: np.ndarray, types: np.ndarray, strength: float) -> np.ndarray:
    """Day-type factors (8,) of one group from its daily totals: weekdays mean 1 over the week;
    the holiday type falls back to the weekend's mean factor when the history has few holidays."""
    total = np.asarray(total, dtype=float)
    n = np.bincount(types, minlength=N_TYPES).astype(float)
    s = np.bincount(types, weights=total, minlength=N_TYPES)
    week_mean = np.mean([s[i] / n[i] for i in range(7) if n[i] > 0]) if (n[:7] > 0).any() else 0.0
    if week_mean <= 0:
        return np.ones(N_TYPES)
    raw = np.where(n > 0, s / np.maximum(n, 1) / week_mean, 1.0)
    # shrink each weekday toward 1 with ``strength`` pseudo days (in units of a mean day)
    pseudo = strength / max(week_mean, 1e-9) * max(week_mean, 1.0)
    f = np.ones(N_TYPES)
    f[:7] = (raw[:7] * n[:7] * week_mean + pseudo) / (n[:7] * week_mean + pseudo)
    f[:7] /= f[:7].mean()
    weekend = 0.5 * (f[5] + f[6])
    f[HOLIDAY] = (raw[HOLIDAY] * n[HOLIDAY] + 2.0 * weekend) / (n[HOLIDAY] + 2.0)
    return f


def _winsorize(y: np.ndarray, fitted: np.ndarray, z: float, rel_sd: float = 0.0) -> np.ndarray:
    """Cut counts above fitted + z sd (+1); sd of Poisson noise plus a relative day-to-day spread."""
    fitted = np.maximum(fitted, 0.0)
    cap = fitted + z * np.sqrt(fitted + (rel_sd * fitted) ** 2) + 1.0
    return np.minimum(y, np.maximum(cap, 1.0))


def _extra_spread(y: np.ndarray, fitted: np.ndarray) -> float:
    """Robust relative sd of y around fitted beyond Poisson noise (days differ as a whole)."""
    ok = fitted > 0
    if ok.sum() < 7:
        return 0.0
    r = y[ok] / fitted[ok] - 1.0
    mad = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    return float(np.sqrt(max(mad ** 2 - 1.0 / max(float(np.mean(fitted[ok])), 1e-9), 0.0)))


def forecast_counts(y: np.ndarray, days: np.ndarray, groups: list[str], params: ForecastParams = ForecastParams(),
                    first_day: int = 0, units: list[str] | None = None) -> Forecast:
    """Forecast the ``horizon`` days after ``days[-1]`` for each series of y (S, T).

    ``groups`` names each series' group (its major category); ``units`` (optional) each series'
    unit (its street): a thin series' share is pulled toward its unit's share of all cases.
    ``first_day`` is the first index with data (days before it are unknown, not zero).
    """
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    lo_idx = max(first_day, len(days) - params.history_days)
    y, days = y[:, lo_idx:], days[lo_idx:]
    s, n = y.shape
    h_n = params.horizon
    future = days[-1] + np.arange(1, h_n + 1).astype("timedelta64[D]")
    if n == 0 or s == 0:
        empty = np.zeros((s, h_n))
        return Forecast(future, empty, empty, empty, empty)
    types = day_types(days) if params.holidays else weekday(days)
    ftypes = day_types(future) if params.holidays else weekday(future)
    groups = np.asarray(groups)
    t = np.arange(n, dtype=float)
    w_share = 0.5 ** ((n - 1 - t) / params.half_life_days)
    w_group = 0.5 ** ((n - 1 - t) / params.group_half_life)
    x = (t - (n - 1)) / 7.0                                   # weeks, 0 on the last day
    step = params.trend_damping ** np.arange(1, h_n + 1)
    damped_days = np.cumsum(step)                             # effective days of trend ahead

    f_hist = np.ones((s, n))
    f_fut = np.ones((s, h_n))
    curve = np.ones((s, n))                                   # group level G per day (in-sample)
    g_fut = np.ones((s, h_n))
    cut = np.ones((s, n))                                     # share of each day's count kept after winsorizing
    for gname in np.unique(groups):
        sel = groups == gname
        total = y[sel].sum(0)
        # winsorize bursts against a running median, then the profile, level and trend of what is left
        level0 = np.maximum(_rolling_median(total, 7), 0.5)
        prof0 = np.ones(N_TYPES)
        for ty in np.unique(types):
            prof0[ty] = max(float(np.median(total[types == ty] / level0[types == ty])), 0.05)
        fit0 = level0 * prof0[types]
        clean = _winsorize(total, fit0, params.winsor_z, _extra_spread(total, fit0))
        prof = type_profile(clean, types, params.dow_strength)
        cut[sel] = np.where(total > 0, clean / np.maximum(total, 1e-9), 1.0)   # a group-wide burst leaves every series
        off = np.log(np.maximum(prof[types], 1e-9))
        a, b, se_b = _fit_level_trend(clean[None], off[None], x[None], w_group[None], n >= 21)
        b_day = float(np.clip(b[0] / 7.0, -params.max_trend, params.max_trend))
        if not np.isfinite(se_b[0]) or abs(b[0]) < params.trend_z * se_b[0]:
            b_day = 0.0
            a = _fit_level_trend(clean[None], off[None], x[None], w_group[None], False)[0]
        level_end = float(np.exp(a[0]))
        f_hist[sel] = prof[types]
        f_fut[sel] = prof[ftypes]
        # in-sample curve: the cleaned, type-adjusted totals smoothed over a fortnight
        curve[sel] = np.maximum(_rolling_mean(clean / prof[types], 14), 1e-3)
        g_fut[sel] = level_end * np.exp(b_day * damped_days)
    if units is not None and params.unit_profile_strength < np.inf:
        ratio = _unit_profile_ratio(y, types, f_hist, np.asarray(units), params.unit_profile_strength)
        f_hist = f_hist * ratio[:, types]
        f_fut = f_fut * ratio[:, ftypes]
    # shares: each series' weighted counts over its group's expected counts (share 1)
    unit_fitted = curve * f_hist
    y_cut = y * cut
    y_clean = _winsorize(y_cut, _series_scale(y_cut, unit_fitted, w_share)[:, None] * unit_fitted, params.winsor_z)
    cases = (w_share * y_clean).sum(1)
    exposure = np.maximum((w_share * unit_fitted).sum(1), 1e-9)
    prior = _unit_prior(y_clean, unit_fitted, w_share, groups, units)
    share = (cases + params.prior_cases * prior) / (exposure + params.prior_cases)
    if np.isfinite(params.recent_prior_days):
        # the last weeks with the long-run share as their gamma prior: a step (a new site) shows sooner
        w_recent = 0.5 ** ((n - 1 - t) / params.recent_half_life)
        e_recent = (w_recent * unit_fitted).sum(1)
        prior_e = params.recent_prior_days * e_recent / max(w_recent.sum(), 1e-9)
        share = ((w_recent * y_clean).sum(1) + share * prior_e) / np.maximum(e_recent + prior_e, 1e-9)
    expected = share[:, None] * g_fut * f_fut
    # dispersion by moments over the history (weighted), share uncertainty from the effective count
    fitted = share[:, None] * unit_fitted
    num = (w_share * ((y_clean - fitted) ** 2 - fitted)).sum(1)
    den = np.maximum((w_share * fitted ** 2).sum(1), 1e-9)
    k_pool = max(num.sum() / den.sum(), 0.0)
    k = np.clip((num + 20.0 * k_pool) / (den + 20.0), 0.0, 3.0)
    k = k + 1.0 / (cases + params.prior_cases + 1.0)
    tail = (1.0 - params.interval) / 2.0
    lo = nb_quantile(tail, expected, k[:, None])
    hi = nb_quantile(1.0 - tail, expected, k[:, None])
    med = nb_quantile(0.5, expected, k[:, None])
    return Forecast(future, expected, np.nan_to_num(lo), np.nan_to_num(hi), np.nan_to_num(med))


# How long the model remembers. The short memory follows a county that moves (seasons, a new site,
# holiday weeks); the long ones do not chase noise when nothing moves. Which one a county needs is
# not known in advance, so ``forecast_selected`` lets the last weeks decide.
MEMORIES: dict[str, ForecastParams] = {
    "weeks": ForecastParams(),
    "half-year": replace(ForecastParams(), history_days=182, half_life_days=90.0, group_half_life=56.0,
                         recent_prior_days=np.inf),
    "year": replace(ForecastParams(), history_days=364, half_life_days=180.0, group_half_life=120.0,
                    recent_prior_days=np.inf),
}
SELECTION_FOLDS = 10


@dataclass
class Selection:
    """Which memory ``forecast_selected`` used and why: each candidate's backtest MAE (of its median)."""
    chosen: str
    mae: dict[str, float] = field(default_factory=dict)
    folds: int = 0


def backtest_mae(y: np.ndarray, days: np.ndarray, groups: list[str], candidates: dict[str, ForecastParams],
                 folds: int = SELECTION_FOLDS, units: list[str] | None = None, first_day: int = 0,
                 min_days: int = 28) -> tuple[dict[str, float], int]:
    """Each candidate's MAE per series and day over the last ``folds`` weeks, each week forecast
    from the days before it (rolling origin), scored on the median (the point that minimises MAE).

    Returns ({name: MAE}, folds used); folds stop where fewer than ``min_days`` days would remain."""
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    groups_a = np.asarray(groups)
    units_a = None if units is None else np.asarray(units)
    n = y.shape[1]
    err = {name: 0.0 for name in candidates}
    points, used = 0, 0
    for k in range(1, folds + 1):
        origin = n - 7 * k
        if origin - first_day < min_days:
            break
        seen = y[:, first_day:origin].sum(1) > 0
        actual = y[:, origin:origin + 7]
        for name, params in candidates.items():
            p = replace(params, horizon=7)
            e = actual.sum(1)                       # a series with no case yet is forecast 0
            if seen.any():
                fc = forecast_counts(y[seen, :origin], days[:origin], list(groups_a[seen]), p, first_day=first_day,
                                     units=None if units_a is None else list(units_a[seen]))
                e[seen] = np.abs(fc.median - actual[seen]).sum(1)
            err[name] += float(e.sum())
        points += actual.size
        used += 1
    return {name: v / points for name, v in err.items()} if points else {}, used


def forecast_selected(y: np.ndarray, days: np.ndarray, groups: list[str],
                      candidates: dict[str, ForecastParams] | None = None, folds: int = SELECTION_FOLDS,
                      first_day: int = 0, units: list[str] | None = None) -> tuple[Forecast, Selection]:
    """The forecast of the candidate memory with the smallest backtest MAE over the last ``folds``
    weeks (``MEMORIES`` by default; the first candidate while the history is too short to judge)."""
    candidates = candidates or MEMORIES
    mae, used = backtest_mae(y, days, groups, candidates, folds, units, first_day)
    chosen = min(mae, key=mae.get) if mae else next(iter(candidates))
    fc = forecast_counts(y, days, groups, candidates[chosen], first_day=first_day, units=units)
    return fc, Selection(chosen, mae, used)


def _unit_profile_ratio(y: np.ndarray, types: np.ndarray, f_hist: np.ndarray, units: np.ndarray,
                        strength: float) -> np.ndarray:
    """Per series (S, 8): how its unit's (street's) week departs from what its groups' profiles
    predict (a street whose grids are mostly patrolled is quieter at weekends), pooled over all
    the unit's series and shrunk toward 1 with ``strength`` pseudo cases per day type."""
    out = np.ones((y.shape[0], N_TYPES))
    for u in np.unique(units):
        sel = units == u
        obs = np.bincount(types, weights=y[sel].sum(0), minlength=N_TYPES)
        # expected under the group profiles, scaled to the unit's total
        base = f_hist[sel] * (y[sel].sum(1, keepdims=True) / np.maximum(f_hist[sel].sum(1, keepdims=True), 1e-9))
        exp = np.bincount(types, weights=base.sum(0), minlength=N_TYPES)
        r = (obs + strength) / (exp + strength)
        out[sel] = r / max(float((r * exp).sum() / max(exp.sum(), 1e-9)), 1e-9)
    return out


def _series_scale(y: np.ndarray, unit_fitted: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A first, unshrunk share per series (for the winsorizing cap)."""
    return ((w * y).sum(1) + 0.5) / np.maximum((w * unit_fitted).sum(1), 1e-9)


def _unit_prior(y, unit_fitted, w, groups, units) -> np.ndarray:
    """Each series' prior share: its unit's share of all cases (units given), else its group's mean share."""
    s = y.shape[0]
    if units is None:
        out = np.ones(s)
        for gname in np.unique(groups):
            sel = groups == gname
            out[sel] = 1.0 / sel.sum()
        return out
    units = np.asarray(units)
    # the unit's share of the cases of all groups, weighted like the shares
    tot_all = (w * y).sum()
    out = np.ones(s)
    if tot_all <= 0:
        for gname in np.unique(groups):
            out[groups == gname] = 1.0 / (groups == gname).sum()
        return out
    unit_cases = {u: (w * y[units == u]).sum() for u in np.unique(units)}
    # a unit's share of the county (from the groups it appears in): its cases over the cases of all units
    for i in range(s):
        out[i] = unit_cases[units[i]] / tot_all
    return out


def _rolling_median(v: np.ndarray, width: int) -> np.ndarray:
    """The median of each day's centred window (cut at the ends): the interior in one vectorised step."""
    v = np.asarray(v, dtype=float)
    n = len(v)
    half = width // 2
    if n <= 2 * half:
        return np.array([np.median(v[max(0, i - half): min(n, i + half + 1)]) for i in range(n)])
    out = np.empty(n)
    out[half:n - half] = np.median(np.lib.stride_tricks.sliding_window_view(v, 2 * half + 1), axis=1)
    for i in (*range(half), *range(n - half, n)):
        out[i] = np.median(v[max(0, i - half): min(n, i + half + 1)])
    return out


def _rolling_mean(v: np.ndarray, width: int) -> np.ndarray:
    n = len(v)
    half = width // 2
    c = np.concatenate([[0.0], np.cumsum(v)])
    lo = np.maximum(0, np.arange(n) - half)
    hi = np.minimum(n, np.arange(n) + half + 1)
    return (c[hi] - c[lo]) / (hi - lo)


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
