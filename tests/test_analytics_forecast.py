"""Forecast (预测研判) and hotspots on simulated counts with a known truth."""

from __future__ import annotations

import numpy as np

from dashboard.analytics import forecast, hotspots
from dashboard.analytics.spikes import weekday

DOW = np.array([1.3, 1.2, 1.1, 1.0, 1.0, 0.7, 0.7])


def test_forecast_follows_level_and_week_and_beats_the_naive_ones():
    rng = np.random.default_rng(1)
    days = np.arange(np.datetime64("2026-08-01"), np.datetime64("2026-11-01"))
    levels = np.array([2.0, 5.0, 12.0, 30.0])
    errors = {"model": [], "last_week": [], "mean_4w": []}
    for origin in range(60, len(days) - 7, 3):
        truth_mu = levels[:, None] * DOW[weekday(days)][None, :]
        y = rng.poisson(truth_mu).astype(float)
        fc = forecast.forecast_counts(y[:, :origin], days[:origin], ["01"] * 4)
        assert fc.days[0] == days[origin] and fc.expected.shape == (4, 7)
        truth = y[:, origin:origin + 7]
        errors["model"].append(np.abs(fc.expected - truth).mean())
        for name, pred in forecast.naive_forecasts(y[:, :origin]).items():
            if name in errors:
                errors[name].append(np.abs(pred - truth).mean())
        assert (fc.lo <= fc.expected).all() and (fc.expected <= fc.hi).all()
    mae = {k: np.mean(v) for k, v in errors.items()}
    assert mae["model"] < 0.9 * min(mae["last_week"], mae["mean_4w"])
    # the expected level follows the truth
    ratio = fc.expected[:, 0] / (levels * DOW[weekday(fc.days[:1])])
    assert np.allclose(ratio, 1.0, atol=0.25) and np.allclose(ratio[2:], 1.0, atol=0.1)


def test_interval_covers_about_eighty_percent():
    rng = np.random.default_rng(2)
    days = np.arange(np.datetime64("2026-08-01"), np.datetime64("2026-11-01"))
    y = rng.poisson(8.0 * DOW[weekday(days)], size=(200, len(days))).astype(float)
    fc = forecast.forecast_counts(y[:, :-7], days[:-7], ["01"] * 200)
    inside = ((y[:, -7:] >= fc.lo) & (y[:, -7:] <= fc.hi)).mean()
    assert 0.75 <= inside <= 0.95


def test_hotspots_rank_the_hot_grid_first_and_shrink_quiet_ones():
    rng = np.random.default_rng(3)
    grids = [f"320585100001{i:03d}" for i in range(1, 21)]
    rates = np.full(20, 0.5)
    rates[4] = 4.0
    y = rng.poisson(rates[:, None], size=(20, 84)).astype(float)
    y[7, -3:] = [3, 0, 0]  # one lucky burst: not a hotspot
    top = hotspots.top_hotspots(y, grids, hotspots.HotspotParams(top_n=3))
    assert top.grids[0] == grids[4] and top.rank.tolist() == [1, 2, 3]
    assert 20 < top.expected_week[0] < 36
    assert hotspots.hit_rate(np.array([4, 1, 2]), y[:, -7:].sum(1), 1) == 1.0
