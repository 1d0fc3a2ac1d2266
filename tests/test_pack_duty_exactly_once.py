"""The weekly pack duty of ``gridwall worker`` on both backends: each pack (region x week x format) is
made exactly once even when several workers run the duty at the same moment; a worker that was down
over Monday 07:00 makes the missed packs when it starts (bounded by ``catch_up_weeks``); nothing is
made before Monday 07:00 local; a claim left ``building`` by a worker that died is taken over once
stale; a failed pack is tried again after its backoff. The builder is a fast fake here (it counts its
calls); tests/test_pack_archive_access.py runs the real one once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from dashboard.core.config import PackSettings, Settings
from dashboard.worker.packs import PackDuty
from dashboard.worker.run import start_duties
from data_access import packs as archive
from data_access.db import make_engine
from data_access.models import GwPack
from data_access.scope import Scope

from .api_seed import ROOT, TOWN_A, TOWN_B, seed

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
REGIONS = (ROOT, TOWN_A, TOWN_B)
LAST_WEEK = date(2026, 11, 16)
MONDAY_0700 = datetime(2026, 11, 23, 7, 0, tzinfo=TZ).astimezone(UTC)


class FakeBuild:
    """Stands in for dashboard.pack.build_pack: counts its calls per pack, takes a little time (so that
    workers overlap), and returns a small file naming what it was asked."""

    def __init__(self, delay: float = 0.0, fail: set | None = None):
        self.calls: Counter = Counter()
        self.roles: dict = {}
        self.delay = delay
        self.fail = fail or set()
        self._lock = threading.Lock()

    def __call__(self, engine, scope, period, at, *, role, fmt, rules, public_url, tz):
        key = (scope.region, period.first, fmt)
        with self._lock:
            self.calls[key] += 1
            self.roles[scope.region] = role
        if self.delay:
            time.sleep(self.delay)
        if key in self.fail:
            raise RuntimeError("renderer broke")
        assert period.kind == "week" and period.last == period.first + timedelta(days=6) and at >= period.end
        return f"{fmt}:{scope.region}:{period.first}".encode()


def duty(engine, build, worker="host-a:1", **kw) -> PackDuty:
    return PackDuty(engine, tz=TZ, build=build, worker=worker, filename=lambda t, p, f: f"{t.code}.{f}", **kw)


def root() -> Scope:
    return Scope(ROOT, ROOT)


def archived(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(select(GwPack.region_code, GwPack.period_start, GwPack.fmt, GwPack.status)
                            .order_by(GwPack.period_start, GwPack.region_code, GwPack.fmt)).all()


@pytest.fixture
def county(engine):
    seed(engine)
    return engine


def test_two_workers_at_the_same_moment_make_each_pack_once(county, backend_url):
    """Two workers (each its own engine, as two processes would have) run the duty at Monday 07:00 at
    once: one row per region x week x format, each built by exactly one of them."""
    build = FakeBuild(delay=0.05)
    engines = [county, make_engine(backend_url)]
    duties = [duty(e, build, worker=f"host-{i}:{i}", catch_up_weeks=0) for i, e in enumerate(engines)]
    barrier = threading.Barrier(2)
    reports, errors = {}, []

    def work(i):
        try:
            barrier.wait()
            reports[i] = duties[i].run(root(), MONDAY_0700)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    engines[1].dispose()
    assert not errors, errors
    wanted = {(r, LAST_WEEK, f) for r in REGIONS for f in ("pdf", "xlsx")}
    assert set(build.calls) == wanted and set(build.calls.values()) == {1}, build.calls
    rows = archived(county)
    assert len(rows) == 6 and {(r, s, f) for r, s, f, _ in rows} == wanted and {st for *_, st in rows} == {"ready"}
    assert len(reports[0].built) + len(reports[1].built) == 6
    # the county's pack is the leaders' (with the concealment watch), a street's is the street's
    assert build.roles == {ROOT: "leader", TOWN_A: "street", TOWN_B: "street"}
    with county.connect() as conn:
        audiences = dict(conn.execute(select(GwPack.region_code, GwPack.audience)).all())
        content = conn.execute(select(GwPack.content).where(GwPack.region_code == TOWN_A, GwPack.fmt == "pdf")).scalar()
    assert audiences == {ROOT: "leader", TOWN_A: "street", TOWN_B: "street"}
    assert content == f"pdf:{TOWN_A}:{LAST_WEEK}".encode()
    # a later run (either worker) makes nothing again
    assert duties[0].run(root(), MONDAY_0700 + timedelta(minutes=1)).built == []
    assert set(build.calls.values()) == {1}


def test_nothing_is_made_before_monday_0700_local(county):
    build = FakeBuild()
    duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700 - timedelta(minutes=1))
    assert {week for _, week, _ in build.calls} == {LAST_WEEK - timedelta(weeks=1)}  # the week before: due since
    duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700)
    assert {week for _, week, _ in build.calls} == {LAST_WEEK - timedelta(weeks=1), LAST_WEEK}


def test_a_worker_down_over_monday_catches_up_when_it_starts(county):
    """The packs of 2026-11-02 were made; the worker was down from then until Wednesday 2026-11-25: on
    start it makes the two missed weeks (11-09, 11-16) and leaves the made one alone (catch_up_weeks = 2
    looks back to 11-02)."""
    build = FakeBuild()
    first = date(2026, 11, 2)
    duty(county, build, catch_up_weeks=0).run(root(), datetime(2026, 11, 9, 7, 0, tzinfo=TZ))
    assert {week for _, week, _ in build.calls} == {first}
    build.calls.clear()
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)
    report = duty(county, build, catch_up_weeks=2).run(root(), wednesday)
    assert {week for _, week, _ in build.calls} == {date(2026, 11, 9), LAST_WEEK}
    assert len(report.built) == 12 and set(build.calls.values()) == {1}
    # newest week first: the meeting's pack is not kept waiting by the catch-up
    assert report.built[0][1] == LAST_WEEK
    assert Counter(week for _, week, _, _ in archived(county)) == {first: 6, date(2026, 11, 9): 6, LAST_WEEK: 6}


def test_catch_up_weeks_bounds_how_far_back(county):
    build = FakeBuild()
    duty(county, build, catch_up_weeks=1).run(root(), MONDAY_0700)
    assert {week for _, week, _ in build.calls} == {LAST_WEEK, LAST_WEEK - timedelta(weeks=1)}
    build.calls.clear()
    duty(county, build, catch_up_weeks=0, formats=("pdf",)).run(root(), MONDAY_0700 + timedelta(weeks=1))
    assert set(build.calls) == {(r, LAST_WEEK + timedelta(weeks=1), "pdf") for r in REGIONS}


def test_a_crashed_building_claim_is_taken_over_once_stale(county):
    """A worker claimed a pack and died: a fresh claim is left alone, one older than stale_after is
    taken over by exactly one other worker and finished; the dead worker's late finish is refused."""
    stale_after = timedelta(minutes=15)
    with county.begin() as conn:
        dead = archive.claim_pack(conn, region_code=TOWN_A, period_kind="week", period_start=LAST_WEEK,
                                  period_end=LAST_WEEK + timedelta(days=6), fmt="pdf", audience="street",
                                  worker="dead:9", now=MONDAY_0700, stale_after=stale_after)
    assert dead is not None
    build = FakeBuild()
    duty(county, build, catch_up_weeks=0, stale_after=stale_after).run(root(), MONDAY_0700 + timedelta(minutes=5))
    assert (TOWN_A, LAST_WEEK, "pdf") not in build.calls and len(build.calls) == 5
    with county.connect() as conn:
        row = conn.execute(select(GwPack.status, GwPack.claimed_by).where(GwPack.id == dead)).one()
    assert tuple(row) == ("building", "dead:9")
    later = MONDAY_0700 + timedelta(minutes=16)
    # two workers race for the stale claim: one takes it
    with county.begin() as conn:
        taken = [archive.claim_pack(conn, region_code=TOWN_A, period_kind="week", period_start=LAST_WEEK,
                                    period_end=LAST_WEEK + timedelta(days=6), fmt="pdf", audience="street",
                                    worker=w, now=later, stale_after=stale_after) for w in ("b:2", "c:3")]
    assert taken == [dead, None]
    with county.begin() as conn:
        assert archive.finish_pack(conn, dead, "dead:9", b"late", "x.pdf", later) is False
        assert archive.finish_pack(conn, dead, "b:2", b"%PDF", "x.pdf", later) is True
        row = conn.execute(select(GwPack.status, GwPack.claimed_by, GwPack.attempts, GwPack.size)
                           .where(GwPack.id == dead)).one()
    assert tuple(row) == ("ready", "b:2", 2, 4)


def test_the_duty_takes_over_a_stale_claim_itself(county):
    with county.begin() as conn:
        archive.claim_pack(conn, region_code=ROOT, period_kind="week", period_start=LAST_WEEK,
                           period_end=LAST_WEEK + timedelta(days=6), fmt="xlsx", audience="leader",
                           worker="dead:9", now=MONDAY_0700, stale_after=timedelta(minutes=15))
    build = FakeBuild()
    duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700 + timedelta(minutes=20))
    assert build.calls[(ROOT, LAST_WEEK, "xlsx")] == 1
    assert {st for *_, st in archived(county)} == {"ready"}


def test_a_failed_pack_is_archived_as_failed_and_tried_again_after_its_backoff(county):
    key = (TOWN_B, LAST_WEEK, "xlsx")
    build = FakeBuild(fail={key})
    report = duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700)
    assert report.failed == [key] and len(report.built) == 5
    with county.connect() as conn:
        row = conn.execute(select(GwPack.status, GwPack.error, GwPack.content)
                           .where(GwPack.region_code == TOWN_B, GwPack.fmt == "xlsx")).one()
    assert row.status == "failed" and "renderer broke" in row.error and row.content is None
    # within the backoff (5 minutes after the first failure) nothing is tried; after it, again
    with county.begin() as conn:
        conn.execute(update(GwPack).where(GwPack.region_code == TOWN_B, GwPack.fmt == "xlsx")
                     .values(finished_at=MONDAY_0700))
    duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700 + timedelta(minutes=4))
    assert build.calls[key] == 1
    build.fail.clear()
    duty(county, build, catch_up_weeks=0).run(root(), MONDAY_0700 + timedelta(minutes=6))
    assert build.calls[key] == 2
    with county.connect() as conn:
        row = conn.execute(select(GwPack.status, GwPack.attempts, GwPack.error)
                           .where(GwPack.region_code == TOWN_B, GwPack.fmt == "xlsx")).one()
    assert tuple(row) == ("ready", 2, None)


def test_disabled_packs_make_nothing(county):
    build = FakeBuild()
    duty(county, build, enabled=False).run(root(), MONDAY_0700)
    assert not build.calls and archived(county) == []


def test_two_workers_running_their_duties_make_each_pack_once(county, backend_url, monkeypatch):
    """``gridwall worker``'s wiring (start_duties): two workers, each with the pack duty under its
    single-instance lock, run until the archive is full; every pack was built once."""
    build = FakeBuild(delay=0.02)
    settings = Settings(database_url=backend_url, secret_key="x", packs=PackSettings(catch_up_weeks=1))
    stop = threading.Event()
    engines = [county, make_engine(backend_url)]
    threads = []
    try:
        for i, eng in enumerate(engines):
            pack_duty = PackDuty.from_settings(eng, settings, build=build, worker=f"w{i}:1", stop=stop)
            threads += start_duties(eng, settings, stop, duties=("packs",), packs_interval=0.2, lock_kind="lease"
                                    if eng.dialect.name == "sqlite" else "auto", pack_duty=pack_duty)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with county.connect() as conn:
                if conn.execute(select(func.count()).select_from(GwPack).where(GwPack.status == "ready")).scalar() == 12:
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        engines[1].dispose()
    assert not any(t.is_alive() for t in threads)
    assert len(build.calls) == 12 and set(build.calls.values()) == {1}, build.calls
