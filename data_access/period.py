"""The period P of a review meeting (contract.md, "Period figures"): a week, month, quarter or custom
run of whole local days, its comparisons and the moment T it is read at. Pure calendar arithmetic.

P runs from S = 00:00 local of its first day to E = 00:00 local after its last day (both held as
aware UTC datetimes, so that a day with a DST change is 23 or 25 hours long). Read as of T, its
end is E' = min(E, T); P is partial when E' < E, and a period whose S is after T does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
KINDS = ("week", "month", "quarter", "custom")
MAX_CUSTOM_DAYS = 366
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PeriodError(ValueError):
    """A period that cannot be reviewed. ``reason``: ``malformed``, ``future`` or ``too_long``."""

    def __init__(self, message: str, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 local time of ``day``, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def local_date(at: datetime, tz: ZoneInfo) -> date:
    return _aware(at).astimezone(tz).date()


def one_year_earlier(day: date) -> date:
    """The same date a year earlier; 29 February becomes 28 February."""
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a moment must be timezone-aware")
    return at.astimezone(UTC)


def _month_start(year: int, month: int) -> date:
    """The first day of a month; ``month`` may run past 1..12 (it carries into the year)."""
    year, index = divmod(year * 12 + month - 1, 12)
    return date(year, index + 1, 1)


def _quarter_first_month(month: int) -> int:
    return (month - 1) // 3 * 3 + 1


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` .. ``last`` (both included) of a kind, in the calendar ``tz``."""

    kind: str
    first: date
    last: date
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PeriodError(f"unknown period kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.last < self.first:
            raise PeriodError(f"period ends ({self.last}) before it starts ({self.first})")

    # --- the periods of each kind ----------------------------------------------------------------

    @classmethod
    def week(cls, day: date, tz: ZoneInfo) -> Period:
        """Monday to Sunday around ``day``."""
        monday = day - timedelta(days=day.weekday())
        return cls("week", monday, monday + timedelta(days=6), tz)

    @classmethod
    def month(cls, day: date, tz: ZoneInfo) -> Period:
        first = day.replace(day=1)
        return cls("month", first, _month_start(first.year, first.month + 1) - timedelta(days=1), tz)

    @classmethod
    def quarter(cls, day: date, tz: ZoneInfo) -> Period:
        first = date(day.year, _quarter_first_month(day.month), 1)
        return cls("quarter", first, _month_start(first.year, first.month + 3) - timedelta(days=1), tz)

    @classmethod
    def custom(cls, first: date, last: date, tz: ZoneInfo) -> Period:
        period = cls("custom", first, last, tz)
        if period.days > MAX_CUSTOM_DAYS:
            raise PeriodError(f"a custom period has at most {MAX_CUSTOM_DAYS} days ({period.days} asked)",
                              "too_long")
        return period

    @classmethod
    def containing(cls, kind: str, day: date, tz: ZoneInfo) -> Period:
        """The week, month or quarter that contains ``day``."""
        if kind not in ("week", "month", "quarter"):
            raise PeriodError(f"no {kind!r} period contains a single date")
        return getattr(cls, kind)(day, tz)

    # --- S, E, E' ----------------------------------------------------------------------------------

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """S: 00:00 local of the first day (UTC)."""
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """E: 00:00 local after the last day (UTC)."""
        return local_midnight(self.last + timedelta(days=1), self.tz)

    def exists(self, at: datetime) -> bool:
        return self.start <= _aware(at)

    def as_of(self, at: datetime) -> datetime:
        """E' = min(E, T)."""
        return min(self.end, _aware(at))

    def partial(self, at: datetime) -> bool:
        return self.as_of(at) < self.end

    # --- comparisons -------------------------------------------------------------------------------

    def previous(self) -> Period:
        """The period just before: the 7 days before a week, the previous month or quarter, the same
        number of days before a custom period."""
        if self.kind == "month":
            return Period.month(self.first - timedelta(days=1), self.tz)
        if self.kind == "quarter":
            return Period.quarter(self.first - timedelta(days=1), self.tz)
        shift = timedelta(days=self.days)
        return Period(self.kind, self.first - shift, self.last - shift, self.tz)

    def last_year(self) -> Period:
        """The same dates a year earlier (the same month or quarter for those kinds)."""
        if self.kind in ("month", "quarter"):
            return Period.containing(self.kind, one_year_earlier(self.first), self.tz)
        return Period(self.kind, one_year_earlier(self.first), one_year_earlier(self.last), self.tz)

    def cut_like(self, current: Period, at: datetime) -> datetime:
        """E' of this comparison period when ``current`` is reviewed as of T.

        While ``current`` is partial the comparison is like for like: it ends as long after its own S
        as ``current``'s E' is after ``current``'s S, never beyond its own E. Otherwise it is whole.
        """
        if not current.partial(at):
            return self.as_of(at)
        elapsed = current.as_of(at) - current.start
        return min(self.start + max(elapsed, timedelta(0)), self.as_of(at))

    def windows(self, at: datetime) -> dict[str, tuple[datetime, datetime]]:
        """(S, E') of the period and of its two comparisons, cut like for like."""
        previous, last_year = self.previous(), self.last_year()
        return {"current": (self.start, self.as_of(at)),
                "previous": (previous.start, previous.cut_like(self, at)),
                "last_year": (last_year.start, last_year.cut_like(self, at))}

    def to_dict(self, at: datetime | None = None) -> dict:
        """``{"kind", "start", "end"[, "partial"]}`` with first and last days as YYYY-MM-DD."""
        out = {"kind": self.kind, "start": self.first.isoformat(), "end": self.last.isoformat()}
        if at is not None:
            out["partial"] = self.partial(at)
        return out


# --- from a request --------------------------------------------------------------------------------

def last_complete(kind: str, at: datetime, tz: ZoneInfo) -> Period:
    """The latest week, month or quarter that has ended by T (its E <= T)."""
    today = local_date(at, tz)
    period = Period.containing(kind, today, tz)
    return period if period.end <= _aware(at) else period.previous()


def last_complete_week(at: datetime, tz: ZoneInfo) -> Period:
    """The default period: the latest Monday-to-Sunday week that has ended by T."""
    return last_complete("week", at, tz)


def parse_date(text: str | None, what: str = "date") -> date:
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text.strip()):
        raise PeriodError(f"{what} must be a date YYYY-MM-DD, not {str(text)[:20]!r}")
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise PeriodError(f"{what} is not a calendar date: {text.strip()!r}") from exc


def parse_period(kind: str | None, day: str | None, end: str | None, tz: ZoneInfo,
                 at: datetime | None = None) -> Period:
    """The period a request asks for (``period=``, ``date=``, ``end=``), checked against T (default now).

    - no kind and no date: the last complete week; a kind without a date: the last complete one;
    - week/month/quarter: the one containing ``date`` (``end`` is not used);
    - custom: ``date`` to ``end``, both included, at most 366 days.
    Raises PeriodError: malformed (``reason="malformed"``), not started by T (``"future"``), a
    custom period over 366 days (``"too_long"``).
    """
    at = _aware(at) if at is not None else datetime.now(UTC)
    kind = (kind or "").strip().lower() or None
    day = day.strip() if isinstance(day, str) and day.strip() else None
    if kind is not None and kind not in KINDS:
        raise PeriodError(f"period must be one of {', '.join(KINDS)}, not {kind[:20]!r}")
    if day is None:
        if kind == "custom":
            raise PeriodError("a custom period needs date and end")
        return last_complete(kind or "week", at, tz)
    first = parse_date(day)
    if kind == "custom" and (not isinstance(end, str) or not end.strip()):
        raise PeriodError("a custom period needs date and end")
    try:
        if kind == "custom":
            period = Period.custom(first, parse_date(end, "end"), tz)
        else:
            period = Period.containing(kind or "week", first, tz)
        started = period.exists(at)
    except PeriodError:
        raise
    except (ValueError, OverflowError) as exc:  # dates at the ends of the calendar
        raise PeriodError(f"period out of range: {exc}") from exc
    if not started:
        raise PeriodError(f"the period {period.first} to {period.last} has not started yet", "future")
    return period
