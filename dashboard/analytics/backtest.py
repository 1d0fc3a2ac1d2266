"""Backtest (回测): the forecast and the hotspots replayed week by week over a history, against naive rules.

Pure functions: daily count cubes in, metrics out (``dashboard.warning.backtest`` reads the cubes
and calls these; ``gridwall backtest`` prints them).

**Forecast.** For each weekly origin ``o`` (a local day), the forecast of the 7 days ``o``..``o+6``
is made from the days before ``o`` exactly as the engine's daily run makes it on day ``o``
(``forecast.forecast_selected`` over the memories, on the ``history_days`` before ``o``, starting at
the first day with a case, series = the street x major (or region x major) pairs with a case in
that history, groups = the major categories, units = the streets). Its median is the point
forecast scored (it minimises the absolute error; the mean is reported beside it). The naive
baselines, per series:

* ``last_week``: the same weekday a week before;
* ``mean_4w``: the mean day of the last 28 days;
* ``seasonal``: the same weekday 52 weeks before, only where the history holds that day;
* ``weekday_mean_4w``, ``median_4w``, ``weekday_median_4w``: the mean of the last four same
  weekdays, the median day of the last 28 days, the median of the last four same weekdays (the
  medians because a median point scored by absolute error against naive means alone would
  flatter the model).

MAE is per series and day, pooled over the weeks. A series with no case in the history is
forecast 0 by every method; it is scored only in weeks it has cases. A week is scored only with
at least ``min_history_days`` days of data before it (every naive rule then has its 4 weeks).

**Hotspots.** At each origin the grids are ranked for the next 7 days by the engine's scores
(``hotspots.grid_scores`` on the ``hotspot_days`` before ``o``, the grids with a case there) and
by the naive counts of the last 1, 4 and 12 weeks. The top ``top_share`` of the grids (at least
one) is the predicted hotspot set. *Hit rate*: the share of the week's cases (in grids) that fall
in it. *PAI* (predictive accuracy index): hit rate / the share of the area the set covers, the
area of the grids when every grid's area is known, else the share of grids (``area_basis`` says
which). Grids tied at the cut share the remaining places in expectation (a naive count of 0 or 1
ties many grids; breaking ties by grid order would be arbitrary). Per level: the whole region
(one set), or per group (each street's own top share, at least one grid, groups with fewer than
``min_grids`` grids left out). ``hindsight`` ranks by the scored week's own counts: the ceiling any
ranking could reach (next week's top grids are themselves noisy), not a forecast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import forecast as fc_mod
from . import hotspots as hs_mod

NAIVE_FORECASTS = ("last_week", "mean_4w", "seasonal", "weekday_mean_4w", "median_4w", "weekday_median_4w")
HOTSPOT_WINDOWS = {"naive_1w": 1, "naive_4w": 4, "naive_12w": 12}


@dataclass(frozen=True)
class BacktestParams:
    history_days: int = 364       # what the engine's daily forecast reads (case_detectors.FORECAST_DAYS)
    hotspot_days: int = 84        # what the engine's hotspots read (case_detectors.FACT_DAYS)
    min_history_days: int = 28    # a week is scored only with this much data before it
    horizon: int = 7
    top_share: float = 0.05
    min_grids: int = 20           # per-group hotspots: groups with fewer grids are left out (top 5 % < 1 grid)


def weekly_origins(days: np.ndarray, first, last, horizon: int = 7) -> list[int]:
    """Indices into ``days`` of the origins first, first + 7, ... whose ``horizon`` days end by ``last``."""
    days = np.asarray(days, dtype="datetime64[D]")
    first, last = np.datetime64(first, "D"), np.datetime64(last, "D")
    out = []
    o = first
    while o + np.timedelta64(horizon - 1, "D") <= last:
        i = int((o - days[0]).astype(np.int64))
        if 0 <= i and i + horizon <= len(days):
            out.append(i)
        o = o + np.timedelta64(7, "D")
    return out


def first_case_index(total: np.ndarray, lo: int, hi: int) -> int | None:
    """The first index in [lo, hi) with a case in ``total`` (T,), or None."""
    nz = np.nonzero(np.asarray(total)[lo:hi] > 0)[0]
    return lo + int(nz[0]) if len(nz) else None


def grid_day_matrix(codes: list[str], days: np.ndarray, counts) -> np.ndarray:
    """Daily cases (G, T) of every grid of ``codes`` (zeros included) from grouped ``counts`` (a frame
    of grid_code, day, n as data_access.backtest.grid_day_counts reads it; grids not in ``codes`` left out)."""
    pos = {code: i for i, code in enumerate(codes)}
    y = np.zeros((len(codes), len(days)))
    if len(counts):
        inside = counts[counts["grid_code"].isin(pos).values]
        np.add.at(y, (inside["grid_code"].map(pos).to_numpy(dtype=np.int64),
                      (inside["day"].values.astype("datetime64[D]") - days[0]).astype(np.int64)),
                  inside["n"].to_numpy(dtype=float))
    return y


def hotspot_scores_at(y: np.ndarray, total: np.ndarray, grid_codes: list[str], o: int, history_days: int,
                  hotspot_params: hs_mod.HotspotParams) -> np.ndarray | None:
    """The engine's hotspot scores for the week from day ``o``, from the ``history_days`` before it
    (from their first case on, as the engine reads them; ``total`` = y.sum(0)); None when those days
    hold no case."""
    first = first_case_index(total, max(0, o - history_days), o)
    if first is None:
        return None
    window = y[:, first:o]
    score = np.zeros(y.shape[0])
    idx = np.nonzero(window.sum(1) > 0)[0]
    if len(idx):
        score[idx] = hs_mod.grid_scores(window[idx], [grid_codes[i] for i in idx], hotspot_params)
    return score


def naive_point_forecasts(y: np.ndarray, o: int, data_start: int, horizon: int = 7) -> dict[str, np.ndarray | None]:
    """Each naive rule's forecast (S, horizon) of the days o..o+horizon-1 from y (S, T); ``seasonal``
    is None unless the day 364 days before o is at or after ``data_start``."""
    y = np.asarray(y, dtype=float)
    h = np.arange(horizon)
    last4 = y[:, o - 28:o]
    same = np.stack([y[:, o - 7 * j + (h % 7)] for j in (1, 2, 3, 4)], axis=0)   # (4, S, H): same weekday
    out: dict[str, np.ndarray | None] = {
        "last_week": y[:, o - 7 + (h % 7)],
        "mean_4w": np.repeat(last4.mean(1, keepdims=True), horizon, 1),
        "seasonal": y[:, o - 364 + (h % 7)] if o - 364 >= data_start else None,
        "weekday_mean_4w": same.mean(0),
        "median_4w": np.repeat(np.median(last4, axis=1, keepdims=True), horizon, 1),
        "weekday_median_4w": np.median(same, axis=0),
    }
    return out


@dataclass
class ForecastBacktest:
    mae: dict[str, float | None]            # per method; None where it never applied
    points: int                             # series x days scored
    weeks: int                              # weeks scored
    skipped_weeks: int                      # too little history before them
    seasonal_weeks: int                     # weeks where a year of history existed
    series: int                             # distinct series scored
    memories: dict[str, int] = field(default_factory=dict)   # memory chosen -> weeks
    weekly: list[dict] = field(default_factory=list)          # per week: origin, points, MAE per method
    seasonal_partial: dict | None = None    # seasonal and gridwall MAE on the weeks a year existed, when not all

    @property
    def best_naive(self) -> str | None:
        cands = {k: v for k, v in self.mae.items() if k in NAIVE_FORECASTS and v is not None}
        return min(cands, key=cands.get) if cands else None

    @property
    def gain(self) -> float | None:
        """How far gridwall's MAE is below the best naive's, as a share of the latter."""
        best = self.best_naive
        if best is None or self.mae.get("gridwall") is None or not self.mae[best]:
            return None
        return 1.0 - self.mae["gridwall"] / self.mae[best]


def forecast_backtest(y: np.ndarray, days: np.ndarray, keys: list[tuple[str, str]], total: np.ndarray,
                      origins: list[int], memories: dict | None = None, params: BacktestParams = BacktestParams(),
                      data_start: int | None = None) -> ForecastBacktest:
    """Rolling-origin evaluation of ``forecast.forecast_selected`` on the cube y (S, T) of the series
    ``keys`` (unit, major) over ``days``. ``total`` (T,) is every case of the scope per day (the
    engine's history starts at its first case); ``data_start`` the first index with data (default:
    the first case in ``total``)."""
    y = np.asarray(y, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    total = np.asarray(total, dtype=float)
    memories = memories or fc_mod.MEMORIES
    if data_start is None:
        data_start = first_case_index(total, 0, len(total))
    methods = ("gridwall", "gridwall_mean") + NAIVE_FORECASTS
    err = {k: 0.0 for k in methods}
    points = 0
    seasonal_err, seasonal_points, seasonal_gw = 0.0, 0, 0.0
    scored_series: set[int] = set()
    out = ForecastBacktest(mae={}, points=0, weeks=0, skipped_weeks=0, seasonal_weeks=0, series=0)
    h = params.horizon
    for o in origins:
        lo = max(0, o - params.history_days)
        first = first_case_index(total, lo, o)
        if data_start is None or first is None or o - max(first, data_start) < params.min_history_days:
            out.skipped_weeks += 1
            continue
        hist = y[:, first:o].sum(1) > 0
        actual = y[:, o:o + h]
        scored = hist | (actual.sum(1) > 0)
        if not scored.any():
            out.weeks += 1
            continue
        median = np.zeros_like(actual)
        mean = np.zeros_like(actual)
        if hist.any():
            idx = np.nonzero(hist)[0]
            fc, sel = fc_mod.forecast_selected(y[idx, first:o], days[first:o], [keys[i][1] for i in idx], memories,
                                               units=[keys[i][0] for i in idx])
            median[idx] = fc.median
            mean[idx] = fc.expected
            out.memories[sel.chosen] = out.memories.get(sel.chosen, 0) + 1
        naive = naive_point_forecasts(y, o, data_start, h)
        preds = {"gridwall": median, "gridwall_mean": mean, **naive}
        week = {"origin": str(days[o]), "points": int(scored.sum() * h)}
        for name, p in preds.items():
            if p is None:
                week[name] = None
                continue
            e = float(np.abs(p[scored] - actual[scored]).sum())
            if name == "seasonal":
                seasonal_err += e
            else:
                err[name] += e
            week[name] = e / (scored.sum() * h)
        if naive["seasonal"] is not None:
            seasonal_points += int(scored.sum() * h)
            seasonal_gw += float(np.abs(median[scored] - actual[scored]).sum())
            out.seasonal_weeks += 1
        points += int(scored.sum() * h)
        scored_series.update(np.nonzero(scored)[0].tolist())
        out.weeks += 1
        out.weekly.append(week)
    out.points = points
    out.series = len(scored_series)
    for name in methods:
        if name == "seasonal":
            continue
        out.mae[name] = err[name] / points if points else None
    # the seasonal rule is comparable only when it applied to every scored week
    out.mae["seasonal"] = seasonal_err / seasonal_points if points and seasonal_points == points else None
    out.seasonal_partial = (
        {"weeks": out.seasonal_weeks, "seasonal": seasonal_err / seasonal_points, "gridwall": seasonal_gw / seasonal_points}
        if seasonal_points and seasonal_points != points else None)
    return out


# --- hotspots ---------------------------------------------------------------------------------------

def captured(scores: np.ndarray, actual: np.ndarray, n: int, weight: np.ndarray | None = None) -> tuple[float, float]:
    """(cases captured, weight covered) by the top ``n`` of ``scores``, ties at the cut shared out in
    expectation (a random order among the tied). ``weight`` per item (area); default 1 each."""
    scores = np.asarray(scores, dtype=float)
    actual = np.asarray(actual, dtype=float)
    weight = np.ones_like(scores) if weight is None else np.asarray(weight, dtype=float)
    n = min(n, len(scores))
    if n <= 0:
        return 0.0, 0.0
    cut = np.sort(scores)[::-1][n - 1]
    above = scores > cut
    tied = scores == cut
    left = n - int(above.sum())
    share = left / int(tied.sum())
    return (float(actual[above].sum() + share * actual[tied].sum()),
            float(weight[above].sum() + share * weight[tied].sum()))


@dataclass
class HotspotBacktest:
    hit_rate: dict[str, float | None]
    pai: dict[str, float | None]
    pai_grids: dict[str, float | None]     # PAI with the share of grids as the area share
    area_basis: str                         # "area" or "grids"
    weeks: int
    cases: int                              # cases in grids over the scored weeks
    grids: int                              # grids ranked (in the groups kept)
    top_n: int                              # grids in the hotspot sets (summed over groups)
    groups: int
    left_out_groups: int = 0

    def ratio(self, key: str = "hit_rate") -> float | None:
        d = getattr(self, key)
        best = max((v for k, v in d.items() if k not in ("gridwall", "hindsight") and v is not None), default=None)
        if not best or d.get("gridwall") is None:
            return None
        return d["gridwall"] / best


def hotspot_backtest(y: np.ndarray, days: np.ndarray, grid_codes: list[str], origins: list[int],
                     areas: np.ndarray | None = None, groups: list[str] | None = None,
                     hotspot_params: hs_mod.HotspotParams = hs_mod.HotspotParams(),
                     params: BacktestParams = BacktestParams()) -> HotspotBacktest | None:
    """Hit rate and PAI of the engine's hotspot scores and of naive counts, per weekly origin.

    y (G, T): daily cases per grid (every grid in scope, also those without a case); ``areas`` (G,)
    km² or None (NaN for an unknown area: then the share of grids is used); ``groups`` (G,) the
    group of each grid (its street) for per-group sets, None for one set over all grids. Returns
    None when no group has ``min_grids`` grids (per-group) or no week could be scored."""
    y = np.asarray(y, dtype=float)
    g_n = y.shape[0]
    groups_a = np.zeros(g_n, dtype=object) if groups is None else np.asarray(groups, dtype=object)
    names, counts = np.unique(groups_a, return_counts=True)
    keep_groups = [nm for nm, k in zip(names, counts) if groups is None or k >= params.min_grids]
    if not keep_groups or g_n == 0:
        return None
    area_known = areas is not None and len(areas) == g_n and np.all(np.isfinite(np.asarray(areas, dtype=float))) \
        and np.all(np.asarray(areas, dtype=float) > 0)
    area = np.asarray(areas, dtype=float) if area_known else np.ones(g_n)
    methods = ("gridwall",) + tuple(HOTSPOT_WINDOWS) + ("hindsight",)
    got = {m: 0.0 for m in methods}
    share_area = {m: [] for m in methods}
    share_grid = {m: [] for m in methods}
    cases = 0.0
    weeks = 0
    sel_groups = [np.nonzero(groups_a == nm)[0] for nm in keep_groups]
    in_groups = np.concatenate(sel_groups)
    top = {i: max(1, int(round(params.top_share * len(s)))) for i, s in enumerate(sel_groups)}
    h = params.horizon
    total = y.sum(0)
    data_start = first_case_index(total, 0, len(total))
    for o in origins:
        actual = y[:, o:o + h].sum(1)
        if data_start is None or o - data_start < params.min_history_days:
            continue
        gridwall = hotspot_scores_at(y, total, grid_codes, o, params.hotspot_days, hotspot_params)
        if gridwall is None:
            continue
        score = {"gridwall": gridwall}
        for name, w in HOTSPOT_WINDOWS.items():
            score[name] = y[:, max(0, o - 7 * w):o].sum(1)
        score["hindsight"] = actual      # the week's own top grids: the ceiling, not a forecast
        weeks += 1
        cases += float(actual[in_groups].sum())
        for m in methods:
            got_w, area_w, grids_w = 0.0, 0.0, 0.0
            for i, s in enumerate(sel_groups):
                c, a = captured(score[m][s], actual[s], top[i], area[s])
                got_w += c
                area_w += a
                grids_w += top[i]
            got[m] += got_w
            share_area[m].append(area_w / float(area[in_groups].sum()))
            share_grid[m].append(grids_w / len(in_groups))
    if not weeks:
        return None
    hit = {m: (got[m] / cases if cases else None) for m in methods}

    def pai(shares):
        return {m: (hit[m] / float(np.mean(shares[m])) if hit[m] is not None and np.mean(shares[m]) > 0 else None)
                for m in methods}

    return HotspotBacktest(hit_rate=hit, pai=pai(share_area), pai_grids=pai(share_grid),
                           area_basis="area" if area_known else "grids", weeks=weeks, cases=int(round(cases)),
                           grids=int(len(in_groups)), top_n=int(sum(top.values())), groups=len(sel_groups),
                           left_out_groups=int(len(names) - len(keep_groups)))
