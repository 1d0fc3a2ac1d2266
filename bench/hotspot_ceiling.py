"""How far above the naive windows can any count-based hotspot ranking go? (issue 17 §3, hotspots)

    .venv/bin/python bench/hotspot_ceiling.py                    # Boston and NYC (imported when missing)
    .venv/bin/python bench/hotspot_ceiling.py --datasets boston

The goal "hit rate at least 1.1x the best naive window" is scored as `gridwall backtest` scores it:
the region's top 5 % of grids for the 7 days after each weekly origin, the share of those days' cases
inside them, ties at the cut shared. Beside gridwall's scores (`hotspots.grid_scores` on the 84 days
the engine reads) and the naive windows (1, 4, 12 weeks), rankings that no forecast can have, to
bound what a better model of the same counts could reach:

* **learned blend**: a Poisson regression of each grid's next-week count on its counts in the last
  1, 2, 3-4, 5-8 and 9-12 weeks, its busiest day last week and its active days in the last 4 weeks,
  fit on every earlier origin (a forecast: it sees only the past). The "blend learned from the
  deployment's own weeks".
* **two-sided k**: the grid's cases in the k weeks before *and the k weeks after* the scored week
  (the week itself left out): the grid's rate as the weeks around it show it, an estimate no model
  of the past can beat on average unless the week itself is predictable beyond its grid's rate.
* **whole span**: the grid's cases over every scored week, the scored week included (in-sample).
* **hindsight**: the scored week's own counts (the ceiling the backtest prints).

Output: `bench/out/hotspot_ceiling.json` and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eval_realdata as er  # noqa: E402
from common import git_head, machine_info  # noqa: E402

from dashboard.analytics import backtest as bt  # noqa: E402
from dashboard.warning import case_detectors  # noqa: E402
from data_access import backtest as reads  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.scope import Scope  # noqa: E402

OUT = er.OUT / "hotspot_ceiling.json"
TWO_SIDED = (1, 2, 4, 6, 12)


def grid_matrix(ds: dict, first: date, last: date) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Daily cases per grid (every grid in scope), as `gridwall backtest` reads them."""
    engine = make_engine(f"sqlite:///{ds['db']}")
    scope = Scope(ds["root"], ds["root"])
    try:
        with engine.connect() as conn:
            days, counts = reads.grid_day_counts(conn, scope, ZoneInfo(ds["tz"]), first, last)
            codes = reads.grid_areas(conn, scope)["grid_code"].tolist()
    finally:
        engine.dispose()
    return bt.grid_day_matrix(codes, days, counts), days, codes


def window_features(y: np.ndarray, o: int) -> np.ndarray:
    def cases(a: int, b: int) -> np.ndarray:      # days o-b .. o-a-1
        return y[:, max(0, o - b):max(0, o - a)].sum(1)
    cols = [np.log1p(cases(0, 7)), np.log1p(cases(7, 14)), np.log1p(cases(14, 28) / 2),
            np.log1p(cases(28, 56) / 4), np.log1p(cases(56, 84) / 4),
            np.log1p(y[:, max(0, o - 7):o].max(1)), np.log1p((y[:, max(0, o - 28):o] > 0).sum(1))]
    return np.c_[np.ones(y.shape[0]), np.array(cols).T]


def learned_scores(y: np.ndarray, o: int, train_origins: list[int], l2: float = 1.0) -> np.ndarray | None:
    past = [t for t in train_origins if t + 7 <= o]
    if len(past) < 4:
        return None
    x = np.vstack([window_features(y, t) for t in past])
    target = np.concatenate([y[:, t:t + 7].sum(1) for t in past])

    def nll(b):
        eta = np.clip(x @ b, -20, 20)
        mu = np.exp(eta)
        return (mu - target * eta).sum() + l2 * (b[1:] ** 2).sum(), x.T @ (mu - target) + np.r_[0.0, 2 * l2 * b[1:]]

    coef = minimize(nll, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    return window_features(y, o) @ coef


def ceiling(y: np.ndarray, days: np.ndarray, codes: list[str], first: date, last: date,
            params: bt.BacktestParams) -> dict:
    origins = bt.weekly_origins(days, first, last, params.horizon)
    total = y.sum(0)
    data_start = bt.first_case_index(total, 0, y.shape[1])
    origins = [o for o in origins if o - data_start >= params.min_history_days]
    top = max(1, int(round(params.top_share * y.shape[0])))
    # training origins: every earlier week on the same weekday with the engine's 84 days before it
    train = [t for t in range(origins[0] % 7, origins[-1], 7) if t - params.hotspot_days >= data_start]
    span = y[:, origins[0]:origins[-1] + 7].sum(1)
    got: dict[str, float] = {}
    cases = 0.0
    for o in origins:
        actual = y[:, o:o + 7].sum(1)
        cases += actual.sum()
        gridwall = bt.hotspot_scores_at(y, total, codes, o, params.hotspot_days, case_detectors.HOTSPOT_PARAMS)
        scores = {"gridwall": np.zeros(y.shape[0]) if gridwall is None else gridwall}
        for name, weeks in bt.HOTSPOT_WINDOWS.items():
            scores[name] = y[:, max(0, o - 7 * weeks):o].sum(1)
        learned = learned_scores(y, o, train)
        scores["learned_blend"] = scores["gridwall"] if learned is None else learned
        for k in TWO_SIDED:
            scores[f"two_sided_{k}w"] = y[:, max(0, o - 7 * k):o].sum(1) + y[:, o + 7:o + 7 + 7 * k].sum(1)
        scores["whole_span"] = span
        scores["hindsight"] = actual
        for name, s in scores.items():
            got[name] = got.get(name, 0.0) + bt.captured(s, actual, top)[0]
    hit = {name: v / cases for name, v in got.items()}
    best_naive = max(hit[n] for n in bt.HOTSPOT_WINDOWS)
    return {"weeks": len(origins), "grids": int(y.shape[0]), "top": top, "cases": int(round(cases)),
            "hit_rate": {k: round(v, 4) for k, v in hit.items()},
            "x_best_naive": {k: round(v / best_naive, 3) for k, v in hit.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="*", default=["boston", "nyc"], choices=["boston", "nyc"])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    params = bt.BacktestParams(history_days=case_detectors.FORECAST_DAYS, hotspot_days=case_detectors.FACT_DAYS)
    result = {"git": git_head(), "machine": machine_info(), "datasets": {}}
    for name in args.datasets:
        ds = er.DATASETS[name]
        er.ensure_db(name, ds, False)
        began = time.perf_counter()
        lo, hi = er.data_span(ds)
        first, last = er.backtest_span(lo, hi)
        y, days, codes = grid_matrix(ds, first - timedelta(days=params.hotspot_days), last)
        res = ceiling(y, days, codes, first, last, params)
        res.update({"from": str(first), "to": str(last), "seconds": round(time.perf_counter() - began, 1)})
        result["datasets"][name] = res
        er.log(f"{name}: {res['weeks']} weeks, {res['grids']} grids (top {res['top']}), {res['seconds']} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    names = list(next(iter(result["datasets"].values()))["hit_rate"])
    print("\n| ranking | " + " | ".join(result["datasets"]) + " |")
    print("|---|" + "---|" * len(result["datasets"]))
    for n in names:
        cells = [f"{r['hit_rate'][n]:.3f} ({r['x_best_naive'][n]:.2f}x)" for r in result["datasets"].values()]
        print(f"| {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
