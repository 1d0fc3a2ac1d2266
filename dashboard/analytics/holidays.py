"""The mainland public-holiday calendar (法定节假日) with its make-up working days (调休).

Reports drop on rest days like on a weekend (patrols and departments stand down) and a make-up
Saturday or Sunday is a working day. The dates are those the State Council publishes each
November for the next year; years not listed fall back to plain weekends. Spring Festival (春节)
dates are listed further ahead because wage disputes (欠薪) build up in the weeks before it.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np


def _span(first: str, days: int) -> list[date]:
    d0 = date.fromisoformat(first)
    return [d0 + timedelta(days=i) for i in range(days)]


# (rest days, make-up working days) per year, as published.
_PUBLISHED: dict[int, tuple[list[date], list[date]]] = {
    2025: (_span("2025-01-01", 1) + _span("2025-01-28", 8) + _span("2025-04-04", 3) + _span("2025-05-01", 5)
           + _span("2025-05-31", 3) + _span("2025-10-01", 8),
           [date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11)]),
    2026: (_span("2026-01-01", 3) + _span("2026-02-15", 9) + _span("2026-04-04", 3) + _span("2026-05-01", 5)
           + _span("2026-06-19", 3) + _span("2026-09-25", 3) + _span("2026-10-01", 7),
           [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
            date(2026, 10, 10)]),
}
HOLIDAYS: frozenset[date] = frozenset(d for rest, _ in _PUBLISHED.values() for d in rest)
MAKEUP_DAYS: frozenset[date] = frozenset(d for _, work in _PUBLISHED.values() for d in work)
SPRING_FESTIVAL = tuple(date.fromisoformat(s) for s in (
    "2024-02-10", "2025-01-29", "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03"))

HOLIDAY = 7   # the day type of a public holiday that falls on a weekday


def is_rest_day(d: date) -> bool:
    """A public holiday, or a weekend day that is not a make-up working day."""
    if d in HOLIDAYS:
        return True
    return d.weekday() >= 5 and d not in MAKEUP_DAYS


def _as_dates(days) -> list[date]:
    return [date.fromisoformat(str(d)[:10]) for d in np.asarray(days, dtype="datetime64[D]")]


def day_types(days) -> np.ndarray:
    """Per day: its weekday 0-6, HOLIDAY (7) for a holiday on a weekday, and a weekday type for a
    make-up working weekend day (Friday's, 4: the last working day of a long week)."""
    out = []
    for d in _as_dates(days):
        if d in MAKEUP_DAYS:
            out.append(4)
        elif d in HOLIDAYS and d.weekday() < 5:
            out.append(HOLIDAY)
        else:
            out.append(d.weekday())
    return np.array(out, dtype=np.int64)


def days_to_spring_festival(d: date) -> int | None:
    """Days until the next Spring Festival (0 on the day), None past the listed years."""
    for sf in SPRING_FESTIVAL:
        if sf >= d:
            return (sf - d).days
    return None
