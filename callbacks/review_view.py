"""The view of the review page (``/review``) from its URL: the user's scope narrowed by ``?region=``,
``?at=`` for a past moment, and the period reviewed (``?period=&date=&end=``).

Its own module so that every section's callbacks (callbacks/review_*.py) read the view the same
way without importing callbacks/review.py, which registers them (no import cycle).
"""

from __future__ import annotations

from datetime import datetime

from callbacks.view import View, query_params, resolve_view
from dashboard.identity.auth import require_role
from data_access.moment import MAX_YEAR, MIN_YEAR
from data_access.period import Period, PeriodError, last_complete_week, parse_period
from layouts.shell import REVIEW

PERIOD_NOTICES = {
    "malformed": "周期参数无效，显示上一个完整周",
    "future": "所选周期尚未开始，显示上一个完整周",
    "too_long": "自定义周期最长 366 天，显示上一个完整周",
}


def view_period(search: str | None) -> tuple[View, Period, datetime, list[str]]:
    """The view, the period it reviews, T, and notices. Raises DataUnavailable.

    A period that cannot be reviewed falls back to the last complete week and says why."""
    require_role(*REVIEW.roles)
    view = resolve_view(search)
    at = view.moment().at
    params = query_params(search)
    notices = list(view.notices)
    try:
        period = parse_period(params.get("period"), params.get("date"), params.get("end"), view.tz, at)
        if not (MIN_YEAR <= period.first.year and period.last.year <= MAX_YEAR):
            # The same bounds as a moment: its comparisons (a year before) stay in the calendar.
            raise PeriodError(f"period out of range ({MIN_YEAR}-{MAX_YEAR})")
    except PeriodError as exc:
        notices.append(PERIOD_NOTICES.get(exc.reason, PERIOD_NOTICES["malformed"]))
        period = last_complete_week(at, view.tz)
    return view, period, at, notices
