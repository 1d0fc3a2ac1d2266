"""Issue 17 §3 on real data: the backtest (`gridwall backtest`) and spikes injected into the real background.

    .venv/bin/python bench/eval_realdata.py                       # both datasets, everything
    .venv/bin/python bench/eval_realdata.py --datasets boston --skip-backtest
    .venv/bin/python bench/eval_realdata.py --datasets nyc --skip-backtest \
        --nyc-windows 2019-01-07:2019-12-31 --alpha-scales 4 16 64     # the rises' alphas scaled (a sweep)
    .venv/bin/python bench/eval_realdata.py --datasets synthetic synthetic2 boston nyc --skip-backtest \
        --nyc-windows 2019-01-07:2019-12-31 --rise-targets 0 0.4 0.5 0.6 0.8   # [warning] rise_alarm_target

Times on the shared 2-core machine at load 3-7 (nice 10): Boston backtest 35-390 s, injection 6 min
(2 seeds); NYC backtest 13 min (417 weeks), injection 24 min (3 years, 1 seed).

Per dataset (the two exports in ../shared/realdata/, imported with the shipped mappings into their
own SQLite file under /tmp, `gridwall init-db` + `gridwall import`, on the city's calendar):

1. **Backtest**: `gridwall backtest --from F --to T --json` through the real command (a new process).
   F is the first Monday with 28 days of data before it, or with a year before it when the data
   span more than two years (then the seasonal naive exists for every week); T the last day of data
   (NYC: 2023-12-31, its README: 2024-2025 hold 481 stray rows).
2. **Injected spikes**: outbreaks written into the real case rows in memory, as
   ``bench/eval_inject.py`` writes them into the synthetic county: in each street (district /
   neighbourhood), one outbreak per 11-day slot of the window, in a series drawn from the street's own
   cases (street or community x major or minor category), ``k`` (2..10) standard deviations of that
   series' daily count over the 56 days before (sd floored at 1) more cases on each of 1-5 days,
   copies of the series' own cases of those 56 days (their grids, channels and times of day), or, for
   a series with fewer than 5, of the category's cases placed in the region's grids. One difference:
   a street's outbreak may not reuse the major of its previous one (the synthetic harness forbids any
   reuse within a street; the NYC exports have too few majors for a year of slots).
   The engine's daily rises (``spikes.daily_rises`` on the 84 days of case rows it reads, as the
   engine's run at 00:10 tests yesterday) are grouped as the engine keys its alerts (one per street x
   major and run of consecutive days, raised when the run's first day is complete), and scored with
   ``bench/eval_score.py`` side by side with EARS C2 and C3 on the same series. The engine's alphas
   are scaled each day as the engine scales them (``spikes.rise_scale``) on the honest history, and
   the injected copy is tested at those scales: this harness puts an outbreak in every street every
   11 days (0.64 a street-week, more than the whole alarm target), which a calibration on the injected
   copy would take for the deployment's usual rate. Two more rows: calibrated on the injected copy,
   and at the fixed alphas (``rise_alarm_target = 0``). False alarms are the
   alerts on the untouched history: the real background has real bursts of its own (storms, a
   council office's backlog entered in one day), and every one of them counts as false here.

``--datasets synthetic synthetic2``: the two synthetic counties of ``bench/eval_warning.py`` (seeded
into ``var/eval/`` when missing), scored window their last 56 days, through the same injection.

Output: ``bench/out/realdata_<dataset>.json`` and a summary on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eval_score as sc  # noqa: E402
from common import git_head, machine_info  # noqa: E402

from dashboard.analytics import spikes  # noqa: E402
from dashboard.core.config import get_settings  # noqa: E402
from data_access import backtest as bt_reads  # noqa: E402
from data_access import feeds_cases as feeds  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.moment import Moment  # noqa: E402
from data_access.scope import Scope  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared" / "realdata").resolve()
OUT = REPO / "bench" / "out"
GRIDWALL = REPO / ".venv" / "bin" / "gridwall"

DATASETS = {
    "boston": {"file": SHARED / "boston311_2011" / "boston311_2011H2_complete.csv.gz",
               "mapping": REPO / "examples" / "import" / "boston311.toml", "db": Path("/tmp/boston.db"),
               "tz": "America/New_York", "root": "990001", "last": None},
    "nyc": {"file": SHARED / "nyc_council" / "nyc_council_constituent_cases_2015_2025.csv.gz",
            "mapping": REPO / "examples" / "import" / "nyc_council.toml", "db": Path("/tmp/nyc.db"),
            "tz": "America/New_York", "root": "990002", "last": "2023-12-31"},
}
# The synthetic counties of bench/eval_warning.py (its two seeds), through the same injection and scoring:
# how the engine's rises behave where their alphas were set.
for _label, _seed in (("synthetic", 20261126), ("synthetic2", 20261127)):
    DATASETS[_label] = {"synthetic_seed": _seed, "db": None, "tz": "Asia/Shanghai", "root": "320585", "last": None}
BASELINE_DAYS = 56
SD_FLOOR = 1.0
SLOT_DAYS = 11
FACT_DAYS = 84
K_BUCKETS = ((2, 3), (4, 5), (6, 7), (8, 10))
STEP_MINUTES = 10
EARS_VARIANTS = (("EARS C2", "C2", sc.SERIES_LEVELS), ("EARS C3", "C3", sc.SERIES_LEVELS),
                 ("EARS C2, street x major only", "C2", (("street", "major"),)),
                 ("EARS C3, street x major only", "C3", (("street", "major"),)))

_t0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - _t0:6.0f} s] {msg}", flush=True)


def _env(ds: dict) -> dict:
    return {**os.environ, "GRIDWALL_DATABASE_URL": f"sqlite:///{ds['db']}", "GRIDWALL_TIMEZONE": ds["tz"],
            "GRIDWALL_ROOT": ds["root"]}


def ensure_db(name: str, ds: dict, reimport: bool) -> dict | None:
    """Import the export into its own SQLite file (once); returns the import's report when it ran."""
    if "synthetic_seed" in ds:
        from eval_history import Timeline, ensure_base
        ds["db"] = ensure_base(ds["synthetic_seed"], Timeline(), log=log)
        return None
    if ds["db"].exists() and not reimport:
        return None
    ds["db"].unlink(missing_ok=True)
    subprocess.run([str(GRIDWALL), "init-db"], env=_env(ds), check=True, capture_output=True)
    began = time.perf_counter()
    res = subprocess.run([str(GRIDWALL), "import", str(ds["file"]), "--mapping", str(ds["mapping"]), "--json"],
                         env=_env(ds), check=True, capture_output=True, text=True)
    report = json.loads(res.stdout.strip().splitlines()[-1])
    report["seconds"] = round(time.perf_counter() - began, 1)
    log(f"{name}: imported {report.get('imported')} rows in {report['seconds']} s")
    return report


def data_span(ds: dict) -> tuple[date, date]:
    tz = ZoneInfo(ds["tz"])
    engine = make_engine(f"sqlite:///{ds['db']}")
    try:
        with engine.connect() as conn:
            lo, hi = bt_reads.case_span(conn, Scope(ds["root"], ds["root"]))
    finally:
        engine.dispose()
    first, last = lo.astimezone(tz).date(), hi.astimezone(tz).date()
    if ds["last"]:
        last = min(last, date.fromisoformat(ds["last"]))
    return first, last


def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def backtest_span(first: date, last: date) -> tuple[date, date]:
    need = 364 if (last - first).days > 2 * 365 else 28
    return _monday_on_or_after(first + timedelta(days=need)), last


def run_backtest(name: str, ds: dict, first: date, last: date) -> dict:
    cmd = [str(GRIDWALL), "backtest", "--from", str(first), "--to", str(last), "--json"]
    log(f"{name}: {' '.join(cmd[1:])}")
    began = time.perf_counter()
    res = subprocess.run(["nice", "-n", "10", *cmd], env=_env(ds), check=True, capture_output=True, text=True)
    out = json.loads(res.stdout)
    out["wall_seconds"] = round(time.perf_counter() - began, 1)
    out["command"] = " ".join(cmd[1:])
    (OUT / f"backtest_{name}.json").write_text(res.stdout)
    from dashboard.warning.backtest import render

    out["table"] = render(out)       # what the command prints without --json (same function)
    log(f"{name}: backtest {out['wall_seconds']} s\n{out['table']}")
    return out


# --- injected spikes ------------------------------------------------------------------------------------

def load_facts(ds: dict, first: date, last: date) -> pd.DataFrame:
    """Every case of the span as the engine's reads see them (``feeds_cases.case_facts``), with the
    local day number ``dn`` (from ``first``) and the second of the local day ``tod``."""
    tz = ZoneInfo(ds["tz"])
    engine = make_engine(f"sqlite:///{ds['db']}")
    after = last + timedelta(days=1)
    m = Moment(datetime(after.year, after.month, after.day, tzinfo=tz) - timedelta(microseconds=1), tz)
    try:
        with engine.connect() as conn:
            facts = feeds.case_facts(conn, Scope(ds["root"], ds["root"]), m, (after - first).days)
    finally:
        engine.dispose()
    local = pd.to_datetime(facts["reported_at"], utc=True).dt.tz_convert(tz)
    facts["tod"] = (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).astype(np.int64).values
    facts["dn"] = (facts["day"].values.astype("datetime64[D]") - np.datetime64(first, "D")).astype(np.int64)
    return facts.sort_values(["dn", "tod", "id"]).reset_index(drop=True)


def _sd(series_dn: np.ndarray, start: int) -> float:
    d = series_dn[(series_dn >= start - BASELINE_DAYS) & (series_dn < start)] - (start - BASELINE_DAYS)
    daily = np.bincount(d, minlength=BASELINE_DAYS)[:BASELINE_DAYS]
    return max(float(np.std(daily, ddof=1)), SD_FLOOR)


def plan_outbreaks(facts: pd.DataFrame, w_first: int, w_last: int, rng: np.random.Generator) -> list[dict]:
    """The truths: one outbreak per street and 11-day slot (start in the slot's first 6 days, at most 5
    days, over with 3 days to spare before the window's last day)."""
    located = facts.dropna(subset=["street", "major"])
    streets = sorted(located["street"].unique())
    slots = list(range(w_first, w_last - 8 - 3, SLOT_DAYS))
    truths = []
    for street in streets:
        prev_major = None
        for slot in slots:
            start = slot + int(rng.integers(0, SLOT_DAYS - 5))
            t = _outbreak(located, street, start, prev_major, rng)
            if t is not None:
                prev_major = t["category"][:2]
                truths.append(t)
    for i, t in enumerate(truths):
        t["id"] = f"outbreak-{i + 1}"
    return truths


def _outbreak(f: pd.DataFrame, street: str, start: int, prev_major, rng) -> dict | None:
    pool = f[(f["dn"] >= start - BASELINE_DAYS) & (f["dn"] < start)]
    in_street = pool[pool["street"] == street].dropna(subset=["category_code"])
    if not len(in_street):
        return None
    for _ in range(30):
        region_col, cat_col = sc.SERIES_LEVELS[int(rng.integers(len(sc.SERIES_LEVELS)))]
        seed_case = in_street.iloc[int(rng.integers(len(in_street)))]
        if seed_case["major"] == prev_major:
            continue
        region, category = seed_case[region_col], seed_case[cat_col]
        if not isinstance(region, str) or not isinstance(category, str):
            continue
        series = f[(f[region_col] == region) & (f[cat_col] == category)]
        sd = _sd(series["dn"].values, start)
        k = int(rng.integers(2, 11))
        days = int(rng.integers(1, 6))
        templates = pool[(pool[region_col] == region) & (pool[cat_col] == category)]
        fallback = None
        if len(templates) < 5:
            fallback = pool.loc[pool[region_col] == region, "grid_code"].dropna().values
            templates = pool[pool[cat_col] == category]
            if not len(templates) or not len(fallback):
                continue
        return {"kind": "outbreak", "street": street, "region": str(region), "category": str(category),
                "level": f"{region_col}x{'major' if cat_col == 'major' else 'minor'}", "start_day": start, "days": days,
                "k": k, "sd": round(sd, 3), "per_day": max(1, int(round(k * sd))),
                "_templates": templates, "_grids": fallback}
    return None


def apply_outbreaks(facts: pd.DataFrame, truths: list[dict], first: date, tz: ZoneInfo,
                    rng: np.random.Generator) -> pd.DataFrame:
    """The facts with the truths' copies added (new ids above the largest); fills each truth's
    ``start`` (ISO of its first copy), ``end`` (local midnight after its last day) and ``n_cases``."""
    next_id = int(facts["id"].max()) + 1
    parts = []
    for t in truths:
        tpl = t.pop("_templates")
        grids = t.pop("_grids")
        rows = []
        for d in range(t["days"]):
            pick = tpl.iloc[rng.integers(len(tpl), size=t["per_day"])].copy()
            if grids is not None:
                pick["grid_code"] = grids[rng.integers(len(grids), size=len(pick))]
            pick["dn"] = t["start_day"] + d
            rows.append(pick)
        new = pd.concat(rows, ignore_index=True)
        new["id"] = np.arange(next_id, next_id + len(new))
        next_id += len(new)
        day0 = np.datetime64(first, "D")
        new["day"] = (day0 + new["dn"].values.astype("timedelta64[D]")).astype("datetime64[ns]")
        local = [datetime.combine(date.fromisoformat(str(d)[:10]), datetime.min.time(), tzinfo=tz) + timedelta(seconds=int(s))
                 for d, s in zip(new["day"].values.astype("datetime64[D]"), new["tod"].values)]
        new["reported_at"] = pd.to_datetime([x.astimezone(ZoneInfo("UTC")) for x in local], utc=True)
        new["street"] = new["grid_code"].str[:9]
        new["community"] = new["grid_code"].str[:12]
        t["n_cases"] = len(new)
        t["start"] = min(local).isoformat()
        last = first + timedelta(days=t["start_day"] + t["days"])
        t["end"] = datetime(last.year, last.month, last.day, tzinfo=tz).isoformat()
        parts.append(new)
    out = pd.concat([facts, *parts], ignore_index=True)
    out["day"] = out["day"].values.astype("datetime64[D]")
    return out.sort_values(["dn", "tod", "id"]).reset_index(drop=True)


def step_at(first: date, tz: ZoneInfo):
    def at(day) -> datetime:
        d = date.fromisoformat(str(np.datetime64(day, "D")))
        return datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(minutes=STEP_MINUTES)
    return at


def engine_alerts(facts: pd.DataFrame, first: date, d_first: int, d_last: int, tz: ZoneInfo,
                  alpha_scale: float | None = None, target: float | None = None,
                  day_scales: list[float] | None = None,
                  memo: dict | None = None) -> tuple[list[dict], float, list[float]]:
    """The engine's daily rises on each day d_first..d_last, as the run at 00:10 the next day tests
    them on the 84 days of rows it reads, grouped into alerts as the engine keys them: the alphas
    scaled for each day as the engine scales them (``spikes.rise_scale`` on the 84 days, the target
    ``target``, default the engine's ``[warning] rise_alarm_target``). Returns the alerts, the seconds
    and each day's scale. ``day_scales``: each day's scale given (those the honest history calibrated
    to, applied to its injected copy). ``alpha_scale``: every day at that fixed scale (the sweep, not
    the engine). ``memo``: the days' candidates, shared by calls on the same rows."""
    if target is None:
        target = get_settings().warning.rise_alarm_target
    max_scale = max(max(spikes.ALPHA_SCALES), alpha_scale or 0.0)  # a memo's candidates serve every scale
    dn = facts["dn"].values
    at = step_at(first, tz)
    by_family: dict[tuple, dict] = {}
    began = time.perf_counter()
    day0 = np.datetime64(first, "D")
    memo = {} if memo is None else memo

    def window(d: int) -> pd.DataFrame:
        lo, hi = np.searchsorted(dn, d + 1 - FACT_DAYS), np.searchsorted(dn, d, side="right")
        return facts.iloc[lo:hi]

    def candidates(d: int) -> list:
        # a day's tests read only the 61 days before it: the same from any 84-day window that holds them
        if (d, max_scale) not in memo:
            memo[d, max_scale] = spikes.daily_rises(window(d), day0 + np.timedelta64(d, "D"), scale=max_scale)
        return memo[d, max_scale]

    scales = []
    for d in range(d_first, d_last + 1):
        if alpha_scale is not None:
            scale = alpha_scale
        elif day_scales is not None:
            scale = day_scales[d - d_first]
        else:
            scale = spikes.rise_scale(window(d), day0 + np.timedelta64(d, "D"), target,
                                      candidates=lambda day: candidates(int((day - day0).astype(np.int64))))
        scales.append(scale)
        for r in spikes.rises_at(candidates(d), scale):
            by_family.setdefault(r.family, {}).setdefault(d, []).append(r)
    seconds = time.perf_counter() - began
    out = []
    for (street, major), per_day in by_family.items():
        prev = None
        for d in sorted(per_day):
            if prev is None or d != prev + 1:
                first_rises = per_day[d]
                series = sorted({(r.region, r.category) for r in first_rises})
                out.append({"id": None, "kind": "spike", "created": at(day0 + np.timedelta64(d + 1, "D")),
                            "region": street, "street": street, "major": major, "series": series,
                            "regions": sorted({s for s, _ in series}), "grids": []})
            prev = d
    return out, seconds, scales


def score_by_street(alerts: list[dict], truths: list[dict], scored_from, scored_to, street_weeks: float,
                    per_truth: dict | None = None) -> sc.Score:
    """``eval_score.score`` of outbreaks, street by street and summed: an alert detects or explains an
    outbreak only in its own street (nested region codes share the street's 9 digits), so this is
    the same score, without comparing every alert with every truth of the city."""
    by_a: dict[str, list] = {}
    by_t: dict[str, list] = {}
    for a in alerts:
        by_a.setdefault(a["street"], []).append(a)
    for t in truths:
        by_t.setdefault(t["street"], []).append(t)
    total = sc.Score(0, 0, [], 0, 0, 0, street_weeks)
    for street in set(by_a) | set(by_t):
        s = sc.score(by_a.get(street, []), by_t.get(street, []), "outbreak", ("spike",), scored_from, scored_to,
                     street_weeks, per_truth=per_truth)
        total.detected += s.detected
        total.truths += s.truths
        total.delays_days += s.delays_days
        total.alerts += s.alerts
        total.false_alarms += s.false_alarms
        total.true_alerts += s.true_alerts
    return total


def score_methods(honest: pd.DataFrame, injected: pd.DataFrame, truths: list[dict], first: date, w_first: int,
                  w_last: int, tz: ZoneInfo, honest_engine: list[dict], honest_scales: list[float],
                  honest_fixed: list[dict]) -> dict:
    """Every method on the injected copy and the honest history. The engine's alphas on the injected copy
    are scaled as the honest history calibrated them (a real deployment's last weeks hold a few
    outbreaks; this harness puts one in every street every 11 days, 0.64 a street-week, which the
    calibration would take for that deployment's usual alarm rate); the row "calibrated on the
    injected copy" lets it see them, the row "fixed alphas" does not scale at all."""
    at = step_at(first, tz)
    day0 = np.datetime64(first, "D")
    scored_from, scored_to = at(day0 + np.timedelta64(w_first + 1, "D")), at(day0 + np.timedelta64(w_last + 1, "D"))
    streets = sorted(honest["street"].dropna().unique())
    street_weeks = len(streets) * (w_last - w_first + 1) / 7.0
    memo: dict = {}
    inj_engine, secs, _ = engine_alerts(injected, first, w_first - 3, w_last, tz, day_scales=honest_scales, memo=memo)
    inj_self, _, self_scales = engine_alerts(injected, first, w_first - 3, w_last, tz, memo=memo)
    inj_fixed, _, _ = engine_alerts(injected, first, w_first - 3, w_last, tz, target=0.0, memo=memo)
    methods = {"engine": {"injected": inj_engine, "honest": honest_engine},
               "engine, calibrated on the injected copy": {"injected": inj_self, "honest": honest_engine},
               "engine, fixed alphas": {"injected": inj_fixed, "honest": honest_fixed}}
    lo = day0 + np.timedelta64(w_first - 3, "D")
    hi = day0 + np.timedelta64(w_last, "D")
    for label, method, levels in EARS_VARIANTS:
        methods[label] = {}
        for key, f in (("injected", injected), ("honest", honest)):
            d = f["day"].values.astype("datetime64[D]")
            sub = f[(d >= lo - np.timedelta64(12, "D")) & (d <= hi)]
            methods[label][key] = sc.ears_alerts(sub, lo, hi, method, levels, at)
    out = {"street_weeks": street_weeks, "streets": len(streets), "engine_seconds_injected": round(secs, 1),
           "scales": {"honest": _scale_summary(honest_scales), "injected_self": _scale_summary(self_scales)},
           "methods": {}}
    for label, by in methods.items():
        per_truth: dict = {}
        s = score_by_street(by["injected"], truths, scored_from, scored_to, street_weeks, per_truth=per_truth)
        honest_s = score_by_street(by["honest"], [], scored_from, scored_to, street_weeks)
        chance = score_by_street(by["honest"], truths, scored_from, scored_to, street_weeks)
        by_k = {}
        for lo_k, hi_k in K_BUCKETS:
            ts = [t for t in truths if lo_k <= t["k"] <= hi_k]
            found = [per_truth[t["id"]] for t in ts if per_truth.get(t["id"]) is not None]
            by_k[f"{lo_k}-{hi_k}"] = {"truths": len(ts), "detected": len(found),
                                      "pod": len(found) / len(ts) if ts else None,
                                      "median_delay_days": statistics.median(found) if found else None}
        out["methods"][label] = {
            "pod": s.pod, "detected": s.detected, "truths": s.truths, "median_delay_days": s.median_delay,
            "ppv": s.ppv, "alerts_injected": s.alerts,
            "false_alarms_per_street_week_honest": honest_s.fa_per_street_week, "alerts_honest": honest_s.alerts,
            "pod_by_chance": chance.pod, "by_k": by_k,
            "delays_days": [round(x, 3) for x in s.delays_days]}
    return out


def _scale_summary(scales: list[float]) -> dict:
    return {"median": float(np.median(scales)), "min": float(min(scales)), "max": float(max(scales)),
            "share_above_1": float(np.mean(np.asarray(scales) > 1.0))}


def inject_eval(name: str, ds: dict, first: date, last: date, windows: list[tuple[date, date]], seeds: list[int]) -> dict:
    tz = ZoneInfo(ds["tz"])
    log(f"{name}: reading the case rows {first} .. {last}")
    facts = load_facts(ds, first, last)
    log(f"{name}: {len(facts)} rows; {facts['street'].nunique()} streets, {facts['community'].nunique()} communities, "
        f"{facts['category_code'].nunique()} categories, {facts['major'].nunique()} majors")
    results = []
    for w_lo, w_hi in windows:
        w_first, w_last = (w_lo - first).days, (w_hi - first).days
        log(f"{name}: window {w_lo} .. {w_hi}: engine rises on the honest history")
        hmemo: dict = {}
        honest_engine, secs, honest_scales = engine_alerts(facts, first, w_first - 3, w_last, tz, memo=hmemo)
        honest_fixed, _, _ = engine_alerts(facts, first, w_first - 3, w_last, tz, target=0.0, memo=hmemo)
        log(f"{name}: {len(honest_engine)} honest alerts ({secs:.0f} s), {len(honest_fixed)} at the fixed alphas; "
            f"scale {_scale_summary(honest_scales)}")
        for seed in seeds:
            rng = np.random.default_rng(seed * 7919 + 17)
            truths = plan_outbreaks(facts, w_first, w_last, rng)
            injected = apply_outbreaks(facts, truths, first, tz, rng)
            log(f"{name}: seed {seed}: {len(truths)} outbreaks, {sum(t['n_cases'] for t in truths)} extra cases")
            res = score_methods(facts, injected, truths, first, w_first, w_last, tz, honest_engine, honest_scales,
                                honest_fixed)
            res.update({"window": [str(w_lo), str(w_hi)], "seed": seed,
                        "truths": [{k: v for k, v in t.items()} for t in truths],
                        "honest_engine_seconds": round(secs, 1)})
            e = res["methods"]["engine"]
            log(f"{name}: seed {seed}: engine POD {e['pod']:.0%} at {e['false_alarms_per_street_week_honest']:.2f} "
                f"false alarms / street-week, median delay {e['median_delay_days']}; "
                + "; ".join(f"{k} POD {v['pod']:.0%} at {v['false_alarms_per_street_week_honest']:.2f}"
                            for k, v in res["methods"].items() if k != "engine"))
            results.append(res)
    return {"rows": len(facts), "streets": int(facts["street"].nunique()), "runs": results, "pooled": pool(results)}


def alpha_sweep(name: str, ds: dict, first: date, last: date, window: tuple[date, date], seed: int,
                scales: list[float]) -> dict:
    """The engine's rises with every per-test alpha scaled: POD against false alarms on one window
    (what calibrating the alpha to a deployment's own history could reach; the engine uses scale 1)."""
    tz = ZoneInfo(ds["tz"])
    facts = load_facts(ds, first, last)
    w_first, w_last = (window[0] - first).days, (window[1] - first).days
    rng = np.random.default_rng(seed * 7919 + 17)
    truths = plan_outbreaks(facts, w_first, w_last, rng)
    injected = apply_outbreaks(facts, truths, first, tz, rng)
    at = step_at(first, tz)
    day0 = np.datetime64(first, "D")
    scored_from, scored_to = at(day0 + np.timedelta64(w_first + 1, "D")), at(day0 + np.timedelta64(w_last + 1, "D"))
    street_weeks = facts["street"].dropna().nunique() * (w_last - w_first + 1) / 7.0
    out = {"window": [str(window[0]), str(window[1])], "seed": seed, "truths": len(truths), "scales": {}}
    hmemo: dict = {}
    imemo: dict = {}
    for scale in scales:
        honest, _, _ = engine_alerts(facts, first, w_first - 3, w_last, tz, scale, memo=hmemo)
        inj, _, _ = engine_alerts(injected, first, w_first - 3, w_last, tz, scale, memo=imemo)
        s = score_by_street(inj, truths, scored_from, scored_to, street_weeks)
        h = score_by_street(honest, [], scored_from, scored_to, street_weeks)
        out["scales"][f"{scale:g}"] = {"pod": s.pod, "median_delay_days": s.median_delay,
                                       "false_alarms_per_street_week_honest": h.fa_per_street_week, "ppv": s.ppv}
        log(f"{name}: alpha x{scale:g}: POD {s.pod:.0%} at {h.fa_per_street_week:.2f} false alarms / street-week, "
            f"median delay {s.median_delay}")
    return out


def target_sweep(name: str, ds: dict, first: date, last: date, window: tuple[date, date], seeds: list[int],
                 targets: list[float]) -> dict:
    """The engine's rises at each ``[warning] rise_alarm_target`` (0: the fixed alphas) on one window:
    POD against false alarms, and the scales the calibration chose on the honest and injected history."""
    tz = ZoneInfo(ds["tz"])
    facts = load_facts(ds, first, last)
    w_first, w_last = (window[0] - first).days, (window[1] - first).days
    at = step_at(first, tz)
    day0 = np.datetime64(first, "D")
    scored_from, scored_to = at(day0 + np.timedelta64(w_first + 1, "D")), at(day0 + np.timedelta64(w_last + 1, "D"))
    street_weeks = facts["street"].dropna().nunique() * (w_last - w_first + 1) / 7.0
    out = {"window": [str(window[0]), str(window[1])], "seeds": seeds, "targets": {}}
    plans = []
    for seed in seeds:
        rng = np.random.default_rng(seed * 7919 + 17)
        truths = plan_outbreaks(facts, w_first, w_last, rng)
        plans.append((truths, apply_outbreaks(facts, truths, first, tz, rng)))
    hmemo: dict = {}
    memos: list[dict] = [{} for _ in plans]
    for target in targets:
        honest, _, honest_scales = engine_alerts(facts, first, w_first - 3, w_last, tz, target=target, memo=hmemo)
        h = score_by_street(honest, [], scored_from, scored_to, street_weeks)
        found = truths_n = 0
        delays, injected_scales = [], []
        found_self = 0
        for (truths, injected), memo in zip(plans, memos):
            inj, _, _ = engine_alerts(injected, first, w_first - 3, w_last, tz, target=target, day_scales=honest_scales,
                                      memo=memo)
            s = score_by_street(inj, truths, scored_from, scored_to, street_weeks)
            found, truths_n, delays = found + s.detected, truths_n + s.truths, delays + s.delays_days
            inj, _, scales = engine_alerts(injected, first, w_first - 3, w_last, tz, target=target, memo=memo)
            injected_scales += scales
            found_self += score_by_street(inj, truths, scored_from, scored_to, street_weeks).detected
        row = {"pod": found / truths_n if truths_n else None, "detected": found, "truths": truths_n,
               "pod_calibrated_on_injected": found_self / truths_n if truths_n else None,
               "median_delay_days": statistics.median(delays) if delays else None,
               "false_alarms_per_street_week_honest": h.fa_per_street_week,
               "scale_honest": {"median": float(np.median(honest_scales)), "min": min(honest_scales),
                                "max": max(honest_scales)},
               "scale_injected": {"median": float(np.median(injected_scales)), "min": min(injected_scales),
                                  "max": max(injected_scales)}}
        out["targets"][f"{target:g}"] = row
        log(f"{name}: target {target:g}: POD {row['pod']:.1%} ({found}/{truths_n}; calibrated on the injected copy "
            f"{row['pod_calibrated_on_injected']:.1%}) at {h.fa_per_street_week:.2f} "
            f"false alarms / street-week; scale honest median {row['scale_honest']['median']:.2f} "
            f"[{row['scale_honest']['min']:.2f}, {row['scale_honest']['max']:.2f}], injected median "
            f"{row['scale_injected']['median']:.2f}")
    return out


def pool(results: list[dict]) -> dict:
    out = {}
    for label in results[0]["methods"]:
        ms = [r["methods"][label] for r in results]
        delays = [d for m in ms for d in m["delays_days"]]
        sw = sum(r["street_weeks"] for r in results)
        det, tru = sum(m["detected"] for m in ms), sum(m["truths"] for m in ms)
        by_k = {}
        for kb in ms[0]["by_k"]:
            t = sum(m["by_k"][kb]["truths"] for m in ms)
            d = sum(m["by_k"][kb]["detected"] for m in ms)
            by_k[kb] = {"truths": t, "detected": d, "pod": d / t if t else None}
        fa = sum(m["false_alarms_per_street_week_honest"] * r["street_weeks"] for m, r in zip(ms, results)) / sw
        out[label] = {"pod": det / tru if tru else None, "detected": det, "truths": tru,
                      "median_delay_days": statistics.median(delays) if delays else None,
                      "false_alarms_per_street_week_honest": fa,
                      "ppv": (sum(m["ppv"] * m["alerts_injected"] for m in ms if m["ppv"] is not None)
                              / max(sum(m["alerts_injected"] for m in ms if m["ppv"] is not None), 1)),
                      "pod_by_chance": (statistics.mean(x) if (x := [m["pod_by_chance"] for m in ms
                                                                     if m["pod_by_chance"] is not None]) else None),
                      "by_k": by_k}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="issue 17 §3 on the two real datasets")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--reimport", action="store_true")
    ap.add_argument("--skip-backtest", action="store_true")
    ap.add_argument("--skip-inject", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--nyc-seeds", type=int, nargs="+", default=[1],
                    help="NYC: one seed (its three windows hold about 4,500 outbreaks)")
    ap.add_argument("--nyc-windows", nargs="+", default=["2016-01-04:2016-12-31", "2019-01-07:2019-12-31",
                                                          "2023-01-02:2023-12-31"],
                    help="injection windows for NYC (the whole 9 years daily would take hours)")
    ap.add_argument("--alpha-scales", type=float, nargs="*", default=None,
                    help="only the engine's rises with every alpha scaled, on the first window (a sweep)")
    ap.add_argument("--rise-targets", type=float, nargs="*", default=None,
                    help="only the engine's rises at each [warning] rise_alarm_target (0: fixed alphas), first window")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.datasets:
        ds = DATASETS[name]
        path = OUT / f"realdata_{name}.json"
        result = json.loads(path.read_text()) if path.exists() else {}
        result.update({"dataset": name, "git": git_head(), "machine": machine_info(), "db": str(ds["db"]),
                       "timezone": ds["tz"]})
        report = ensure_db(name, ds, args.reimport)
        if report:
            result["import"] = report
        first, last = data_span(ds)
        result["span"] = [str(first), str(last)]
        if not args.skip_backtest:
            b_first, b_last = backtest_span(first, last)
            result["backtest"] = run_backtest(name, ds, b_first, b_last)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        if name == "nyc":
            windows = [tuple(date.fromisoformat(x) for x in w.split(":")) for w in args.nyc_windows]
        elif "synthetic_seed" in ds:
            windows = [(last - timedelta(days=55), last)]    # eval_warning's scored window: the last 56 days
        else:
            windows = [(_monday_on_or_after(first + timedelta(days=63)), last)]
        read_first = min(w[0] for w in windows) - timedelta(days=FACT_DAYS + 14)
        if args.rise_targets:
            result["target_sweep"] = target_sweep(name, ds, max(first, read_first), last, windows[0],
                                                  args.nyc_seeds if name == "nyc" else args.seeds, args.rise_targets)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        elif args.alpha_scales:
            result["alpha_sweep"] = alpha_sweep(name, ds, max(first, read_first), last, windows[0],
                                                (args.nyc_seeds if name == "nyc" else args.seeds)[0], args.alpha_scales)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        elif not args.skip_inject:
            result["inject"] = inject_eval(name, ds, max(first, read_first), last, windows,
                                           args.nyc_seeds if name == "nyc" else args.seeds)
            path.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
