"""An alert's evidence in plain words, one line (the wall, the phone alert page and pushed messages).

The evidence (``alerts.detail``) is JSON written by the early-warning engine or another system;
anything unreadable in it is left out rather than shown raw. Plain Python (no Dash), like
``layouts.i18n``: the push messages and the alert view use the same words.
"""

from __future__ import annotations

import json
from typing import Any


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _period(window: Any) -> str:
    """The evidence's time span in words: 近7日, 当日, 近4周; a window given as text as it is (up to
    24 characters: "2026-11-20 至 2026-11-26" whole)."""
    if isinstance(window, str):
        return window[:24]
    if not isinstance(window, dict):
        return ""
    days, weeks = window.get("days"), window.get("weeks")
    if isinstance(weeks, int) and not isinstance(weeks, bool) and weeks > 0:
        return f"近{weeks}周"
    if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0:
        return "当日" if days <= 1 else f"近{days:.0f}日"
    return ""


# Alerts whose figures are not case counts (workers, grids, feeds): their title says it all.
NOT_CASE_COUNTS = frozenset(("staffing", "stale"))


def evidence(detail: Any, kind: str | None = None) -> str:
    """The evidence in plain words, in one line: "近7日 12 件，以往同期约 3 件 · 涉及 5 件事件"."""
    if kind in NOT_CASE_COUNTS:
        return ""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return ""
    if not isinstance(detail, dict):
        return ""
    parts = []
    observed, expected = _number(detail.get("observed")), detail.get("expected")
    if observed is not None:
        seen = f"{_period(detail.get('window')) or '实际'} {observed} 件"
        # An expectation of 0 (a rule, not a baseline) says nothing: left out.
        if isinstance(expected, (int, float)) and not isinstance(expected, bool) and expected > 0:
            seen += f"，以往同期约 {expected:.0f} 件"
        parts.append(seen)
    ids = detail.get("case_ids")
    if isinstance(ids, list) and ids:
        parts.append(f"涉及 {len(ids)} 件事件")
    return " · ".join(parts)


# A duty officer's judgement of an alert (data_access.dispositions), in the order the screens offer it.
DISPOSITION = {"confirmed": "属实", "false_alarm": "误报", "known": "已知"}
