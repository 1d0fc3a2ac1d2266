"""Forecasts (预测研判) and hotspot grids (热点网格) against naive baselines, on an honest history.

Forecasts: at 00:10 of every day of the window whose next 7 days are in the data, the engine's own
``case_detectors.forecast_outputs`` (exactly what it writes to ``gw_forecasts``) for today and the
6 days after, per street x major category; the error is |forecast - actual| per series and day,
averaged (MAE). The naive forecasts made at the same moment from the same counts:

* last week: the mean daily count of the last 7 days, for each of the next 7 days;
* seasonal naive: the same weekday last week;
* 4-week mean: the mean daily count of the last 28 days;
* 4-week weekday mean: the mean of the same weekday over the last 4 weeks.

Hotspots: at every Monday of the window with a complete week after it, the top 5 % of grids by the
engine's scores (``hotspots.grid_scores`` on the same count cube the engine builds) against the
grids with the most cases that week; naive rankings by last week's and the last 4 weeks' counts.
Ties (many grids report the same small count) are broken at random, in expectation: a grid tied at
the cut-off is "in the top" with probability (free places) / (tied grids).
Hit rate = expected share of the actual top 5 % that was predicted; PAI (predictive accuracy index)
= share of the week's cases in the predicted grids / share of the county's area they cover.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from eval_history import COUNTY, TZ, Timeline

TOP_SHARE = 0.05


def _cube(facts: pd.DataFrame, keys: list[str], first: int, last: int) -> tuple[list[tuple], np.ndarray]:
    """Counts per series and day number in [first, last] (inclusive)."""
    f = facts[(facts["dn"] >= first) & (facts["dn"] <= last)]
    idx = f.groupby(keys, sort=True).ngroup().values
    series = [tuple(k) if isinstance(k, tuple) else (k,) for k in f.groupby(keys, sort=True).size().index]
    y = np.zeros((len(series), last - first + 1))
    np.add.at(y, (idx, f["dn"].values - first), 1.0)
    return series, y


def forecast_mae(engine, facts: pd.DataFrame, tl: Timeline) -> dict:
    from dashboard.warning import case_detectors
    from data_access.moment import Moment
    from data_access.scope import Scope

    root = Scope(COUNTY, COUNTY)
    series, y = _cube(facts, ["street", "major"], 0, tl.history_days - 1)
    pos = {s: i for i, s in enumerate(series)}
    root_series, ry = _cube(facts.assign(root=COUNTY), ["root", "major"], 0, tl.history_days - 1)
    root_pos = {s: i for i, s in enumerate(root_series)}
    origins = list(range(tl.window_start, tl.history_days - 6))
    names = ("engine", "last_week", "seasonal_naive", "mean_4w", "weekday_mean_4w", "reference_other_weeks")
    err = {"street": {n: [] for n in names}, "root": {n: [] for n in names}}
    weekday_of = np.array([tl.day(d).weekday() for d in range(tl.history_days)])
    by_h = {n: [[] for _ in range(7)] for n in names}
    with engine.connect() as conn:
        for o in origins:
            rows, _ = case_detectors.forecast_outputs(conn, root, Moment(tl.step_at(o), TZ))
            for r in rows:
                level = "street" if len(r["region_code"]) == 9 else "root"
                key = (r["region_code"], r["category_code"])
                index, cube = (pos, y) if level == "street" else (root_pos, ry)
                h = (r["day"] - tl.day(o)).days
                if not 0 <= h < 7:
                    continue
                i = index.get(key)
                yy = cube[i] if i is not None else np.zeros(tl.history_days)
                actual = yy[o + h]
                naive = {"engine": r["expected"], "last_week": yy[o - 7:o].mean(), "seasonal_naive": yy[o + h - 7],
                         "mean_4w": yy[o - 28:o].mean(),
                         "weekday_mean_4w": np.mean([yy[o + h - 7 * j] for j in range(1, 5)]),
                         "reference_other_weeks": _other_weeks_mean(yy, weekday_of, o, o + h)}
                for n in names:
                    e = abs(naive[n] - actual)
                    err[level][n].append(e)
                    if level == "street":
                        by_h[n][h].append(e)
    out = {}
    for level in ("street", "root"):
        mae = {n: float(np.mean(v)) if v else None for n, v in err[level].items()}
        naive = {n: v for n, v in mae.items() if n not in ("engine", "reference_other_weeks") and v is not None}
        best = min(naive, key=naive.get) if naive else None
        out[level] = {"mae": mae, "points": len(err[level]["engine"]), "best_naive": best,
                      "improvement_vs_best": (1 - mae["engine"] / naive[best]) if best else None}
    out["street"]["mae_by_horizon"] = {n: [float(np.mean(v)) if v else None for v in by_h[n]] for n in names}
    out["origins"] = [tl.day(o).isoformat() for o in (origins[0], origins[-1])] if origins else []
    out["n_origins"] = len(origins)
    return out


def _other_weeks_mean(y: np.ndarray, weekday_of: np.ndarray, week_start: int, day: int) -> float:
    """The mean of ``day``'s weekday over every week of the history but the forecast one: close to the
    series' true expected count on stationary synthetic data. Not a forecast (it reads the future);
    it shows how much any forecast could gain."""
    sel = weekday_of == weekday_of[day]
    sel[week_start: week_start + 7] = False
    return float(y[sel].mean())


def _top_probability(scores: np.ndarray, n: int) -> np.ndarray:
    """P(grid is among the top n) when ties are broken at random."""
    scores = np.asarray(scores, dtype=float)
    if n >= len(scores):
        return np.ones(len(scores))
    cut = np.sort(scores)[::-1][n - 1]
    above = scores > cut
    tied = scores == cut
    return above.astype(float) + tied * (n - above.sum()) / max(tied.sum(), 1)


def hotspot_eval(facts: pd.DataFrame, grids: pd.DataFrame, tl: Timeline) -> dict:
    from dashboard.analytics import hotspots
    from dashboard.warning import case_detectors

    codes = grids["grid_code"].tolist()
    area = grids["area_km2"].values
    n = max(1, math.ceil(TOP_SHARE * len(codes)))
    gpos = {g: i for i, g in enumerate(codes)}
    f = facts[facts["grid_code"].isin(gpos)]
    daily = np.zeros((len(codes), tl.history_days))
    np.add.at(daily, (f["grid_code"].map(gpos).values, f["dn"].values), 1.0)
    first_monday = tl.window_start + (-tl.day(tl.window_start).weekday()) % 7
    origins = list(range(first_monday, tl.history_days - 6, 7))
    names = ("engine", "last_week", "last_4_weeks", "reference_other_weeks")
    hit = {k: [] for k in names}
    pai = {k: [] for k in names}
    fact_days = case_detectors.FACT_DAYS
    for o in origins:
        lo = max(0, o - fact_days)
        window = daily[:, lo:o]
        seen = window.sum(1) > 0        # the engine's count cube holds only grids with a case
        scores = np.zeros(len(codes))
        seen_codes = [c for c, s in zip(codes, seen) if s]
        scores[seen] = hotspots.grid_scores(window[seen], seen_codes, case_detectors.HOTSPOT_PARAMS)
        predicted = {"engine": scores, "last_week": daily[:, o - 7:o].sum(1), "last_4_weeks": daily[:, o - 28:o].sum(1),
                     "reference_other_weeks": daily.sum(1) - daily[:, o:o + 7].sum(1)}
        actual = daily[:, o:o + 7].sum(1)
        p_actual = _top_probability(actual, n)
        for k in names:
            p = _top_probability(predicted[k], n)
            hit[k].append(float((p * p_actual).sum() / n))
            cases = float((p * actual).sum() / max(actual.sum(), 1))
            share_area = float((p * area).sum() / area.sum())
            pai[k].append(cases / share_area if share_area else float("nan"))
    res = {"top_n": n, "grids": len(codes), "weeks": len(origins),
           "hit_rate": {k: float(np.mean(v)) for k, v in hit.items()},
           "pai": {k: float(np.mean(v)) for k, v in pai.items()},
           "hit_rate_by_week": hit, "pai_by_week": pai}
    naive = {k: res["hit_rate"][k] for k in ("last_week", "last_4_weeks")}
    best = max(naive, key=naive.get)
    res["best_naive"] = best
    res["hit_ratio_vs_best"] = res["hit_rate"]["engine"] / naive[best] if naive[best] else None
    naive_pai = {k: res["pai"][k] for k in ("last_week", "last_4_weeks")}
    best_pai = max(naive_pai, key=naive_pai.get)
    res["pai_ratio_vs_best"] = res["pai"]["engine"] / naive_pai[best_pai] if naive_pai[best_pai] else None
    return res


def pooled(results: list[dict]) -> dict:
    """Forecast and hotspot results of several histories, averaged with equal weight."""
    if not results:
        return {}
    names = ("engine", "last_week", "seasonal_naive", "mean_4w", "weekday_mean_4w", "reference_other_weeks")
    out = {}
    for level in ("street", "root"):
        mae = {n: float(np.mean([r["forecast"][level]["mae"][n] for r in results])) for n in names}
        naive = {n: v for n, v in mae.items() if n not in ("engine", "reference_other_weeks")}
        best = min(naive, key=naive.get)
        out[f"forecast_{level}"] = {"mae": mae, "best_naive": best, "improvement_vs_best": 1 - mae["engine"] / naive[best]}
    hn = ("engine", "last_week", "last_4_weeks", "reference_other_weeks")
    hit = {k: float(np.mean([r["hotspots"]["hit_rate"][k] for r in results])) for k in hn}
    pai = {k: float(np.mean([r["hotspots"]["pai"][k] for r in results])) for k in hn}
    best = max(("last_week", "last_4_weeks"), key=hit.get)
    best_pai = max(("last_week", "last_4_weeks"), key=pai.get)
    out["hotspots"] = {"hit_rate": hit, "pai": pai, "best_naive": best, "hit_ratio_vs_best": hit["engine"] / hit[best],
                       "pai_ratio_vs_best": pai["engine"] / pai[best_pai], "top_n": results[0]["hotspots"]["top_n"]}
    return out



# --- what other settings of the two models would give (pure functions, same counts, same moments) ----------

def sweep(facts: pd.DataFrame, grids: pd.DataFrame, tl: Timeline, forecast_variants: dict, hotspot_variants: dict) -> dict:
    """MAE (street x major x day) and hit rate for parameter variants, computed with the pure functions on the
    count cubes the glue builds (98 days of facts before each origin; series with a case in them)."""
    from dashboard.analytics import forecast, hotspots
    from dashboard.warning import case_detectors

    fact_days = case_detectors.FACT_DAYS
    series, y = _cube(facts, ["street", "major"], 0, tl.history_days - 1)
    groups = [s[1] for s in series]
    all_days = np.array([np.datetime64(tl.day(d), "D") for d in range(tl.history_days)])
    origins = list(range(tl.window_start, tl.history_days - 6))
    out = {"forecast_mae": {}, "hotspot_hit_rate": {}}
    for name, params in forecast_variants.items():
        errs = []
        for o in origins:
            lo = max(0, o - fact_days)
            seen = y[:, lo:o].sum(1) > 0
            first = int(np.argmax(y[:, lo:o].sum(0) > 0))
            fc = forecast.forecast_counts(y[seen, lo:o], all_days[lo:o], [g for g, s in zip(groups, seen) if s], params,
                                          first_day=0 if first == 0 else first)
            errs.append(np.abs(fc.expected - y[seen, o:o + 7]).ravel())
        out["forecast_mae"][name] = float(np.mean(np.concatenate(errs)))
    codes = grids["grid_code"].tolist()
    gpos = {g: i for i, g in enumerate(codes)}
    f = facts[facts["grid_code"].isin(gpos)]
    daily = np.zeros((len(codes), tl.history_days))
    np.add.at(daily, (f["grid_code"].map(gpos).values, f["dn"].values), 1.0)
    n = max(1, math.ceil(TOP_SHARE * len(codes)))
    first_monday = tl.window_start + (-tl.day(tl.window_start).weekday()) % 7
    weeks = list(range(first_monday, tl.history_days - 6, 7))
    for name, params in hotspot_variants.items():
        hits = []
        for o in weeks:
            window = daily[:, max(0, o - fact_days):o]
            seen = window.sum(1) > 0
            scores = np.zeros(len(codes))
            scores[seen] = hotspots.grid_scores(window[seen], [c for c, s in zip(codes, seen) if s], params)
            actual = daily[:, o:o + 7].sum(1)
            hits.append(float((_top_probability(scores, n) * _top_probability(actual, n)).sum() / n))
        out["hotspot_hit_rate"][name] = float(np.mean(hits))
    return out
