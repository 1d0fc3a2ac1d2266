"""Concealment tests under other settings: the pure tests of ``dashboard.analytics.concealment`` run on
the same weekly channel counts the engine builds, at the same Mondays, with parameter variants.

The default variant reproduces what the replay raised (a check that this module reads the weeks as
the engine does); the others say what a different threshold would catch and how many honest
communities it would flag, without replaying the whole engine for each.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from eval_history import Timeline


def _matrices_at(facts: pd.DataFrame, communities: list[str], monday_dn: int, tl: Timeline):
    """Weekly (patrol, uncontrolled) counts per community as the engine builds them at 00:10 of
    ``monday_dn`` (None when it has too few weeks to judge)."""
    from dashboard.analytics import concealment
    from dashboard.warning import case_detectors
    from data_access import feeds_cases

    today = np.datetime64(tl.day(monday_dn), "D")
    start = today - np.timedelta64(7 * case_detectors.CONCEALMENT_WEEKS, "D")
    day = facts["day"].values.astype("datetime64[D]")
    f = facts[(facts["dn"].values < monday_dn) & (day >= start)]
    if not len(f):
        return None
    weeks = case_detectors._complete_weeks(max(start, f["day"].values.astype("datetime64[D]").min()), today)
    if len(weeks) < case_detectors.CONCEALMENT_PARAMS.min_pre_weeks + 1:
        return None
    return concealment.weekly_matrix(feeds_cases.channel_week_counts(f, weeks), communities, weeks)


def _flagged(mats, params) -> np.ndarray:
    from dashboard.analytics import concealment

    p, u = mats
    return concealment.own_history(p, u, params).flagged | concealment.peer_deficit(p, u, params).flagged


def sweep(histories: list[dict], tl: Timeline, variants: dict) -> dict:
    """``histories``: dicts with ``facts`` (injected), ``honest_facts``, ``communities``, ``truths``.

    Per variant: share of concealment runs caught within the horizon (by kept share) and honest
    communities flagged per quarter on the honest histories (weekly, from ``honest_first_weekly``)."""
    horizon_end = tl.window_start + 7 * tl.conceal_weeks
    mondays_window = [d for d in range(tl.window_start + 1, horizon_end + 1) if tl.day(d).weekday() == 0]
    mondays_honest = [d for d in range(tl.honest_first_weekly, tl.last_step + 1) if tl.day(d).weekday() == 0]
    mats = []
    for h in histories:
        inj = [m for m in (_matrices_at(h["facts"], h["communities"], d, tl) for d in mondays_window) if m is not None]
        hon = [m for m in (_matrices_at(h["honest_facts"], h["communities"], d, tl) for d in mondays_honest) if m is not None]
        mats.append((inj, hon))
    out = {}
    for name, params in variants.items():
        caught: dict[float, list[bool]] = {}
        flagged = communities_total = 0
        for h, (inj, hon) in zip(histories, mats):
            comm = h["communities"]
            index = {c: i for i, c in enumerate(comm)}
            hit = np.zeros(len(comm), bool)
            for m in inj:
                hit |= _flagged(m, params)
            for t in h["truths"]:
                if t["kind"] == "concealment" and not t.get("flagged_before"):
                    caught.setdefault(t["keep"], []).append(bool(hit[index[t["region"]]]))
            flags = np.array([_flagged(m, params) for m in hon])        # (Mondays, communities)
            # distinct communities flagged in each 13-Monday window, as the replay's rate counts them
            windows = [flags[i:i + 13].any(0).sum() for i in range(0, max(len(flags) - 12, 1))]
            flagged += float(np.mean(windows)) if len(flags) >= 13 else flags.any(0).sum() * 13.0 / max(len(flags), 1)
            communities_total += len(comm)
        out[name] = {"caught": {f"{k:.0%}": float(np.mean(v)) for k, v in sorted(caught.items(), reverse=True)},
                     "runs": {f"{k:.0%}": len(v) for k, v in sorted(caught.items(), reverse=True)},
                     "honest_per_quarter": flagged / communities_total if communities_total else None}
    return out


def default_variants() -> dict:
    from dashboard.analytics.concealment import ConcealmentParams

    d = ConcealmentParams()
    return {
        f"default (llr_threshold={d.llr_threshold:g}, peer_tail={d.peer_tail:g})": d,
        "llr_threshold=4": replace(d, llr_threshold=4.0),
        "llr_threshold=3": replace(d, llr_threshold=3.0),
        "max_ratio=0.9": replace(d, max_ratio=0.9),
        "peer_tail=1e-5": replace(d, peer_tail=1e-5),
        "peer_tail=1e-6": replace(d, peer_tail=1e-6),
        "llr_threshold=4, peer_tail=1e-6": replace(d, llr_threshold=4.0, peer_tail=1e-6),
        "peer test off (peer_tail=0)": replace(d, peer_tail=0.0),
    }


# --- many runs on one history: thinned communities drawn again and again, next to the oracle bounds ------------

def full_matrices(facts: pd.DataFrame, communities: list[str], tl: Timeline):
    """(P, U) of every complete week of the history (week j = days 7j..7j+6), as the engine counts them."""
    from dashboard.analytics import concealment
    from data_access import feeds_cases

    weeks = np.array([np.datetime64(tl.day(7 * j), "D") for j in range(tl.history_days // 7)])
    return concealment.weekly_matrix(feeds_cases.channel_week_counts(facts, weeks), communities, weeks)


def _flags_at(p, u, monday_week: int, params, lookback: int | None = None) -> np.ndarray:
    """As of 00:10 on the Monday of week ``monday_week``: the ``lookback`` complete weeks before it (the
    engine's ``CONCEALMENT_WEEKS``), fewer while the history is shorter."""
    if lookback is None:
        from dashboard.warning.case_detectors import CONCEALMENT_WEEKS as lookback
    first = max(0, monday_week - lookback)
    return _flagged((p[:, first:monday_week], u[:, first:monday_week]), params)


def many_runs(p: np.ndarray, u: np.ndarray, tl: Timeline, params, keeps=(0.90, 0.74, 0.50), reps: int = 12,
              per_rep: int = 6, seed: int = 5, min_patrol_per_week: float = 7.0, lookback: int | None = None) -> dict:
    """Thinning drawn ``reps`` times per kept share, each time in ``per_rep`` communities at once (eligible
    as in ``eval_inject``: >= 7 patrol reports a week over the 8 weeks before): each community's patrol
    reports from the window start on are kept with probability ``keep`` (binomial, like the injection's
    random deletions). Caught: flagged on one of the Mondays within the horizon (runs flagged on the
    Monday of the change are left out, as the replay's scorer does). Honest: the untouched matrices,
    flagged communities per 13-Monday window. The oracle bounds are computed for the same runs."""
    import eval_oracle

    rng = np.random.default_rng(seed)
    change = tl.window_start // 7
    horizon = tl.conceal_weeks
    pre = p[:, change - 8:change].mean(1)
    eligible = np.nonzero(pre >= min_patrol_per_week)[0]
    honest_flags = np.array([_flags_at(p, u, m, params, lookback) for m in range(tl.honest_first_weekly // 7, change + horizon + 1)])
    windows = [honest_flags[i:i + 13].any(0).sum() for i in range(max(len(honest_flags) - 12, 1))]
    out = {"communities": int(p.shape[0]), "eligible": int(len(eligible)),
           "honest_per_quarter": float(np.mean(windows)) / p.shape[0], "by_keep": {}}
    rates_e = p[:, :change].mean(1)
    rates_u = u[:, :change].mean(1)
    for keep in keeps:
        caught, rates = [], []
        for _ in range(reps):
            chosen = rng.choice(eligible, size=min(per_rep, len(eligible)), replace=False)
            p2 = p.copy()
            p2[chosen, change:] = rng.binomial(p[chosen, change:].astype(np.int64), keep)
            before = _flags_at(p2, u, change, params, lookback)[chosen]
            hit = np.zeros(len(chosen), bool)
            for m in range(change + 1, change + horizon + 1):
                hit |= _flags_at(p2, u, m, params, lookback)[chosen]
            caught += [bool(h) for h, b in zip(hit, before) if not b]
            rates += [(float(rates_e[c]), float(rates_u[c])) for c, b in zip(chosen, before) if not b]
        out["by_keep"][f"{keep:.0%}"] = {"runs": len(caught), "caught": float(np.mean(caught)) if caught else None,
                                         "patrol_per_week": float(np.mean([e for e, _ in rates])) if rates else None,
                                         "oracle": eval_oracle.bounds(rates, keep, horizon)}
    return out


# --- command line: many runs on year-long histories, the engine against its variants and the oracle ----------

def _pool(parts: list[dict]) -> dict:
    out = {"honest_per_quarter": float(np.mean([x["honest_per_quarter"] for x in parts])),
           "honest_per_seed": [round(x["honest_per_quarter"], 4) for x in parts], "by_keep": {}}
    for k in parts[0]["by_keep"]:
        bs = [x["by_keep"][k] for x in parts]
        w = [b["runs"] for b in bs]
        out["by_keep"][k] = {"runs": sum(w), "caught": float(np.average([b["caught"] for b in bs], weights=w)),
                             "caught_per_seed": [round(b["caught"], 3) for b in bs],
                             "patrol_per_week": float(np.average([b["patrol_per_week"] for b in bs], weights=w)),
                             "oracle": {o: float(np.average([b["oracle"][o] for b in bs], weights=w))
                                        for o in bs[0]["oracle"] if o != "communities"}}
    return out


def main() -> None:
    import argparse
    import json
    import sys
    import time
    from pathlib import Path

    from eval_history import case_frame, ensure_base, grid_frame, sqlite_url

    from dashboard.warning import case_detectors
    from data_access.db import make_engine

    ap = argparse.ArgumentParser(description="Concealment: the engine's tests on many thinned communities, "
                                             "with honest flags per quarter and the oracle bounds")
    ap.add_argument("--days", type=int, default=364, help="history length (the change is 8 weeks before its end)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[20261126, 20261127, 20261128, 20261129])
    ap.add_argument("--volumes", type=float, nargs="+", default=[1.0, 2.4])
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "eval_conceal.json"))
    args = ap.parse_args()
    # honest flags in the second half's quarters, as eval_warning counts them: the tests then read at least
    # 31 weeks, as they will in service (in the first weeks they have little history and flag less)
    tl = Timeline(history_days=args.days, honest_first_weekly=args.days - 147)
    engine_params = case_detectors.CONCEALMENT_PARAMS
    variants = {f"engine ({case_detectors.CONCEALMENT_WEEKS} weeks, threshold {engine_params.llr_threshold:g})":
                (engine_params, case_detectors.CONCEALMENT_WEEKS),
                "26 weeks, threshold 3.5 (before)": (replace(engine_params, llr_threshold=3.5), 26),
                f"26 weeks, threshold {engine_params.llr_threshold:g}": (engine_params, 26),
                f"{case_detectors.CONCEALMENT_WEEKS} weeks, threshold 4": (replace(engine_params, llr_threshold=4.0),
                                                                          case_detectors.CONCEALMENT_WEEKS),
                f"{case_detectors.CONCEALMENT_WEEKS} weeks, threshold 3.5": (replace(engine_params, llr_threshold=3.5),
                                                                            case_detectors.CONCEALMENT_WEEKS)}
    started = time.perf_counter()
    results = {}
    for vol in args.volumes:
        mats = []
        for seed in args.seeds:
            base = ensure_base(seed, tl, volume=vol)
            engine = make_engine(sqlite_url(base))
            try:
                facts, communities = case_frame(engine, tl), sorted(grid_frame(engine)["community"].unique())
            finally:
                engine.dispose()
            mats.append((seed, full_matrices(facts, communities, tl)))
        for name, (params, lookback) in variants.items():
            parts = [many_runs(pm, um, tl, params, seed=seed, reps=args.reps, lookback=lookback) for seed, (pm, um) in mats]
            pooled = _pool(parts)
            results.setdefault(f"{vol:g}", {})[name] = pooled
            k74 = pooled["by_keep"]["74%"]
            print(f"volume x{vol:g} | {name}: honest {pooled['honest_per_quarter']:.1%} per quarter "
                  f"(seeds {', '.join(f'{h:.1%}' for h in pooled['honest_per_seed'])}); caught within "
                  f"{tl.conceal_weeks} weeks: " + ", ".join(f"{k} {v['caught']:.0%}" for k, v in pooled["by_keep"].items())
                  + f" (74 % per seed {', '.join(f'{c:.0%}' for c in k74['caught_per_seed'])}; {k74['runs']} runs, "
                  f"{k74['patrol_per_week']:.1f} patrol reports a week); oracle at 74 %: one look {k74['oracle']['one_look']:.0%}, "
                  f"weekly CUSUM {k74['oracle']['cusum']:.0%}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": " ".join(sys.argv), "timeline": tl.as_dict(), "seeds": args.seeds,
                               "seconds": round(time.perf_counter() - started), "results": results},
                              ensure_ascii=False, indent=1))
    print(f"wrote {out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
