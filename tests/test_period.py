"""The review period (contract.md, "Period figures"): S/E as local midnights, E' = min(E, T), previous and
last_year, the like-for-like cut of a partial period, 29 February, and what parse_period refuses."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from data_access.period import (
    Period,
    PeriodError,
    last_complete,
    last_complete_week,
    parse_period,
)

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def local(y, mo, d, h=0, mi=0, tz=SH) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def utc(y, mo, d, h=0, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def days(p: Period) -> tuple[str, str]:
    return p.first.isoformat(), p.last.isoformat()


T = local(2026, 11, 26, 10)  # a Thursday


# --- the four kinds --------------------------------------------------------------------------------

def test_week_runs_monday_to_sunday_from_local_midnight_to_local_midnight():
    p = parse_period("week", "2026-11-18", None, SH, T)
    assert (p.kind, days(p)) == ("week", ("2026-11-16", "2026-11-22"))
    assert p.start == utc(2026, 11, 15, 16) and p.end == utc(2026, 11, 22, 16)
    assert p.start.tzinfo == UTC and p.end.tzinfo == UTC
    assert not p.partial(T) and p.as_of(T) == p.end
    assert days(p.previous()) == ("2026-11-09", "2026-11-15")
    assert days(p.last_year()) == ("2025-11-16", "2025-11-22")
    assert p.to_dict(T) == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22", "partial": False}


def test_month_and_its_comparisons():
    p = parse_period("month", "2026-02-10", None, SH, T)
    assert days(p) == ("2026-02-01", "2026-02-28")
    assert p.start == utc(2026, 1, 31, 16) and p.end == utc(2026, 2, 28, 16)
    assert days(p.previous()) == ("2026-01-01", "2026-01-31")
    assert days(p.last_year()) == ("2025-02-01", "2025-02-28")


def test_quarter_and_its_comparisons_across_the_year_boundary():
    p = parse_period("quarter", "2026-02-10", None, SH, T)
    assert days(p) == ("2026-01-01", "2026-03-31")
    assert days(p.previous()) == ("2025-10-01", "2025-12-31")
    assert days(p.last_year()) == ("2025-01-01", "2025-03-31")
    q4 = parse_period("quarter", "2025-11-30", None, SH, T)
    assert days(q4) == ("2025-10-01", "2025-12-31")
    assert q4.end == utc(2025, 12, 31, 16)
    assert days(q4.previous()) == ("2025-07-01", "2025-09-30")


def test_month_boundaries_january_and_december():
    jan = parse_period("month", "2026-01-31", None, SH, T)
    assert days(jan) == ("2026-01-01", "2026-01-31")
    assert days(jan.previous()) == ("2025-12-01", "2025-12-31")
    dec = parse_period("month", "2025-12-01", None, SH, T)
    assert days(dec) == ("2025-12-01", "2025-12-31") and dec.end == utc(2025, 12, 31, 16)


def test_custom_period_and_its_comparisons():
    p = parse_period("custom", "2026-01-05", "2026-02-03", SH, T)
    assert (p.kind, days(p), p.days) == ("custom", ("2026-01-05", "2026-02-03"), 30)
    assert p.start == utc(2026, 1, 4, 16) and p.end == utc(2026, 2, 3, 16)
    assert days(p.previous()) == ("2025-12-06", "2026-01-04")  # the same number of days before
    assert days(p.last_year()) == ("2025-01-05", "2025-02-03")
    one_day = parse_period("custom", "2026-11-20", "2026-11-20", SH, T)
    assert one_day.days == 1 and days(one_day.previous()) == ("2026-11-19", "2026-11-19")


# --- 29 February -----------------------------------------------------------------------------------

def test_29_february_becomes_28_february_a_year_earlier():
    assert days(parse_period("custom", "2024-02-29", "2024-03-06", SH, T).last_year()) == ("2023-02-28", "2023-03-06")
    assert days(parse_period("custom", "2024-02-01", "2024-02-29", SH, T).last_year()) == ("2023-02-01", "2023-02-28")
    week = parse_period("week", "2024-02-29", None, SH, T)
    assert days(week) == ("2024-02-26", "2024-03-03")
    assert days(week.last_year()) == ("2023-02-26", "2023-03-03")
    feb = parse_period("month", "2024-02-29", None, SH, T)
    assert days(feb) == ("2024-02-01", "2024-02-29")
    assert days(feb.last_year()) == ("2023-02-01", "2023-02-28")
    assert days(parse_period("month", "2025-02-10", None, SH, T).last_year()) == ("2024-02-01", "2024-02-29")


# --- partial periods and the like-for-like cut -----------------------------------------------------

def test_partial_week_and_its_like_for_like_comparisons():
    at = local(2026, 11, 25, 10)  # Wednesday 10:00: 2 days 10 hours into the week
    p = parse_period("week", "2026-11-25", None, SH, at)
    assert days(p) == ("2026-11-23", "2026-11-29")
    assert p.partial(at) and p.as_of(at) == utc(2026, 11, 25, 2)
    prev, last = p.previous(), p.last_year()
    assert days(prev) == ("2026-11-16", "2026-11-22") and days(last) == ("2025-11-23", "2025-11-29")
    assert prev.cut_like(p, at) == local(2026, 11, 18, 10)
    assert last.cut_like(p, at) == local(2025, 11, 25, 10)
    assert p.windows(at) == {
        "current": (local(2026, 11, 23), local(2026, 11, 25, 10)),
        "previous": (local(2026, 11, 16), local(2026, 11, 18, 10)),
        "last_year": (local(2025, 11, 23), local(2025, 11, 25, 10)),
    }


def test_the_cut_never_goes_beyond_the_comparisons_own_end():
    at = local(2026, 3, 31, 12)  # 30.5 days into March; February has 28
    p = parse_period("month", "2026-03-15", None, SH, at)
    assert p.partial(at)
    prev = p.previous()
    assert days(prev) == ("2026-02-01", "2026-02-28")
    assert prev.cut_like(p, at) == prev.end == local(2026, 3, 1)
    assert p.last_year().cut_like(p, at) == local(2025, 3, 31, 12)


def test_a_complete_period_is_compared_whole():
    at = local(2024, 3, 10)
    feb = parse_period("month", "2024-02-10", None, SH, at)  # 29 days, over
    assert not feb.partial(at)
    assert feb.windows(at) == {
        "current": (local(2024, 2, 1), local(2024, 3, 1)),
        "previous": (local(2024, 1, 1), local(2024, 2, 1)),  # all 31 days of January
        "last_year": (local(2023, 2, 1), local(2023, 3, 1)),
    }


def test_a_period_starting_exactly_at_t_exists_and_is_empty():
    at = local(2026, 11, 23)  # Monday 00:00
    p = parse_period("week", "2026-11-23", None, SH, at)
    assert p.partial(at) and p.as_of(at) == p.start
    assert p.previous().cut_like(p, at) == p.previous().start
    with pytest.raises(PeriodError) as err:
        parse_period("week", "2026-11-23", None, SH, at - timedelta(seconds=1))
    assert err.value.reason == "future"


# --- defaults --------------------------------------------------------------------------------------

def test_the_default_is_the_last_complete_week():
    assert days(parse_period(None, None, None, SH, T)) == ("2026-11-16", "2026-11-22")
    assert days(parse_period("", "", "", SH, T)) == ("2026-11-16", "2026-11-22")
    # On Monday 00:00 the week that has just ended is complete; a second earlier it is not.
    monday = local(2026, 11, 23)
    assert days(last_complete_week(monday, SH)) == ("2026-11-16", "2026-11-22")
    assert days(last_complete_week(monday - timedelta(seconds=1), SH)) == ("2026-11-09", "2026-11-15")
    # T is read in local time: 16:30 UTC on Sunday is already Monday in Shanghai.
    assert days(last_complete_week(utc(2026, 11, 22, 16, 30), SH)) == ("2026-11-16", "2026-11-22")


def test_a_kind_without_a_date_is_the_last_complete_one():
    assert days(parse_period("month", None, None, SH, T)) == ("2026-10-01", "2026-10-31")
    assert days(parse_period("quarter", None, None, SH, T)) == ("2026-07-01", "2026-09-30")
    new_year = local(2026, 1, 1, 0, 30)
    assert days(last_complete("month", new_year, SH)) == ("2025-12-01", "2025-12-31")
    assert days(last_complete("quarter", new_year, SH)) == ("2025-10-01", "2025-12-31")
    assert days(last_complete_week(new_year, SH)) == ("2025-12-22", "2025-12-28")


def test_a_date_without_a_kind_is_its_week():
    assert days(parse_period(None, "2026-11-18", None, SH, T)) == ("2026-11-16", "2026-11-22")


# --- what is refused -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, day, end, reason", [
    ("year", "2026-01-01", None, "malformed"),
    ("week", "2026-2-1", None, "malformed"),
    ("week", "20260210", None, "malformed"),
    ("week", "2026-02-30", None, "malformed"),
    ("week", "yesterday", None, "malformed"),
    ("custom", "2026-01-01", None, "malformed"),
    ("custom", None, None, "malformed"),
    ("custom", "2026-02-01", "2026-01-31", "malformed"),
    ("custom", "2026-01-01", "2026/01/31", "malformed"),
    ("week", "9999-12-31", None, "malformed"),
    ("week", "2026-11-30", None, "future"),
    ("month", "2026-12-01", None, "future"),
    ("custom", "2026-11-27", "2026-11-28", "future"),
    ("custom", "2025-01-01", "2026-01-02", "too_long"),
])
def test_malformed_future_and_too_long_periods_are_refused(kind, day, end, reason):
    with pytest.raises(PeriodError) as err:
        parse_period(kind, day, end, SH, T)
    assert err.value.reason == reason
    assert isinstance(err.value, ValueError)


def test_a_custom_period_may_have_366_days():
    assert parse_period("custom", "2025-01-01", "2026-01-01", SH, T).days == 366
    assert parse_period("custom", "2024-01-01", "2024-12-31", SH, T).days == 366


def test_a_partial_current_period_is_allowed():
    p = parse_period("month", "2026-11-01", None, SH, T)
    assert days(p) == ("2026-11-01", "2026-11-30") and p.partial(T) and p.as_of(T) == T.astimezone(UTC)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        parse_period("week", "2026-11-18", None, SH, datetime(2026, 11, 26))


# --- a zone with daylight saving time --------------------------------------------------------------

def test_s_and_e_are_local_midnights_across_a_dst_change():
    at = local(2026, 12, 1, tz=BERLIN)
    spring = parse_period("week", "2026-03-29", None, BERLIN, at)  # summer time starts on Sunday 29 March
    assert days(spring) == ("2026-03-23", "2026-03-29")
    assert spring.start == utc(2026, 3, 22, 23)  # CET, UTC+1
    assert spring.end == utc(2026, 3, 29, 22)  # CEST, UTC+2
    assert spring.end - spring.start == timedelta(hours=167)
    autumn = parse_period("month", "2026-10-10", None, BERLIN, at)  # winter time from Sunday 25 October
    assert autumn.start == utc(2026, 9, 30, 22) and autumn.end == utc(2026, 10, 31, 23)
    assert autumn.end - autumn.start == timedelta(days=31, hours=1)
    for p in (spring, spring.previous(), spring.last_year(), autumn, autumn.previous()):
        for edge in (p.start, p.end):
            assert edge.astimezone(BERLIN).time() == datetime.min.time(), (p, edge)
    assert days(spring.previous()) == ("2026-03-16", "2026-03-22")
    assert spring.previous().end == utc(2026, 3, 22, 23)


def test_the_same_dates_are_different_instants_in_different_zones():
    sh = Period("week", date(2026, 11, 16), date(2026, 11, 22), SH)
    berlin = Period("week", date(2026, 11, 16), date(2026, 11, 22), BERLIN)
    assert sh.start == utc(2026, 11, 15, 16) and berlin.start == utc(2026, 11, 15, 23)
