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

