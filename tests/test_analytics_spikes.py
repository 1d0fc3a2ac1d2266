"""Rises (骤增) and EARS on small constructed series whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analytics import ears, spikes

from .spike_facts import facts_frame

DOW = np.array([1.2, 1.1, 1.1, 1.0, 1.0, 0.8, 0.8])


def _series(rng, n_series=5, days=70, level=6.0):
    dates = np.arange(np.datetime64("2026-09-01"), np.datetime64("2026-09-01") + np.timedelta64(days, "D"))
    mu = level * DOW[spikes.weekday(dates)]
    return dates, rng.poisson(mu, size=(n_series, days)).astype(float)


def test_ears_statistics_on_a_known_series():
    y = np.array([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 10], dtype=float)
    # baseline sd 0 is floored at sqrt(mean) = sqrt(2)
    assert np.isclose(ears.c1(y)[-1], 8 / np.sqrt(2))
    assert np.isclose(ears.c2(y)[-1], 8 / np.sqrt(2))
    assert np.isnan(ears.c2(y)[8]) and not np.isnan(ears.c2(y)[9])
    assert ears.ears_alarms(y, "C2")[-1] and not ears.ears_alarms(y, "C2")[:-1].any()
    longer = np.concatenate([[2.0, 2.0], y])
    assert ears.c3(longer)[-1] > ears.THRESHOLD["C3"] and np.isnan(ears.c3(longer)[10])
    assert not ears.ears_alarms(np.zeros(12), "C1").any()  # a quiet series never alarms on zeros


def test_a_clear_spike_is_found_and_flat_series_raise_nothing():
    rng = np.random.default_rng(1)
    dates, y = _series(rng)
    d = len(dates) - 1
    y[2, d] = 30  # expected about 5-7
    res = spikes.test_day(y, dates, d, DOW, alpha=1e-4)
    assert res.method == "nb"
    assert res.alarm.tolist() == [False, False, True, False, False]
    assert res.observed[1][2] == 30 and 3 < res.expected[1][2] < 10 and res.p[1][2] < 1e-6


def test_constant_series_raise_nothing():
    dates = np.arange(np.datetime64("2026-09-01"), np.datetime64("2026-11-10"))
    y = np.full((3, len(dates)), 4.0)
    res = spikes.test_day(y, dates, len(dates) - 1, np.ones(7), alpha=1e-3)
    assert not res.alarm.any()


def test_past_outbreaks_are_down_weighted():
    rng = np.random.default_rng(2)
    dates, y = _series(rng, n_series=1, level=5.0)
    y[0, 30:33] += 40  # an old outbreak in the baseline
    exp = spikes.fit_expected(y[:, :60], spikes.weekday(dates[:60]), np.arange(60), DOW,
                              spikes.weekday(dates[[65]]), np.array([65]))
    assert exp.mu[0, 0] < 7.5  # the plain mean would be about 7


def test_short_history_falls_back_to_ears():
    rng = np.random.default_rng(3)
    dates, y = _series(rng, n_series=3, days=15)
    y[0, -1] = 40
    res = spikes.test_day(y, dates, len(dates) - 1, DOW, alpha=1e-4)
    assert res.method == "ears"
    assert res.alarm.tolist() == [True, False, False]


def _facts(rng, days=70, today=np.datetime64("2026-11-25")):
    """Case facts for one street with two communities and two minor categories."""
    dates = np.arange(today - np.timedelta64(days, "D"), today + np.timedelta64(1, "D"))
    rows = []
    for day in dates:
        for comm in ("320585100001", "320585100002"):
            for cat, lam in (("0101", 3.0), ("0301", 2.0)):
                for _ in range(rng.poisson(lam * DOW[spikes.weekday(np.array([day]))[0]])):
                    rows.append((comm + "001", cat, day, int(rng.integers(480, 1080))))
    return facts_frame(rows)


def _add(frame, n, grid, cat, day, minute=600):
    return pd.concat([frame, facts_frame([(grid, cat, day, minute)] * n, first_id=10_000_000)], ignore_index=True)


def test_daily_rises_name_the_community_and_category():
    rng = np.random.default_rng(4)
    day = np.datetime64("2026-11-24")
    frame = _facts(rng)
    assert spikes.daily_rises(frame, day) == []
    rises = spikes.daily_rises(_add(frame, 20, "320585100002001", "0301", day), day)
    assert rises and {r.family for r in rises} == {("320585100", "03")}
    best = min(rises, key=lambda r: r.p)
    assert best.region in ("320585100002", "320585100") and best.observed >= 20


def test_intraday_rise_against_the_hour_profile():
    rng = np.random.default_rng(5)
    today = np.datetime64("2026-11-25")
    frame = _facts(rng)
    frame = frame[frame["day"].values < today]
    assert spikes.intraday_rises(frame, today, 11 * 60) == []
    rises = spikes.intraday_rises(_add(frame, 15, "320585100001001", "0101", today, minute=9 * 60), today, 11 * 60)
    assert rises and all(r.intraday for r in rises)
    assert {r.family for r in rises} == {("320585100", "01")}


def test_runs_start():
    days = np.array(["2026-11-20", "2026-11-22", "2026-11-23", "2026-11-24"], dtype="datetime64[D]")
    assert spikes.runs_start(days, np.datetime64("2026-11-24")) == np.datetime64("2026-11-22")
    assert spikes.runs_start(days, np.datetime64("2026-11-21")) is None


def test_data_that_starts_today_raises_nothing():
    frame = _facts(np.random.default_rng(6), days=0)
    today = np.datetime64("2026-11-25")
    assert spikes.daily_rises(frame, today - np.timedelta64(1, "D")) == []
    assert spikes.intraday_rises(frame, today, 12 * 60) == []
    assert spikes.daily_rises(frame.iloc[:0], today) == []
