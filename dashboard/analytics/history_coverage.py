"""How much of a time window the database's history covers (its first case at ``since``).

A comparison window that begins before the first case is not a window in which less was reported:
the review (headline, hot issues) and the meeting pack do not compare it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Mapping


def window_coverage(windows: Mapping[str, tuple[datetime, datetime]], since: datetime | None) -> dict[str, str]:
    """{window: "full" | "partial" | "none"}: "full" when the history begins by the window's start,
    "partial" when it begins inside it, "none" when it begins after it (or there is no case)."""
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


def compared(coverage: str | None) -> bool:
    """Whether a window of this coverage is compared (环比, 同比, rank changes, hot issues): only when the
    history covers all of it. A missing coverage (an older caller's data) counts as full."""
    return (coverage or "full") == "full"
