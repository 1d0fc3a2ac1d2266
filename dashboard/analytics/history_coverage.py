"""How much of a time window the database's history covers (its first case at ``since``).

A comparison window that begins before the first case is not a window in which less was reported:
the review (headline, hot issues) and the meeting pack do not compare it. Nor is a window inside the
history that holds no case at all while the current one holds many (``with_gaps``): a year missing
between two imported exports, a feed down for a week. Such a window is a gap in the data ("gap").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping


def window_coverage(windows: Mapping[str, tuple[datetime, datetime]], since: datetime | None) -> dict[str, str]:
    """{window: "full" | "partial" | "none"}: "full" when the history begins by the window's start,
    "partial" when it begins inside it, "none" when it begins after it (or there is no case).
    ``with_gaps`` adds "gap" where the figures show an empty window inside the history."""
    first = None if since is None else (since if since.tzinfo else since.replace(tzinfo=timezone.utc))
    out = {}
    for name, (start, end) in windows.items():
        if first is not None and first <= start:
            out[name] = "full"
        elif first is not None and first < end:
            out[name] = "partial"
        else:
            out[name] = "none"
    return out


# The current window's activity (cases reported + closed) from which an empty comparison window is
# taken for a gap in the data rather than a quiet period: 20 against 0 has a Poisson chance of e^-20
# at an unchanged pace, and a region that quiet has no comparison worth drawing anyway.
GAP_MIN_CURRENT = 20


def with_gaps(coverage: Mapping[str, str], activity: Mapping[str, int],
              min_current: int = GAP_MIN_CURRENT) -> dict[str, str]:
    """``coverage`` with "gap" for each comparison window that the history spans but that holds no
    activity at all (``activity``: {window: cases reported + closed in it}) while the current window
    holds at least ``min_current``."""
    current = activity.get("current") or 0
    out = dict(coverage)
    for name, state in coverage.items():
        if name != "current" and state != "none" and current >= min_current and not activity.get(name):
            out[name] = "gap"
    return out


def activity(figures: Mapping[str, Mapping[str, Any] | None]) -> dict[str, int]:
    """{window: reported + closed} from period figures {window: F}."""
    return {name: int((f or {}).get("reported") or 0) + int((f or {}).get("closed") or 0)
            for name, f in figures.items()}


def review_coverage(windows: Mapping[str, tuple[datetime, datetime]], since: datetime | None,
                    figures: Mapping[str, Mapping[str, Any] | None]) -> dict[str, str]:
    """The coverage of a review's windows: ``window_coverage`` with the gaps its period figures
    {window: F} show (``with_gaps``)."""
    return with_gaps(window_coverage(windows, since), activity(figures))


def week_gaps(weeks: list[tuple[int | None, bool]], min_usual: int = GAP_MIN_CURRENT) -> list[bool]:
    """For the trend's weeks, given as (activity or None before the data, partial): which are gaps,
    holding no activity at all while the usual week (the median of the whole weeks with data) holds
    at least ``min_usual``. A partial week (the one running) is never a gap: it may have just begun."""
    whole = sorted(a for a, partial in weeks if a is not None and not partial)
    if not whole:
        return [False] * len(weeks)
    usual = whole[len(whole) // 2]
    return [a == 0 and not partial and usual >= min_usual for a, partial in weeks]


def compared(coverage: str | None) -> bool:
    """Whether a window of this coverage is compared (环比, 同比, rank changes, hot issues): only when the
    history covers all of it. A missing coverage (an older caller's data) counts as full."""
    return (coverage or "full") == "full"
