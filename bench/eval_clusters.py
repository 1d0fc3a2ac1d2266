"""Space-time clusters, many runs (issue 17 §3, synthetic goal): is a cluster of k sd found within 2.5 days?

    nice -n 10 .venv/bin/python bench/eval_clusters.py                 # 2 seeds, 56 runs each (~20-30 min)
    nice -n 10 .venv/bin/python bench/eval_clusters.py --runs-per-k 2 --strong-runs-per-k 4   # quicker

The replay harness (``eval_warning.py``) injects one cluster per street and seed: 16 clusters in all,
too few to tell 80 % from 95 % at 6 sd and above. Here each run injects *one* cluster into the honest
synthetic history (in memory; the engine reads case rows, and the copies are rows like the others),
drawn exactly as ``eval_inject`` draws them (``Planner._cluster``: a centre grid weighted by its
volume, its 2-5 nearest grids within 2 km, copies of the place's own cases of the 56 days before, on
1-3 days) except that ``k`` is set per run instead of drawn (so that the strong clusters get enough
runs), and runs the engine's daily scan (``case_detectors.SCAN_PARAMS``, the engine's 28-day study
period, neighbours, channel strata and Monte Carlo seed per day) on each day it could be found
within 2.5 days of its first case (the scan of day D is raised at 00:10 on D + 1). For every scan
it also records the cluster's *own* cylinder LLR (exactly its grids, from its first day) and the
scan's critical LLR at the engine's threshold (the replications' quantile): a cluster whose own
cylinder stays below it is out of reach of any cylinder scan at that threshold (its power).
The honest history is scanned on every day of the 56-day window (false clusters, keyed by
community and first day as the engine keys them).

Output: ``bench/out/eval_clusters.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import git_head, machine_info  # noqa: E402
from eval_history import COUNTY, Timeline, case_frame, ensure_base, grid_frame, sqlite_url  # noqa: E402
from eval_inject import Planner, _copies  # noqa: E402
from eval_scan import cylinder_llr  # noqa: E402

from dashboard.analytics import scan  # noqa: E402
from dashboard.warning import case_detectors  # noqa: E402
from data_access import feeds_cases  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.scope import Scope  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "eval_clusters.json"
_t0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _t0:6.0f} s] {msg}", flush=True)


def scan_day(facts: pd.DataFrame, cent: pd.DataFrame, nbr, dist, last: np.datetime64, params, maxima: list | None = None):
    """The engine's scan of the study period ending on ``last`` (``case_detectors._scan_day``)."""
    pos = {code: i for i, code in enumerate(cent["grid_code"])}
    d = facts["day"].values.astype("datetime64[D]")
    first = last - np.timedelta64(params.study_days - 1, "D")
    f = facts[(d >= first) & (d <= last) & facts["grid_code"].isin(pos).values]
    loc = f["grid_code"].map(pos).values.astype(np.int64)
    day = (f["day"].values.astype("datetime64[D]") - first).astype(np.int64)
    strata = scan.strata_of(f["source"].values, loc, params.automated_sources)
    rng = np.random.default_rng(int(str(last).replace("-", "")))
    return scan.scan(loc, day, strata, len(cent), params.study_days - 1, nbr, dist, params, runs_per_day=1.0, rng=rng,
                     null_maxima=maxima)


def inject_one(facts: pd.DataFrame, t, tl: Timeline, rng) -> tuple[pd.DataFrame, float]:
    """The facts with the cluster's copies (rows of the templates moved to the event's days); the
    first copy's time as a day number (fractional)."""
    plan = _copies(t, rng)
    tpl = facts.set_index("id").loc[plan["template"].values].reset_index()
    tpl["dn"] = plan["dn"].values
    tpl["tod"] = plan["tod"].values
    tpl["day"] = np.datetime64(tl.first_day, "D") + tpl["dn"].values.astype("timedelta64[D]")
    tpl["id"] = np.arange(len(tpl)) + int(facts["id"].max()) + 1
    start = float((plan["dn"] + plan["tod"] / 86400.0).min())
    out = pd.concat([facts, tpl[facts.columns]], ignore_index=True)
    return out, start


def run_seed(seed: int, tl: Timeline, ks: list[int], runs_per_k: dict[int, int], honest_days: bool, params) -> dict:
    base = ensure_base(seed, tl, log=log)
    engine = make_engine(sqlite_url(base))
    try:
        facts, grids = case_frame(engine, tl), grid_frame(engine)
        with engine.connect() as conn:
            cent = feeds_cases.grid_centroids(conn, Scope(COUNTY, COUNTY))
    finally:
        engine.dispose()
    nbr, dist = scan.neighbours(cent["lon"].values, cent["lat"].values, params.max_neighbors, params.max_radius_km)
    rng = np.random.default_rng(seed * 31 + 7)
    planner = Planner(facts, grids, tl, rng, 0)
    streets = sorted(facts["street"].unique())
    runs = []
    for k in ks:
        for _ in range(runs_per_k[k]):
            t = None
            while t is None:
                street = streets[int(rng.integers(len(streets)))]
                start = int(rng.integers(tl.window_start, tl.history_days - 8))
                t = planner._cluster(street, start, set())
            t.k = k
            t.per_day = max(1, int(round(k * t.sd)))
            injected, first_case = inject_one(facts, t, tl, rng)
            delay, days = None, []
            for dn in range(t.start_day, t.start_day + t.days + 2):
                d_delay = (dn + 1 + 10 / 1440) - first_case
                if d_delay > 2.5:
                    break
                last = np.datetime64(tl.day(dn), "D")
                maxima: list = []
                found = scan_day(injected, cent, nbr, dist, last, params, maxima)
                hit = any(set(cent["grid_code"].values[c.members]) & set(t.grids) for c in found)
                llr, obs, exp = cylinder_llr(injected, cent, t.grids, np.datetime64(tl.day(t.start_day), "D"), last, params)
                critical = float(np.quantile(maxima, 1 - 1 / params.min_recurrence_days)) if maxima else None
                days.append({"dn": dn, "delay_days": round(d_delay, 2), "found": hit, "own_llr": round(llr, 2),
                             "critical_llr": round(critical, 2) if critical else None, "observed": obs,
                             "expected": round(exp, 2)})
                if hit:
                    delay = d_delay
                    break
            reachable = any(x["critical_llr"] is not None and x["own_llr"] > x["critical_llr"] for x in days)
            runs.append({"seed": seed, "k": k, "sd": t.sd, "per_day": t.per_day, "days": t.days, "grids": len(t.grids),
                         "extra_cases": t.per_day * t.days, "found_within_2_5": delay is not None,
                         "delay_days": round(delay, 2) if delay is not None else None, "reachable": reachable,
                         "scans": days})
        done = [r for r in runs if r["k"] == k]
        log(f"seed {seed}: k {k}: found {sum(r['found_within_2_5'] for r in done)}/{len(done)} within 2.5 d; "
            f"own cylinder above the critical LLR in {sum(r['reachable'] for r in done)}")
    honest = None
    if honest_days:
        keys = set()
        for dn in range(tl.window_start, tl.history_days):
            for c in scan_day(facts, cent, nbr, dist, np.datetime64(tl.day(dn), "D"), params):
                keys.add((cent["grid_code"].values[c.center][:12], str(np.datetime64(tl.day(dn), "D") - np.timedelta64(c.window - 1, "D"))))
        street_weeks = len(streets) * (tl.history_days - tl.window_start) / 7.0
        honest = {"days": tl.history_days - tl.window_start, "false_clusters": len(keys),
                  "street_weeks": street_weeks, "keys": sorted(keys)}
        log(f"seed {seed}: honest history: {len(keys)} false clusters in {honest['days']} days")
    return {"seed": seed, "cases": len(facts), "runs": runs, "honest": honest}


def summary(results: list[dict]) -> dict:
    runs = [r for res in results for r in res["runs"]]
    by_k = {}
    for k in sorted({r["k"] for r in runs}):
        rs = [r for r in runs if r["k"] == k]
        found = [r for r in rs if r["found_within_2_5"]]
        by_k[str(k)] = {"runs": len(rs), "found_within_2_5": len(found), "share": len(found) / len(rs),
                        "reachable": sum(r["reachable"] for r in rs),
                        "found_of_reachable": (sum(r["found_within_2_5"] for r in rs if r["reachable"])
                                               / max(sum(r["reachable"] for r in rs), 1)),
                        "median_delay_days": float(np.median([r["delay_days"] for r in found])) if found else None}
    strong = [r for r in runs if r["k"] >= 6]
    return {"by_k": by_k,
            "k6_plus": {"runs": len(strong), "found_within_2_5": sum(r["found_within_2_5"] for r in strong),
                        "share": (sum(r["found_within_2_5"] for r in strong) / len(strong)) if strong else None},
            "honest_false_clusters": sum(res["honest"]["false_clusters"] for res in results if res["honest"]),
            "honest_days": sum(res["honest"]["days"] for res in results if res["honest"])}


def main() -> None:
    ap = argparse.ArgumentParser(description="clusters: many injected runs against the engine's scan")
    ap.add_argument("--seeds", type=int, nargs="+", default=[20261126, 20261127])
    ap.add_argument("--history-days", type=int, default=182)
    ap.add_argument("--runs-per-k", type=int, default=4, help="runs per k for k 2-5")
    ap.add_argument("--strong-runs-per-k", type=int, default=8, help="runs per k for k 6-10")
    ap.add_argument("--no-honest", action="store_true")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    tl = Timeline(history_days=args.history_days)
    params = case_detectors.SCAN_PARAMS
    ks = list(range(2, 11))
    per_k = {k: (args.strong_runs_per_k if k >= 6 else args.runs_per_k) for k in ks}
    results = [run_seed(seed, tl, ks, per_k, not args.no_honest, params) for seed in args.seeds]
    out = {"command": " ".join(sys.argv), "git": git_head(), "machine": machine_info(), "timeline": tl.as_dict(),
           "scan_threshold_days": params.min_recurrence_days, "seconds": round(time.perf_counter() - _t0),
           "summary": summary(results), "seeds": results}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str))
    log(f"wrote {path}: {json.dumps(out['summary'], default=str)}")


if __name__ == "__main__":
    main()
