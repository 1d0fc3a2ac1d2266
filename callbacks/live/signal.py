"""The change signal of a process: one poller per database, shared by every viewer of that process.

A daemon thread polls ``data_access.changes.data_version`` every ``POLL_SECONDS`` while someone is
watching (it stops after ``IDLE_SECONDS`` without a viewer and starts again on demand). Viewers
read the latest version without touching the database, or wait for the next one (long polling).

A version names what the wall shows: the fingerprint of the rows plus a time bucket of
``REFRESH_SECONDS``, because the figures are defined at a moment T and some move with the clock
alone (a case turning overdue, a worker's last ping ageing out of "online"). Every process derives
the same version from the same rows and bucket, so cache entries keyed by it are shared. Versions
are signed with the app's secret: a browser hands its version back, and a forged one must not make
the server compute (and cache) figures on demand.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app, has_app_context

from data_access.changes import data_version
from data_access.rollup import STALE_AFTER_SECONDS
from data_access.db import get_engine
from data_access.scope import Scope

log = logging.getLogger(__name__)
UTC = timezone.utc

POLL_SECONDS = 0.1  # 1.7-2.3 ms a poll on PostgreSQL at 1M cases: 2 % of a core per worker
DOWN_POLL_SECONDS = 1.0  # while the database is down: reconnect attempts, not a storm of them
REFRESH_SECONDS = 10
STALE_AFTER = 4.0  # no successful poll for this long counts as an outage (a hung connection)
FIRST_POLL_WAIT = 5.0
IDLE_SECONDS = 60.0
ALERT_TOKENS_KEPT = 64


@dataclass(frozen=True)
class Signal:
    version: str | None  # None while the database cannot be read
    down_since: datetime | None = None  # the first failed poll of the current outage

    @property
    def ok(self) -> bool:
        return self.version is not None


class ChangeWatch:
    """The poller of one (database, deployment root) in this process."""

    def __init__(self, url: str, root: str, secret: bytes):
        self.url, self.root, self._secret = url, root, secret
        self._cond = threading.Condition()
        self._version: str | None = None
        self._polled = False
        self._ok_at = 0.0  # time.monotonic() of the last successful poll
        self._down_since: datetime | None = None
        self._demand_at = time.monotonic()
        self._thread: threading.Thread | None = None
        self._alerts: dict[str, str] = {}  # version -> its alerts token, the newest ALERT_TOKENS_KEPT
        self.stale_after = STALE_AFTER_SECONDS  # roll-up: a county feed this much behind is stale

    # --- what viewers call --------------------------------------------------------------------

    def signal(self) -> Signal:
        with self._cond:
            self._touch()
            if not self._polled:
                self._cond.wait_for(lambda: self._polled, timeout=FIRST_POLL_WAIT)
            return self._current()

    def wait(self, known: str | None, timeout: float) -> Signal:
        """The signal once the version differs from ``known`` (or the database fails), else at ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._touch()
            if not self._polled:
                self._cond.wait_for(lambda: self._polled, timeout=FIRST_POLL_WAIT)
            while True:
                sig = self._current()
                left = deadline - time.monotonic()
                if sig.version != known or not sig.ok or left <= 0:
                    return sig
                self._cond.wait(timeout=left)

    def refresh(self) -> Signal:
        """Poll now, in the caller's thread (tests, and a viewer that must not wait for the poller)."""
        self._poll_once()
        with self._cond:
            return self._current()

    def alerts_token(self, version: str) -> str | None:
        """What the alerts looked like in ``version`` (newest id, new and acknowledged counts), as a
        short digest: equal tokens, same alerts. None for a version this process has not polled."""
        with self._cond:
            return self._alerts.get(version)

    @property
    def last_ok(self) -> float:
        return self._ok_at

    def valid(self, version: object) -> bool:
        """Whether ``version`` is one this deployment signed (and not from a long-gone bucket)."""
        if not isinstance(version, str) or version.count(".") != 2:
            return False
        digest, bucket, mac = version.split(".")
        if not bucket.isdigit() or abs(int(bucket) - _bucket()) > 2:
            return False
        return hmac.compare_digest(mac, self._mac(f"{digest}.{bucket}"))

    # --- the poller -----------------------------------------------------------------------------

    def _touch(self) -> None:
        self._demand_at = time.monotonic()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name=f"gridwall-changes-{self.root}", daemon=True)
            self._thread.start()

    def _current(self) -> Signal:
        if self._version is not None and time.monotonic() - self._ok_at > STALE_AFTER:
            # The poller hangs (a connection that neither answers nor fails): not live any more.
            return Signal(None, self._down_since or datetime.now(UTC))
        return Signal(self._version, self._down_since)

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    if time.monotonic() - self._demand_at > IDLE_SECONDS:
                        self._thread = None
                        return
                ok = self._poll_once()
                time.sleep(POLL_SECONDS if ok else DOWN_POLL_SECONDS)
        except SystemExit:  # a test server stopping its threads; the next viewer starts a new poller
            return

    def _poll_once(self) -> bool:
        try:
            with get_engine(self.url).connect() as conn:
                fingerprint = data_version(conn, Scope.whole_deployment(self.root), datetime.now(UTC),
                                           stale_after=self.stale_after)
        except Exception as exc:  # noqa: BLE001 - any failure is an outage of the feed
            with self._cond:
                if self._version is not None or not self._polled:
                    log.warning("change poll failed: %s: %s", type(exc).__name__,
                                str(exc).splitlines()[0] if str(exc) else "")
                if self._down_since is None:
                    self._down_since = datetime.now(UTC)
                self._version, self._polled = None, True
                self._cond.notify_all()
            return False
        digest = hashlib.sha1(repr(fingerprint).encode()).hexdigest()[:12]
        bucket = _bucket()
        version = f"{digest}.{bucket}.{self._mac(f'{digest}.{bucket}')}"
        alerts = hashlib.sha1(repr(fingerprint[-3:]).encode()).hexdigest()[:8]
        with self._cond:
            self._ok_at = time.monotonic()
            self._alerts[version] = alerts
            while len(self._alerts) > ALERT_TOKENS_KEPT:
                del self._alerts[next(iter(self._alerts))]
            changed = version != self._version or not self._polled
            self._version, self._polled, self._down_since = version, True, None
            if changed:
                self._cond.notify_all()
        return True

    def _mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:10]


def _bucket() -> int:
    return int(time.time() // REFRESH_SECONDS)


_watches: dict[tuple[int, str, str], ChangeWatch] = {}
_watches_lock = threading.Lock()


def watch(url: str, root: str, secret: str | bytes) -> ChangeWatch:
    """The process's watch of ``url`` at ``root`` (a forked worker gets its own)."""
    key = (os.getpid(), url, root)
    with _watches_lock:
        w = _watches.get(key)
        if w is None:
            w = _watches[key] = ChangeWatch(url, root, secret.encode() if isinstance(secret, str) else secret)
            if has_app_context():
                w.stale_after = current_app.config.get("GRIDWALL_ROLLUP_STALE_SECONDS", w.stale_after)
        return w


def forget(url: str) -> None:
    """Stop this process's pollers of ``url`` (tests, when a database goes away for good)."""
    with _watches_lock:
        gone = [k for k in _watches if k[1] == url]
        for k in gone:
            w = _watches.pop(k)
            w._demand_at = float("-inf")


def refresh_all() -> None:
    """Poll every watch of this process now (tests: a change is then seen without waiting)."""
    with _watches_lock:
        mine = [w for (pid, _, _), w in _watches.items() if pid == os.getpid()]
    for w in mine:
        w.refresh()


def last_ok(url: str) -> float:
    """time.monotonic() of this process's last successful change poll of ``url`` (0 if none)."""
    with _watches_lock:
        return max((w.last_ok for (pid, u, _), w in _watches.items() if u == url and pid == os.getpid()),
                   default=0.0)
