"""The review page's forecast section as pure analytics (dashboard/analytics/forecast_record.py): weekly
intervals from the stored daily ones, the record (backtest) of the engine's model with its coverage and
error, the hotspot grids and their record. Literal numbers wherever the arithmetic is the point."""

from __future__ import annotations

import numpy as np
import pytest
from pytest import approx

from dashboard.analytics import forecast, forecast_record as fr
from dashboard.analytics.forecast_record import Record, RecordWeek
from dashboard.analytics.spikes import weekday

DOW = np.array([1.3, 1.2, 1.1, 1.0, 1.0, 0.7, 0.7])


# --- intervals of sums ---------------------------------------------------------------------------------

def test_a_days_variance_is_read_off_its_interval_and_never_below_poisson():
    var = fr.day_variance([10.0, 3.0, 2.0], [5.0, 1.0, np.nan], [16.0, 5.0, np.nan])
    # (16 - 5) / (2 x 1.28155) = 4.2917 -> 18.418; (5 - 1) / 2.5631 = 1.56 -> 2.44 < 3: the mean; no interval: the mean
    assert var.tolist() == approx([18.41846, 3.0, 2.0], abs=1e-4)
    assert fr.day_variance([4.0], None, None).tolist() == [4.0]


def test_the_interval_of_a_sum_is_poisson_or_negative_binomial_by_its_variance():
    lo, hi = fr.sum_interval(np.array([10.0, 100.0, 0.0, 30.0]), np.array([10.0, 300.0, 0.0, 30.0]))
    assert lo.tolist() == [6, 78, 0, 23] and hi.tolist() == [14, 123, 0, 37]   # Poisson(10), NB(100, k=0.02), 0, Poisson(30)


def test_stored_daily_rows_become_weekly_totals_with_their_interval():
    rows = [{"region_code": "320585100", "category_code": "01", "day": d, "expected": 2.0, "lo80": 0.0, "hi80": 4.0,
             "made_at": None} for d in ("2026-11-26", "2026-11-27")]
    rows.append({"region_code": "320585101", "category_code": "01", "day": "2026-11-26", "expected": 5.0,
                 "lo80": None, "hi80": None, "made_at": None})          # no interval stored: Poisson
    rows.append({"region_code": "320585101", "category_code": "02", "day": "2026-11-26", "expected": None})
    t = fr.forecast_totals(rows)
    # S1: mean 4, variance 2 x 2.4357 = 4.871 (k = 0.054) -> [1, 7]; S2: Poisson(5) -> [2, 8]
    assert t["cells"][("320585100", "01")] == {"expected": 4.0, "lo": 1.0, "hi": 7.0, "days": 2}
    assert t["cells"][("320585101", "01")] == {"expected": 5.0, "lo": 2.0, "hi": 8.0, "days": 1}
    assert t["total"] == {"expected": 9.0, "lo": 5.0, "hi": 13.0, "days": 2}
    assert (t["days"], t["n_days"]) == (["2026-11-26", "2026-11-27"], 2)
    # a street's total widens by its level's common variance: 4.871 + 0.25 x 16 = 8.871 -> [1, 8]
    widened = fr.forecast_totals(rows, {"unit": 0.25})
    assert widened["regions"]["320585100"] == {"expected": 4.0, "lo": 1.0, "hi": 8.0, "days": 2}
    assert widened["cells"][("320585100", "01")]["hi"] == 7.0          # a single series: no common term
    assert fr.forecast_totals([])["total"] is None


def test_the_common_variance_of_totals_is_what_their_errors_show_beyond_the_series():
    # one label, two weeks: totals 100 (variance 100) against 120 and 90: (400 - 100 + 100 - 100) / 20000
    m = np.array([[60.0, 40.0], [60.0, 40.0]])
    v = np.array([[50.0, 50.0], [50.0, 50.0]])
    a = np.array([[80.0, 40.0], [45.0, 45.0]])
    assert fr.common_variance(m, v, a, ["s", "s"]) == approx(0.015)
    # each series 5 off its mean (25 < its variance 50): no common part, and never a negative one
    assert fr.common_variance(m, v, np.array([[55.0, 45.0], [65.0, 35.0]]), ["s", "t"]) == 0.0
    assert fr.common_variance(m[:0], v[:0], a[:0], ["s", "s"]) == 0.0


def test_record_weeks_are_the_complete_weeks_before_ts_week_inside_the_data():
    days = np.arange(np.datetime64("2026-09-01"), np.datetime64("2026-11-26"))       # to Wed 11-25
    got = fr.week_origins(days, np.datetime64("2026-11-26"), 8)
    assert [str(d) for d in got] == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26",
                                     "2026-11-02", "2026-11-09", "2026-11-16"]
    short = fr.week_origins(days[days >= np.datetime64("2026-10-20")], np.datetime64("2026-11-26"), 8)
    assert [str(d) for d in short] == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    assert str(fr.monday_of(np.datetime64("2026-11-22"))) == "2026-11-16"


# --- the record --------------------------------------------------------------------------------------------

def _hand_record() -> Record:
    """Two series (streets s1, s2), two weeks, forecasts and actuals written out."""
    def week(start, actual, naive):
        return RecordWeek(np.datetime64(start), "weeks", np.array([10.0, 20.0]), np.array([10.0, 20.0]),
                          np.array([6.0, 14.0]), np.array([14.0, 26.0]), np.array(actual, dtype=float),
                          np.array(naive, dtype=float), {"total": 0.0, "unit": 0.0})
    return Record([week("2026-11-09", [12, 30], [8, 22]), week("2026-11-16", [5, 21], [12, 30])],
                  {"total": ["all", "all"], "group": ["01", "02"], "unit": ["s1", "s2"]}, {})


def test_the_record_counts_coverage_and_errors_by_hand():
    s = fr.record_summary(_hand_record())
    w1, w2 = s["weeks"]
    # week 1: 12 in [6, 14], 30 not in [14, 26]; total 42 against Poisson(30) [23, 37]: outside
    assert (w1["series_inside"], w1["coverage"], w1["mae"], w1["naive_mae"]) == (1, 0.5, 6.0, 6.0)
    assert (w1["expected"], w1["lo"], w1["hi"], w1["actual"], w1["inside"]) == (30.0, 23.0, 37.0, 42.0, False)
    # week 2: 5 below 6, 21 inside; total 26 inside; errors 5 and 1; naive 7 and 9
    assert (w2["series_inside"], w2["mae"], w2["naive_mae"], w2["inside"]) == (1, 3.0, 8.0, True)
    o = s["overall"]
    assert (o["coverage"], o["total_inside"], o["weeks"], o["mae"], o["naive_mae"]) == (0.5, 1, 2, 4.5, 7.0)
    assert s["units"]["s1"] == {"weeks": 2, "inside": 1, "coverage": 0.5, "mae": 3.5, "mean_actual": 8.5}
    assert s["units"]["s2"] == {"weeks": 2, "inside": 1, "coverage": 0.5, "mae": 5.5, "mean_actual": 25.5}


def test_interval_coverage_on_a_known_series_misses_the_burst_and_the_week_it_echoes():
    """Five cases a day for 400 days, twelve a day in one week: the calm weeks' forecast is 35 with the
    interval [27, 43]; the burst (84) falls outside, and so does the week after, whose short-memory
    forecast chased the burst; 6 of 8 weeks inside."""
    days = np.arange(np.datetime64("2025-10-20"), np.datetime64("2025-10-20") + 400)   # to Mon 2026-11-23
    y = np.full((1, 400), 5.0)
    origins = fr.week_origins(days, np.datetime64("2026-11-24"), 8)
    burst = int((origins[4] - days[0]).astype(np.int64))
    y[:, burst:burst + 7] = 12.0
    rec = fr.weekly_record(y, days, ["01"], ["s1"], origins)
    calm = rec.weeks[:4]
    assert all(w.expected[0] == approx(35.0) and (w.lo[0], w.hi[0]) == (27.0, 43.0) for w in calm)
    assert rec.weeks[4].actual[0] == 84.0 and rec.weeks[4].hi[0] < 84.0
    assert rec.weeks[5].memory == "weeks" and rec.weeks[5].lo[0] > 35.0       # chased the burst
    s = fr.record_summary(rec)
    assert [w["inside"] for w in s["weeks"]] == [True, True, True, True, False, False, True, True]
    assert (s["overall"]["coverage"], s["overall"]["total_inside"]) == (0.75, 6)


def _county(seed: int, n_days: int = 200, streets: int = 4):
    """Poisson counts with a weekly profile, ``streets`` streets x 4 major categories (2023: before the
    holiday calendar's years, so the counts and the model both see plain weeks)."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64("2023-03-06"), np.datetime64("2023-03-06") + n_days)
    rates = rng.uniform(0.8, 4.0, size=(4 * streets, 1))
    y = rng.poisson(rates * DOW[weekday(days)][None, :]).astype(float)
    groups = [f"0{g}" for _ in range(streets) for g in range(1, 5)]
    units = [f"s{u}" for u in range(streets) for _ in range(4)]
    return days, y, groups, units


def test_on_honest_poisson_counts_about_eight_in_ten_weekly_counts_fall_inside():
    days, y, groups, units = _county(21, streets=6)
    origins = fr.week_origins(days, days[-1] + 1, 8)
    s = fr.record_summary(fr.weekly_record(y, days, groups, units, origins))
    assert s["overall"]["series_weeks"] == 24 * 8
    assert 0.7 <= s["overall"]["coverage"] <= 0.93
    assert s["overall"]["mae"] < s["overall"]["naive_mae"]


def test_a_weeks_forecast_never_sees_that_week_or_later():
    days, y, groups, units = _county(22)
    origins = fr.week_origins(days, days[-1] + 1, 8)
    before = fr.weekly_record(y, days, groups, units, origins)
    cut = int((origins[3] - days[0]).astype(np.int64))
    changed = y.copy()
    changed[:, cut:] = changed[:, cut:] * 5 + 7              # the fourth week on: a different world
    after = fr.weekly_record(changed, days, groups, units, origins)
    for old, new in zip(before.weeks[:4], after.weeks[:4]):   # weeks up to the fourth: the same forecast
        assert old.memory == new.memory
        assert np.array_equal(old.expected, new.expected) and np.array_equal(old.lo, new.lo)
        assert np.array_equal(old.hi, new.hi) and old.common == new.common
    assert not np.array_equal(before.weeks[3].actual, after.weeks[3].actual)
    assert not np.array_equal(before.weeks[4].expected, after.weeks[4].expected)


def test_a_record_week_is_the_engines_selected_forecast_from_the_days_before_it():
    days, y, groups, units = _county(23)
    origins = fr.week_origins(days, days[-1] + 1, 2)
    rec = fr.weekly_record(y, days, groups, units, origins)
    for week in rec.weeks:
        at = int((week.start - days[0]).astype(np.int64))
        fc, chosen = forecast.forecast_selected(y[:, :at], days[:at], groups, units=units)
        assert week.memory == chosen.chosen
        assert week.expected == approx(fc.expected.sum(1))


def test_a_series_without_a_case_before_the_week_is_forecast_zero():
    days, y, groups, units = _county(24, n_days=100, streets=2)
    y[0, :-20] = 0                                            # a new market: its first cases in the last weeks
    origins = fr.week_origins(days, days[-1] + 1, 4)
    rec = fr.weekly_record(y, days, groups, units, origins)
    first = rec.weeks[0]
    assert first.expected[0] == 0 and (first.lo[0], first.hi[0]) == (0, 0)


# --- hotspots ------------------------------------------------------------------------------------------

GRIDS = ["320585100001001", "320585100001002", "320585100002001", "320585100002002"]


def _grid_days():
    days = np.arange(np.datetime64("2026-08-03"), np.datetime64("2026-11-23"))   # Mon .. Sun, 16 weeks
    y = np.zeros((4, len(days)))
    y[0], y[1], y[2] = 5.0, 3.0, 1.0                                           # grid 4: nothing
    burst = int((np.datetime64("2026-11-09") - days[0]).astype(np.int64))
    y[2, burst:burst + 7] = 10.0                                               # a one-week burst in grid 3
    return days, y


def test_next_weeks_hotspots_are_the_grids_with_most_expected_cases():
    days, y = _grid_days()
    spots = fr.next_week_hotspots(y[:, :-14], GRIDS, top_n=3)                 # before the burst
    assert [s["grid_code"] for s in spots] == GRIDS[:3] and [s["rank"] for s in spots] == [1, 2, 3]
    assert spots[0]["expected"] == approx(35.0, rel=0.05) and spots[1]["expected"] == approx(21.0, rel=0.1)
    assert fr.next_week_hotspots(np.zeros((0, 5)), [], top_n=3) == []


def test_the_hotspot_record_scores_each_week_from_the_days_before_it():
    days, y = _grid_days()
    origins = np.array(["2026-11-02", "2026-11-09"], dtype="datetime64[D]")
    rec = fr.hotspot_record(y, days, GRIDS, origins, top_n=2)
    calm, burst = rec["weeks"]
    assert (calm["hit_rate"], calm["naive_hit_rate"]) == (1.0, 1.0)           # A and B, as every week before
    assert (burst["hit_rate"], burst["naive_hit_rate"]) == (0.5, 0.5)         # C jumped to the top: A still there
    assert rec["hit_rate"] == 0.75 and rec["top_n"] == 2
    assert fr.hotspot_record(y, days, GRIDS, origins, top_n=4)["hit_rate"] is None   # all grids: says nothing


# --- the section's data ---------------------------------------------------------------------------------

def test_the_view_leaves_out_the_countys_own_rows_and_names_everything():
    import pandas as pd

    rows = [{"region_code": code, "category_code": "01", "day": "2026-11-26", "expected": 3.0, "lo80": 1.0,
             "hi80": 5.0, "made_at": None} for code in ("320585100", "320585")]
    view = fr.forecast_view(rows, np.array([], dtype="datetime64[D]"), pd.DataFrame(columns=["street", "major", "day", "n"]),
                            np.array([], dtype="datetime64[D]"), [], np.zeros((0, 0)), np.datetime64("2026-11-26"),
                            {"320585100": "城厢镇", "cat:01": "市容环境"})
    assert [(r["region_name"], r["category_name"], r["expected"], r["lo80"], r["hi80"]) for r in view["forecast"]["rows"]] == \
        [("城厢镇", "市容环境", 3.0, 1, 5)]
    assert view["record"] == {"weeks": [], "regions": [], "overall": None}
    assert view["hotspots"]["grids"] == [] and view["hotspots"]["start"] == "2026-11-26"
    assert view["hotspots"]["end"] == "2026-12-02" and view["interval"] == 0.8


@pytest.mark.parametrize("weeks", [8])
def test_the_record_reads_enough_days_for_its_folds_and_the_longest_memory(weeks):
    assert fr.record_days(weeks) == 364 + 7 * (weeks + forecast.SELECTION_FOLDS + 1) + 6
    assert fr.hotspot_days(weeks) == 84 + 7 * (weeks + 1) + 6
