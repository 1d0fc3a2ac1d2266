"""Local calendar arithmetic on integer epoch seconds (UTC), in the configured timezone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

UTC = timezone.utc
DAY = 86400
HOUR = 3600
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class LocalCalendar:
    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self._offset = lru_cache(maxsize=65536)(self._offset_of_hour)

    def _offset_of_hour(self, hour_bucket: int) -> int:
        return int(datetime.fromtimestamp(hour_bucket * HOUR, UTC).astimezone(self.tz).utcoffset().total_seconds())

    def offset(self, ts: int) -> int:
        return self._offset(int(ts) // HOUR)

    def local_seconds(self, ts: int) -> int:
        """Seconds since local midnight."""
        return (int(ts) + self.offset(ts)) % DAY

    def local_hour(self, ts: int) -> float:
        return self.local_seconds(ts) / HOUR

    def weekday(self, ts: int) -> int:
        return self.local_date(ts).weekday()

    def local_date(self, ts: int) -> date:
        t = int(ts)
        return date.fromordinal(EPOCH_ORDINAL + (t + self.offset(t)) // DAY)

    def offsets(self, ts: np.ndarray) -> np.ndarray:
        """The UTC offset in force at each timestamp (seconds), from the cached hourly offsets."""
        ts = np.asarray(ts, dtype=np.int64)
        hours, where = np.unique(ts // HOUR, return_inverse=True)
        return np.array([self._offset(int(h)) for h in hours.tolist()], dtype=np.int64)[where].reshape(ts.shape)

    def local_day_numbers(self, ts: np.ndarray) -> np.ndarray:
        """Each timestamp's local date as days since 1970-01-01."""
        ts = np.asarray(ts, dtype=np.int64)
        return (ts + self.offsets(ts)) // DAY

    def midnight(self, day: date) -> int:
        """Epoch seconds of 00:00 local time on ``day``."""
        return int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())

    def at(self, day: date, seconds: float) -> int:
        """Epoch seconds of ``seconds`` after local midnight of ``day`` (wall-clock).

        From the cached hourly offsets (the seed asks this about a million times): the wall-clock
        time read as UTC, less the offset in force then (taken twice to settle across a change)."""
        wall = (day.toordinal() - EPOCH_ORDINAL) * DAY + int(seconds)
        return wall - self.offset(wall - self.offset(wall))

    def days(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=i) for i in range((end - start).days + 1)]

    def to_daytime(self, ts: int, earliest: float = 8.0, latest: float = 21.0, u: float = 0.5) -> int:
        """``ts`` if its local hour is within [earliest, latest); else the next morning, earliest + u hours."""
        t = int(ts)
        local = t + self.offset(t)
        hour = local % DAY / HOUR
        if earliest <= hour < latest:
            return t
        day = local // DAY + (1 if hour >= latest else 0)
        wall = day * DAY + int((earliest + u * 1.5) * HOUR)
        return wall - self.offset(wall - self.offset(wall))

    def hours_array(self, ts: np.ndarray) -> np.ndarray:
        """Local hour (0-23) of each timestamp."""
        return ((np.asarray(ts) + self.offsets(ts)) % DAY) // HOUR


def to_datetime(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(int(ts), UTC)


def to_epoch(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())
