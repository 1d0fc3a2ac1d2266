"""`gridwall backtest` on a constructed history whose answer is known: the pure functions, the reads and
the command line (--json and the table), on SQLite and PostgreSQL.

The county: two streets, 20 grids each (equal squares). Every week repeats exactly: street A's
category 01 reports 3, 2, 2, 3, 4, 1, 0 cases Monday..Sunday in grid A-1, its category 02 one case
on each weekday in grid A-2, street B's category 01 two cases every day in grid B-1. So:

* the naive "same weekday last week" (and the 4-week weekday mean and median) is exact: MAE 0;
* the 4-week mean misses by |day - weekly mean|: (50/7 + 20/7 + 0) / (3 series x 7 days) = 10/21 at
  street level; at county level (01: 5, 4, 4, 5, 6, 3, 2, as far from its mean as A's; 02: as A's)
  (50/7 + 20/7) / 14 = 5/7;
* the top 5 % of the 40 grids is 2 grids: A-1 and B-1 (15 and 14 of the week's 34 cases) for every
  ranking, hit rate 29/34, PAI (29/34) / (2/40); per street the top grid of 20: the same two grids.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from dashboard.analytics import backtest as bt
from dashboard.cli import main
from dashboard.core.config import get_settings
from data_access import backtest as reads
from data_access.db import dispose_all
from data_access.models import Case, Category, Grid, Region
from data_access.scope import Scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = "320585"
A, B = "320585001", "320585002"
FIRST = date(2026, 1, 5)           # a Monday; 16 weeks of history
WEEKS = 16
PATTERN = {  # (grid, category) -> cases Monday..Sunday
    (f"{A}001001", "0101"): [3, 2, 2, 3, 4, 1, 0],
    (f"{A}001002", "0201"): [1, 1, 1, 1, 1, 0, 0],
    (f"{B}001001", "0101"): [2, 2, 2, 2, 2, 2, 2],
}
BASE = {"title": "测试", "urgency": "normal", "status": "closed", "level": "grid", "escalations": 0, "returns": 0,
        "reworks": 0, "urges": 0}


def _square(i: int, street: int) -> str:
    lon, lat = 121.0 + 0.005 * i, 31.4 + 0.05 * street
    ring = [[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.005], [lon, lat + 0.005], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def build_county(conn) -> None:
    conn.execute(insert(Region), [{"code": ROOT, "name": "测试县", "level": "county", "parent_code": "3205"},
                                  {"code": A, "name": "甲街道", "level": "street", "parent_code": ROOT},
                                  {"code": B, "name": "乙街道", "level": "street", "parent_code": ROOT},
                                  {"code": f"{A}001", "name": "甲社区", "level": "community", "parent_code": A},
                                  {"code": f"{B}001", "name": "乙社区", "level": "community", "parent_code": B}])
    conn.execute(insert(Grid), [{"code": f"{s}001{i:03d}", "community_code": f"{s}001", "name": f"第{i}网格",
                                 "kind": "basic", "boundary": _square(i, k)}
                                for k, s in enumerate((A, B)) for i in range(1, 21)])
    conn.execute(insert(Category), [{"code": "0101", "name": "市容"}, {"code": "0201", "name": "环境"}])
    rows, next_id = [], 1
    for d in range(7 * WEEKS):
        day = FIRST + timedelta(days=d)
        for (grid, cat), counts in PATTERN.items():
            for j in range(counts[day.weekday()]):
                at = datetime(day.year, day.month, day.day, 9 + j, 15, tzinfo=SHANGHAI)
                rows.append({**BASE, "id": next_id, "code": f"T-{next_id}", "category_code": cat, "source": "patrol",
                             "grid_code": grid, "reported_at": at, "updated_at": at})
                next_id += 1
    conn.execute(insert(Case), rows)


# --- the pure functions --------------------------------------------------------------------------

def _periodic(n_days: int, start: str = "2024-01-01"):
    days = np.arange(np.datetime64(start), np.datetime64(start) + np.timedelta64(n_days, "D"))
    wd = (days.astype(np.int64) - 4) % 7
    y = np.stack([np.array(p)[wd] for p in PATTERN.values()]).astype(float)
    keys = [(g[:9], c[:2]) for g, c in PATTERN]
    return days, y, keys


def test_periodic_history_naive_rules_exact_and_the_forecast_close():
    days, y, keys = _periodic(7 * WEEKS)
    origins = bt.weekly_origins(days, days[28], days[-1])
    assert len(origins) == WEEKS - 4
    res = bt.forecast_backtest(y, days, keys, y.sum(0), origins)
    assert res.weeks == WEEKS - 4 and res.skipped_weeks == 0 and res.series == 3
    assert res.points == 3 * 7 * (WEEKS - 4)
    assert res.mae["last_week"] == 0 and res.mae["weekday_mean_4w"] == 0 and res.mae["weekday_median_4w"] == 0
    assert res.mae["mean_4w"] == pytest.approx(10 / 21)
    assert res.mae["seasonal"] is None and res.seasonal_weeks == 0           # no year of history
    # the model shrinks each weekday toward the week's mean: not exact, but far better than the flat mean
    assert res.mae["gridwall"] < 0.5 * res.mae["mean_4w"]
    assert sum(res.memories.values()) == res.weeks


def test_seasonal_is_exact_once_a_year_exists_and_absent_before():
    days, y, keys = _periodic(364 + 28 + 21)
    origins = bt.weekly_origins(days, days[364], days[-1])
    res = bt.forecast_backtest(y, days, keys, y.sum(0), origins)
    assert res.weeks == len(origins) == 7 and res.seasonal_weeks == 7
    assert res.mae["seasonal"] == 0
    # weeks before a year exists: seasonal is left out of the pooled MAE, reported on its own weeks
    early = bt.weekly_origins(days, days[350], days[-1])
    res = bt.forecast_backtest(y, days, keys, y.sum(0), early)
    assert res.mae["seasonal"] is None and res.seasonal_partial["weeks"] == res.seasonal_weeks == 7
    assert res.seasonal_partial["seasonal"] == 0


def test_weeks_without_four_weeks_of_data_are_skipped():
    days, y, keys = _periodic(70)
    res = bt.forecast_backtest(y, days, keys, y.sum(0), bt.weekly_origins(days, days[7], days[-1]))
    assert res.skipped_weeks == 3 and res.weeks == 6       # origins at days 7, 14, 21 have < 28 days before


def test_ties_at_the_cut_are_shared_in_expectation():
    got, covered = bt.captured(np.array([3, 1, 1, 1, 0]), np.array([5, 2, 4, 0, 9]), 2, np.array([1, 2, 3, 4, 5]))
    assert got == pytest.approx(5 + (2 + 4 + 0) / 3)
    assert covered == pytest.approx(1 + (2 + 3 + 4) / 3)


def test_hotspots_on_a_fixed_pattern():
    days, y_series, _ = _periodic(7 * WEEKS)
    grids = [f"{s}001{i:03d}" for s in (A, B) for i in range(1, 21)]
    y = np.zeros((40, len(days)))
    for row, (grid, _) in zip(y_series, PATTERN):
        y[grids.index(grid)] += row
    origins = bt.weekly_origins(days, days[28], days[-1])
    res = bt.hotspot_backtest(y, days, grids, origins)
    assert res.weeks == WEEKS - 4 and res.top_n == 2 and res.area_basis == "grids"
    for m in ("gridwall", "naive_1w", "naive_4w", "naive_12w"):
        assert res.hit_rate[m] == pytest.approx(29 / 34)
        assert res.pai[m] == pytest.approx((29 / 34) / (2 / 40))
    per_street = bt.hotspot_backtest(y, days, grids, origins, groups=[g[:9] for g in grids])
    assert per_street.groups == 2 and per_street.top_n == 2 and per_street.hit_rate["gridwall"] == pytest.approx(29 / 34)
    # streets of fewer than 20 grids have no top 5 %: no result rather than a trivial one
    assert bt.hotspot_backtest(y[:10], days, grids[:10], origins, groups=[g[:9] for g in grids[:10]]) is None


def test_a_new_busy_grid_is_caught_by_last_week_before_the_long_windows():
    """Grid 3 turns busy (10 a day) from day 56 on: the 1-week count ranks it first the week after,
    the 12-week count only once its total passes the old busy grid's."""
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + np.timedelta64(84, "D"))
    y = np.zeros((20, 84))
    y[0] = 5.0
    y[2, 56:] = 10.0
    grids = [f"{ROOT}001001{i:03d}" for i in range(1, 21)]
    res = bt.hotspot_backtest(y, days, grids, [63])
    assert res.hit_rate["naive_1w"] == pytest.approx(70 / 105)       # top 1 of 20: grid 3
    assert res.hit_rate["naive_12w"] == pytest.approx(35 / 105)      # still grid 1 (315 against 70)


# --- the reads -------------------------------------------------------------------------------------

def test_reads_count_per_local_day_across_daylight_saving(engine):
    """New York's clocks go forward on 2026-03-08: cases just before and after local midnight land on
    their local days, on both backends."""
    ny = ZoneInfo("America/New_York")
    with engine.begin() as conn:
        conn.execute(insert(Region), [{"code": ROOT, "name": "测试县", "level": "county"},
                                      {"code": A, "name": "甲", "level": "street", "parent_code": ROOT}])
        conn.execute(insert(Grid), [{"code": f"{A}001001", "community_code": f"{A}001", "boundary": _square(1, 0)}])
        times = [datetime(2026, 3, 7, 23, 50, tzinfo=ny), datetime(2026, 3, 8, 0, 10, tzinfo=ny),
                 datetime(2026, 3, 8, 23, 50, tzinfo=ny), datetime(2026, 3, 9, 0, 10, tzinfo=ny)]
        conn.execute(insert(Case), [{**BASE, "id": i + 1, "code": f"N-{i}", "category_code": "0101", "source": "patrol",
                                     "grid_code": f"{A}001001", "reported_at": t, "updated_at": t}
                                    for i, t in enumerate(times)])
    scope = Scope(ROOT, ROOT)
    with engine.connect() as conn:
        days, grid = reads.grid_day_counts(conn, scope, ny, date(2026, 3, 6), date(2026, 3, 10))
        _, street = reads.street_major_day_counts(conn, scope, ny, date(2026, 3, 6), date(2026, 3, 10))
        areas = reads.grid_areas(conn, scope)
    assert len(days) == 5
    per_day = {str(d): int(n) for d, n in zip(grid["day"].values.astype("datetime64[D]"), grid["n"])}
    assert per_day == {"2026-03-07": 1, "2026-03-08": 2, "2026-03-09": 1}
    assert {str(d): int(n) for d, n in zip(street["day"].values.astype("datetime64[D]"), street["n"])} == per_day
    assert areas["area_km2"].iloc[0] == pytest.approx(0.005 ** 2 * 111.32 ** 2 * np.cos(np.radians(31.4025)), rel=1e-3)


# --- the command line ----------------------------------------------------------------------------

@pytest.fixture
def cli(engine, backend_url, monkeypatch):
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    monkeypatch.delenv("GRIDWALL_ROOT", raising=False)
    monkeypatch.delenv("GRIDWALL_TIMEZONE", raising=False)
    get_settings.cache_clear()
    dispose_all()
    with engine.begin() as conn:
        build_county(conn)
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["backtest", *args])
    get_settings.cache_clear()
    dispose_all()


def test_backtest_json_gives_the_known_answer(cli):
    result = cli("--from", "2026-02-02", "--to", "2026-04-26", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["weeks"] == 12
    mae = out["forecast"]["mae"]
    assert set(mae) >= {"gridwall", "last_week", "mean_4w", "seasonal"}
    assert mae["last_week"] == 0 and mae["seasonal"] is None
    assert mae["mean_4w"] == round(10 / 21, 4)
    assert 0 < mae["gridwall"] < mae["mean_4w"]
    assert out["forecast"]["level"] == "street" and out["forecast"]["best_naive"] == "last_week"
    county = out["forecast"]["levels"]["county"]
    assert county["mae"]["mean_4w"] == round(5 / 7, 4) and county["series"] == 2
    hs = out["hotspots"]
    assert set(hs["hit_rate"]) == set(hs["pai"]) == {"gridwall", "naive_1w", "naive_4w", "naive_12w"}
    for m in hs["hit_rate"]:
        assert hs["hit_rate"][m] == round(29 / 34, 4)
        assert hs["pai"][m] == round((29 / 34) / (2 / 40), 3)
    assert hs["area_basis"] == "area" and hs["top_n"] == 2 and hs["grids"] == 40
    assert hs["levels"]["street"]["hit_rate"]["gridwall"] == round(29 / 34, 4)


def test_backtest_of_a_street_and_the_table(cli):
    result = cli("--from", "2026-02-02", "--to", "2026-03-01", "--region", A, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["weeks"] == 4 and out["forecast"]["level"] == "street" and list(out["forecast"]["levels"]) == ["street"]
    assert out["forecast"]["mae"]["mean_4w"] == round((50 / 7 + 20 / 7) / 14, 4)
    assert out["hotspots"]["hit_rate"]["naive_4w"] == round(15 / 20, 4)      # top 1 of 20: A-1
    later = json.loads(cli("--from", "2026-04-06", "--to", "2026-12-31", "--json").stdout)
    assert later["to"] == "2026-04-26" and later["weeks"] == 3          # no history after the last case
    table = cli("--from", "2026-02-02", "--to", "2026-03-01")
    assert table.exit_code == 0, table.output
    assert "forecast: MAE" in table.stdout and "hotspots:" in table.stdout and "last_week" in table.stdout


def test_a_span_too_early_to_score_says_where_the_data_begin(cli):
    result = cli("--from", "2026-01-05", "--to", "2026-01-25", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["weeks"] == 0
    assert "the data begin 2026-01-05" in out["note"] and "on or after 2026-02-02" in out["note"]
    assert out["hotspots"]["levels"]["county"]["note"] == out["note"]
    table = cli("--from", "2026-01-05", "--to", "2026-01-25")
    assert "0 weeks scored: a week is scored with 28 days of data before it" in table.stdout


@pytest.mark.parametrize("args, message", [
    (("--from", "2026-02-02", "--to", "2026-02-04"), "at least 6 days"),
    (("--from", "02/02/2026", "--to", "2026-03-01"), "YYYY-MM-DD"),
    (("--from", "2026-02-02", "--to", "2026-03-01", "--region", "110101"), "outside"),
])
def test_bad_arguments(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output
