"""One active early-warning engine when several run: the PostgreSQL advisory lock (two instances,
one active; the second takes over when the first releases or dies), the lease row (SQLite and
PostgreSQL), the Redis lock, and a loop that survives database errors."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from dashboard.warning import lock as wl
from data_access import alerts_write
from data_access.db import init_db, make_engine

from .conftest import PG_URL, REDIS_URL, _drop_pg_schema, _pg_schema_engine, pg_schema_url
from .ops_county import SHANGHAI, build_map

WAIT = 60  # seconds a test waits for something that happens at once; never a timing assertion


@pytest.fixture
def pg_url():
    """A URL whose connections live in a fresh schema of the test database."""
    schema = f"gwlock_{uuid.uuid4().hex[:12]}"
    _pg_schema_engine(schema).dispose()
    yield pg_schema_url(schema)
    _drop_pg_schema(schema)


@pytest.fixture
def engines(pg_url):
    made = [make_engine(pg_url) for _ in range(3)]
    yield made
    for e in made:
        e.dispose()


@pytest.mark.postgres
def test_advisory_lock_one_holder_at_a_time(engines):
    first, second = wl.PgAdvisoryLock(engines[0]), wl.PgAdvisoryLock(engines[1])
    assert first.acquire() and first.held()
    assert not second.acquire() and not second.held()
    assert first.acquire()  # idempotent for the holder
    first.release()
    assert not first.held()
    assert second.acquire() and second.held()
    assert not first.acquire()
    second.release()


@pytest.mark.postgres
def test_advisory_lock_passes_on_when_the_holder_dies(engines):
    first, second = wl.PgAdvisoryLock(engines[0]), wl.PgAdvisoryLock(engines[1])
    assert first.acquire()
    pid = first.backend_pid()
    with engines[2].connect() as admin:  # the holder's session ends as when its process is killed
        assert admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    assert second.acquire()
    assert not first.held()          # the holder notices its session (and lock) are gone
    assert not first.acquire()       # and stands by
    second.release()


@pytest.mark.postgres
def test_advisory_lock_is_per_schema(engines):
    schema = f"gwlock_{uuid.uuid4().hex[:12]}"
    other = _pg_schema_engine(schema)
    try:
        mine, theirs = wl.PgAdvisoryLock(engines[0]), wl.PgAdvisoryLock(other)
        assert mine.acquire() and theirs.acquire()
        mine.release()
        theirs.release()
    finally:
        other.dispose()
        _drop_pg_schema(schema)


class Spy(wl.InstanceLock):
    """Wraps a lock and counts refusals."""

    def __init__(self, inner):
        self.inner, self.kind = inner, inner.kind
        self.refused = threading.Semaphore(0)

    def acquire(self):
        got = self.inner.acquire()
        if not got:
            self.refused.release()
        return got

    def held(self):
        return self.inner.held()

    def release(self):
        self.inner.release()


def _loop(engine, lock, runs: list, ran: threading.Semaphore, stop: threading.Event) -> threading.Thread:
    def record(eng, scope, m, state):
        runs.append(m.at)
        ran.release()

    thread = threading.Thread(target=wl.run_loop, args=(engine,), daemon=True, kwargs=dict(
        tz=SHANGHAI, interval=0.02, standby_poll=0.02, stop=stop, lock=lock, run=record))
    thread.start()
    return thread


@pytest.mark.postgres
def test_two_loops_only_one_is_active_and_the_other_takes_over(engines):
    init_db(engines[0])
    with engines[0].begin() as conn:
        build_map(conn)
    runs_a, runs_b = [], []
    ran_a, ran_b = threading.Semaphore(0), threading.Semaphore(0)
    stop_a, stop_b = threading.Event(), threading.Event()
    a = _loop(engines[0], wl.PgAdvisoryLock(engines[0]), runs_a, ran_a, stop_a)
    assert ran_a.acquire(timeout=WAIT)
    spy = Spy(wl.PgAdvisoryLock(engines[1]))
    b = _loop(engines[1], spy, runs_b, ran_b, stop_b)
    for _ in range(3):  # b has asked for the lock three times while a kept running
        assert spy.refused.acquire(timeout=WAIT)
    assert ran_a.acquire(timeout=WAIT)
    assert runs_b == []
    stop_a.set()
    a.join(WAIT)
    assert not a.is_alive()
    assert ran_b.acquire(timeout=WAIT)  # b took over once a let go
    count_a = len(runs_a)
    assert ran_b.acquire(timeout=WAIT) and len(runs_a) == count_a
    stop_b.set()
    b.join(WAIT)


def test_lease_lock_exclusive_released_and_expired(engine):
    first, second = wl.LeaseLock(engine, lease=600), wl.LeaseLock(engine, lease=600)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire() and not first.acquire()
    # the holder dies: its heartbeat stops and nothing releases the lease; once it runs out ...
    second._stop.set()
    with engine.begin() as conn:
        assert alerts_write.renew_lease(conn, second.name, second.holder, _utc(0), _utc(-1))  # lease ran out
    assert first.acquire()
    with engine.begin() as conn:  # ... and the dead holder, were it to wake up, cannot renew it
        assert not alerts_write.renew_lease(conn, second.name, second.holder, _utc(0), _utc(600))
    first.release()


def _utc(seconds: float):
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def test_lease_heartbeat_notices_a_takeover(engine):
    first, second = wl.LeaseLock(engine, lease=0.3), wl.LeaseLock(engine, lease=600)
    assert first.acquire()
    with engine.begin() as conn:  # another instance forces the lease over (as after an expiry)
        assert alerts_write.take_lease(conn, second.name, second.holder, _utc(3600), _utc(3600))
    for _ in range(WAIT * 10):
        if not first.held():
            break
        threading.Event().wait(0.1)
    assert not first.held()


@pytest.mark.redis
def test_redis_lock_exclusive_and_released():
    db = f"sqlite:///{uuid.uuid4().hex}.db"
    first, second = wl.RedisLock(REDIS_URL, db, lease=30), wl.RedisLock(REDIS_URL, db, lease=30)
    other = wl.RedisLock(REDIS_URL, "sqlite:///another.db", lease=30)
    try:
        assert first.acquire() and not second.acquire()
        assert other.acquire()  # another database, another lock
        first.release()
        assert second.acquire()
    finally:
        for lock in (first, second, other):
            lock.release()


def test_make_lock_picks_by_database(engine):
    if engine.dialect.name == "postgresql":
        assert isinstance(wl.make_lock(engine), wl.PgAdvisoryLock)
    else:
        assert isinstance(wl.make_lock(engine), wl.LeaseLock)
        assert isinstance(wl.make_lock(engine, redis_url=REDIS_URL), wl.RedisLock)
        with pytest.raises(ValueError):
            wl.make_lock(engine, "postgres")
    assert isinstance(wl.make_lock(engine, "lease"), wl.LeaseLock)
    with pytest.raises(ValueError):
        wl.make_lock(engine, "redis")


def test_the_loop_survives_database_errors(engine):
    with engine.begin() as conn:
        build_map(conn)
    calls = []

    def flaky(eng, scope, m, state):
        calls.append(m.at)
        if len(calls) <= 2:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    runs = wl.run_loop(engine, tz=SHANGHAI, interval=0.01, max_runs=3, run=flaky, retry_seconds=0.01,
                       lock=wl.LeaseLock(engine))
    assert runs == 3 and len(calls) == 5
