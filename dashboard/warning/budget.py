"""Each detector's alarm budget (issue 17 §4): at most N new alerts of a kind per street and ISO week,
configured per deployment in ``[warning.budget]`` (``spike = 2``; 0 or absent: no cap).

A run's new findings of a kind and street beyond what is left of the week's budget (alerts of that
kind already raised in the street since Monday 00:00 local, whatever became of them) are suppressed:
the strongest are raised, the rest are logged and reported (``RunReport.suppressed``), not written. A
suppressed situation that lasts is considered again at every run, and raised in a later week if it
still ranks. Updates of alerts already running are never capped. The street of an alert is the first
9 digits of its region; an alert on the county (or a shorter code) counts under that code.

Strength, strongest first: severity (critical, warning, info), then the kind's own measure: for a
rise or a cluster the improbability (-log10 p), for concealment the missing reports (gap), for a
repeat or an SLA risk the count, for staffing the grids or workers concerned, else ``score``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Iterable

from ..analytics.findings import Finding

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def street_of(region_code: str | None) -> str:
    code = region_code or ""
    return code[:9] if len(code) >= 9 else code


def week_start(at: datetime, tz) -> datetime:
    """Monday 00:00 local of ``at``'s ISO week, as an aware datetime."""
    local = at.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=tz)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def measure(f: Finding) -> float:
    """The kind's own measure of a finding's strength (larger is stronger)."""
    d = f.detail if isinstance(f.detail, dict) else {}
    p = _number(d.get("p_value"))
    if f.kind in ("spike", "cluster") and p is not None:
        return -math.log10(max(p, 1e-300))
    if f.kind == "underreport" and _number(d.get("gap")) is not None:
        return _number(d.get("gap"))
    if f.kind == "staffing" and _number(d.get("rostered")) is not None and _number(d.get("patrolled")) is not None:
        return _number(d.get("rostered")) - _number(d.get("patrolled"))   # grids not patrolled
    for key in ("observed", "score"):
        if _number(d.get(key)) is not None:
            return _number(d.get(key))
    return 0.0 if p is None else -math.log10(max(p, 1e-300))


def strength_key(f: Finding) -> tuple:
    """Sorts strongest first; the situation key breaks ties, so a run's choice is reproducible."""
    return (SEVERITY_RANK.get(f.severity, len(SEVERITY_RANK)), -measure(f), f.dedup_key)


def apply_budget(candidates: Iterable[Finding], caps: dict[str, int],
                 used: dict[tuple[str, str], int]) -> tuple[list[Finding], list[Finding]]:
    """(kept, suppressed) of the would-be new alerts: per kind with a cap and street, the strongest
    ``cap - used`` are kept. ``used[(kind, street)]``: alerts of the kind already raised there this week."""
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    kept, suppressed = [], []
    for f in candidates:
        if caps.get(f.kind, 0) > 0:
            groups[(f.kind, street_of(f.region_code))].append(f)
        else:
            kept.append(f)
    for (kind, street), found in groups.items():
        left = max(caps[kind] - used.get((kind, street), 0), 0)
        ranked = sorted(found, key=strength_key)
        kept += ranked[:left]
        suppressed += ranked[left:]
    return kept, suppressed
