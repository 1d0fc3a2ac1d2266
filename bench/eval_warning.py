"""Evaluation harness of the early-warning engine (issue 5): injected truth, `gridwall warn --replay`, scores.

    .venv/bin/python bench/eval_warning.py            # full: 2 seeds, 8-week window (~20-30 min on 2 busy cores)
    .venv/bin/python bench/eval_warning.py --quick    # 1 seed, 4-week window (~6-10 min)
    .venv/bin/python bench/eval_warning.py --rescore  # score the databases of the last run again (no replay)

Per seed: a synthetic county (``seed_county``, 182 days) is seeded once into ``var/eval/`` and copied
twice. The *honest* copy is left as it is; the *injected* copy gets outbreaks, space-time clusters
and concealment (``eval_inject``), its truth written to JSON. ``gridwall warn --replay --step 1d``
runs over both (steps at 00:10 local; the honest copy also weekly over the earlier weeks, for the
concealment false-flag rate), and the alerts they wrote are scored against the truth
(``eval_score``), side by side with EARS C2 and C3 computed on the same daily series. Forecasts and
hotspots are scored on the honest history (``eval_forecast``). A markdown summary is printed; all
numbers go to ``bench/out/eval_warning.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eval_conceal  # noqa: E402
import eval_oracle  # noqa: E402
import eval_forecast  # noqa: E402
import eval_scan  # noqa: E402
import eval_score as sc  # noqa: E402
from common import git_head, machine_info  # noqa: E402
from eval_history import (COUNTY, EVAL_DIR, REPO, Timeline, case_frame, copy_db, ensure_base, grid_frame,  # noqa: E402
                          sqlite_url)
from eval_inject import Truth, inject  # noqa: E402
from eval_replay import Replay, raised_details, read_alerts, run_jobs  # noqa: E402

from data_access.db import make_engine  # noqa: E402

OUT = REPO / "bench" / "out" / "eval_warning.json"
FULL_SEEDS = (20261126, 20261127)
QUICK_SEEDS = (20261126,)
K_BUCKETS = ((2, 3), (4, 5), (6, 7), (8, 10))
EARS_VARIANTS = (("EARS C2", "C2", sc.SERIES_LEVELS), ("EARS C3", "C3", sc.SERIES_LEVELS),
                 ("EARS C2, street x major only", "C2", (("street", "major"),)),
                 ("EARS C3, street x major only", "C3", (("street", "major"),)))

_t0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _t0:6.0f} s] {msg}", flush=True)


def timeline(quick: bool, history_days: int = 182) -> Timeline:
    """The 56-day window (28 with ``quick``) at the end of ``history_days``; the honest history's weekly
    steps start 147 days (98 with ``quick``) before its end whatever its length, so the number of
    weekly looks does not grow with it."""
    if quick:
        return Timeline(history_days=history_days, window_days=28, honest_first_weekly=history_days - 84)
    return Timeline(history_days=history_days, honest_first_weekly=history_days - 147)


# --- preparing the histories ---------------------------------------------------------------------------

def prepare(seed: int, tl: Timeline, args, honest_daily: bool) -> dict:
    base = ensure_base(seed, tl, reseed=args.reseed, log=log)
    truth_file = EVAL_DIR / f"injected_s{seed}.truth.json"
    honest_db, injected_db = EVAL_DIR / f"honest_s{seed}.db", EVAL_DIR / f"injected_s{seed}.db"
    if args.rescore:
        truths = json.loads(truth_file.read_text())["truths"]
        return {"seed": seed, "base": base, "honest": honest_db, "injected": injected_db, "truths": truths,
                "honest_daily": honest_daily}
    honest_db = copy_db(base, honest_db.name)
    injected_db = copy_db(base, injected_db.name)
    engine = make_engine(sqlite_url(injected_db))
    try:
        facts, grids = case_frame(engine, tl), grid_frame(engine)
        truths: list[Truth] = inject(engine, facts, grids, tl, seed, args.conceal_per_level)
    finally:
        engine.dispose()
    payload = [t.as_dict() for t in truths]
    truth_file.write_text(json.dumps({"seed": seed, "timeline": tl.as_dict(), "truths": payload}, ensure_ascii=False, indent=1))
    n = {k: sum(1 for t in truths if t.kind == k) for k in ("outbreak", "cluster", "concealment")}
    log(f"seed {seed}: injected {n['outbreak']} outbreaks, {n['cluster']} clusters, {n['concealment']} concealing "
        f"communities ({sum(t.n_cases for t in truths if t.kind != 'concealment')} extra cases, "
        f"{sum(t.deleted for t in truths)} patrol cases deleted)")
    return {"seed": seed, "base": base, "honest": honest_db, "injected": injected_db, "truths": payload,
            "honest_daily": honest_daily}


def replay_jobs(prepared: list[dict], tl: Timeline, step: str) -> dict:
    """Every injected history: daily over the window. Honest histories: daily over the window for the
    first ``honest_daily`` seeds (the false-alarm rates of rises and clusters), weekly (Mondays, when
    the concealment tests see a new complete week) over everything else."""
    daily = Replay(tl.step_at(tl.window_start - tl.warmup_days), tl.step_at(tl.last_step), step)
    weekly_before = Replay(tl.step_at(tl.honest_first_weekly), tl.step_at(tl.window_start - 7), "7d")
    weekly_all = Replay(tl.step_at(tl.honest_first_weekly), tl.step_at(tl.last_step), "7d")
    jobs = {}
    for p in prepared:
        jobs[f"injected_s{p['seed']}"] = (p["injected"], [daily])
        jobs[f"honest_s{p['seed']}"] = (p["honest"], [weekly_before, daily] if p["honest_daily"] else [weekly_all])
    return jobs


# --- scoring ---------------------------------------------------------------------------------------------

def _window(tl: Timeline):
    return tl.step_at(tl.window_start), tl.step_at(tl.last_step)


def score_seed(p: dict, tl: Timeline) -> dict:
    start, end = _window(tl)
    horizon = timedelta(weeks=tl.conceal_weeks, hours=1)
    truths = p["truths"]
    out: dict = {"seed": p["seed"]}
    engines = {k: make_engine(sqlite_url(p[k])) for k in ("injected", "honest")}
    try:
        facts = {k: case_frame(e, tl) for k, e in engines.items()}
        rows = {k: read_alerts(e, raised_details(f"{k}_s{p['seed']}")) for k, e in engines.items()}
    finally:
        for e in engines.values():
            e.dispose()
    streets = sorted(facts["honest"]["street"].unique())
    communities = sorted(facts["honest"]["community"].unique())
    street_weeks = len(streets) * (tl.last_step - tl.window_start + 1) / 7.0
    alerts = {k: sc.engine_alerts(r) for k, r in rows.items()}
    out["alerts_by_kind"] = {k: _count_kinds(a, start, end) for k, a in alerts.items()}

    methods = {"engine": alerts}
    first = np.datetime64(tl.day(tl.window_start - tl.warmup_days - 1), "D")
    last = np.datetime64(tl.day(tl.history_days - 1), "D")
    for label, method, levels in EARS_VARIANTS:
        methods[label] = {k: sc.ears_alerts(facts[k], first, last, method, levels, _step_at_day(tl)) for k in facts}

    per_truth: dict[str, dict] = {}
    results = {}
    for label, by_db in methods.items():
        res = {}
        for kind, alert_kinds in (("outbreak", ("spike",)), ("cluster", ("cluster",) if label == "engine" else ("spike",))):
            pt: dict = {}
            s = sc.score(by_db["injected"], truths, kind, alert_kinds, start, end, street_weeks, horizon, per_truth=pt)
            res[kind] = {"injected": s, "honest": None, "chance": None, "family": None}
            if kind == "outbreak":
                res[kind]["family"] = sc.score(by_db["injected"], truths, kind, alert_kinds, start, end, street_weeks,
                                               horizon, family_match=True)
            if p["honest_daily"]:
                # the honest history's alerts: all false; matched to the same truths they are detection by chance
                res[kind]["honest"] = sc.score(by_db["honest"], [], kind, alert_kinds, start, end, street_weeks, horizon)
                res[kind]["chance"] = sc.score(by_db["honest"], truths, kind, alert_kinds, start, end, street_weeks, horizon)
            per_truth.setdefault(label, {}).update(pt)
        results[label] = res
    out["scores"] = {label: {kind: {db: (s.as_dict() if s else None) for db, s in v.items()} for kind, v in res.items()}
                     for label, res in results.items()}
    out["_scores"] = results
    out["per_truth"] = per_truth

    # concealment
    runs = sc.concealment_runs(alerts["injected"], truths, horizon)
    f = facts["honest"]
    pre = f[(f["dn"] >= tl.window_start - 56) & (f["dn"] < tl.window_start)]
    unc = pre[pre["source"].isin(("hotline", "resident", "video"))].groupby("community").size() / 8.0
    for run in runs:   # for the oracle bounds
        run["uncontrolled_per_week"] = float(unc.get(run["community"], 0.0))
    concealing = {t["region"] for t in truths if t["kind"] == "concealment"}
    touched = _touched_communities(facts["injected"], truths)
    out["concealment"] = {
        "runs": runs,
        "honest_history": sc.honest_flags(alerts["honest"], communities, set(), tl.step_at(tl.honest_first_weekly), end),
        "injected_history": sc.honest_flags(alerts["injected"], communities, concealing | touched, start, end),
        "excluded_in_injected": len(concealing | touched),
    }
    out["truths"] = truths
    out["streets"] = len(streets)
    out["communities"] = len(communities)
    return out


def _step_at_day(tl: Timeline):
    def at(day: np.datetime64):
        return tl.step_at(tl.day_number(day.astype(object)))
    return at


def _count_kinds(alerts: list[dict], start, end) -> dict:
    out: dict[str, int] = {}
    for a in alerts:
        if start <= a["created"] <= end:
            out[a["kind"]] = out.get(a["kind"], 0) + 1
    return out


def _touched_communities(facts, truths) -> set[str]:
    ids = {i for t in truths for i in t.get("case_ids", [])}
    return set(facts.loc[facts["id"].isin(ids), "community"].unique())


def pool_scores(seed_results: list[dict]) -> dict:
    """Scores of all seeds pooled: counts summed, delays pooled."""
    pooled: dict = {}
    for label in seed_results[0]["_scores"]:
        pooled[label] = {}
        for kind in seed_results[0]["_scores"][label]:
            pooled[label][kind] = {}
            for db in ("injected", "honest", "chance", "family"):
                parts = [r["_scores"][label][kind][db] for r in seed_results if r["_scores"][label][kind][db]]
                if not parts:
                    pooled[label][kind][db] = None
                    continue
                pooled[label][kind][db] = sc.Score(
                    detected=sum(s.detected for s in parts), truths=sum(s.truths for s in parts),
                    delays_days=[d for s in parts for d in s.delays_days], alerts=sum(s.alerts for s in parts),
                    false_alarms=sum(s.false_alarms for s in parts), true_alerts=sum(s.true_alerts for s in parts),
                    street_weeks=sum(s.street_weeks for s in parts))
    return pooled


def breakdown(seed_results: list[dict], label: str, kind: str) -> dict:
    """POD of ``label`` by size (k), by series level and by length, over all seeds."""
    rows = []
    for r in seed_results:
        for t in r["truths"]:
            if t["kind"] == kind:
                rows.append((t, r["per_truth"][label].get(t["id"])))
    out = {"by_k": {}, "by_level": {}, "by_days": {}}
    for lo, hi in K_BUCKETS:
        sel = [d for t, d in rows if lo <= t["k"] <= hi]
        out["by_k"][f"{lo}-{hi}"] = _pod(sel)
    for level in sorted({t["level"] for t, _ in rows}):
        out["by_level"][level or kind] = _pod([d for t, d in rows if t["level"] == level])
    for days in sorted({t["days"] for t, _ in rows}):
        out["by_days"][str(days)] = _pod([d for t, d in rows if t["days"] == days])
    return out


def _pod(delays: list) -> dict:
    hit = [d for d in delays if d is not None]
    return {"n": len(delays), "detected": len(hit), "pod": len(hit) / len(delays) if delays else None,
            "median_delay_days": statistics.median(hit) if hit else None}


def concealment_summary(seed_results: list[dict], tl: Timeline) -> dict:
    runs = [run for r in seed_results for run in r["concealment"]["runs"]]
    out = {"horizon_weeks": tl.conceal_weeks, "by_keep": {}}
    for keep in sorted({run["keep"] for run in runs}, reverse=True):
        mine = [run for run in runs if run["keep"] == keep and not run["flagged_before"]]
        caught = [run for run in mine if run["caught"]]
        out["by_keep"][f"{keep:.0%}"] = {
            "runs": len(mine), "caught": len(caught), "share": len(caught) / len(mine) if mine else None,
            "median_weeks": statistics.median([run["weeks"] for run in caught]) if caught else None,
            "flagged_before_excluded": sum(1 for run in runs if run["keep"] == keep and run["flagged_before"]),
            "patrol_per_week_caught": [run["patrol_per_week"] for run in caught],
            "patrol_per_week_missed": [run["patrol_per_week"] for run in mine if not run["caught"]],
            "oracle": eval_oracle.bounds([(run["patrol_per_week"], run.get("uncontrolled_per_week", 0.0)) for run in mine],
                                         keep, tl.conceal_weeks)}
    for key in ("honest_history", "injected_history"):
        parts = [r["concealment"][key] for r in seed_results]
        communities = sum(p["communities"] for p in parts)
        weeks = parts[0]["weeks"]
        # each history's per-quarter share, weighted by its communities; by test scaled like the total
        share = sum(p["share_per_quarter"] * p["communities"] for p in parts) / communities if communities else None
        scale = {t: sum(len(p["by_test"][t]) for p in parts) / max(sum(p["flagged"] for p in parts), 1) for t in ("own", "peers")}
        out[key] = {"flagged": sum(p["flagged"] for p in parts), "communities": communities, "weeks": weeks,
                    "alerts": sum(p["alerts"] for p in parts), "share_per_quarter": share,
                    "own_per_quarter": share * scale["own"] if share is not None else None,
                    "peers_per_quarter": share * scale["peers"] if share is not None else None,
                    "flagged_codes": [c for p in parts for c in p["flagged_codes"]]}
    return out


# --- the report ---------------------------------------------------------------------------------------

def _f(x, fmt="{:.2f}", none="–") -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return none
    return fmt.format(x)


def _pct(x) -> str:
    return _f(x, "{:.0%}")


def markdown(summary: dict) -> str:
    lines = []
    sc_ = summary["scores"]
    for kind, heading in (("outbreak", "Outbreaks (骤增): engine vs EARS on the same daily series"),
                          ("cluster", "Space-time clusters (时空聚集)")):
        lines.append(f"#### {heading}")
        lines.append("")
        lines.append("| method | detected | POD | POD by chance | POD, same street x major | median delay (d) | "
                     "false alarms / street-week: honest | same data | PPV | alerts |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for label, res in sc_.items():
            s, h, ch, fam = res[kind]["injected"], res[kind]["honest"], res[kind]["chance"], res[kind]["family"]
            name = label
            if kind == "cluster":
                name = "engine (cluster alerts)" if label == "engine" else f"{label} (alarms in the cluster's places)"
            lines.append(f"| {name} | {s['detected']}/{s['truths']} | {_pct(s['pod'])} | {_pct(ch['pod'] if ch else None)} | "
                         f"{_pct(fam['pod'] if fam else None)} | {_f(s['median_delay_days'])} | {_f(h['false_alarms_per_street_week'] if h else None)} | "
                         f"{_f(s['false_alarms_per_street_week'])} | {_pct(s['ppv'])} | {s['alerts']} |")
        lines.append("")
    lines.append("#### Detection by outbreak size (k sd per day), engine | EARS C2 | EARS C3")
    lines.append("")
    lines.append("| k | outbreaks | engine POD (median delay d) | EARS C2 | EARS C3 | clusters | engine POD (delay) |")
    lines.append("|---|---|---|---|---|---|---|")
    b = summary["breakdown"]
    for key in b["engine"]["by_k"]:
        e, c2, c3 = b["engine"]["by_k"][key], b["EARS C2"]["by_k"][key], b["EARS C3"]["by_k"][key]
        cl = b["engine_cluster"]["by_k"][key]
        lines.append(f"| {key} | {e['n']} | {_pct(e['pod'])} ({_f(e['median_delay_days'])}) | {_pct(c2['pod'])} | "
                     f"{_pct(c3['pod'])} | {cl['n']} | {_pct(cl['pod'])} ({_f(cl['median_delay_days'])}) |")
    lines.append("")
    lines.append("| outbreak series | n | engine POD | EARS C2 | EARS C3 |")
    lines.append("|---|---|---|---|---|")
    for key, e in b["engine"]["by_level"].items():
        lines.append(f"| {key} | {e['n']} | {_pct(e['pod'])} | {_pct(b['EARS C2']['by_level'][key]['pod'])} | "
                     f"{_pct(b['EARS C3']['by_level'][key]['pod'])} |")
    lines.append("")
    c = summary["concealment"]
    lines.append(f"#### Concealment (疑似瞒报漏报): caught within {c['horizon_weeks']} weeks")
    lines.append("")
    lines.append("| patrol kept | runs | caught | share | oracle: one look / weekly CUSUM | oracle on the share: one look / CUSUM | "
                 "median weeks to first alert | patrol reports/week before: caught runs | missed runs |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for keep, v in c["by_keep"].items():
        o = v.get("oracle") or {}
        lines.append(f"| {keep} | {v['runs']} | {v['caught']} | {_pct(v['share'])} | {_pct(o.get('one_look'))} / {_pct(o.get('cusum'))} | "
                     f"{_pct(o.get('one_look_share'))} / {_pct(o.get('cusum_share'))} | {_f(v['median_weeks'], '{:.1f}')} | "
                     f"{', '.join(f'{x:.0f}' for x in sorted(v['patrol_per_week_caught'])) or '–'} | "
                     f"{', '.join(f'{x:.0f}' for x in sorted(v['patrol_per_week_missed'])) or '–'} |")
    lines.append("")
    lines.append("(Oracles, bench/eval_oracle.py: they know each run's patrol rate, the date and the kept share, and may flag "
                 "an honest community with probability 5 % per quarter; *one look* tests the 8 weeks' count once, the "
                 "*weekly CUSUM* decides every week; the share oracles know the true patrol share instead of the rate and "
                 "test patrol against the uncontrolled channels' count.)")
    excluded = sum(v["flagged_before_excluded"] for v in c["by_keep"].values())
    if excluded:
        lines.append("")
        lines.append(f"({excluded} run(s) left out: the community was already flagged when the thinning began.)")
    hh, ih = c["honest_history"], c["injected_history"]
    lines.append("")
    lines.append(f"Honest communities flagged: {hh['flagged']} of {hh['communities']} over {hh['weeks']:.0f} weeks on the "
                 f"honest histories; in a quarter (13-week windows) {_f(hh['share_per_quarter'], '{:.1%}')} of them "
                 f"(own-history test about {_f(hh['own_per_quarter'], '{:.1%}')}, peer test about "
                 f"{_f(hh['peers_per_quarter'], '{:.1%}')}). On the injected histories (communities without any injected "
                 f"or deleted case) {ih['flagged']} of {ih['communities']} over {ih['weeks']:.0f} weeks "
                 f"(= {_f(ih['share_per_quarter'], '{:.1%}')} per quarter, scaled).")
    lines.append("")
    cv = summary.get("concealment_volume")
    if cv:
        keeps = list(next(iter(cv.values()))["pooled"]["by_keep"])
        lines.append(f"Many runs (bench/eval_conceal.py ``many_runs``: the engine's concealment tests on the weekly counts of the "
                     f"untouched histories, thinning drawn {cv[next(iter(cv))]['pooled']['runs_per_keep']} times per kept "
                     f"share), at the synthetic volume and at a realistic one:")
        lines.append("")
        lines.append("| volume | patrol reports/week (thinned runs) | " + " | ".join(f"caught {k} (oracle one look / CUSUM)" for k in keeps)
                     + " | honest flagged per quarter |")
        lines.append("|---|---|" + "---|" * (len(keeps) + 1))
        for vol, v in cv.items():
            pv = v["pooled"]
            cells = []
            for k in keeps:
                b = pv["by_keep"][k]
                cells.append(f"{_pct(b['caught'])} ({_pct(b['oracle'].get('one_look'))} / {_pct(b['oracle'].get('cusum'))})")
            lines.append(f"| x{vol} | {_f(pv['by_keep'][keeps[1 if len(keeps) > 1 else 0]]['patrol_per_week'], '{:.1f}')} | "
                         + " | ".join(cells) + f" | {_f(pv['honest_per_quarter'], '{:.1%}')} |")
        lines.append("")
    fc = summary.get("forecast")
    if fc:
        lines.append("#### Forecasts (MAE per street x major category x day, horizons 1-7) and hotspots (top 5 % of grids)")
        lines.append("")
        lines.append("| level | engine (median) | engine (mean) | last week | seasonal naive | 4-week mean | 4-week weekday mean | "
                     "gain vs best naive (median; mean) | reference: the other weeks' weekday mean |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for level in ("street", "root"):
            f = fc[f"forecast_{level}"]
            m = f["mae"]
            ref_gain = 1 - m["reference_other_weeks"] / m[f["best_naive"]]
            lines.append(f"| {'street x major' if level == 'street' else 'county x major'} | {m['engine_median']:.3f} | "
                         f"{m['engine']:.3f} | {m['last_week']:.3f} | {m['seasonal_naive']:.3f} | {m['mean_4w']:.3f} | "
                         f"{m['weekday_mean_4w']:.3f} | {f['improvement_vs_best']:+.1%}; {f['mean_improvement_vs_best']:+.1%} "
                         f"({f['best_naive']}) | "
                         f"{m['reference_other_weeks']:.3f} ({ref_gain:+.1%}) |")
        hs = fc["hotspots"]
        lines.append("")
        lines.append(f"| hotspots (top {hs['top_n']} grids) | engine | last week's top | last 4 weeks' top | engine / best naive | "
                     "reference: the other 25 weeks' top |")
        lines.append("|---|---|---|---|---|---|")
        lines.append(f"| hit rate | {hs['hit_rate']['engine']:.3f} | {hs['hit_rate']['last_week']:.3f} | "
                     f"{hs['hit_rate']['last_4_weeks']:.3f} | {hs['hit_ratio_vs_best']:.2f}x | "
                     f"{hs['hit_rate']['reference_other_weeks']:.3f} |")
        lines.append(f"| PAI | {hs['pai']['engine']:.2f} | {hs['pai']['last_week']:.2f} | {hs['pai']['last_4_weeks']:.2f} | "
                     f"{hs['pai_ratio_vs_best']:.2f}x | {hs['pai']['reference_other_weeks']:.2f} |")
        lines.append("")
    cs = summary.get("concealment_sweep")
    if cs:
        keeps = list(next(iter(cs.values()))["caught"])
        lines.append(f"| concealment setting | " + " | ".join(f"caught within {c['horizon_weeks']} weeks, kept {k}" for k in keeps)
                     + " | honest communities flagged per quarter |")
        lines.append("|---|" + "---|" * (len(keeps) + 1))
        for name, v in cs.items():
            lines.append(f"| {name} | " + " | ".join(_pct(v["caught"][k]) for k in keeps)
                         + f" | {_f(v['honest_per_quarter'], '{:.1%}')} |")
        lines.append("")
    ss = summary.get("scan_sweep")
    if ss:
        from dashboard.analytics.scan import ScanParams

        default_ri = ScanParams().min_recurrence_days
        lines.append("| scan: min_recurrence_days | clusters found | within 2.5 days | median delay (d) | "
                     "false cluster alerts / street-week (honest) |")
        lines.append("|---|---|---|---|---|")
        for r, v in ss.items():
            lines.append(f"| {r}{' (default)' if float(r) == default_ri else ''} | {v['found']}/{v['clusters']} | {v['within_2_5_days']} | "
                         f"{_f(v['median_delay_days'])} | {_f(v['false_per_street_week'], '{:.3f}')} |")
        lines.append("")
    sw = summary.get("sweep")
    if sw:
        lines.append("| forecast setting | MAE (street x major x day) |")
        lines.append("|---|---|")
        lines += [f"| {k} | {v:.3f} |" for k, v in sw["forecast_mae"].items()]
        lines.append("")
        lines.append("| hotspot setting | hit rate |")
        lines.append("|---|---|")
        lines += [f"| {k} | {v:.3f} |" for k, v in sw["hotspot_hit_rate"].items()]
        lines.append("")
    lines.append("#### Goals")
    lines.append("")
    lines.append("| goal | measured | holds |")
    lines.append("|---|---|---|")
    for g in summary["goals"]:
        holds = g["holds"] if isinstance(g["holds"], str) else ("yes" if g["holds"] else "no")
        lines.append(f"| {g['goal']} | {g['measured']} | {holds} |")
    return "\n".join(lines)


def goals(summary: dict, tl: Timeline) -> list[dict]:
    e = summary["scores"]["engine"]
    ob, obh = e["outbreak"]["injected"], e["outbreak"]["honest"]
    cl = e["cluster"]["injected"]
    c = summary["concealment"]
    k74 = c["by_keep"].get("74%", {})
    honest_q = c["honest_history"]["share_per_quarter"]
    within = sum(1 for d in cl["delays_days"] if d <= 2.5)
    out = [
        {"goal": "≥ 80 % of injected outbreaks detected at ≤ 1 false alarm per street-week",
         "measured": f"POD {_pct(ob['pod'])}; false rise alerts {_f(obh['false_alarms_per_street_week'] if obh else None)} "
                     f"per street-week (honest), {_f(ob['false_alarms_per_street_week'])} (same data)",
         "holds": bool(ob["pod"] is not None and ob["pod"] >= 0.8 and ob["false_alarms_per_street_week"] <= 1
                       and (obh is None or obh["false_alarms_per_street_week"] <= 1))},
        {"goal": "median detection delay ≤ 1 day",
         "measured": f"{_f(ob['median_delay_days'])} days (daily steps at 00:10)",
         "holds": bool(ob["median_delay_days"] is not None and ob["median_delay_days"] <= 1.0)},
        {"goal": "clusters found within 2.5 days",
         "measured": f"{within}/{cl['truths']} injected clusters found within 2.5 days (median delay of those found "
                     f"{_f(cl['median_delay_days'])} d, longest {_f(max(cl['delays_days'], default=None))} d); the others "
                     f"not at all",
         "holds": "yes" if within == cl["truths"] else ("for the clusters found" if within == cl["detected"] else "no")},
        {"goal": f"concealment to 74 % caught within {tl.conceal_weeks} weeks in ≥ 80 % of runs",
         "measured": f"{k74.get('caught', 0)}/{k74.get('runs', 0)} = {_pct(k74.get('share'))} (oracle for the same runs: "
                     f"one look {_pct((k74.get('oracle') or {}).get('one_look'))}, weekly CUSUM "
                     f"{_pct((k74.get('oracle') or {}).get('cusum'))})",
         "holds": bool(k74.get("share") is not None and k74["share"] >= 0.8)},
        {"goal": "≤ 5 % of honest communities flagged per quarter",
         "measured": f"{_f(honest_q, '{:.1%}')} (honest histories)",
         "holds": bool(honest_q is not None and honest_q <= 0.05)},
    ]
    fc = summary.get("forecast")
    if fc:
        f = fc["forecast_street"]
        hs = fc["hotspots"]
        out.append({"goal": "forecast MAE ≥ 10 % below the best naive baseline",
                    "measured": f"{f['improvement_vs_best']:+.1%} vs {f['best_naive']} (street x major x day; the "
                                f"median, the point for absolute error; the mean {f['mean_improvement_vs_best']:+.1%})"
                                + eval_forecast.oracle_note(f, "improvement_vs_best", "{:+.1%}"),
                    "holds": bool(f["improvement_vs_best"] >= 0.10)})
        out.append({"goal": "hotspot hit rate ≥ 1.2x the best naive",
                    "measured": f"{hs['hit_ratio_vs_best']:.2f}x vs {hs['best_naive']} ({hs['hit_rate']['engine']:.3f} "
                                f"vs {hs['hit_rate'][hs['best_naive']]:.3f})"
                                + eval_forecast.oracle_note(hs, "hit_ratio_vs_best", "{:.2f}x"),
                    "holds": bool(hs["hit_ratio_vs_best"] >= 1.2)})
    return out


def conceal_sweep(prepared: list[dict], seed_results: list[dict], tl: Timeline) -> dict:
    histories = []
    for p, r in zip(prepared, seed_results):
        before = {run["id"] for run in r["concealment"]["runs"] if run["flagged_before"]}
        frames = {}
        for key, db in (("facts", p["injected"]), ("honest_facts", p["base"])):
            engine = make_engine(sqlite_url(db))
            try:
                frames[key] = case_frame(engine, tl)
                if key == "facts":
                    frames["communities"] = sorted(grid_frame(engine)["community"].unique())
            finally:
                engine.dispose()
        truths = [{**t, "flagged_before": t["id"] in before} for t in p["truths"]]
        histories.append({**frames, "truths": truths})
    return eval_conceal.sweep(histories, tl, eval_conceal.default_variants())


def concealment_volume(prepared: list[dict], tl: Timeline, args) -> dict:
    """``eval_conceal.many_runs`` on every seed's untouched history at volume x1 and x``args.volume``
    (the same county seeded with that many times the cases), pooled over seeds."""
    from dashboard.warning import case_detectors

    out = {}
    for vol in (1.0, args.volume):
        parts = []
        for p in prepared:
            base = p["base"] if vol == 1.0 else ensure_base(p["seed"], tl, volume=vol, log=log)
            engine = make_engine(sqlite_url(base))
            try:
                facts, communities = case_frame(engine, tl), sorted(grid_frame(engine)["community"].unique())
            finally:
                engine.dispose()
            pm, um = eval_conceal.full_matrices(facts, communities, tl)
            parts.append(eval_conceal.many_runs(pm, um, tl, case_detectors.CONCEALMENT_PARAMS, seed=p["seed"]))
        pooled = {"honest_per_quarter": float(np.mean([x["honest_per_quarter"] for x in parts])), "by_keep": {},
                  "runs_per_keep": sum(next(iter(x["by_keep"].values()))["runs"] for x in parts)}
        for k in parts[0]["by_keep"]:
            bs = [x["by_keep"][k] for x in parts]
            w = [b["runs"] for b in bs]
            pooled["by_keep"][k] = {"runs": sum(w), "caught": float(np.average([b["caught"] for b in bs], weights=w)),
                                    "patrol_per_week": float(np.average([b["patrol_per_week"] for b in bs], weights=w)),
                                    "oracle": {o: float(np.average([b["oracle"][o] for b in bs], weights=w))
                                               for o in bs[0]["oracle"] if o != "communities"}}
        out[f"{vol:g}"] = {"pooled": pooled, "per_seed": parts}
    return out


def scan_sweep(prepared: list[dict], tl: Timeline) -> dict:
    from data_access import feeds_cases
    from data_access.scope import Scope

    histories = []
    for p in prepared:
        engine = make_engine(sqlite_url(p["injected"]))
        try:
            facts = case_frame(engine, tl)
            with engine.connect() as conn:
                centroids = feeds_cases.grid_centroids(conn, Scope(COUNTY, COUNTY))
        finally:
            engine.dispose()
        honest = None
        if p["honest_daily"]:
            engine = make_engine(sqlite_url(p["base"]))
            try:
                honest = case_frame(engine, tl)
            finally:
                engine.dispose()
        histories.append({"facts": facts, "honest_facts": honest, "centroids": centroids, "truths": p["truths"],
                          "streets": sorted(facts["street"].unique())})
    return eval_scan.sweep(histories, tl)


def run_sweep(prepared: list[dict], tl: Timeline) -> dict:
    """Other settings of the forecast (half-life) and hotspot (half-life, prior) models, every seed pooled."""
    from dataclasses import replace

    from dashboard.analytics.forecast import ForecastParams
    from dashboard.analytics.hotspots import HotspotParams

    fp, hp = ForecastParams(), HotspotParams()
    forecast_variants = {f"half_life_days={fp.half_life_days:g} (default)": fp,
                         "half_life_days=56": replace(fp, half_life_days=56.0),
                         "half_life_days=112": replace(fp, half_life_days=112.0),
                         "no decay (84-day mean)": replace(fp, half_life_days=1e9)}
    hotspot_variants = {f"half_life_days={hp.half_life_days:g}, prior_cases={hp.prior_cases:g} (default)": hp,
                        "half_life_days=84": replace(hp, half_life_days=84.0),
                        "no decay (98-day mean)": replace(hp, half_life_days=1e9),
                        "prior_cases=10": replace(hp, prior_cases=10.0),
                        "no decay, prior_cases=10": replace(hp, half_life_days=1e9, prior_cases=10.0)}
    parts = []
    for p in prepared:
        engine = make_engine(sqlite_url(p["base"]))
        try:
            facts, grids = case_frame(engine, tl), grid_frame(engine)
        finally:
            engine.dispose()
        parts.append(eval_forecast.sweep(facts, grids, tl, forecast_variants, hotspot_variants))
    return {key: {name: float(np.mean([x[key][name] for x in parts])) for name in parts[0][key]} for key in parts[0]}


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items() if not str(k).startswith("_")}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, Path):
        return str(x)
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, a 4-week window")
    ap.add_argument("--seeds", type=int, nargs="*", default=None)
    ap.add_argument("--jobs", type=int, default=2, help="replays run in parallel")
    ap.add_argument("--step", default="1d", help="replay step (the live loop runs every minute; 1d at 00:10 "
                                                 "sees each complete day as soon as it is complete)")
    ap.add_argument("--honest-daily", type=int, default=1,
                    help="replay the honest history daily for this many seeds (the others weekly)")
    ap.add_argument("--conceal-per-level", type=int, default=None, help="concealing communities per level and seed")
    ap.add_argument("--reseed", action="store_true", help="seed the baselines again")
    ap.add_argument("--rescore", action="store_true", help="score the databases of the last run (no injection, no replay)")
    ap.add_argument("--no-forecast", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also score other settings of the forecast and hotspot models")
    ap.add_argument("--volume", type=float, default=2.4,
                    help="also run the concealment tests (many runs, no replay) on the same county at this many times "
                         "the cases (2.4: domain.md's 吴中区 per resident; 0: not)")
    ap.add_argument("--history-days", type=int, default=182,
                    help="length of the seeded histories (364: the year the concealment tests read)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    tl = timeline(args.quick, args.history_days)
    seeds = args.seeds or list(QUICK_SEEDS if args.quick else FULL_SEEDS)
    if args.conceal_per_level is None:
        args.conceal_per_level = 3 if args.quick else 5
    log(f"timeline: {tl.as_dict()}")

    prepared = [prepare(s, tl, args, honest_daily=i < args.honest_daily) for i, s in enumerate(seeds)]
    replay_info = {}
    if not args.rescore:
        jobs = replay_jobs(prepared, tl, args.step)
        log(f"replaying {len(jobs)} histories, {args.jobs} at a time")
        replay_info = run_jobs(jobs, args.jobs, log=log)

    log("scoring")
    seed_results = [score_seed(p, tl) for p in prepared]
    summary: dict = {"scores": {}, "breakdown": {}}
    pooled = pool_scores(seed_results)
    summary["scores"] = {label: {kind: {db: (s.as_dict() if s else None) for db, s in v.items()} for kind, v in res.items()}
                         for label, res in pooled.items()}
    for label in ("engine", "EARS C2", "EARS C3"):
        summary["breakdown"][label] = breakdown(seed_results, label, "outbreak")
    summary["breakdown"]["engine_cluster"] = breakdown(seed_results, "engine", "cluster")
    summary["concealment"] = concealment_summary(seed_results, tl)
    if args.volume:
        log(f"concealment tests, many runs, at volume x1 and x{args.volume:g}")
        summary["concealment_volume"] = concealment_volume(prepared, tl, args)
    if args.sweep:
        log("concealment tests under other settings")
        summary["concealment_sweep"] = conceal_sweep(prepared, seed_results, tl)
        log("the space-time scan under other thresholds")
        summary["scan_sweep"] = scan_sweep(prepared, tl)

    if not args.no_forecast:
        log("forecasts and hotspots")
        fc_results = []
        for p in prepared:
            engine = make_engine(sqlite_url(p["base"]))
            try:
                facts, grids = case_frame(engine, tl), grid_frame(engine)
                truth = eval_forecast.plain_truth(p["seed"], tl, len(facts), log=log)   # the oracle
                fc_results.append({"seed": p["seed"], "forecast": eval_forecast.forecast_mae(engine, facts, tl, truth),
                                   "hotspots": eval_forecast.hotspot_eval(facts, grids, tl, truth)})
            finally:
                engine.dispose()
        summary["forecast"] = eval_forecast.pooled(fc_results)
        summary["forecast_by_seed"] = fc_results
        if args.sweep:
            log("parameter sweep of the forecast and hotspot models")
            summary["sweep"] = run_sweep(prepared, tl)
    summary["goals"] = goals(summary, tl)
    text = markdown(summary)
    print()
    print(text)
    result = {"harness": "bench/eval_warning.py", "quick": args.quick, "seeds": seeds, "step": args.step,
              "git": git_head(), "machine": machine_info(), "timeline": tl.as_dict(),
              "seconds": round(time.perf_counter() - _t0, 1), "replays": replay_info, "summary": summary,
              "per_seed": seed_results, "markdown": text}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(_jsonable(result), ensure_ascii=False, indent=1, default=str))
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
