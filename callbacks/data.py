"""Database reads for the callbacks: the change signal, shared results per data version, outages.

How a wall stays live cheaply (issue 3):

- ``callbacks.live`` asks once a tick for the data version of the view (``live_version``): the
  process's change poller (``dashboard.live``) already knows it, so a tick with nothing new runs
  no query at all; the version travels to the browser in the ``live-version`` store (and, at most
  every few seconds, ``live-slow``).
- What draws data (the tick's tiles and stream; callbacks that take ``Input("live-slow", "data")``)
  reads through the bundle helpers below, keyed by that version: the first viewer of a new version computes (one
  connection, a short lock against a stampede), every other viewer and worker reads the result
  from the cache. ``shared_outputs`` also shares the rendered components, and ``only_changed``
  turns them into ``no_update`` where the browser already shows the same thing.
- A read that fails marks the database as down for a few seconds, so that the wall's callbacks
  answer "stale" at once instead of piling up behind connection timeouts; the next successful
  change poll lifts the mark.

With ``GRIDWALL_LIVE_SIGNAL=off`` (a benchmark switch) the version is the current second and
nothing is shared: every viewer recomputes everything every second.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Sequence, TypeVar

from dash import no_update
from flask import current_app, request
from plotly.utils import PlotlyJSONEncoder
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from dashboard import live
from dashboard.cache import caching_enabled, shared_static, shared_versioned
from data_access.alerts import list_alerts
from data_access.cases import data_as_of, latest_cases, sla_cases
from data_access.db import get_engine
from data_access.figures import alert_figures, case_figures, case_figures_by_child, rate_figures, staffing_figures
from data_access.geo import child_boundaries
from data_access.moment import Moment
from data_access.regions import region_name, region_path
from data_access.scope import Scope

log = logging.getLogger(__name__)
UTC = timezone.utc

T = TypeVar("T")

RETRY_SECONDS = 3.0
LONG_POLL_SECONDS = 1.0  # a tick waits this long for news (assets/live.js: lost after 3 s without answer)
PAST_REFRESH_SECONDS = 60
# Threads per process (dashboard/gunicorn_conf.py reads the same variable with the same default).
THREADS = int(os.environ.get("GRIDWALL_THREADS") or 32)
# Threads of a process that may hold a tick open at once; the rest answer at once (plain polling).
WAIT_SLOTS = int(os.environ.get("GRIDWALL_LIVE_WAITERS") or THREADS // 2)

_down: dict[str, tuple[float, float]] = {}  # url -> (down until, marked at), time.monotonic()
_lock = threading.Lock()
_wait_slots = threading.BoundedSemaphore(max(WAIT_SLOTS, 1))


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


def read(fn: Callable[[Any], T], *, connect: bool = True) -> T:
    """``fn(conn)`` on the wall's database; DataUnavailable when it fails or is known to be down."""
    url = _url()
    if _marked_down(url):
        raise DataUnavailable("database marked down; retrying shortly")
    try:
        if not connect:
            return fn(None)
        with get_engine(url).connect() as conn:
            return fn(conn)
    except HTTPException:  # an authentication answer (401/403) is not an outage
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read leaves the wall stale, never broken
        now = time.monotonic()
        with _lock:
            _down[url] = (now + RETRY_SECONDS, now)
        # A database error is an outage; anything else is a bug worth its traceback in the log.
        log.warning("wall read failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                    exc_info=not isinstance(exc, DBAPIError))
        raise DataUnavailable(str(exc)) from exc


def cached_static(key: str, compute: Callable[[], T], timeout: int = 300) -> T:
    return shared_static(key, compute, timeout)


# --- the data version of a view -------------------------------------------------------------------

def live_enabled() -> bool:
    return current_app.config.get("GRIDWALL_LIVE_SIGNAL", "on") != "off"


def _watch(view) -> live.ChangeWatch:
    return live.watch(_url(), view.base.root, current_app.secret_key or "")


def alerts_token(view, version: str) -> str:
    """A digest of the alerts as of ``version`` ('' when unknown): the slower panels move at once
    when it changes (callbacks.live.slow_version)."""
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


# --- shared results per (kind, region, version) ---------------------------------------------------

def bundle(kind: str, scope: Scope, version: str, compute: Callable[[Any], T]) -> T:
    """``compute(conn)`` once per (kind, region, version), shared by every viewer and worker."""
    return shared_versioned(f"{kind}:{scope.region}:{version}", lambda: read(compute))


SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def open_alerts(conn, scope: Scope, m: Moment, limit: int) -> list[dict[str, Any]]:
    """New and acknowledged alerts: the most severe first, then the newest."""
    rows = list_alerts(conn, scope, m, status="new", limit=limit)
    rows += list_alerts(conn, scope, m, status="acknowledged", limit=limit)
    rows.sort(key=lambda a: (a["created_at"] is None, -(a["created_at"].timestamp() if a["created_at"] else 0)))
    rows.sort(key=lambda a: SEVERITY_RANK.get(a.get("severity"), len(SEVERITY_RANK)))
    return rows[:limit]


def figures_bundle(scope: Scope, m: Moment, version: str) -> dict[str, Any]:
    """Everything the tiles, the SLA board and the alert list show, from one connection."""
    def compute(conn) -> dict[str, Any]:
        return {
            "cases": case_figures(conn, scope, m),
            "rates": rate_figures(conn, scope, m),
            "staffing": staffing_figures(conn, scope, m),
            "alerts": alert_figures(conn, scope, m),
            "alert_list": open_alerts(conn, scope, m, limit=8),
            "sla": sla_cases(conn, scope, m, limit=12),
            "as_of": data_as_of(conn, scope, m),
            "at": m.at,
        }

    return bundle("figures", scope, version, compute)


def stream_bundle(scope: Scope, m: Moment, version: str, limit: int) -> list[dict[str, Any]]:
    return bundle(f"stream{limit}", scope, version, lambda conn: latest_cases(conn, scope, m, limit))


def map_figures(scope: Scope, m: Moment, version: str) -> dict[str | None, dict[str, int]]:
    return bundle("children", scope, version, lambda conn: case_figures_by_child(conn, scope, m))


def data_age(scope: Scope, m: Moment, version: str) -> datetime | None:
    """The latest case change in the scope (``#freshness``): one small query per version."""
    return bundle("as_of", scope, version, lambda conn: data_as_of(conn, scope, m))


def boundaries(scope: Scope) -> dict[str, Any]:
    return cached_static(f"boundaries:{scope.region}", lambda: read(lambda conn: child_boundaries(conn, scope)))


def header_names(base: Scope, scope: Scope) -> dict[str, Any]:
    def compute(conn) -> dict[str, Any]:
        return {"base_name": region_name(conn, base, base.region),
                "path": region_path(conn, base, scope.region)}

    return cached_static(f"names:{base.region}:{scope.region}", lambda: read(compute), timeout=60)


# --- rendered outputs, and only what changed ---------------------------------------------------------

def digest(value: Any) -> str:
    """A short fingerprint of an output value (components included) as the browser receives it."""
    text = json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def shared_outputs(kind: str, scope: Scope, version: str,
                   render: Callable[[], Sequence[Any]]) -> tuple[list[Any], list[str]]:
    """``render()`` (a callback's output values) once per (kind, region, version), with their digests."""
    def compute() -> tuple[list[Any], list[str]]:
        values = list(render())
        return values, [digest(v) for v in values]

    if not caching_enabled():
        return compute()
    return shared_versioned(f"{kind}:{scope.region}:{version}", compute)


def only_changed(values: Sequence[Any], digests: Sequence[str], shown: Any) -> list[Any]:
    """``values`` with ``no_update`` wherever the browser's digest (``shown``) says it has the same."""
    if not isinstance(shown, list) or len(shown) != len(values) or not live_enabled():
        return list(values)
    return [no_update if d == s else v for v, d, s in zip(values, digests, shown)]
