"""When the weekly pack is due (``dashboard/worker/schedule.py``, ``[packs]``): last week's pack once the
configured weekday and time (default Monday 07:00) have passed in the deployment's time zone, plus the
``catch_up_weeks`` weeks before it; pure calendar arithmetic, no database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dashboard.core.config import PackSettings
from dashboard.worker.schedule import due_weeks, latest_due_week, release_at

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)  # a Monday; the last complete week before it starts 2026-11-16
LAST_WEEK = date(2026, 11, 16)


def local(y, mo, d, h, mi=0, s=0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ).astimezone(timezone.utc)


def test_last_weeks_pack_is_due_at_monday_0700_local_not_a_minute_before():
    assert latest_due_week(local(2026, 11, 23, 6, 59, 59), TZ) == LAST_WEEK - timedelta(weeks=1)
    assert latest_due_week(local(2026, 11, 23, 7, 0), TZ) == LAST_WEEK
    # 07:00 Shanghai is 23:00 UTC on Sunday: the local calendar decides, not UTC's
    assert local(2026, 11, 23, 7, 0) == datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc)
    assert release_at(LAST_WEEK, TZ) == datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
    # through the rest of the week the same week stays the latest due
    for now in (local(2026, 11, 25, 12, 0), local(2026, 11, 29, 23, 59), local(2026, 11, 30, 6, 59)):
        assert latest_due_week(now, TZ) == LAST_WEEK, now


def test_catch_up_weeks_bounds_the_weeks_looked_at():
    now = local(2026, 11, 23, 7, 0)
    assert due_weeks(now, TZ, catch_up_weeks=0) == [LAST_WEEK]
    assert due_weeks(now, TZ, catch_up_weeks=4) == [LAST_WEEK - timedelta(weeks=n) for n in range(5)]
    assert due_weeks(local(2026, 11, 23, 6, 59), TZ, catch_up_weeks=1) == [date(2026, 11, 9), date(2026, 11, 2)]


@pytest.mark.parametrize("weekday, at, before, after", [
    (3, "09:30", local(2026, 11, 25, 9, 29), local(2026, 11, 25, 9, 30)),   # Wednesday 09:30
    (7, "00:00", local(2026, 11, 28, 23, 59), local(2026, 11, 29, 0, 0)),   # Sunday midnight, 6 days on
    (1, "00:00", local(2026, 11, 22, 23, 59), local(2026, 11, 23, 0, 0)),   # Monday midnight
])
def test_the_configured_weekday_and_time_are_the_release(weekday, at, before, after):
    assert latest_due_week(before, TZ, weekday, at) == LAST_WEEK - timedelta(weeks=1)
    assert latest_due_week(after, TZ, weekday, at) == LAST_WEEK


def test_pack_settings_are_checked():
    assert PackSettings().model_dump() == {"enabled": True, "weekday": 1, "time": "07:00", "catch_up_weeks": 4,
                                           "formats": ["pdf", "xlsx"]}
    assert PackSettings(time=" 06:30 ").time == "06:30"
    for bad in ({"weekday": 0}, {"weekday": 8}, {"time": "25:00"}, {"time": "soon"}, {"catch_up_weeks": -1},
                {"formats": []}, {"formats": ["docx"]}):
        with pytest.raises(ValueError):
            PackSettings(**bad)

