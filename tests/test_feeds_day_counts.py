"""The forecast's daily counts per street and major category, grouped in the database (SQLite and
PostgreSQL), equal the counts the row path (``case_facts`` + ``count_cube``) gives, with bad rows
planted, and follow the local calendar also in a zone with daylight saving."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, insert, select

from dashboard.analytics import spikes
from dashboard.synth.seed import seed_county
from data_access import feeds_cases as feeds
from data_access.models import Case, Grid
from data_access.moment import Moment
from data_access.scope import Scope

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)
ROOT = Scope("320585", "320585")
BASE = {"title": "测试", "urgency": "normal", "status": "reported", "level": "grid",
        "escalations": 0, "returns": 0, "reworks": 0, "urges": 0}


def _plant(conn, rows: list[dict]) -> None:
    next_id = (conn.execute(select(func.max(Case.id))).scalar() or 0) + 1
    for i, row in enumerate(rows):
        row = {"category_code": "0101", "source": "patrol", **row}
        when = row.pop("at")
        conn.execute(insert(Case), [{**BASE, **row, "id": next_id + i, "code": f"T-{next_id + i}",
                                     "reported_at": when, "updated_at": when}])


def _cubes_from_rows(conn, scope: Scope, m: Moment, days: int):
    """What the engine computed before: every case row of the days, counted in pandas."""
    facts = feeds.case_facts(conn, scope, m, days)
    today = np.datetime64(m.at.astimezone(m.tz).date(), "D")
    facts = facts[facts["day"].values.astype("datetime64[D]") < today]
    span = np.arange(facts["day"].values.astype("datetime64[D]").min(), today, dtype="datetime64[D]")
    return span, {level: spikes.count_cube(facts.assign(root="R"), keys, span)
                  for level, keys in (("street", ["street", "major"]), ("root", ["root", "major"]))}


def _grouped_cubes(conn, scope: Scope, m: Moment, days: int):
    span, counts = feeds.category_day_counts(conn, scope, m, days)
    return span, {level: spikes.count_cube(counts.assign(root="R"), keys, span, "n")
                  for level, keys in (("street", ["street", "major"]), ("root", ["root", "major"]))}


def _same(a, b) -> None:
    (span_a, cubes_a), (span_b, cubes_b) = a, b
    assert list(span_a) == list(span_b)
    for level in ("street", "root"):
        assert cubes_a[level][0] == cubes_b[level][0], level
        np.testing.assert_array_equal(cubes_a[level][1], cubes_b[level][1])


def test_daily_counts_grouped_in_the_database_equal_the_rows(engine):
    feeds.clear_caches()
    seed_county(engine, seed=7, days=20, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.begin() as conn:
        grid = conn.execute(select(Grid.code).order_by(Grid.code)).first()[0]
        midnight = NOW.replace(hour=0, minute=0)
        _plant(conn, [  # malformed and missing grids and categories, a case at midnight sharp, a future case
            {"at": NOW - timedelta(days=3), "grid_code": "32058X"},
            {"at": NOW - timedelta(days=3), "grid_code": grid[:12] + "0x1"},
            {"at": NOW - timedelta(days=3), "grid_code": None},
            {"at": NOW - timedelta(days=2), "grid_code": grid, "category_code": "9"},
            {"at": NOW - timedelta(days=2), "grid_code": grid, "category_code": "01x1"},
            {"at": NOW - timedelta(days=2), "grid_code": grid, "category_code": None},
            {"at": midnight - timedelta(days=4), "grid_code": grid},
            {"at": midnight - timedelta(seconds=1), "grid_code": grid},
            {"at": NOW + timedelta(days=2), "grid_code": grid}])
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        for days in (5, 364):
            _same(_grouped_cubes(conn, ROOT, m, days), _cubes_from_rows(conn, ROOT, m, days))
        span, counts = feeds.category_day_counts(conn, ROOT, m, 364)
        assert span[-1] == np.datetime64(NOW.date(), "D") - 1 and len(span) == 19   # the seeded 20 days less today
        assert counts["street"].isna().any()           # unlocated cases count for the county only
        street = Scope(grid[:9], "320585")
        _, mine = feeds.category_day_counts(conn, street, m, 364)
        assert set(mine["street"].dropna()) == {grid[:9]}   # (its malformed "0x1" grid has no street)
        empty_span, empty = feeds.category_day_counts(conn, ROOT, Moment(NOW - timedelta(days=60), TZ), 10)
        assert len(empty_span) == 0 and len(empty) == 0


def test_daily_buckets_follow_a_zone_with_daylight_saving(engine):
    """Berlin leaves summer time on 2026-10-25: that local day has 25 hours, and a case at 23:30
    local on either side of the change belongs to its own local day."""
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 10, 28, 9, 0, tzinfo=berlin)
    grid = "320585100001001"
    with engine.begin() as conn:
        _plant(conn, [{"at": datetime(2026, 10, d, h, 30, tzinfo=berlin), "grid_code": grid}
                      for d in (24, 25, 26) for h in (0, 23)])
    m = Moment(now, berlin)
    with engine.connect() as conn:
        span, counts = feeds.category_day_counts(conn, ROOT, m, 7)
        _same((span, {lvl: spikes.count_cube(counts.assign(root="R"), k, span, "n")
                      for lvl, k in (("street", ["street", "major"]), ("root", ["root", "major"]))}),
              _cubes_from_rows(conn, ROOT, m, 7))
    assert [str(d) for d in span] == ["2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"]
    assert counts.sort_values("day")["n"].tolist() == [2, 2, 2]
