"""Which channels an alert is owed to: ``[[push.route]]`` matched against the alert."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Connection

from dashboard.core.config import PUSH_SEVERITIES, PushRoute, PushSettings
from data_access import push as outbox

ESCALATING = "critical"  # only critical alerts escalate


def matches(route: PushRoute, alert: dict) -> bool:
    severity = alert.get("severity")
    if severity not in PUSH_SEVERITIES:
        return False
    if PUSH_SEVERITIES.index(severity) < PUSH_SEVERITIES.index(route.min_severity):
        return False
    if route.kinds and alert.get("kind") not in route.kinds:
        return False
    return str(alert.get("region_code") or "").startswith(route.region)


def severities_routed(push: PushSettings) -> list[str]:
    """The severities some route takes: alerts of other severities need no look."""
    lowest = min((PUSH_SEVERITIES.index(r.min_severity) for r in push.route), default=len(PUSH_SEVERITIES))
    return list(PUSH_SEVERITIES[lowest:])


def first_tier(push: PushSettings, alert: dict) -> list[str]:
    """The channels of every route the alert matches (tier 0), each once, in configuration order."""
    return list(dict.fromkeys(ch for r in push.route if matches(r, alert) for ch in r.channels))


def escalations(push: PushSettings, alert: dict) -> list[tuple[int, list[str]]]:
    """(tier, channels) of the routes that escalate this alert; the tier is the route's
    ``escalate_after_min``, so one delay is one tier whatever the order of the routes."""
    if alert.get("severity") != ESCALATING:
        return []
    tiers: dict[int, list[str]] = {}
    for r in push.route:
        if r.escalate_to and matches(r, alert):
            tiers.setdefault(r.escalate_after_min, []).extend(r.escalate_to)
    return [(tier, list(dict.fromkeys(chs))) for tier, chs in sorted(tiers.items())]


def enqueue_alert(conn: Connection, push: PushSettings, alert: dict, now: datetime) -> int:
    """Owe a new alert to its first-tier channels; the number of rows added."""
    return outbox.enqueue(conn, [(alert["id"], ch, 0) for ch in first_tier(push, alert)], now)


def raised_hook(push: PushSettings) -> Callable[[Connection, dict, datetime], int] | None:
    """What the warning engine calls for each alert it inserts, on the inserting connection (so the
    alert and what it is owed commit together); None when nothing is configured to push."""
    if not push.channel or not push.route:
        return None
    return lambda conn, alert, now: enqueue_alert(conn, push, alert, now)
