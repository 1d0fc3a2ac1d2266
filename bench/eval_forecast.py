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
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from eval_history import COUNTY, TZ, Timeline

TOP_SHARE = 0.05
NAIVE_FORECASTS = ("last_week", "seasonal_naive", "mean_4w", "weekday_mean_4w", "median_4w", "weekday_median_4w")


def _cube(facts: pd.DataFrame, keys: list[str], first: int, last: int) -> tuple[list[tuple], np.ndarray]:
    """Counts per series and day number in [first, last] (inclusive)."""
    f = facts[(facts["dn"] >= first) & (facts["dn"] <= last)]
    idx = f.groupby(keys, sort=True).ngroup().values
    series = [tuple(k) if isinstance(k, tuple) else (k,) for k in f.groupby(keys, sort=True).size().index]
    y = np.zeros((len(series), last - first + 1))
    np.add.at(y, (idx, f["dn"].values - first), 1.0)
    return series, y


def truth_series(truth: dict | None, level: str, tl: Timeline, key: str = "expected") -> dict | None:
    """The generator's true expected counts per series (street or root, major) x day number, or None.
    ``key`` expected_no_shock: without the day factors and storms (what a week ahead could know)."""
    if truth is None or key not in truth:
        return None
    exp = truth[key]                            # (G, K, D) over truth["days"]
    offset = (date.fromisoformat(str(truth["days"][0])) - tl.first_day).days
    full = np.zeros(exp.shape[:2] + (tl.history_days,))
    lo, hi = max(0, offset), min(tl.history_days, offset + exp.shape[2])
    full[:, :, lo:hi] = exp[:, :, lo - offset:hi - offset]
    grids = [str(g) for g in truth["grids"]]
    majors = [str(k) for k in truth["majors"]]
    if level == "grid":
        return {g: full[i].sum(0) for i, g in enumerate(grids)}
    out: dict = {}
    keys = [g[:9] for g in grids] if level == "street" else [COUNTY] * len(grids)
    for i, key in enumerate(keys):
        for j, m in enumerate(majors):
            out[(key, m)] = out.get((key, m), 0.0) + full[i, j]
    return out


def poisson_median(mu: float) -> float:
    from scipy.stats import poisson

    return float(poisson.ppf(0.5, mu)) if mu > 0 else 0.0


def forecast_mae(engine, facts: pd.DataFrame, tl: Timeline, truth: dict | None = None) -> dict:
    from dashboard.warning import case_detectors
    from data_access.moment import Moment
    from data_access.scope import Scope

    root = Scope(COUNTY, COUNTY)
    series, y = _cube(facts, ["street", "major"], 0, tl.history_days - 1)
    pos = {s: i for i, s in enumerate(series)}
    root_series, ry = _cube(facts.assign(root=COUNTY), ["root", "major"], 0, tl.history_days - 1)
    root_pos = {s: i for i, s in enumerate(root_series)}
    origins = list(range(tl.window_start, tl.history_days - 6))
    names = ("engine", "engine_median", "last_week", "seasonal_naive", "mean_4w", "weekday_mean_4w", "median_4w",
             "weekday_median_4w", "reference_other_weeks")
    if truth is not None:
        names += ("oracle", "oracle_median", "oracle_no_shock")
    true_of = {"street": truth_series(truth, "street", tl), "root": truth_series(truth, "root", tl)}
    calm_of = {"street": truth_series(truth, "street", tl, "expected_no_shock"),
               "root": truth_series(truth, "root", tl, "expected_no_shock")}
    err = {"street": {n: [] for n in names}, "root": {n: [] for n in names}}
    weekday_of = np.array([tl.day(d).weekday() for d in range(tl.history_days)])
    by_h = {n: [[] for _ in range(7)] for n in names}
    by_o = {n: {o: [] for o in origins} for n in names}
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
                         "median_4w": float(np.median(yy[o - 28:o])),
                         "weekday_median_4w": float(np.median([yy[o + h - 7 * j] for j in range(1, 5)])),
                         "engine_median": r["median"],
                         "reference_other_weeks": _other_weeks_mean(yy, weekday_of, o, o + h)}
                if truth is not None:
                    mu = true_of[level].get(key)
                    mu = float(mu[o + h]) if mu is not None else 0.0
                    calm = calm_of[level].get(key) if calm_of[level] is not None else None
                    naive.update(oracle=mu, oracle_median=poisson_median(mu),
                                 oracle_no_shock=float(calm[o + h]) if calm is not None else mu)
                for n in names:
                    e = abs(naive[n] - actual)
                    err[level][n].append(e)
                    if level == "street":
                        by_h[n][h].append(e)
                        by_o[n][o].append(e)
    out = {}
    for level in ("street", "root"):
        mae = {n: float(np.mean(v)) if v else None for n, v in err[level].items()}
        naive = {n: v for n, v in mae.items() if n in NAIVE_FORECASTS and v is not None}
        best = min(naive, key=naive.get) if naive else None
        out[level] = {"mae": mae, "points": len(err[level]["engine"]), "best_naive": best,
                      # the engine's point forecast for absolute error is its median (gw_forecasts.median)
                      "improvement_vs_best": (1 - mae["engine_median"] / naive[best]) if best else None,
                      "mean_improvement_vs_best": (1 - mae["engine"] / naive[best]) if best else None}
        if truth is not None and best:
            out[level]["oracle_improvement_vs_best"] = 1 - mae["oracle"] / naive[best]
            out[level]["oracle_median_improvement_vs_best"] = 1 - mae["oracle_median"] / naive[best]
            out[level]["oracle_no_shock_improvement_vs_best"] = 1 - mae["oracle_no_shock"] / naive[best]
    out["street"]["mae_by_horizon"] = {n: [float(np.mean(v)) if v else None for v in by_h[n]] for n in names}
    out["street"]["mae_by_origin"] = {n: [float(np.mean(by_o[n][o])) if by_o[n][o] else None for o in origins]
                                      for n in names}
    out["street"]["origin_days"] = [tl.day(o).isoformat() for o in origins]
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


def hotspot_eval(facts: pd.DataFrame, grids: pd.DataFrame, tl: Timeline, truth: dict | None = None) -> dict:
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
    true_rate = None
    if truth is not None:
        names += ("oracle", "oracle_no_shock")
        by_grid = truth_series(truth, "grid", tl)
        true_rate = np.array([by_grid.get(c, np.zeros(tl.history_days)) for c in codes])
        calm_grid = truth_series(truth, "grid", tl, "expected_no_shock") or by_grid
        calm_rate = np.array([calm_grid.get(c, np.zeros(tl.history_days)) for c in codes])
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
        if true_rate is not None:
            predicted["oracle"] = true_rate[:, o:o + 7].sum(1)
            predicted["oracle_no_shock"] = calm_rate[:, o:o + 7].sum(1)
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
    if true_rate is not None:
        res["oracle_hit_ratio_vs_best"] = res["hit_rate"]["oracle"] / naive[best] if naive[best] else None
        res["oracle_pai_ratio_vs_best"] = res["pai"]["oracle"] / naive_pai[best_pai] if naive_pai[best_pai] else None
        res["oracle_no_shock_hit_ratio_vs_best"] = res["hit_rate"]["oracle_no_shock"] / naive[best] if naive[best] else None
    return res


def pooled(results: list[dict]) -> dict:
    """Forecast and hotspot results of several histories, averaged with equal weight."""
    if not results:
        return {}
    out = {}
    for level in ("street", "root"):
        names = [n for n in results[0]["forecast"][level]["mae"] if all(n in r["forecast"][level]["mae"] for r in results)]
        mae = {n: float(np.mean([r["forecast"][level]["mae"][n] for r in results])) for n in names}
        naive = {n: v for n, v in mae.items() if n in NAIVE_FORECASTS}
        best = min(naive, key=naive.get)
        out[f"forecast_{level}"] = {"mae": mae, "best_naive": best, "improvement_vs_best": 1 - mae["engine_median"] / naive[best],
                                    "mean_improvement_vs_best": 1 - mae["engine"] / naive[best]}
        for n in ("oracle", "oracle_median", "oracle_no_shock"):
            if n in mae:
                out[f"forecast_{level}"][f"{n}_improvement_vs_best"] = 1 - mae[n] / naive[best]
    hn = [k for k in results[0]["hotspots"]["hit_rate"] if all(k in r["hotspots"]["hit_rate"] for r in results)]
    hit = {k: float(np.mean([r["hotspots"]["hit_rate"][k] for r in results])) for k in hn}
    pai = {k: float(np.mean([r["hotspots"]["pai"][k] for r in results])) for k in hn}
    best = max(("last_week", "last_4_weeks"), key=hit.get)
    best_pai = max(("last_week", "last_4_weeks"), key=pai.get)
    out["hotspots"] = {"hit_rate": hit, "pai": pai, "best_naive": best, "hit_ratio_vs_best": hit["engine"] / hit[best],
                       "pai_ratio_vs_best": pai["engine"] / pai[best_pai], "top_n": results[0]["hotspots"]["top_n"]}
    if "oracle" in hit:
        out["hotspots"]["oracle_hit_ratio_vs_best"] = hit["oracle"] / hit[best]
        out["hotspots"]["oracle_pai_ratio_vs_best"] = pai["oracle"] / pai[best_pai]
        out["hotspots"]["oracle_no_shock_hit_ratio_vs_best"] = hit["oracle_no_shock"] / hit[best]
        out["hotspots"]["oracle_no_shock_pai_ratio_vs_best"] = pai["oracle_no_shock"] / pai[best_pai]
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


# --- standalone: plain and realistic histories with the generator's truth -----------------------------------
#
#     nice -n 19 .venv/bin/python bench/eval_forecast.py                     # both styles, 2 seeds, 182 days
#     nice -n 19 .venv/bin/python bench/eval_forecast.py --styles real --seeds 20261126
#
# Each history is seeded into var/eval/fc_<style>_s<seed>_d<days>.db with the generator's true expected
# counts per grid x major x day beside it (.truth.npz): the oracle forecasts and ranks with those.

STYLES = ("plain", "real")
OUT = Path(__file__).resolve().parent / "out" / "eval_forecast.json"


def ensure_fc_base(seed: int, tl: Timeline, style: str, *, reseed: bool = False, log=print) -> tuple[Path, dict]:
    """A history of ``style`` (plain: the stationary county; real: seasons.Realism()) and its truth."""
    import json
    import time
    from dataclasses import asdict

    from dashboard.synth.seasons import Realism
    from dashboard.synth.seed import seed_county
    from data_access.db import init_db, make_engine
    from eval_history import END, EVAL_DIR, sqlite_url

    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    path = EVAL_DIR / f"fc_{style}_s{seed}_d{tl.history_days}.db"
    marker, truth_file = path.with_suffix(".json"), path.with_suffix(".truth.npz")
    realism = Realism() if style == "real" else None
    want = {"seed": seed, "days": tl.history_days, "end": END.isoformat(), "county": COUNTY,
            "realism": asdict(realism) if realism else None, "truth": 2}
    if not (reseed or not path.exists() or not truth_file.exists() or not marker.exists()
            or json.loads(marker.read_text()).get("params") != want):
        z = np.load(truth_file)
        return path, {k: z[k] for k in z.files}
    for p in (path, marker, truth_file):
        p.unlink(missing_ok=True)
    started = time.perf_counter()
    engine = make_engine(sqlite_url(path))
    truth: dict = {}
    try:
        init_db(engine)
        stats = seed_county(engine, county=COUNTY, days=tl.history_days, seed=seed, now=END, full_ping_days=1,
                            sparse_ping_minutes=60, realism=realism, truth=truth)
    finally:
        engine.dispose()
    truth = {"expected": truth["expected"], "expected_no_shock": truth["expected_no_shock"], "grids": np.array(truth["grids"]), "majors": np.array(truth["majors"]),
             "days": np.array([d.isoformat() for d in truth["days"]])}
    np.savez_compressed(truth_file, **truth)
    marker.write_text(json.dumps({"params": want, "stats": stats}, ensure_ascii=False, indent=1))
    log(f"seeded {path.name}: {stats.get('cases')} cases in {time.perf_counter() - started:.0f} s")
    return path, truth


def plain_truth(seed: int, tl: Timeline, cases: int, log=print) -> dict | None:
    """The truth of the plain history of ``seed`` (eval_warning's baseline is the same seed_county call),
    or None when its case count differs from ``cases`` (then it is not the same history)."""
    import json

    path, truth = ensure_fc_base(seed, tl, "plain", log=log)
    seeded = json.loads(path.with_suffix(".json").read_text())["stats"]["cases"]
    if seeded != cases:
        log(f"no oracle: the plain history of seed {seed} has {seeded} cases, the baseline {cases}")
        return None
    return truth


def oracle_note(res: dict, key: str, fmt: str) -> str:
    """'; oracle bound ...' for a goal's measured text, from the pooled results' oracle entries."""
    calm, full = res.get(f"oracle_no_shock_{key}"), res.get(f"oracle_{key}")
    if calm is None or full is None:
        return ""
    return f"; oracle bound {fmt.format(calm)} without day shocks and storms, {fmt.format(full)} knowing them"


def run_style(style: str, seeds: list[int], tl: Timeline, args, log=print) -> dict:
    from data_access.db import make_engine
    from eval_history import case_frame, grid_frame, sqlite_url

    per_seed = []
    for seed in seeds:
        path, truth = ensure_fc_base(seed, tl, style, reseed=args.reseed, log=log)
        engine = make_engine(sqlite_url(path))
        try:
            facts, grids = case_frame(engine, tl), grid_frame(engine)
            log(f"{style} s{seed}: {len(facts)} cases ({len(facts) / tl.history_days:.0f} a day); forecasts")
            fc = forecast_mae(engine, facts, tl, truth)
            log(f"{style} s{seed}: hotspots")
            hs = hotspot_eval(facts, grids, tl, truth)
        finally:
            engine.dispose()
        per_seed.append({"seed": seed, "cases": len(facts), "forecast": fc, "hotspots": hs})
    return {"pooled": pooled(per_seed), "per_seed": per_seed}


def calm_lines(res: dict) -> list[str]:
    """Street x major MAE over origins whose horizon (and look-back) hold no public holiday or 调休 day."""
    from dashboard.analytics.holidays import HOLIDAYS, MAKEUP_DAYS

    special = HOLIDAYS | MAKEUP_DAYS
    out = []
    for label, back in (("horizon without holidays", 0), ("horizon and 4-week look-back without holidays", 28)):
        sums: dict = {}
        n_orig = 0
        for r in res["per_seed"]:
            st = r["forecast"]["street"]
            for i, day in enumerate(st["origin_days"]):
                d0 = date.fromisoformat(day)
                if any((d0 + timedelta(days=k)) in special for k in range(-back, 7)):
                    continue
                n_orig += 1
                for n, v in st["mae_by_origin"].items():
                    if v[i] is not None:
                        sums.setdefault(n, []).append(v[i])
        if not n_orig:
            continue
        m = {n: float(np.mean(v)) for n, v in sums.items()}
        best = min((n for n in NAIVE_FORECASTS if n in m), key=m.get)
        cols = [f"{n} {m[n]:.3f} ({1 - m[n] / m[best]:+.1%})" for n in ("engine", "engine_median", "oracle_no_shock", "oracle")
                if n in m]
        out.append(f"| street x major, {label} ({n_orig} origins) | best naive {best} {m[best]:.3f}; " + "; ".join(cols) + " |")
    if out:
        out = ["", "| subset | MAE (improvement vs the subset's best naive) |", "|---|---|"] + out
    return out


def style_markdown(style: str, res: dict) -> list[str]:
    p = res["pooled"]
    lines = [f"#### {style} history ({', '.join(str(r['seed']) for r in res['per_seed'])}; "
             f"{np.mean([r['cases'] for r in res['per_seed']]):,.0f} cases per history)", ""]
    lines.append("| MAE per day | engine (mean) | engine (median) | last week | seasonal naive | 4-week mean | "
                 "4-week weekday mean | 4-week median | 4-week weekday median | oracle, no shocks | oracle (true mean) | "
                 "oracle (true median) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for level in ("street", "root"):
        m = p[f"forecast_{level}"]["mae"]
        lines.append(f"| {level} x major | " + " | ".join(
            f"{m[n]:.3f}" if n in m else "–" for n in ("engine", "engine_median", "last_week", "seasonal_naive",
                                                       "mean_4w", "weekday_mean_4w", "median_4w", "weekday_median_4w",
                                                       "oracle_no_shock", "oracle", "oracle_median")) + " |")
    lines += calm_lines(res)
    lines.append("")
    h = p["hotspots"]
    lines.append(f"| hotspots, top {h['top_n']} grids (5 %) | engine | last week | last 4 weeks | oracle, no shocks | "
                 "oracle (true rate) |")
    lines.append("|---|---|---|---|---|---|")
    for what in ("hit_rate", "pai"):
        lines.append(f"| {what.replace('_', ' ')} | " + " | ".join(
            f"{h[what][k]:.3f}" if k in h[what] else "–" for k in ("engine", "last_week", "last_4_weeks", "oracle_no_shock", "oracle"))
                     + " |")
    lines.append("")
    f = p["forecast_street"]
    lines.append("| goal | engine | oracle, no shocks | oracle (true rate) | holds |")
    lines.append("|---|---|---|---|---|")
    lines.append(f"| forecast MAE ≥ 10 % below the best naive ({f['best_naive']}) | {f['improvement_vs_best']:+.1%} "
                 f"(median, the point for absolute error; the mean {f['mean_improvement_vs_best']:+.1%}) | "
                 f"{f.get('oracle_no_shock_improvement_vs_best', float('nan')):+.1%} | "
                 f"{f.get('oracle_improvement_vs_best', float('nan')):+.1%} (true median "
                 f"{f.get('oracle_median_improvement_vs_best', float('nan')):+.1%}) | "
                 f"{'yes' if f['improvement_vs_best'] >= 0.10 else 'no'} |")
    lines.append(f"| hotspot hit rate ≥ 1.2x the best naive ({h['best_naive']}) | {h['hit_ratio_vs_best']:.2f}x | "
                 f"{h.get('oracle_no_shock_hit_ratio_vs_best', float('nan')):.2f}x | "
                 f"{h.get('oracle_hit_ratio_vs_best', float('nan')):.2f}x | {'yes' if h['hit_ratio_vs_best'] >= 1.2 else 'no'} |")
    lines.append(f"| hotspot PAI vs the best naive | {h['pai_ratio_vs_best']:.2f}x | "
                 f"{h.get('oracle_no_shock_pai_ratio_vs_best', float('nan')):.2f}x | "
                 f"{h.get('oracle_pai_ratio_vs_best', float('nan')):.2f}x | – |")
    return lines


def main() -> None:
    import argparse
    import json
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from common import git_head, machine_info

    ap = argparse.ArgumentParser(description="forecast and hotspot benchmark with the generator's truth")
    ap.add_argument("--styles", nargs="*", default=list(STYLES), choices=STYLES)
    ap.add_argument("--seeds", type=int, nargs="*", default=[20261126, 20261127])
    ap.add_argument("--days", type=int, default=182)
    ap.add_argument("--window", type=int, default=56)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.0f} s] {msg}", flush=True)

    tl = Timeline(history_days=args.days, window_days=args.window)
    load_before = os.getloadavg()
    results = {style: run_style(style, args.seeds, tl, args, log) for style in args.styles}
    load_after = os.getloadavg()
    text = []
    for style, res in results.items():
        text += style_markdown(style, res) + [""]
    print("\n".join(text))
    out = {"harness": "bench/eval_forecast.py", "git": git_head(), "machine": machine_info(),
           "loadavg_before": load_before, "loadavg_after": load_after, "timeline": tl.as_dict(),
           "seconds": round(time.perf_counter() - t0, 1), "results": results, "markdown": "\n".join(text)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1, default=_plain))
    log(f"wrote {args.out}")


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


if __name__ == "__main__":
    main()
