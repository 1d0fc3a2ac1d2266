"""The data version of a view: what the wall's tick and push channel compare to decide what moved.

The process's change poller (``callbacks.live.signal``) already knows the version, so a tick with
nothing new runs no query at all. A tick that finds nothing new may wait for news (long polling)
when the server has a thread to spare. With ``GRIDWALL_LIVE_SIGNAL=off`` (a benchmark switch) the
version is the current second and nothing is shared.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from flask import current_app, request

from callbacks.live import signal as live
from callbacks.live.outage import DataUnavailable, _url

LONG_POLL_SECONDS = 1.0  # a tick waits this long for news (assets/live.js: lost after 3 s without answer)
PAST_REFRESH_SECONDS = 60
# Threads per process (dashboard/gunicorn_conf.py reads the same variable with the same default).
THREADS = int(os.environ.get("GRIDWALL_THREADS") or 32)
# Threads of a process that may hold a tick open at once; the rest answer at once (plain polling).
WAIT_SLOTS = int(os.environ.get("GRIDWALL_LIVE_WAITERS") or THREADS // 2)

_wait_slots = threading.BoundedSemaphore(max(WAIT_SLOTS, 1))


def live_enabled() -> bool:
    return current_app.config.get("GRIDWALL_LIVE_SIGNAL", "on") != "off"


def _watch(view) -> live.ChangeWatch:
    return live.watch(_url(), view.base.root, current_app.secret_key or "")


def alerts_token(view, version: str) -> str:
    """A digest of the alerts as of ``version`` ('' when unknown): the slower panels move at once
    when it changes (callbacks.live.tick.slow_version)."""
    if not view.live or not live_enabled():
        return ""
    return _watch(view).alerts_token(version) or ""


def live_version(view, known: str | None = None, wait: float = 0.0, *, own_thread: bool = False) -> str:
    """The data version ``view`` should show; DataUnavailable while the database cannot be read.

    With ``wait`` (seconds) and a ``known`` version, waits for a newer one if the server has a
    thread to spare (long polling: news reach the wall within a poll, not at the next tick).
    ``own_thread``: the caller holds a thread of its own for waiting (the push channel).
    """
    if not view.live:
        return f"past-{int(view.at.timestamp())}-{int(time.time() // PAST_REFRESH_SECONDS)}"
    if not live_enabled():
        return f"second-{int(time.time())}"
    w = _watch(view)
    if wait > 0 and known and own_thread:
        sig = w.wait(known, wait)
    elif wait > 0 and known and _may_wait() and _wait_slots.acquire(blocking=False):
        try:
            sig = w.wait(known, wait)
        finally:
            _wait_slots.release()
    else:
        sig = w.signal()
    if not sig.ok:
        raise DataUnavailable("the change poll fails", since=sig.down_since)
    return sig.version


def _may_wait() -> bool:
    try:
        return bool(request.environ.get("wsgi.multithread"))
    except RuntimeError:  # no request (a direct call)
        return False


def accepted_version(view, live_data: Any) -> str:
    """The version a data callback works with: the one in the browser's ``live-version`` store when
    it is a genuine current one (another worker may have seen it a poll earlier than this one),
    else this process's own."""
    if view.live and live_enabled() and isinstance(live_data, dict) and live_data.get("view") == view.key:
        version = live_data.get("v")
        if _watch(view).valid(version):
            return version
    return live_version(view)


