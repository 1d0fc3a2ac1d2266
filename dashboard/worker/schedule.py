"""When a week's meeting pack is due (``[packs]``): pure calendar arithmetic, no I/O.

A week (Monday to Sunday, local) is due once the first ``weekday`` at ``time`` local after it has
passed: with the defaults (1 = Monday, 07:00), last week's pack is due this Monday at 07:00. Besides
the latest due week, the ``catch_up_weeks`` weeks before it are candidates too, so a worker that was
down over a Monday makes the missing packs when it starts; the duty skips those already made.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def release_at(monday: date, tz: ZoneInfo, weekday: int = 1, at: str = "07:00") -> datetime:
    """The moment the pack of the week starting ``monday`` is due: ``weekday`` (1 = Monday ... 7 =
    Sunday) of the following week at ``at`` local time (aware, in ``tz``)."""
    day = monday + timedelta(days=7 + weekday - 1)
    return datetime.combine(day, time.fromisoformat(at), tzinfo=tz)


def latest_due_week(now: datetime, tz: ZoneInfo, weekday: int = 1, at: str = "07:00") -> date:
    """The Monday of the newest week whose pack is due at ``now``."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday()) - timedelta(days=7)  # the last complete week
    while release_at(monday, tz, weekday, at) > now:
        monday -= timedelta(days=7)
    return monday


def due_weeks(now: datetime, tz: ZoneInfo, *, weekday: int = 1, at: str = "07:00",
              catch_up_weeks: int = 4) -> list[date]:
    """The Mondays of the weeks whose pack is due at ``now``, newest first: the latest due week and the
    ``catch_up_weeks`` weeks before it (the duty makes those that have no pack yet)."""
    latest = latest_due_week(now, tz, weekday, at)
    return [latest - timedelta(weeks=n) for n in range(catch_up_weeks + 1)]
