"""Scoring: alerts (the engine's, or EARS alarms grouped the same way) against the injected truth.

An *alert* here is a plain dict: ``kind``, ``created`` (aware datetime), ``street`` and ``major``
(the family: a rise alert is one per street x major category and run of days), ``regions`` (the
series regions it names), ``grids`` (a cluster's grids), ``region`` (its region code).

Detection (per truth, kind-specific; created in [truth start, last day + GRACE]):
* outbreak <- a ``spike`` alert naming a series nested with the truth's: its region contains or lies in
  the truth's region, its category contains or lies in the truth's (a street x major alert finds a
  community x minor outbreak; a neighbouring community's alert does not). ``family_match`` relaxes this
  to the alert's family (same street, same major);
* cluster  <- a ``cluster`` alert sharing a grid with the truth (EARS: an alarm in a series whose
  region holds one of the truth's grids);
* concealment <- an ``underreport`` alert on the community, within the horizon after the thinning.

False alarm: a scored alert that no truth explains. A truth explains any alert in its time window
whose place overlaps it (same street for an outbreak, and the same major when the alert has one;
the truth's grids, communities or streets for a cluster; the community for concealment).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

GRACE = timedelta(days=3, hours=1)   # a 1-day event on day D is tested at D+1 00:10; 3-day windows end by D+3
EXPLAIN = timedelta(days=4, hours=1)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _nested(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def engine_alerts(rows: list[dict]) -> list[dict]:
    """Alerts table rows -> the scorer's alert dicts. The places an alert names are taken from its
    evidence when it was raised (``raised_detail``): an alert whose later evidence grew to cover an
    injected event did not detect it when it was raised."""
    out = []
    for r in rows:
        d = r.get("raised_detail") or r["detail"] or {}
        fam = d.get("family") or {}
        series = [(r["region_code"] or "", r["category_code"] or "")]
        series += [(s.get("region_code") or "", s.get("category_code") or "") for s in d.get("also", [])]
        regions = [reg for reg, _ in series if reg]
        out.append({"id": r["id"], "kind": r["kind"], "created": r["created_at"], "region": r["region_code"],
                    "street": fam.get("street") or (r["region_code"] or "")[:9],
                    "major": fam.get("major") or ((r["category_code"] or "")[:2] or None),
                    "regions": regions, "series": series, "grids": list(d.get("grids") or []),
                    "resolved": r.get("resolved_at"),
                    "key": r.get("dedup_key") or ""})
    return out


def detects(alert: dict, t: dict, conceal_horizon: timedelta, family_match: bool = False) -> bool:
    start, created = _dt(t["start"]), alert["created"]
    if t["kind"] == "concealment":
        return alert["kind"] == "underreport" and alert["region"] == t["region"] and start < created <= start + conceal_horizon
    if not (start <= created <= _dt(t["end"]) + GRACE):
        return False
    if t["kind"] == "outbreak":
        if alert["kind"] != "spike":
            return False
        if family_match:
            return alert["street"] == t["street"] and alert["major"] == t["category"][:2]
        return any(reg and cat and _nested(reg, t["region"]) and _nested(cat, t["category"]) for reg, cat in alert["series"])
    if t["kind"] == "cluster":
        if alert["kind"] == "cluster":
            return bool(set(alert["grids"]) & set(t["grids"])) or alert["region"] in t["grids"]
        if alert.get("ears"):
            return any(g.startswith(r) for r in alert["regions"] for g in t["grids"])
    return False


def explains(t: dict, alert: dict) -> bool:
    created = alert["created"]
    if t["kind"] == "concealment":
        return alert["kind"] == "underreport" and alert["region"] == t["region"] and created > _dt(t["start"])
    if not (_dt(t["start"]) <= created <= _dt(t["end"]) + EXPLAIN):
        return False
    places = alert["regions"] + alert["grids"] + [alert["region"] or ""]
    if t["kind"] == "outbreak":
        same_major = alert["major"] is None or alert["major"] == t["category"][:2]
        return same_major and (alert["street"] == t["street"] or any(p and _nested(p, t["region"]) for p in places))
    if t["kind"] == "cluster":
        return any(p and _nested(p, g) for p in places for g in t["grids"])
    return False


@dataclass
class Score:
    detected: int
    truths: int
    delays_days: list[float]
    alerts: int
    false_alarms: int
    true_alerts: int
    street_weeks: float

    @property
    def pod(self) -> float | None:
        return self.detected / self.truths if self.truths else None

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays_days) if self.delays_days else None

    @property
    def fa_per_street_week(self) -> float:
        return self.false_alarms / self.street_weeks if self.street_weeks else float("nan")

    @property
    def ppv(self) -> float | None:
        """Share of the alerts that some injected truth explains (of any kind: a cluster alert over an
        injected outbreak is a true alert)."""
        return (self.alerts - self.false_alarms) / self.alerts if self.alerts else None

    def as_dict(self) -> dict:
        return {"detected": self.detected, "truths": self.truths, "pod": self.pod, "median_delay_days": self.median_delay,
                "delays_days": [round(d, 3) for d in self.delays_days], "alerts": self.alerts,
                "false_alarms": self.false_alarms, "same_kind_true_alerts": self.true_alerts,
                "street_weeks": self.street_weeks,
                "false_alarms_per_street_week": self.fa_per_street_week, "ppv": self.ppv}


def score(alerts: list[dict], truths: list[dict], kind: str, alert_kinds: tuple[str, ...], scored_from: datetime,
          scored_to: datetime, street_weeks: float, conceal_horizon: timedelta = timedelta(weeks=8),
          per_truth: dict | None = None, family_match: bool = False) -> Score:
    """Detection of the truths of ``kind`` by alerts of ``alert_kinds``, and those alerts' false alarms.

    ``per_truth`` (optional) receives truth id -> first detection delay in days (None: missed)."""
    scored = [a for a in alerts if a["kind"] in alert_kinds and scored_from <= a["created"] <= scored_to]
    mine = [t for t in truths if t["kind"] == kind]
    delays = []
    detected = 0
    for t in mine:
        hits = [a["created"] for a in alerts if a["kind"] in alert_kinds and detects(a, t, conceal_horizon, family_match)]
        delay = (min(hits) - _dt(t["start"])).total_seconds() / 86400 if hits else None
        if per_truth is not None:
            per_truth[t["id"]] = delay
        if hits:
            detected += 1
            delays.append(delay)
    true_alerts = sum(1 for a in scored if any(detects(a, t, conceal_horizon, family_match) for t in mine))
    false_alarms = sum(1 for a in scored if not any(explains(t, a) or detects(a, t, conceal_horizon) for t in truths))
    return Score(detected, len(mine), delays, len(scored), false_alarms, true_alerts, street_weeks)


# --- EARS C2 / C3 on the same daily series, grouped into alerts as the engine groups rises -------------

SERIES_LEVELS = (("street", "major"), ("street", "category_code"), ("community", "major"), ("community", "category_code"))


def ears_alerts(facts, first_day: np.datetime64, last_day: np.datetime64, method: str, levels, step_at) -> list[dict]:
    """EARS ``method`` alarms on every series of ``levels`` for each complete day in [first_day, last_day],
    grouped like the engine's rises: one alert per (street, major) family and run of consecutive alarm
    days, created when the run's first day is complete (``step_at(day + 1)``, the replay's step)."""
    from dashboard.analytics import ears, spikes

    history = np.timedelta64(12, "D")  # C3 needs 11 days before the day tested
    days = np.arange(first_day - history, last_day + np.timedelta64(1, "D"), dtype="datetime64[D]")
    tested = days >= first_day
    by_family: dict[tuple, dict] = {}
    for region_col, cat_col in levels:
        keys, y = spikes.count_cube(facts, [region_col, cat_col], days)
        if not keys:
            continue
        alarm = ears.ears_alarms(y, method) & tested[None, :]
        for i, j in zip(*np.nonzero(alarm)):
            region, cat = keys[i]
            fam = by_family.setdefault((region[:9], cat[:2]), {})
            fam.setdefault(days[j], set()).add((region, cat))
    out = []
    for (street, major), per_day in by_family.items():
        run_start, prev, series = None, None, set()
        for day in sorted(per_day):
            if prev is not None and day - prev == np.timedelta64(1, "D"):
                series |= per_day[day]
            else:
                if run_start is not None:
                    out.append(_ears_alert(street, major, run_start, series, step_at))
                run_start, series = day, set(per_day[day])
            prev = day
        if run_start is not None:
            out.append(_ears_alert(street, major, run_start, series, step_at))
    return out


def _ears_alert(street, major, day, series, step_at) -> dict:
    """One EARS alert: its series are every series that alarmed during the run (the engine's alert
    likewise names the series of its latest evidence)."""
    return {"id": None, "kind": "spike", "ears": True, "created": step_at(day + np.timedelta64(1, "D")),
            "region": street, "street": street, "major": major, "series": sorted(series),
            "regions": sorted({reg for reg, _ in series}), "grids": []}


# --- concealment ---------------------------------------------------------------------------------------

def concealment_runs(alerts: list[dict], truths: list[dict], horizon: timedelta) -> list[dict]:
    """Per concealment truth: caught (an underreport alert on the community within the horizon),
    weeks to the first, and whether the community was already flagged when the thinning began."""
    out = []
    for t in truths:
        if t["kind"] != "concealment":
            continue
        start = _dt(t["start"])
        mine = [a for a in alerts if a["kind"] == "underreport" and a["region"] == t["region"]]
        before = any(a["created"] <= start and (a["resolved"] is None or a["resolved"] > start) for a in mine)
        hits = sorted(a["created"] for a in mine if start < a["created"] <= start + horizon)
        out.append({"id": t["id"], "community": t["region"], "keep": t["keep"], "patrol_per_week": t["patrol_per_week"],
                    "caught": bool(hits), "weeks": round((hits[0] - start).total_seconds() / 604800, 2) if hits else None,
                    "flagged_before": before,
                    "tests": sorted({a["key"].split(":")[2] for a in mine if a["key"].count(":") >= 2
                                     and start < a["created"] <= start + horizon})})
    return out


def honest_flags(alerts: list[dict], communities: list[str], exclude: set[str], scored_from: datetime,
                 scored_to: datetime) -> dict:
    """Honest communities flagged for concealment: distinct ones over the span, and that as a share per quarter."""
    mine = [a for a in alerts if a["kind"] == "underreport" and a["region"] not in exclude
            and scored_from <= a["created"] <= scored_to]
    flagged = sorted({a["region"] for a in mine})
    by_test = {}
    for test in ("own", "peers"):
        by_test[test] = sorted({a["region"] for a in mine if f":{test}:" in a["key"]})
    honest = [c for c in communities if c not in exclude]
    weeks = (scored_to - scored_from).total_seconds() / 604800
    share = len(flagged) / len(honest) if honest else float("nan")
    # per quarter: distinct communities flagged in each 13-week window (sliding by a week) of the span,
    # averaged; a span shorter than a quarter is scaled up
    quarter = timedelta(weeks=13)
    windows = []
    begin = scored_from
    while begin + quarter <= scored_to + timedelta(hours=1):
        inside = {a["region"] for a in mine if begin <= a["created"] < begin + quarter}
        windows.append(len(inside) / len(honest) if honest else float("nan"))
        begin += timedelta(weeks=1)
    per_quarter = float(np.mean(windows)) if windows else (share * 13.0 / weeks if weeks else float("nan"))
    return {"communities": len(honest), "flagged": len(flagged), "flagged_codes": flagged, "weeks": round(weeks, 2),
            "by_test": by_test, "alerts": len(mine), "quarter_windows": len(windows),
            "share_over_span": share, "share_per_quarter": per_quarter}
