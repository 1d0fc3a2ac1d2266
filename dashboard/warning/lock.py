"""One active engine when several run (``gridwall warn --loop`` on several hosts, or beside a demo).

Which lock (``make_lock``, ``--lock auto``):
- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a dedicated connection held
  for the life of the loop. It lives with the data it protects, needs no clock and no other
  service, and PostgreSQL drops it the moment the holder's session ends (process killed, host or
  network gone: after TCP keepalive). Before each run the holder checks its connection; a lost
  connection means a lost lock, and the loop goes back to standby. The key is derived from the
  database and schema names, so deployments sharing a server do not block each other.
- Other databases (the embedded SQLite): a lease row in ``gw_warn_state`` (holder, expires_at),
  renewed by a heartbeat thread every third of the lease; a holder that dies stops renewing and
  a standby takes over when the lease runs out. Wall clocks of the instances must agree (on
  SQLite they share a host).
- ``redis``: ``SET key token NX PX lease`` with the same heartbeat (compare-and-extend,
  compare-and-delete in Lua), for setups where the database cannot take locks; chosen by
  ``--lock redis`` or, on a non-PostgreSQL database, when GRIDWALL_REDIS_URL is set.
A standby polls for the lock every ``standby_poll`` seconds. ``--once`` and ``--replay`` take no
lock: they are one-off runs an operator starts, and the engine's writes are idempotent per
situation (insert ... on conflict do nothing on the dedup key).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dashboard.core.metrics import duty_succeeded
from data_access import alerts_write, duties, locks
from data_access.moment import Moment
from data_access.regions import find_root
from data_access.scope import Scope

from .engine import EngineState, RunReport, run_engine

log = logging.getLogger("gridwall.warning")
UTC = timezone.utc
LOCK_NAME = "gridwall.warn"
DEFAULT_LEASE = 30.0


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DutyReport:
    """What ``run_loop`` tells ``gw_duties`` about its instance (for /ops and /healthz): active after each
    successful run (and when it takes the lock), standby at most every ``STANDBY_EVERY``, stopped at the
    end. A failed write is logged and never stops the duty."""

    STANDBY_EVERY = timedelta(seconds=30)
    SUCCESS_EVERY = timedelta(seconds=10)  # a duty that runs every second (push) writes its success less often
    FORGET_AFTER = timedelta(days=1)  # other instances not seen for this long: processes long gone

    def __init__(self, engine: Engine, duty: str, instance: str, lock_kind: str, interval: float):
        self.engine, self.duty, self.instance = engine, duty, instance
        self.lock_kind, self.interval = lock_kind, interval
        self.last: tuple[str, datetime, bool] | None = None  # state, when, a success

    def __call__(self, state: str, now: datetime, succeeded: bool = False) -> None:
        if self.last is not None and self.last[0] == state:
            gap = now - self.last[1]
            if (gap < self.SUCCESS_EVERY and (self.last[2] or not succeeded)) or \
                    (not succeeded and gap < self.STANDBY_EVERY):
                return
        try:
            with self.engine.begin() as conn:
                duties.record_duty(conn, duty=self.duty, instance=self.instance, state=state, now=now,
                                   succeeded=succeeded, lock_kind=self.lock_kind, interval_s=self.interval)
                if succeeded:
                    duties.prune_duty(conn, self.duty, keep=self.instance, unseen_before=now - self.FORGET_AFTER)
        except Exception:  # noqa: BLE001 - bookkeeping only: the duty goes on
            log.warning("%s: duty state not recorded (%s)", self.duty, state, exc_info=log.isEnabledFor(logging.DEBUG))
            return
        self.last = (state, now, succeeded)


class InstanceLock:
    """acquire() tries without waiting; held() checks the lock is still ours; release() lets go."""

    kind = ""

    def acquire(self) -> bool:
        raise NotImplementedError

    def held(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class PgAdvisoryLock(InstanceLock):
    kind = "postgres"

    def __init__(self, engine: Engine, name: str = LOCK_NAME):
        self.engine = engine
        self.name = name
        self._conn = None
        self.key: int | None = None

    def acquire(self) -> bool:
        if self.held():
            return True
        conn = locks.lock_connection(self.engine)
        try:
            db, schema = locks.database_and_schema(conn)
            digest = hashlib.blake2b(f"{self.name}:{db}:{schema}".encode(), digest_size=8).digest()
            self.key = int.from_bytes(digest, "big", signed=True)
            if locks.try_advisory_lock(conn, self.key):
                self._conn = conn
                return True
        except Exception:
            _discard(conn)
            raise
        # not ours: a session advisory lock outlives a connection handed back to the pool, so
        # this connection is closed for real rather than pooled
        _discard(conn)
        return False

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            locks.session_alive(self._conn)
            return True
        except Exception:  # noqa: BLE001 - the session is gone, and the lock with it
            log.warning("warning: the lock's database session is gone; the lock is lost")
            _discard(self._conn)
            self._conn = None
            return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            locks.advisory_unlock(conn, self.key)
        except Exception:  # noqa: BLE001
            pass
        _discard(conn)

    def backend_pid(self) -> int | None:
        """The holder's PostgreSQL backend (for tests and diagnostics)."""
        if self._conn is None:
            return None
        return locks.backend_pid(self._conn)


def _discard(conn) -> None:
    try:
        conn.invalidate()
    except Exception:  # noqa: BLE001
        pass
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass


class _LeasedLock(InstanceLock):
    """A lease renewed by a heartbeat thread every third of its length."""

    def __init__(self, lease: float = DEFAULT_LEASE):
        self.lease = float(lease)
        self.holder = _holder_id()
        self._held = False
        self._stop: threading.Event | None = None
        self._guard = threading.Lock()

    def _take(self) -> bool:
        raise NotImplementedError

    def _renew(self) -> bool:
        raise NotImplementedError

    def _drop(self) -> None:
        raise NotImplementedError

    def acquire(self) -> bool:
        with self._guard:
            if self._held:
                return True
            if not self._take():
                return False
            self._held = True
            self._stop = threading.Event()
            threading.Thread(target=self._heartbeat, args=(self._stop,), name=f"{self.kind}-lease",
                             daemon=True).start()
            return True

    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        with self._guard:
            if self._stop is not None:
                self._stop.set()
            was, self._held = self._held, False
        if was:
            try:
                self._drop()
            except Exception:  # noqa: BLE001 - the lease runs out by itself
                log.warning("warning: could not release the %s lease; it expires in %.0f s", self.kind, self.lease)

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease / 3):
            try:
                ok = self._renew()
            except Exception:  # noqa: BLE001 - keep trying until the lease would have run out
                log.warning("warning: could not renew the %s lease", self.kind, exc_info=True)
                continue
            if not ok:
                log.warning("warning: the %s lease was taken over; going to standby", self.kind)
                with self._guard:
                    self._held = False
                return


class LeaseLock(_LeasedLock):
    """A lease row in gw_warn_state."""

    kind = "lease"

    def __init__(self, engine: Engine, name: str = LOCK_NAME, lease: float = DEFAULT_LEASE):
        super().__init__(lease)
        self.engine = engine
        self.name = f"lock:{name}"

    def _times(self) -> tuple[datetime, datetime]:
        now = datetime.now(UTC)
        return now, now + timedelta(seconds=self.lease)

    def _take(self) -> bool:
        now, until = self._times()
        with self.engine.begin() as conn:
            return alerts_write.take_lease(conn, self.name, self.holder, now, until)

    def _renew(self) -> bool:
        now, until = self._times()
        with self.engine.begin() as conn:
            return alerts_write.renew_lease(conn, self.name, self.holder, now, until)

    def _drop(self) -> None:
        with self.engine.begin() as conn:
            alerts_write.drop_lease(conn, self.name, self.holder, datetime.now(UTC))


_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")
_DELETE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisLock(_LeasedLock):
    kind = "redis"

    def __init__(self, redis_url: str, database_url: str, name: str = LOCK_NAME, lease: float = DEFAULT_LEASE):
        import redis

        super().__init__(lease)
        self.client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        # one lock per database: the URL without its password names it
        from sqlalchemy import make_url

        ident = make_url(database_url).render_as_string(hide_password=True)
        self.key = f"{name}:{hashlib.sha1(ident.encode()).hexdigest()[:16]}"

    def _take(self) -> bool:
        return bool(self.client.set(self.key, self.holder, nx=True, px=int(self.lease * 1000)))

    def _renew(self) -> bool:
        return bool(self.client.eval(_RENEW, 1, self.key, self.holder, int(self.lease * 1000)))

    def _drop(self) -> None:
        self.client.eval(_DELETE, 1, self.key, self.holder)


def make_lock(engine: Engine, kind: str = "auto", *, redis_url: str | None = None,
              lease: float = DEFAULT_LEASE, name: str = LOCK_NAME) -> InstanceLock:
    """The single-instance lock ``name`` (default: the engine's; ``gridwall worker`` takes one per duty)."""
    if kind == "auto":
        kind = "postgres" if engine.dialect.name == "postgresql" else ("redis" if redis_url else "lease")
    if kind == "postgres":
        if engine.dialect.name != "postgresql":
            raise ValueError("--lock postgres needs a PostgreSQL database")
        return PgAdvisoryLock(engine, name)
    if kind == "redis":
        if not redis_url:
            raise ValueError("--lock redis needs GRIDWALL_REDIS_URL")
        return RedisLock(redis_url, engine.url.render_as_string(hide_password=False), name=name, lease=lease)
    if kind == "lease":
        return LeaseLock(engine, name, lease=lease)
    raise ValueError(f"unknown lock kind {kind!r}")


def run_loop(engine: Engine, *, tz: ZoneInfo, root: str | None = None, interval: float = 60.0,
             stop: threading.Event | None = None, lock: InstanceLock | None = None,
             standby_poll: float | None = None, max_runs: int | None = None,
             run: Callable[[Engine, Scope, Moment, EngineState], RunReport] | None = None,
             clock: Callable[[], datetime] | None = None, first_delay: float = 0.0,
             retry_seconds: float = 2.0, label: str = "warning") -> int:
    """Run the engine every ``interval`` seconds while this instance holds the lock; otherwise wait
    as standby. Database errors are logged and retried with backoff; nothing but ``stop`` (or
    ``max_runs`` runs, for tests) ends the loop. ``first_delay``: seconds to wait before the first
    attempt (the demo lets its simulator catch up first). ``label`` names the duty in the log
    (``gridwall worker`` runs other duties through this loop too). Returns the number of runs made."""
    stop = stop or threading.Event()
    if first_delay > 0 and stop.wait(first_delay):
        return 0
    lock = lock or make_lock(engine)
    run = run or (lambda eng, scope, m, state: run_engine(eng, scope, m, state=state))
    clock = clock or (lambda: datetime.now(UTC))
    poll = standby_poll if standby_poll is not None else min(interval, 15.0)
    state = EngineState()
    report_duty = DutyReport(engine, label, getattr(lock, "holder", None) or _holder_id(), lock.kind, interval)
    runs = failures = 0
    active = None  # last logged role, to log changes only
    scope: Scope | None = None
    try:
        while not stop.is_set() and (max_runs is None or runs < max_runs):
            try:
                mine = lock.held() or lock.acquire()
            except Exception:  # noqa: BLE001 - the database (or Redis) is down: retry
                failures += 1
                log.exception("%s: cannot reach the lock (attempt %d)", label, failures)
                stop.wait(_backoff(failures, retry_seconds))
                continue
            if not mine:
                if active is not False:
                    log.info("%s: another instance is active; standing by (%s lock)", label, lock.kind)
                    active = False
                report_duty("standby", clock())
                stop.wait(poll)
                continue
            if active is not True:
                log.info("%s: this instance is active (%s lock)", label, lock.kind)
                active = True
                report_duty("active", clock())
            started = time.monotonic()
            try:
                if scope is None:
                    with engine.connect() as conn:
                        code = find_root(conn, root)
                    scope = Scope.whole_deployment(code)
                report = run(engine, scope, Moment(clock(), tz), state)
                runs += 1
                failures = 0
                duty_succeeded(label)
                report_duty("active", clock(), succeeded=True)
                if report is not None:
                    log.info("%s: %s", label, report.summary())
            except Exception:  # noqa: BLE001 - log, back off, try again
                failures += 1
                log.exception("%s: run failed (attempt %d)", label, failures)
                stop.wait(_backoff(failures, retry_seconds))
                continue
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
    finally:
        lock.release()
        if report_duty.last is not None:
            report_duty("stopped", clock())
    return runs


def _backoff(failures: int, base: float) -> float:
    return min(60.0, base * 2 ** min(failures - 1, 5))
