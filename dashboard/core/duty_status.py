"""Each worker duty's status at a moment, from the instances ``run_loop`` records (``gw_duties``):
who holds it, who stands by, when it last succeeded. For ``/ops``.

An instance counts while it reported recently: the active one reports after each run (at most every
10 s), a standby one every 30 s. A duty whose active instance has not reported within three of its
intervals (at least two minutes) is ``late`` (its holder died, or a run takes long: a pack being
built); one never recorded is ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

# The duties of ``gridwall worker`` (dashboard/worker/run.py runs these): /healthz names each, with
# null for one that never ran.
KNOWN_DUTIES = ("warning", "packs", "walls", "push", "rollup")
STANDBY_WITHIN = timedelta(seconds=120)
MIN_ACTIVE_WITHIN = timedelta(seconds=120)
STATES = ("ok", "late", "none")


@dataclass(frozen=True)
class DutyStatus:
    duty: str
    state: str  # ok, late, none
    holder: str | None  # host:pid of the active instance (the last one known when late)
    holder_seen_at: datetime | None
    last_success_at: datetime | None
    standby: tuple[str, ...]  # host:pid of the instances standing by


def process_of(instance: str) -> str:
    """``host:pid`` of an instance id ``host:pid:nonce``."""
    parts = instance.split(":")
    return ":".join(parts[:-1]) if len(parts) >= 3 else instance


def active_within(interval_s: float | None) -> timedelta:
    return max(MIN_ACTIVE_WITHIN, timedelta(seconds=3 * (interval_s or 0)))


def duty_statuses(names: Iterable[str], instances: list[dict[str, Any]], now: datetime) -> list[DutyStatus]:
    """One status per duty of ``names`` and per duty found among ``instances`` (rows of gw_duties)."""
    by_duty: dict[str, list[dict[str, Any]]] = {}
    for row in instances:
        by_duty.setdefault(row["duty"], []).append(row)
    out = []
    for duty in sorted(set(names) | set(by_duty)):
        rows = by_duty.get(duty, [])
        successes = [r["last_success_at"] for r in rows if r.get("last_success_at") is not None]
        active = sorted((r for r in rows if r["state"] == "active" and r.get("seen_at") is not None),
                        key=lambda r: r["seen_at"], reverse=True)
        current = [r for r in active if now - r["seen_at"] <= active_within(r.get("interval_s"))]
        standby = tuple(sorted(process_of(r["instance"]) for r in rows
                               if r["state"] == "standby" and r.get("seen_at") is not None
                               and now - r["seen_at"] <= STANDBY_WITHIN))
        holder_row = (current or active or [None])[0]
        state = "ok" if current else ("late" if rows else "none")
        out.append(DutyStatus(duty=duty, state=state,
                              holder=process_of(holder_row["instance"]) if holder_row else None,
                              holder_seen_at=holder_row["seen_at"] if holder_row else None,
                              last_success_at=max(successes) if successes else None, standby=standby))
    return out
