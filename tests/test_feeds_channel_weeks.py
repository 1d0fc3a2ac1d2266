"""The concealment tests' weekly channel counts, grouped in the database (SQLite and PostgreSQL), equal
the same counts taken from the case rows, on a seeded county with a few bad rows planted."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select

from dashboard.synth.seed import seed_county
from dashboard.warning import case_detectors as cd
from data_access import feeds_cases as feeds
from data_access.models import Case, Grid
from data_access.moment import Moment
from data_access.scope import Scope

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)   # a Wednesday
ROOT = Scope("320585", "320585")


def _from_rows(conn, scope: Scope, m: Moment, weeks: int):
    """What the engine computed before: every case row of the weeks, counted in pandas."""
    today = np.datetime64(NOW.date(), "D")
    monday = today - np.timedelta64(2, "D")
    start = monday - np.timedelta64(7 * weeks, "D")
    facts = feeds.case_facts(conn, scope, m, int((today - start).astype(np.int64)))
    week_starts = cd._complete_weeks(max(start, facts["day"].values.astype("datetime64[D]").min()), today)
    return week_starts, feeds.channel_week_counts(facts, week_starts)


def _sorted(frame: pd.DataFrame) -> list[tuple]:
    return sorted((r.community, np.datetime64(r.week, "D"), r.source, int(r.n)) for r in frame.itertuples(index=False))


def test_weekly_channel_counts_grouped_in_the_database_equal_the_rows(engine):
    feeds.clear_caches()
    seed_county(engine, seed=5, days=24, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.begin() as conn:
        grid = conn.execute(select(Grid.code).order_by(Grid.code)).first()[0]
        next_id = conn.execute(select(func.max(Case.id))).scalar() + 1
        base = {"title": "测试", "category_code": "0101", "urgency": "normal", "status": "reported", "level": "grid",
                "escalations": 0, "returns": 0, "reworks": 0, "urges": 0}
        at = NOW - timedelta(days=8)
        planted = [  # a NULL source (counts as "other"), malformed grid codes, no grid, a case in the future
            {"source": None, "grid_code": grid}, {"source": "patrol", "grid_code": "32058X"}, {"source": "patrol", "grid_code": grid[:12] + "0x1"},
            {"source": "patrol", "grid_code": None}, {"source": "patrol", "grid_code": grid, "reported_at": NOW + timedelta(days=3)}]
        for i, row in enumerate(planted):
            when = row.pop("reported_at", at)
            conn.execute(insert(Case), [{**base, **row, "id": next_id + i, "code": f"T-{next_id + i}",
                                         "reported_at": when, "updated_at": when}])
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        for weeks in (2, 52):
            mondays, grouped = feeds.community_channel_weeks(conn, ROOT, m, weeks)
            expected_weeks, from_rows = _from_rows(conn, ROOT, m, weeks)
            assert list(mondays) == list(expected_weeks)
            assert _sorted(grouped) == _sorted(from_rows)
        assert len(mondays) == 3   # 24 days back from a Wednesday: the first, partial week is left out
        assert (grouped["source"] == "other").any()
        street = Scope(grid[:9], "320585")
        _, mine = feeds.community_channel_weeks(conn, street, m, 52)
        assert set(mine["community"]) == {c for c in grouped["community"] if c.startswith(grid[:9])}
        empty_weeks, empty = feeds.community_channel_weeks(conn, ROOT, Moment(NOW - timedelta(days=60), TZ), 4)
        assert len(empty_weeks) == 0 and len(empty) == 0
