"""The moment T of a query and the calendar boundaries derived from it (Asia/Shanghai by default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc


# Moments outside these years are typing errors (and would overflow the date arithmetic of the queries).
MIN_YEAR, MAX_YEAR = 1970, 2200


def parse_moment(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; a value without an offset is local time in ``tz``. Raises ValueError, also for a year
    outside MIN_YEAR..MAX_YEAR."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        value = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"moment out of range: {text[:40]!r}") from exc
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"moment out of range ({MIN_YEAR}-{MAX_YEAR}): {text[:40]!r}")
    return value


@dataclass(frozen=True)
class Moment:
    """T (aware, UTC) with the local calendar it is read in."""

    at: datetime
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a moment must be timezone-aware")
        object.__setattr__(self, "at", self.at.astimezone(UTC))

    @classmethod
    def now(cls, tz: ZoneInfo) -> "Moment":
        return cls(datetime.now(UTC), tz)

    @property
    def midnight(self) -> datetime:
        """00:00 local time of T's local date, in UTC."""
        local = self.at.astimezone(self.tz)
        start = datetime(local.year, local.month, local.day, tzinfo=self.tz)
        return start.astimezone(UTC)

    @property
    def w7_start(self) -> datetime:
        """W7 is (T - 7 days, T]."""
        return self.at - timedelta(days=7)

    def local_iso(self) -> str:
        return self.at.astimezone(self.tz).isoformat(timespec="seconds")
