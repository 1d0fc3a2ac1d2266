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


# --- holidays, trends, bursts, thin series, emerging hotspots -------------------------------------------

def test_public_holidays_and_make_up_days():
    from datetime import date

    from dashboard.analytics import holidays

    d = np.array(["2026-10-01", "2026-10-03", "2026-10-08", "2026-10-10", "2026-09-20"], dtype="datetime64[D]")
    assert holidays.day_types(d).tolist() == [holidays.HOLIDAY, 5, 3, 4, 4]   # Thu holiday, Sat, Thu, 调休 Sat, 调休 Sun
    assert holidays.is_rest_day(date(2026, 10, 5)) and not holidays.is_rest_day(date(2026, 10, 10))
    assert holidays.days_to_spring_festival(date(2027, 1, 27)) == 10


def _seasonal_world(rng, n_series=40, n_days=140):
    """Street x category counts that fade like summer noise through the autumn, drop on holidays."""
    days = np.arange(np.datetime64("2026-07-01"), np.datetime64("2026-07-01") + n_days)
    from dashboard.analytics.holidays import day_types

    types = day_types(days)
    f = np.array([1.2, 1.15, 1.1, 1.05, 1.0, 0.75, 0.75, 0.7])[types]
    fade = np.exp(-0.006 * np.arange(n_days))                         # -35 % over 10 weeks
    share = rng.gamma(2.0, 1.0, n_series)
    mu = 3.0 * share[:, None] * fade[None, :] * f[None, :]
    return days, mu, rng.poisson(mu).astype(float)


def test_forecast_follows_a_fading_season_and_the_holiday_week():
    rng = np.random.default_rng(4)
    days, mu, y = _seasonal_world(rng)
    units = [f"s{i % 8}" for i in range(len(y))]
    err = {"model": [], "weekday_mean_4w": [], "truth": []}
    holiday_ratio = []
    for origin in range(84, len(days) - 7):
        fc = forecast.forecast_counts(y[:, :origin], days[:origin], ["06"] * len(y), units=units)
        actual = y[:, origin:origin + 7]
        err["model"].append(np.abs(fc.expected - actual).mean())
        err["weekday_mean_4w"].append(np.abs(forecast.naive_forecasts(y[:, :origin])["weekday_mean_4w"] - actual).mean())
        err["truth"].append(np.abs(mu[:, origin:origin + 7] - actual).mean())
        holiday_ratio.append((fc.expected / mu[:, origin:origin + 7]).mean())
    mae = {k: np.mean(v) for k, v in err.items()}
    assert mae["model"] < 0.92 * mae["weekday_mean_4w"]
    assert mae["model"] < 1.1 * mae["truth"]
    assert 0.85 < np.mean(holiday_ratio) < 1.15      # no systematic lag behind the fading level


def test_a_one_day_burst_does_not_lift_next_week():
    rng = np.random.default_rng(5)
    days = np.arange(np.datetime64("2026-06-01"), np.datetime64("2026-06-01") + 84)
    y = rng.poisson(4.0, size=(10, 84)).astype(float)
    calm = forecast.forecast_counts(y, days, ["11"] * 10)
    y[:, -2] += 30                                                    # a storm floods every street for a day
    stormy = forecast.forecast_counts(y, days, ["11"] * 10)
    assert stormy.expected.mean() < 1.1 * calm.expected.mean()


def test_thin_series_borrow_their_street_share_and_the_median_is_the_abs_error_forecast():
    rng = np.random.default_rng(6)
    days = np.arange(np.datetime64("2026-08-01"), np.datetime64("2026-08-01") + 91)
    street_rate = np.array([0.05, 0.05, 0.4, 0.4])                   # two quiet streets, two busy ones
    y = rng.poisson(street_rate[:, None], size=(4, 91)).astype(float)
    y[0, -20] = 3                                                     # one odd day in a quiet street
    fc = forecast.forecast_counts(y[:, :-7], days[:-7], ["08"] * 4, units=["a", "b", "c", "d"])
    assert fc.expected[0].mean() < 0.2 and (fc.median[:2] == 0).all()
    assert np.abs(fc.median - y[:, -7:]).mean() <= np.abs(fc.expected - y[:, -7:]).mean()


def test_an_emerging_hotspot_moves_up_within_two_weeks():
    rng = np.random.default_rng(7)
    grids = [f"320585100001{i:03d}" for i in range(1, 31)]
    rates = np.full((30, 84), 0.6)
    rates[3] = 2.0                                                    # a steadily busy grid
    rates[9, -14:] = 6.0                                              # a construction site opened two weeks ago
    y = rng.poisson(rates).astype(float)
    new = hotspots.grid_scores(y, grids)
    old = hotspots.grid_scores(y, grids, hotspots.HotspotParams(recent_prior_days=float("inf"), winsor_z=float("inf")))
    assert new[9] > new[3] and new[9] > 1.5 * old[9]


def _county(rng, days, shift_from: int | None = None, factor: float = 1.0):
    """8 streets x 5 major categories of Poisson counts with a weekly profile; from day ``shift_from``
    on every series runs at ``factor`` times its level."""
    rates = rng.uniform(0.8, 4.0, size=(40, 1))
    mu = rates * DOW[weekday(days)][None, :]
    if shift_from is not None:
        mu[:, shift_from:] *= factor
    groups = [f"0{g}" for _ in range(8) for g in range(1, 6)]
    units = [f"s{u}" for u in range(8) for _ in range(5)]
    return rng.poisson(mu).astype(float), groups, units, rates[:, 0]


# 2023-24: before the holiday calendar's years, so these counts and the model both see plain weeks
YEAR = np.arange(np.datetime64("2023-06-05"), np.datetime64("2023-06-05") + 364)


def test_a_county_where_nothing_moves_is_forecast_with_a_long_memory():
    y, groups, units, rates = _county(np.random.default_rng(11), YEAR)
    fc, chosen = forecast.forecast_selected(y, YEAR, groups, units=units)
    assert chosen.chosen in ("half-year", "year") and chosen.folds == forecast.SELECTION_FOLDS
    assert chosen.mae[chosen.chosen] < chosen.mae["weeks"]
    # the long memory's level is close to the truth
    truth = rates[:, None] * DOW[weekday(fc.days)][None, :]
    assert np.abs(fc.expected / truth - 1).mean() < 0.08


def test_a_county_that_moves_is_forecast_with_the_short_memory():
    y, groups, units, rates = _county(np.random.default_rng(12), YEAR, shift_from=364 - 70, factor=1.8)
    fc, chosen = forecast.forecast_selected(y, YEAR, groups, units=units)
    assert chosen.chosen == "weeks"
    truth = 1.8 * rates[:, None] * DOW[weekday(fc.days)][None, :]
    assert abs(fc.expected.sum() / truth.sum() - 1) < 0.1


def test_a_short_history_keeps_the_first_memory_until_a_week_can_be_judged():
    y, groups, units, _ = _county(np.random.default_rng(13), YEAR[:30])
    fc, chosen = forecast.forecast_selected(y, YEAR[:30], groups, units=units)
    assert chosen.chosen == "weeks" and chosen.folds == 0 and chosen.mae == {}
    assert fc.expected.shape == (40, 7)
    y, groups, units, _ = _county(np.random.default_rng(13), YEAR[:42])
    assert forecast.forecast_selected(y, YEAR[:42], groups, units=units)[1].folds == 2   # origins at days 35 and 28
