"""Outage handling for every wall read: a failed read marks the database down for a few seconds.

The wall's callbacks then answer "stale" at once instead of piling up behind connection timeouts;
the next successful change poll (``callbacks.live.signal``) lifts the mark. Only a failure to read
the database is an outage: an authentication answer is passed on as it is.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable, TypeVar

from flask import current_app
from sqlalchemy import exc as sa_exc

from callbacks.live import signal as live
from data_access.db import get_engine

log = logging.getLogger("callbacks.live")
T = TypeVar("T")

RETRY_SECONDS = 3.0

_down: dict[str, tuple[float, float]] = {}  # url -> (down until, marked at), time.monotonic()
_lock = threading.Lock()


class DataUnavailable(RuntimeError):
    """The database could not be read; the wall keeps its last good values."""

    def __init__(self, message: str, since: datetime | None = None):
        super().__init__(message)
        self.since = since


def _url() -> str:
    return current_app.config["GRIDWALL_DATABASE_URL"]


def _marked_down(url: str) -> bool:
    with _lock:
        until, marked_at = _down.get(url, (0.0, 0.0))
        if time.monotonic() >= until:
            return False
        if live.last_ok(url) > marked_at:  # the change poller has reached it since
            _down.pop(url, None)
            return False
        return True


def unreachable(exc: BaseException) -> bool:
    """A failure to reach the database (refused, lost or timed-out connection, pool exhausted), as
    opposed to a bad request or a bug: only this may mark the database down for everyone."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def read(fn: Callable[[Any], T], *, connect: bool = True) -> T:
    """``fn(conn)`` on the wall's database; DataUnavailable when it cannot be reached or is known to be down.

    Any other failure (a malformed request that slipped past validation, a bug) is raised as it is:
    it answers that one request with an error and marks nothing, so no other wall notices.
    """
    url = _url()
    if _marked_down(url):
        raise DataUnavailable("database marked down; retrying shortly")
    try:
        if not connect:
            return fn(None)
        with get_engine(url).connect() as conn:
            return fn(conn)
    except Exception as exc:
        if not unreachable(exc):
            raise
        now = time.monotonic()
        with _lock:
            _down[url] = (now + RETRY_SECONDS, now)
        log.warning("wall read failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        raise DataUnavailable(str(exc)) from exc
