"""`gridwall simulate`: the county goes on, every change logged; errors never end the loop."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from dashboard.synth import simulate
from dashboard.synth.seed import seed_county
from data_access.models import Case, CaseAction, StaffPing, StaffShift

from .test_seed import NOW, check_lifecycles


def _snapshot(engine):
    with engine.connect() as conn:
        cases = {r.id: r.updated_at for r in conn.execute(select(Case.id, Case.updated_at))}
        return {
            "cases": cases,
            "actions": conn.execute(select(func.count()).select_from(CaseAction)).scalar(),
            "pings": conn.execute(select(func.count()).select_from(StaffPing)).scalar(),
            "last_ping": conn.execute(select(func.max(StaffPing.ts))).scalar(),
            "shifts": conn.execute(select(func.count()).select_from(StaffShift)).scalar(),
        }


def test_simulator_continues_the_county(engine):
    seed_county(engine, seed=3, days=2, now=NOW, full_ping_days=1)
    before = _snapshot(engine)
    # one simulated hour from the seed's end, in two-minute ticks, as fast as it goes
    sim = simulate.run_simulator(engine, speed=1e6, seed=11, start=NOW, max_ticks=30, tick_seconds=120)
    end = NOW + timedelta(hours=1)
    after = _snapshot(engine)
    new_cases = set(after["cases"]) - set(before["cases"])
    assert len(new_cases) >= 5  # a weekday morning: ~30 an hour
    assert after["actions"] > before["actions"] + len(new_cases)
    progressed = [i for i, t in before["cases"].items() if after["cases"][i] > t]
    assert progressed and all(before["cases"][i] <= NOW < after["cases"][i] <= end for i in progressed)
    assert after["pings"] > before["pings"] + 20 * 200  # ~800 workers on duty ping every minute
    assert NOW < after["last_ping"] <= end
    check_lifecycles(engine, end)  # new and progressed cases agree with their logs
    with engine.connect() as conn:
        codes = [c for (c,) in conn.execute(select(Case.code).where(Case.id.in_(new_cases)))]
    assert all(c.startswith("320585-20261125-") for c in codes)
    assert sim.live


def test_simulator_writes_the_roster_of_a_new_day(engine):
    seed_county(engine, seed=3, days=1, now=NOW, full_ping_days=0)
    before = _snapshot(engine)
    midnight_eve = NOW.replace(hour=23, minute=50)
    simulate.run_simulator(engine, speed=1e6, seed=2, start=midnight_eve, max_ticks=12, tick_seconds=120)
    after = _snapshot(engine)
    assert after["shifts"] > before["shifts"] + 500  # the next day's roster


def test_a_database_error_is_retried_not_fatal(engine, monkeypatch):
    seed_county(engine, seed=3, days=1, now=NOW, full_ping_days=0)
    real_step = simulate.Simulator.step
    calls = {"n": 0}

    def flaky(self, t0, t1, every=1):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("UPDATE cases", {}, Exception("database is locked"))
        return real_step(self, t0, t1, every)

    monkeypatch.setattr(simulate.Simulator, "step", flaky)
    before = _snapshot(engine)
    simulate.run_simulator(engine, speed=1e6, seed=5, start=NOW, max_ticks=8, tick_seconds=300,
                           retry_seconds=0.01)
    after = _snapshot(engine)
    assert calls["n"] == 8
    assert len(after["cases"]) > len(before["cases"]) and after["actions"] > before["actions"]
    check_lifecycles(engine, NOW + timedelta(minutes=30))


def test_catch_up_is_bounded_then_live(engine):
    seed_county(engine, seed=3, days=1, now=NOW, full_ping_days=0)
    now = NOW + timedelta(days=4)  # the demo starts four days after seeding
    stop = threading.Event()
    sim = simulate.run_simulator(engine, speed=1e6, seed=9, catch_up=True, stop=stop,
                                 clock=lambda: now.timestamp(), max_ticks=2 * 24 * 6 + 3)
    with engine.connect() as conn:
        first_new = conn.execute(select(func.min(Case.reported_at)).where(Case.reported_at > NOW)).scalar()
        last = conn.execute(select(func.max(Case.updated_at))).scalar()
    assert first_new >= now - timedelta(days=2)
    assert now - timedelta(minutes=30) < last  # caught up to the present
    assert sim.live
