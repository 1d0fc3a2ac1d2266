"""The space-time scan under other reporting thresholds (``ScanParams.min_recurrence_days``).

The scan is run as the engine runs it each day (same 28-day study period, neighbours, channel
strata, Monte Carlo seed), once with a low threshold; a cluster reported at threshold R is one whose
recurrence interval is at least R (the scan takes clusters strongest first, so the list at a higher
threshold is a prefix of this one). Injected histories: the days around each injected cluster.
Honest history: every day of the window, for the false cluster alerts per street-week (one alert per
community and first day of the cluster's window, as the engine keys them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pandas as pd

from eval_history import Timeline

LOWEST = 10.0


def _clusters(facts: pd.DataFrame, cent: pd.DataFrame, last: np.datetime64, params) -> list[dict]:
    from dashboard.analytics import scan

    pos = {code: i for i, code in enumerate(cent["grid_code"])}
    d = facts["day"].values.astype("datetime64[D]")
    first = last - np.timedelta64(params.study_days - 1, "D")
    f = facts[(d >= first) & (d <= last) & facts["grid_code"].isin(pos).values]
    if not len(f):
        return []
    loc = f["grid_code"].map(pos).values.astype(np.int64)
    day = (f["day"].values.astype("datetime64[D]") - first).astype(np.int64)
    strata = scan.strata_of(f["source"].values, loc, params.automated_sources)
    nbr, dist = scan.neighbours(cent["lon"].values, cent["lat"].values, params.max_neighbors, params.max_radius_km)
    rng = np.random.default_rng(int(str(last).replace("-", "")))
    found = scan.scan(loc, day, strata, len(cent), params.study_days - 1, nbr, dist, params, runs_per_day=1.0, rng=rng)
    codes = cent["grid_code"].values
    return [{"grids": set(codes[c.members].tolist()), "community": codes[c.center][:12], "window": c.window,
             "first": str(last - np.timedelta64(c.window - 1, "D")), "ri": c.recurrence_days} for c in found]


def sweep(histories: list[dict], tl: Timeline, thresholds=(100.0, 50.0, 20.0, 10.0)) -> dict:
    """``histories``: dicts with ``facts`` (injected), ``honest_facts`` (or None), ``centroids``, ``truths``,
    ``streets``. Returns per threshold: clusters found (within the scoring grace), median delay, false
    cluster alerts per street-week on the honest histories given."""
    from dashboard.warning import case_detectors

    params = replace(case_detectors.SCAN_PARAMS, min_recurrence_days=LOWEST)
    found = {r: [] for r in thresholds}
    false_keys = {r: set() for r in thresholds}
    street_weeks = 0.0
    for hi, h in enumerate(histories):
        cache: dict[int, list[dict]] = {}

        def on(dn: int, frame) -> list[dict]:
            if dn not in cache:
                cache[dn] = _clusters(frame, h["centroids"], np.datetime64(tl.day(dn), "D"), params)
            return cache[dn]

        for t in h["truths"]:
            if t["kind"] != "cluster":
                continue
            start = datetime.fromisoformat(t["start"])
            for r in thresholds:
                delay = None
                for dn in range(t["start_day"], t["start_day"] + t["days"] + 3):   # tested at 00:10 the day after, as GRACE
                    if any(c["ri"] >= r and c["grids"] & set(t["grids"]) for c in on(dn, h["facts"])):
                        delay = (tl.step_at(dn + 1) - start).total_seconds() / 86400
                        break
                found[r].append(delay)
        if h.get("honest_facts") is not None:
            cache.clear()
            street_weeks += len(h["streets"]) * (tl.last_step - tl.window_start + 1) / 7.0
            for dn in range(tl.window_start - 1, tl.history_days):
                for c in on(dn, h["honest_facts"]):
                    for r in thresholds:
                        if c["ri"] >= r:
                            false_keys[r].add((hi, c["community"], c["first"]))
    out = {}
    for r in thresholds:
        hits = [d for d in found[r] if d is not None]
        out[f"{r:g}"] = {"clusters": len(found[r]), "found": len(hits),
                         "within_2_5_days": sum(1 for d in hits if d <= 2.5),
                         "median_delay_days": float(np.median(hits)) if hits else None,
                         "false_per_street_week": len(false_keys[r]) / street_weeks if street_weeks else None}
    return out



# --- per injected cluster: its own cylinder against the scan's critical value ------------------------------

def cylinder_llr(facts: pd.DataFrame, cent: pd.DataFrame, grids: list[str], first_day: np.datetime64,
                 last: np.datetime64, params) -> tuple[float, int, float]:
    """(LLR, observed, expected) of the cylinder made of exactly ``grids`` over [first_day, last] in the
    28-day study period ending on ``last``, as the scan computes them (automated channels left out)."""
    from dashboard.analytics import scan

    d = facts["day"].values.astype("datetime64[D]")
    f = facts[(d >= last - np.timedelta64(params.study_days - 1, "D")) & (d <= last)]
    strata = scan.strata_of(f["source"].values, np.zeros(len(f), dtype=np.int64), params.automated_sources)
    f = f[strata >= 0]
    strata = strata[strata >= 0]
    inside = f["grid_code"].isin(grids).values
    inw = f["day"].values.astype("datetime64[D]") >= first_day
    n_s = np.bincount(strata).astype(float)
    exp = float(sum(np.sum(inside & (strata == s)) * np.sum(inw & (strata == s)) / n_s[s] for s in range(len(n_s)) if n_s[s]))
    obs = int((inside & inw).sum())
    llr = float(scan._llr(np.array([obs], float), np.array([exp]), float(len(f)), params.min_cases)[0])
    return llr, obs, exp


def truth_table(histories: list[dict], tl: Timeline, thresholds=(100.0, 20.0)) -> list[dict]:
    """Per injected cluster, on each day it could be found within 2.5 days of its first case: the LLR of
    its own cylinder (its grids, from its first day) and the scan's critical LLR at each threshold that
    day (the replications' maxima), and the recurrence interval of the best scanned cluster touching
    it. A cluster whose own cylinder stays below the critical value is out of reach of any cylinder
    scan at that threshold: even knowing its shape and start, its excess is what chance gives
    somewhere in the county every 100 (20) days."""
    from dashboard.analytics import scan
    from dashboard.warning import case_detectors

    params = replace(case_detectors.SCAN_PARAMS, min_recurrence_days=1.0, max_clusters=30)
    out = []
    for h in histories:
        cent = h["centroids"]
        codes = cent["grid_code"].values
        pos = {code: i for i, code in enumerate(codes)}
        nbr, dist = scan.neighbours(cent["lon"].values, cent["lat"].values, params.max_neighbors, params.max_radius_km)
        for t in h["truths"]:
            if t["kind"] != "cluster":
                continue
            start = datetime.fromisoformat(t["start"])
            first = np.datetime64(tl.day(t["start_day"]), "D")
            days = []
            for dn in range(t["start_day"], t["start_day"] + t["days"] + 2):
                delay = (tl.step_at(dn + 1) - start).total_seconds() / 86400
                if delay > 2.5:
                    break
                last = np.datetime64(tl.day(dn), "D")
                llr, obs, exp = cylinder_llr(h["facts"], cent, t["grids"], first, last, params)
                f = h["facts"]
                d = f["day"].values.astype("datetime64[D]")
                f = f[(d >= last - np.timedelta64(params.study_days - 1, "D")) & (d <= last) & f["grid_code"].isin(pos).values]
                loc = f["grid_code"].map(pos).values.astype(np.int64)
                day = (f["day"].values.astype("datetime64[D]") - (last - np.timedelta64(params.study_days - 1, "D"))).astype(np.int64)
                maxima: list = []
                found = scan.scan(loc, day, scan.strata_of(f["source"].values, loc, params.automated_sources), len(cent),
                                  params.study_days - 1, nbr, dist, params, rng=np.random.default_rng(int(str(last).replace("-", ""))),
                                  null_maxima=maxima)
                ri = max([c.recurrence_days for c in found if set(codes[c.members]) & set(t["grids"])], default=0.0)
                days.append({"dn": dn, "delay_days": round(delay, 2), "llr": round(llr, 2), "observed": obs, "expected": round(exp, 2),
                             "critical": {f"{r:g}": round(float(np.quantile(maxima, 1 - 1 / r)), 2) for r in thresholds},
                             "scan_ri": round(ri, 1)})
            out.append({"id": t["id"], "seed": h.get("seed"), "k": t["k"], "sd": t["sd"], "per_day": t["per_day"], "days": t["days"],
                        "grids": len(t["grids"]), "n_cases": t["n_cases"], "by_day": days})
    return out


def main() -> None:
    """Sweep and per-cluster table on the histories the last ``eval_warning.py`` run prepared (its
    ``var/eval/injected_s<seed>.db`` and truth files, and the untouched baselines); JSON to stdout."""
    import argparse
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from eval_history import COUNTY, EVAL_DIR, base_path, case_frame, sqlite_url

    from data_access import feeds_cases
    from data_access.db import make_engine
    from data_access.scope import Scope

    ap = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[20261126, 20261127])
    args = ap.parse_args()
    tl = Timeline()
    histories = []
    for seed in args.seeds:
        truths = json.loads((EVAL_DIR / f"injected_s{seed}.truth.json").read_text())["truths"]
        frames = {}
        for key, db in (("facts", EVAL_DIR / f"injected_s{seed}.db"), ("honest_facts", base_path(seed, tl))):
            engine = make_engine(sqlite_url(db))
            try:
                frames[key] = case_frame(engine, tl)
                if key == "facts":
                    with engine.connect() as conn:
                        frames["centroids"] = feeds_cases.grid_centroids(conn, Scope(COUNTY, COUNTY))
            finally:
                engine.dispose()
        histories.append({**frames, "seed": seed, "truths": truths, "streets": sorted(frames["facts"]["street"].unique())})
    print(json.dumps({"sweep": sweep(histories, tl), "clusters": truth_table(histories, tl)}, indent=1))


if __name__ == "__main__":
    main()
