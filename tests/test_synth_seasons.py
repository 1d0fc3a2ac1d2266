"""The realistic synthetic year (seasons.py): volume, holidays, and a truth that matches what was drawn."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from dashboard.analytics.holidays import is_rest_day
from dashboard.synth.seasons import Realism
from dashboard.synth.seed import seed_county
from data_access.db import init_db, make_engine
from data_access.models import Case

SHANGHAI = ZoneInfo("Asia/Shanghai")
END = datetime(2026, 10, 11, 23, 59, tzinfo=SHANGHAI)   # the National Day week and its make-up Saturday


def test_realistic_history_matches_its_truth_and_rests_on_holidays(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'real.db'}")
    init_db(engine)
    truth: dict = {}
    stats = seed_county(engine, days=14, seed=3, now=END, full_ping_days=0, realism=Realism(), truth=truth)
    with engine.connect() as conn:
        reported = [r[0] for r in conn.execute(select(Case.__table__.c.reported_at))]
    engine.dispose()
    assert stats["cases"] == len(reported)
    days = truth["days"]
    assert days[0] == date(2026, 9, 28) and days[-1] == date(2026, 10, 11)
    exp = truth["expected"].sum(axis=(0, 1))          # per day
    drawn = np.zeros(len(days))
    for r in reported:
        drawn[(r.astimezone(SHANGHAI).date() - days[0]).days] += 1
    # about 900 a day on working days (domain.md volume), and what was drawn is what the truth expects
    work = np.array([not is_rest_day(d) for d in days])
    assert 700 < drawn[work].mean() < 1300
    assert abs(drawn.sum() - exp.sum()) < 4 * np.sqrt(exp.sum())
    assert np.all(np.abs(drawn - exp) < 5 * np.sqrt(exp) + 5)
    # holidays run like weekends, the make-up Saturday like a weekday
    holiday = np.array([date(2026, 10, 1) <= d <= date(2026, 10, 7) for d in days])
    assert exp[holiday].mean() < 0.8 * exp[work].mean()
    assert exp[days.index(date(2026, 10, 10))] > 0.8 * exp[work].mean()
    # no shocks: the day factors and storms left out, the rest kept
    calm = truth["expected_no_shock"].sum(axis=(0, 1))
    assert abs(calm.sum() / exp.sum() - 1) < 0.15
