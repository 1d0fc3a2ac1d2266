"""The case-based detectors as the engine sees them: read the feeds, run the analytics, name the situations.

``case_findings(conn, root_scope, m)`` returns the findings of five detectors (issue 5: 1 rises,
2 clusters, 3 repeats, 6 concealment, 7 sensitive signs); ``forecast_outputs`` the forecast (9).

One situation, one ``dedup_key``, stable while the situation lasts:

* ``spike:<street>:<major>:<run start>``. A rise in any series of the family (street x major
  category, its minor categories, its communities) belongs to the family's alert. A daily rise is
  tested on each complete day, a within-day rise on today so far; consecutive days with a rise
  form one run, keyed by its first day. The finding is reported while the run includes yesterday
  (complete) or today (within the day); the engine resolves it the first day it does not.
* ``cluster:<community of the centre>:<first day of the window>``: the daily scan over complete days.
* ``repeat:addr:<address hash>`` / ``repeat:grid:<grid>:<minor>``: the place, reported while it
  has enough reports in the window (a busy place's chain of reports has no natural first one: a
  key from it would change as the look-back slides); when it recurs after being resolved, the
  engine opens a new episode of the same situation. ``repeat:rebound:<closed case>``.
* ``underreport:<community>:<own|peers>:<first flagged week>``.
* ``sensitive:<case id>``: reported for 24 hours after the report, and longer while the case
  stays open (up to 7 days).

Speed: the daily detectors (rises on complete days, the scan, concealment) are computed once per
local day (week) and kept per process, keyed by the data they read; every run re-reads only
today's rows. A detector that fails is logged and its last findings (at most a day old) are
reported again, so a transient error never resolves an open alert.

Measured on honest 90-day synthetic counties (seeds 20261126 and 7; 42 days replayed, three runs a
day): rises 0.33 and 0.48 alerts per street-week (busiest street 0.83), clusters 0.02 and 0,
concealment 5 and 7 alerts (of 152 communities), repeats 1.0 and 1.5 per street-week (mostly
info). CPU per run on SQLite: about 3 s for the first run of a day (the scan is 2 s of it), 0.5 s
for the others. Those rise rates are at the fixed alphas; the engine now raises the alphas per
deployment and day toward ``[warning] rise_alarm_target`` (``_rise_scale``), which tests the 21 days
before yesterday once a day as well (about 0.2 s a day tested on the synthetic county: some 4 s
more on the first run of a day; docs/benchmarks.md section 10).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict, defaultdict
from datetime import timedelta

import numpy as np
import pandas as pd

from dashboard.analytics import concealment, forecast, hotspots, repeats, scan, sensitive, spike_band, spikes
from dashboard.analytics.findings import Finding
from dashboard.core.config import get_settings
from data_access import feeds_cases as feeds
from data_access.moment import Moment
from data_access.scope import Scope

log = logging.getLogger("gridwall.warning.cases")

FACT_DAYS = 84                # the rise baseline (8 weeks + guard + windows) + the run look-back; the forecast's 12 weeks
FORECAST_DAYS = 364           # the longest forecast memory's history; read grouped, once a day
CONCEALMENT_WEEKS = 52        # own history needs a long "before": a year (bench/eval_conceal.py: 26 weeks caught 5-10 points fewer)
RUN_LOOKBACK_DAYS = 14        # how far back a rise run's first day is looked for
MAX_CASE_IDS = 50
SENSITIVE_DAYS = 7
REPEAT_LOOKBACK_DAYS = 30

SPIKE_PARAMS = spikes.SpikeParams()
SCAN_PARAMS = scan.ScanParams()
REPEAT_PARAMS = repeats.RepeatParams()
CONCEALMENT_PARAMS = concealment.ConcealmentParams()
FORECAST_MEMORIES = forecast.MEMORIES
HOTSPOT_PARAMS = hotspots.HotspotParams()

_lock = threading.Lock()
_memo: OrderedDict[tuple, object] = OrderedDict()
_last_good: dict[tuple, tuple] = {}
_MEMO_SIZE = 1024   # a county holds ~25 days of rise candidates (the calibration) besides its bands and scans


def _memoised(key: tuple, compute):
    with _lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    value = compute()
    with _lock:
        _memo[key] = value
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return value


def clear_caches() -> None:
    with _lock:
        _memo.clear()
        _last_good.clear()
    feeds.clear_caches()


def _local_today(m: Moment) -> np.datetime64:
    return np.datetime64(m.at.astimezone(m.tz).date(), "D")


def _name(names: dict, code: str | None) -> str:
    if not code:
        return ""
    return names.get(code) or code


def _at(place: str) -> str:
    """An alert title leads with the problem; the place follows: "乱堆物堆料 结案6天后反弹 · 某社区第四网格"."""
    return f" · {place}" if place else ""


def _grid_place(names: dict, grid: str) -> str:
    """A grid by its name after its community's ("城东社区第四网格"), never by its code's digits."""
    return f"{_name(names, grid[:12])}{names.get(grid) or ''}" if len(grid) == 15 else _name(names, grid)


def _cat_name(names: dict, code: str | None) -> str:
    return names.get(f"cat:{code}") or (code or "")


def _day_text(day) -> str:
    return str(np.datetime64(day, "D"))


# --- 1. rises (骤增) -----------------------------------------------------------------------------

def _candidates(facts: pd.DataFrame, day: np.datetime64) -> list[spikes.Rise]:
    """The day's series that alarm at the largest alpha scale; the rises at any scale are a filter of them."""
    key = ("rises", facts.attrs.get("history_key"), str(day))
    return _memoised(key, lambda: spikes.daily_rises(facts, day, SPIKE_PARAMS, scale=max(spikes.ALPHA_SCALES)))


def _rise_scale(facts: pd.DataFrame, day: np.datetime64) -> float:
    """The alphas' scale for the rises of ``day`` and after: calibrated once a day on the 3 weeks before
    it (``spikes.rise_scale``, target ``[warning] rise_alarm_target``)."""
    target = get_settings().warning.rise_alarm_target
    key = ("rise_scale", facts.attrs.get("history_key"), str(day), target)
    return _memoised(key, lambda: spikes.rise_scale(facts, day, target, SPIKE_PARAMS,
                                                    candidates=lambda d: _candidates(facts, d)))


def _daily(facts: pd.DataFrame, day: np.datetime64, scale: float) -> list[spikes.Rise]:
    return spikes.rises_at(_candidates(facts, day), scale)


def _case_ids(facts: pd.DataFrame, rise: spikes.Rise) -> list[int]:
    col = "major" if len(rise.category) == 2 else "category_code"
    col_region = "street" if len(rise.region) == 9 else "community"
    last = np.datetime64(rise.day, "D")
    first = last - np.timedelta64(max(rise.window, 1) - 1, "D")
    d = facts["day"].values.astype("datetime64[D]")
    sel = (facts[col_region].values == rise.region) & (facts[col].values == rise.category) & (d >= first) & (d <= last)
    return [int(i) for i in facts.loc[sel, "id"].tolist()[-MAX_CASE_IDS:]]


def spike_findings(facts: pd.DataFrame, m: Moment, names: dict) -> list[Finding]:
    today = _local_today(m)
    yesterday = today - np.timedelta64(1, "D")
    local = m.at.astimezone(m.tz)
    now_minute = local.hour * 60 + local.minute
    by_day: dict[np.datetime64, dict[tuple, list[spikes.Rise]]] = {}
    scale = _rise_scale(facts, yesterday)

    def family_rises(day) -> dict[tuple, list[spikes.Rise]]:
        if day not in by_day:
            grouped = defaultdict(list)
            for r in _daily(facts, day, scale):
                grouped[r.family].append(r)
            by_day[day] = grouped
        return by_day[day]

    intraday = defaultdict(list)
    for r in spikes.intraday_rises(facts, today, now_minute, SPIKE_PARAMS, scale=scale):
        intraday[r.family].append(r)
    families = set(intraday) | set(family_rises(yesterday))
    out = []
    for fam in sorted(families):
        latest = today if fam in intraday else yesterday
        start = yesterday if fam in family_rises(yesterday) else today
        while start > yesterday - np.timedelta64(RUN_LOOKBACK_DAYS - 1, "D") and fam in family_rises(start - np.timedelta64(1, "D")):
            start = start - np.timedelta64(1, "D")
        rises = intraday[fam] if latest == today else family_rises(yesterday)[fam]
        best = min(rises, key=lambda r: r.p)
        out.append(_spike_finding(facts, fam, best, rises, start, latest, names, m, scale))
    return out


def _spike_finding(facts, fam, best: spikes.Rise, rises, start, latest, names, m: Moment, scale: float) -> Finding:
    street, major = fam
    where = _name(names, best.region)
    if len(best.region) == 12:
        where = f"{_name(names, best.region[:9])}{where}"
    what = _cat_name(names, best.category)
    if best.intraday:
        when = f"今日截至{m.at.astimezone(m.tz):%H:%M}"
    elif best.window == 1:
        when = f"{_day_text(best.day)[5:]}全天"
    else:
        first = np.datetime64(best.day, "D") - np.timedelta64(best.window - 1, "D")
        when = f"{_day_text(first)[5:]}至{_day_text(best.day)[5:]}"
    title = f"{what}骤增：{when}共{int(best.observed)}件，通常约{best.expected:.0f}件{_at(where)}"
    strong = best.observed >= 3 * best.expected and best.observed - best.expected >= 10
    window_first = np.datetime64(best.day, "D") - np.timedelta64(max(best.window, 1) - 1, "D")
    detail = {
        "observed": int(best.observed), "expected": round(best.expected, 2), "p_value": float(f"{best.p:.3g}"),
        "method": "ears" if best.method == "ears" else "negative_binomial", "intraday": best.intraday,
        "window": {"start": _day_text(window_first), "end": _day_text(best.day), "days": max(best.window, 1)},
        "series": {"region_code": best.region, "category_code": best.category},
        "family": {"street": street, "major": major}, "run_start": _day_text(start),
        # the level's alpha as tested (times the day's calibrated scale; the intraday test divides by 10)
        "alpha": float(f"{best.alpha * scale:.4g}"), "alpha_scale": round(scale, 3),
        "also": [{"region_code": r.region, "category_code": r.category, "observed": int(r.observed),
                  "expected": round(r.expected, 2), "p_value": float(f"{r.p:.3g}")}
                 for r in sorted(rises, key=lambda r: r.p) if r is not best][:10],
        "case_ids": _case_ids(facts, best),
        "band": _band(facts, best, window_first, best.alpha * scale),
    }
    return Finding(kind="spike", severity="critical" if strong else "warning", region_code=best.region,
                   title=title, dedup_key=f"spike:{street}:{major}:{_day_text(start)}", detail=detail,
                   category_code=best.category)


def _band(facts: pd.DataFrame, best: spikes.Rise, window_first: np.datetime64, alpha: float) -> dict | None:
    """The series' counts with its expected level and band from ``spike_band.DAYS_BEFORE`` days
    before the window to its last day, as the evidence panel draws it (``dashboard.analytics.spike_band``).
    Complete days are computed once per day's data; a within-day rise recomputes today's point."""
    first = window_first - np.timedelta64(spike_band.DAYS_BEFORE, "D")
    last = np.datetime64(best.day, "D")

    def compute():
        return spike_band.facts_band(facts, best.region, best.category, first, last, alpha, SPIKE_PARAMS)

    try:
        if best.intraday:
            return compute()
        return _memoised(("band", facts.attrs.get("history_key"), best.region, best.category, str(first), str(last), alpha),
                         compute)
    except Exception:  # noqa: BLE001 - the alert stands without its drawing
        log.exception("spike band of %s x %s failed", best.region, best.category)
        return None


# --- 2. space-time clusters (时空聚集) -------------------------------------------------------------

def _scan_day(conn, scope: Scope, facts: pd.DataFrame, last: np.datetime64) -> tuple[list[scan.Cluster], pd.DataFrame, pd.DataFrame]:
    cent = feeds.grid_centroids(conn, scope)

    def compute():
        p = SCAN_PARAMS
        pos = {code: i for i, code in enumerate(cent["grid_code"])}
        d = facts["day"].values.astype("datetime64[D]")
        first = last - np.timedelta64(p.study_days - 1, "D")
        f = facts[(d >= first) & (d <= last) & facts["grid_code"].isin(pos).values]
        if not len(f) or not len(cent):
            return [], f
        loc = f["grid_code"].map(pos).values.astype(np.int64)
        day = (f["day"].values.astype("datetime64[D]") - first).astype(np.int64)
        strata = scan.strata_of(f["source"].values, loc, p.automated_sources)
        nbr, dist = scan.neighbours(cent["lon"].values, cent["lat"].values, p.max_neighbors, p.max_radius_km)
        rng = np.random.default_rng(int(str(last).replace("-", "")))
        return scan.scan(loc, day, strata, len(cent), p.study_days - 1, nbr, dist, p, runs_per_day=1.0, rng=rng), f

    clusters, f = _memoised(("scan", facts.attrs.get("history_key"), str(last), len(cent)), compute)
    return clusters, f, cent


def cluster_findings(conn, scope: Scope, m: Moment, facts: pd.DataFrame, names: dict) -> list[Finding]:
    last = _local_today(m) - np.timedelta64(1, "D")
    clusters, f, cent = _scan_day(conn, scope, facts, last)
    out = []
    for cl in clusters:
        grids = cent["grid_code"].values[cl.members].tolist()
        center = grids[0]
        first = last - np.timedelta64(cl.window - 1, "D")
        d = f["day"].values.astype("datetime64[D]")
        inside = f[np.isin(f["grid_code"].values, grids) & (d >= first)]
        cats = inside["category_code"].value_counts().head(3)
        community = center[:12]
        title = (f"事件时空聚集：近{cl.window}日{cl.observed}件，通常约{cl.expected:.0f}件"
                 f"{_at(_name(names, community[:9]) + _name(names, community) + '周边')}")
        detail = {
            "observed": cl.observed, "expected": round(cl.expected, 2), "p_value": cl.p_value,
            "recurrence_days": round(cl.recurrence_days, 1), "llr": round(cl.llr, 2),
            "window": {"start": _day_text(first), "end": _day_text(last), "days": cl.window},
            "center_grid": center, "grids": grids, "radius_km": round(cl.radius_km, 2),
            "center": {"lon": float(cent["lon"].values[cl.center]), "lat": float(cent["lat"].values[cl.center])},
            "top_categories": {str(k): int(v) for k, v in cats.items()},
            "replications": SCAN_PARAMS.replications, "adjusted_for": "source channel",
            "left_out": list(SCAN_PARAMS.automated_sources),
            "case_ids": [int(i) for i in inside["id"].tolist()[-MAX_CASE_IDS:]],
        }
        key = f"cluster:{community}:{_day_text(first)}"
        if any(f.dedup_key == key for f in out):
            continue  # a weaker cluster centred in the same community: one situation
        out.append(Finding(kind="cluster", severity="warning", region_code=center, title=title,
                           dedup_key=key, detail=detail))
    return out


# --- 3. repeats (重复多发) and rebounds (反弹) ---------------------------------------------------------

def repeat_findings(conn, scope: Scope, m: Moment, names: dict) -> list[Finding]:
    frame = feeds.repeat_cases(conn, scope, m, REPEAT_LOOKBACK_DAYS)
    out = []
    addresses = {}
    if len(frame):
        addresses = dict(zip(frame["id"].astype(int), frame["address"]))
    for r in repeats.find_repeats(frame, m.at, REPEAT_PARAMS):
        region = r.grid_code if isinstance(r.grid_code, str) and len(r.grid_code) == 15 else scope.root
        what = _cat_name(names, r.category_code)
        if r.place_kind == "address":
            digest = hashlib.sha1(r.place.encode("utf-8")).hexdigest()[:12]
            key = f"repeat:addr:{digest}"
            title = (f"{what or '同一地点'}重复多发：{REPEAT_PARAMS.m_days:.0f}日内上报{r.count}次"
                     f"{_at(addresses.get(r.case_ids[-1]) or r.place)}")
            need = REPEAT_PARAMS.n
        else:
            key = f"repeat:grid:{r.grid_code}:{r.category_code}"
            title = f"{what}重复多发：{REPEAT_PARAMS.m_days:.0f}日内{r.count}次{_at(_grid_place(names, region))}"
            need = REPEAT_PARAMS.grid_n
        detail = {"observed": r.count, "threshold": need, "place_kind": r.place_kind,
                  "window": {"days": REPEAT_PARAMS.m_days, "end": m.local_iso()},
                  "episode_start": r.first_at.isoformat(), "first_case_id": r.first_id, "case_ids": r.case_ids}
        out.append(Finding(kind="repeat", severity="warning" if r.count >= 2 * need else "info", region_code=region,
                           title=title, dedup_key=key, detail=detail,
                           category_code=r.category_code if isinstance(r.category_code, str) else None))
    for b in repeats.find_rebounds(frame, m.at, REPEAT_PARAMS):
        region = b.grid_code if isinstance(b.grid_code, str) and len(b.grid_code) == 15 else scope.root
        gap = (b.new_at - b.closed_at).total_seconds() / 86400
        title = (f"{_cat_name(names, b.category_code) or '同一问题'} 结案{max(round(gap), 1)}天后反弹"
                 f"{_at(addresses.get(b.new_id) or b.place)}")
        detail = {"observed": 1, "closed_case_id": b.closed_id, "closed_at": b.closed_at.isoformat(),
                  "new_case_id": b.new_id, "reported_at": b.new_at.isoformat(), "gap_days": round(gap, 2),
                  "window": {"days": REPEAT_PARAMS.rebound_days}, "case_ids": [b.closed_id, b.new_id]}
        out.append(Finding(kind="repeat", severity="warning", region_code=region, title=title,
                           dedup_key=f"repeat:rebound:{b.closed_id}", detail=detail,
                           category_code=b.category_code if isinstance(b.category_code, str) else None))
    return out


# --- 6. concealment (疑似瞒报漏报) -------------------------------------------------------------------

def _complete_weeks(first_day: np.datetime64, today: np.datetime64) -> np.ndarray:
    """Mondays of the complete local weeks from ``first_day`` to before today's week, oldest first."""
    monday = today - np.timedelta64(int(spikes.weekday(np.array([today]))[0]), "D")
    first_monday = first_day + np.timedelta64(int((7 - spikes.weekday(np.array([first_day]))[0]) % 7), "D")
    return np.arange(first_monday, monday, 7, dtype="datetime64[D]")


def _utc(day: np.datetime64, m: Moment):
    return pd.Timestamp(day).tz_localize(m.tz).tz_convert("UTC").to_pydatetime()


def concealment_findings(conn, scope: Scope, m: Moment, names: dict) -> list[Finding]:
    """Weekly: computed once per complete week (and whenever those weeks' rows change)."""
    p_par = CONCEALMENT_PARAMS
    today = _local_today(m)
    monday = today - np.timedelta64(int(spikes.weekday(np.array([today]))[0]), "D")
    start = monday - np.timedelta64(7 * CONCEALMENT_WEEKS, "D")
    fingerprint = feeds.facts_fingerprint(conn, scope, _utc(start, m), _utc(monday, m))
    communities = feeds.community_codes(conn, scope)

    def compute():
        weeks, counts = feeds.community_channel_weeks(conn, scope, m, CONCEALMENT_WEEKS)
        if len(weeks) < p_par.min_pre_weeks + 1:
            return weeks, {}, {}
        p, u = concealment.weekly_matrix(counts, communities, weeks)
        own_flags, peer_flags = {}, {}
        for e in range(max(p_par.min_pre_weeks, len(weeks) - p_par.max_post_weeks), len(weeks)):
            own_flags[e] = concealment.own_history(p[:, : e + 1], u[:, : e + 1], p_par)
            peer_flags[e] = concealment.peer_deficit(p[:, : e + 1], u[:, : e + 1], p_par)
        return weeks, own_flags, peer_flags

    key = ("conceal", feeds.database_key(conn), scope.region, str(monday), fingerprint, len(communities))
    weeks, own_flags, peer_flags = _memoised(key, compute)
    last = len(weeks) - 1
    out = []
    for test, flags in (("own", own_flags), ("peers", peer_flags)):
        if last not in flags:
            continue
        for i in np.nonzero(flags[last].flagged)[0]:
            first = last
            while first - 1 in flags and flags[first - 1].flagged[i]:
                first -= 1
            out.append(_concealment_finding(test, communities[i], flags[last], i, weeks, first, names))
    return out


def _concealment_finding(test, community, res, i, weeks, start, names) -> Finding:
    name = f"{_name(names, community[:9])}{_name(names, community)}"
    if test == "own":
        since = weeks[int(res.tau[i])]
        n_weeks = len(weeks) - int(res.tau[i])
        title = (f"疑似瞒报漏报：近{n_weeks}周网格员上报{int(res.observed[i])}件，按以往应约{res.expected[i]:.0f}件"
                 f"（{res.ratio[i]:.0%}），12345/随手拍/视频未同步下降{_at(name)}")
        detail = {"test": "own_history", "observed": int(res.observed[i]), "expected": round(float(res.expected[i]), 1),
                  "gap": round(float(res.expected[i] - res.observed[i]), 1), "ratio": round(float(res.ratio[i]), 3),
                  "uncontrolled_ratio": round(float(res.u_ratio[i]), 3), "score": round(float(res.llr[i]), 2),
                  "window": {"start": _day_text(since), "end": _day_text(weeks[-1] + np.timedelta64(6, "D")),
                             "weeks": n_weeks}}
    else:
        title = (f"疑似瞒报漏报：近{CONCEALMENT_PARAMS.peer_weeks}周网格员上报占比{res.share[i]:.0%}，"
                 f"同类社区{res.peer_share[i]:.0%}，按同类应约{res.expected[i]:.0f}件、实报{int(res.observed[i])}件{_at(name)}")
        detail = {"test": "peers", "observed": int(res.observed[i]), "expected": round(float(res.expected[i]), 1),
                  "gap": round(float(res.expected[i] - res.observed[i]), 1), "share": round(float(res.share[i]), 3),
                  "peer_share": round(float(res.peer_share[i]), 3), "p_value": float(f"{res.tail[i]:.3g}"),
                  "window": {"start": _day_text(weeks[-CONCEALMENT_PARAMS.peer_weeks:][0]),
                             "end": _day_text(weeks[-1] + np.timedelta64(6, "D")),
                             "weeks": min(CONCEALMENT_PARAMS.peer_weeks, len(weeks))}}
    detail.update({"channels": {"controlled": [concealment.PATROL], "uncontrolled": list(concealment.UNCONTROLLED)},
                   "flagged_since_week": _day_text(weeks[start]), "case_ids": []})
    return Finding(kind="underreport", severity="warning", region_code=community, title=title,
                   dedup_key=f"underreport:{community}:{test}:{_day_text(weeks[start])}", detail=detail)


# --- 7. sensitive signs (重大风险苗头) ---------------------------------------------------------------

def sensitive_title(case_title: str, why: str) -> str:
    """"重大风险苗头：<the case's title>（<why>）", leaving out of ``why`` (words joined by 、) what the
    title already says (a case titled after its category read "…重点人员异常动态（重点人员异常动态）")."""
    rest = [part for part in str(why or "").split("、") if part and part not in case_title]
    return f"重大风险苗头：{case_title}" + (f"（{'、'.join(rest)}）" if rest else "")


def sensitive_findings(conn, scope: Scope, m: Moment, names: dict) -> list[Finding]:
    frame = feeds.recent_case_texts(conn, scope, m, SENSITIVE_DAYS)
    if not len(frame):
        return []
    titles = dict(zip(frame["id"].astype(int), frame["title"]))
    when = dict(zip(frame["id"].astype(int), frame["reported_at"]))
    out = []
    for s in sensitive.find_signs(frame):
        region = s.grid_code if isinstance(s.grid_code, str) and len(s.grid_code) == 15 else scope.root
        why = "、".join(s.words) if s.words else _cat_name(names, s.category_code)
        text = titles.get(s.case_id)  # a bad row's title may be NaN or None
        title = sensitive_title(text if isinstance(text, str) and text else str(s.case_code or s.case_id), why)
        detail = {"observed": 1, "case_id": s.case_id, "case_code": s.case_code, "themes": list(s.themes),
                  "words": list(s.words), "by_category": s.by_category,
                  "reported_at": pd.Timestamp(when[s.case_id]).isoformat(), "case_ids": [s.case_id],
                  "window": {"days": SENSITIVE_DAYS}}
        out.append(Finding(kind="sensitive", severity="critical", region_code=region, title=title,
                           dedup_key=f"sensitive:{s.case_id}", detail=detail,
                           category_code=s.category_code if isinstance(s.category_code, str) else None))
    return out


# --- the engine's entry points ------------------------------------------------------------------

def _guarded(name: str, scope: Scope, m: Moment, run) -> list[Finding]:
    key = (name, scope.region)
    try:
        found = run()
    except Exception:  # noqa: BLE001 - one detector failing must not silence the others
        log.exception("case detector %s failed at %s", name, m.local_iso())
        kept = _last_good.get(key)
        if kept and m.at - kept[0] <= timedelta(days=1):
            return list(kept[1])
        return []
    _last_good[key] = (m.at, tuple(found))
    return found


def case_findings(conn, root_scope: Scope, m: Moment) -> list[Finding]:
    """Every case-based finding in ``root_scope`` as of ``m``."""
    facts = feeds.case_facts(conn, root_scope, m, FACT_DAYS)
    names = feeds.region_and_category_names(conn, root_scope)
    out: list[Finding] = []
    out += _guarded("sensitive", root_scope, m, lambda: sensitive_findings(conn, root_scope, m, names))
    out += _guarded("spike", root_scope, m, lambda: spike_findings(facts, m, names))
    out += _guarded("cluster", root_scope, m, lambda: cluster_findings(conn, root_scope, m, facts, names))
    out += _guarded("repeat", root_scope, m, lambda: repeat_findings(conn, root_scope, m, names))
    out += _guarded("underreport", root_scope, m, lambda: concealment_findings(conn, root_scope, m, names))
    return out


def forecast_outputs(conn, root_scope: Scope, m: Moment) -> tuple[list[dict], list[dict]]:
    """(forecast rows, hotspot rows) made at ``m`` from the complete days before today.

    Forecast rows: per street and for the root, per major category, for today and the 6 days after,
    with the mean (``expected``), the median and the 80 % interval. The memory (weeks, half a year,
    a year) is chosen per level by the last weeks' backtest (``forecast.forecast_selected``) on a
    year of daily counts grouped in the database. Hotspot rows: the top grids for the 7 days from today.
    """
    today = _local_today(m)
    count_days, counts = feeds.category_day_counts(conn, root_scope, m, FORECAST_DAYS)
    rows: list[dict] = []
    for region_col in ("street", None):
        if not len(count_days):
            break
        if region_col is None:
            keys, y = spikes.count_cube(counts.assign(root=root_scope.region), ["root", "major"], count_days, "n")
        else:
            keys, y = spikes.count_cube(counts, [region_col, "major"], count_days, "n")
        if not keys:
            continue
        fc, chosen = forecast.forecast_selected(y, count_days, [k[1] for k in keys], FORECAST_MEMORIES,
                                                units=[k[0] for k in keys])
        log.debug("forecast %s: memory %s (backtest MAE %s)", region_col or "root", chosen.chosen, chosen.mae)
        for i, (region, major) in enumerate(keys):
            for j, day in enumerate(fc.days):
                rows.append({"region_code": region, "category_code": major, "day": pd.Timestamp(day).date(),
                             "expected": round(float(fc.expected[i, j]), 3), "lo80": float(fc.lo[i, j]),
                             "hi80": float(fc.hi[i, j]), "median": float(fc.median[i, j]), "made_at": m.at})
    facts = feeds.case_facts(conn, root_scope, m, FACT_DAYS)
    if not len(facts):
        return rows, []
    first = facts["day"].values.astype("datetime64[D]").min()
    days = np.arange(first, today, dtype="datetime64[D]")
    if not len(days):
        return rows, []
    keys, y = spikes.count_cube(facts, ["grid_code"], days)
    hot_rows = []
    if keys:
        top = hotspots.top_hotspots(y, [k[0] for k in keys], HOTSPOT_PARAMS)
        for grid, expected, rank in zip(top.grids, top.expected_week, top.rank):
            hot_rows.append({"grid_code": grid, "week_start": pd.Timestamp(today).date(), "rank": int(rank),
                             "expected": round(float(expected), 2), "made_at": m.at})
    return rows, hot_rows
