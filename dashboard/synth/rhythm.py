"""How many cases arrive when: by source, hour of day and weekday.

Reports cluster in working hours and drop at weekends: patrols follow the 08:30-17:30 duty roster
(a skeleton weekend duty), 12345 and residents report into the evening, video and sensors run
around the clock. Each day gets a common random factor (about +-20 %), so days differ.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from .local_calendar import HOUR, LocalCalendar

SOURCES = ("patrol", "hotline", "resident", "video", "sensor", "department", "superior", "other")

# Cases per weekday for a county of REFERENCE_GRIDS grids (about 420 a weekday, 220 a weekend day).
PER_WEEKDAY = np.array([230, 70, 45, 40, 12, 12, 6, 5], dtype=float)
WEEKEND_FACTOR = np.array([0.25, 0.8, 1.1, 1.0, 1.0, 0.2, 0.2, 0.7])
REFERENCE_GRIDS = 820
DAY_NOISE_SHAPE = 25.0  # gamma shape: sd of the daily factor = 1/sqrt(25) = 20 %

_OFFICE = [0] * 8 + [.5, 1.3, 1.4, 1.1, .2, .8, 1.3, 1.3, 1.1, .4] + [0] * 6
_CALLS = [.15, .1, .1, .1, .1, .15, .3, .5, 1.0, 1.5, 1.5, 1.3,
          .9, 1.1, 1.3, 1.3, 1.2, 1.0, .9, 1.0, 1.0, .8, .5, .3]
_HOURLY = {  # relative weight of each local hour 0..23
    "patrol": [.01, .01, .01, .01, .01, .01, .01, .02, .3, 1.2, 1.4, 1.1,
               .4, .7, 1.2, 1.3, 1.0, .4, .05, .03, .02, .02, .01, .01],
    "hotline": _CALLS,
    "resident": [.1, .05, .05, .05, .05, .1, .3, .7, 1.0, 1.2, 1.2, 1.1,
                 1.0, 1.0, 1.1, 1.1, 1.1, 1.2, 1.3, 1.4, 1.3, 1.0, .6, .3],
    "video": [.3, .3, .3, .3, .3, .4, .7, 1.1, 1.2, 1.2, 1.2, 1.2,
              1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, .9, .7, .5, .4],
    "sensor": [1.0] * 24,
    "department": _OFFICE,
    "superior": _OFFICE,
    "other": _CALLS,
}
HOURLY = np.array([np.asarray(_HOURLY[s]) / np.sum(_HOURLY[s]) for s in SOURCES])  # (source, hour), rows sum to 1


def expected_per_hour(hour: int, weekday: int, scale: float = 1.0, rest: bool | None = None) -> np.ndarray:
    """Expected cases in one local hour, per source (``rest``: a rest day, by default a weekend day)."""
    weekend = weekday >= 5 if rest is None else rest
    return PER_WEEKDAY * (WEEKEND_FACTOR if weekend else 1.0) * HOURLY[:, hour] * scale


class DayNoise:
    """A random factor per local date, drawn once per date (lazily, in date order of use)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.factors: dict[date, float] = {}

    def __call__(self, day: date) -> float:
        if day not in self.factors:
            self.factors[day] = float(self.rng.gamma(DAY_NOISE_SHAPE, 1.0 / DAY_NOISE_SHAPE))
        return self.factors[day]


def draw_arrivals(cal: LocalCalendar, start: int, end: int, rng: np.random.Generator, noise: DayNoise,
                  scale: float = 1.0, rest_day=None) -> tuple[np.ndarray, np.ndarray]:
    """Report times in [start, end) and their source index, sorted by time. ``rest_day(date)`` says
    which days run like a weekend (public holidays, make-up working days); default: Saturdays and Sundays."""
    if end <= start:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = start - start % HOUR
    seg_a = np.arange(first, end, HOUR, dtype=np.int64)
    seg_b = np.minimum(seg_a + HOUR, end)
    seg_a = np.maximum(seg_a, start)
    lam = np.empty((len(seg_a), len(SOURCES)))
    for i, a in enumerate(seg_a):
        day = cal.local_date(a)
        rest = rest_day(day) if rest_day is not None else None
        lam[i] = expected_per_hour(int(cal.local_hour(a)), day.weekday(), scale, rest) * noise(day) * (seg_b[i] - a) / HOUR
    counts = rng.poisson(lam)
    seg_idx, src_idx = np.nonzero(counts)
    reps = counts[seg_idx, src_idx]
    seg = np.repeat(seg_idx, reps)
    src = np.repeat(src_idx, reps)
    times = seg_a[seg] + (rng.random(len(seg)) * (seg_b[seg] - seg_a[seg])).astype(np.int64)
    order = np.argsort(times, kind="stable")
    return times[order], src[order]
