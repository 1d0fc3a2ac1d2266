"""Database reads for the callbacks: one connection per bundle, shared results, outage handling.

A read that fails marks the database as down for a few seconds, so that the wall's once-a-second
callbacks answer "stale" at once instead of piling up behind connection timeouts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, TypeVar

from flask import current_app
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from dashboard.cache import shared, shared_static
from data_access.alerts import list_alerts
from data_access.cases import data_as_of, latest_cases, sla_cases
from data_access.db import get_engine
from data_access.figures import alert_figures, case_figures, case_figures_by_child, rate_figures, staffing_figures
from data_access.geo import child_boundaries
from data_access.moment import Moment
from data_access.regions import region_name, region_path
from data_access.scope import Scope

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_SECONDS = 3.0
_down_until: dict[str, float] = {}
_lock = threading.Lock()


class DataUnavailable(RuntimeError):
    """The database could not be read; the wall keeps its last good values."""


def _url() -> str:
    return current_app.config["GRIDWALL_DATABASE_URL"]


def read(fn: Callable[[Any], T], *, connect: bool = True) -> T:
    """``fn(conn)`` on the wall's database; DataUnavailable when it fails or is known to be down."""
    url = _url()
    with _lock:
        if time.monotonic() < _down_until.get(url, 0.0):
            raise DataUnavailable("database marked down; retrying shortly")
    try:
        if not connect:
            return fn(None)
        with get_engine(url).connect() as conn:
            return fn(conn)
    except HTTPException:  # an authentication answer (401/403) is not an outage
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read leaves the wall stale, never broken
        with _lock:
            _down_until[url] = time.monotonic() + RETRY_SECONDS
        # A database error is an outage; anything else is a bug worth its traceback in the log.
        log.warning("wall read failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                    exc_info=not isinstance(exc, DBAPIError))
        raise DataUnavailable(str(exc)) from exc


def cached_static(key: str, compute: Callable[[], T], timeout: int = 300) -> T:
    return shared_static(key, compute, timeout)


SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def open_alerts(conn, scope: Scope, m: Moment, limit: int) -> list[dict[str, Any]]:
    """New and acknowledged alerts: the most severe first, then the newest."""
    rows = list_alerts(conn, scope, m, status="new", limit=limit)
    rows += list_alerts(conn, scope, m, status="acknowledged", limit=limit)
    rows.sort(key=lambda a: (a["created_at"] is None, -(a["created_at"].timestamp() if a["created_at"] else 0)))
    rows.sort(key=lambda a: SEVERITY_RANK.get(a.get("severity"), len(SEVERITY_RANK)))
    return rows[:limit]


def figures_bundle(scope: Scope, m: Moment, live: bool) -> dict[str, Any]:
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
        }

    return shared("figures", scope, m, lambda: read(compute), live=live)


def stream_bundle(scope: Scope, m: Moment, live: bool, limit: int) -> list[dict[str, Any]]:
    return shared(f"stream{limit}", scope, m, lambda: read(lambda conn: latest_cases(conn, scope, m, limit)),
                  live=live)


def map_figures(scope: Scope, m: Moment, live: bool) -> dict[str | None, dict[str, int]]:
    return shared("children", scope, m, lambda: read(lambda conn: case_figures_by_child(conn, scope, m)),
                  live=live)


def boundaries(scope: Scope) -> dict[str, Any]:
    return cached_static(f"boundaries:{scope.region}", lambda: read(lambda conn: child_boundaries(conn, scope)))


def header_names(base: Scope, scope: Scope) -> dict[str, Any]:
    def compute(conn) -> dict[str, Any]:
        return {"base_name": region_name(conn, base, base.region),
                "path": region_path(conn, base, scope.region)}

    return cached_static(f"names:{base.region}:{scope.region}", lambda: read(compute), timeout=60)
