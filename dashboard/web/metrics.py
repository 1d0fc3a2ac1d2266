"""``GET /metrics``: Prometheus text format (prometheus-client), for the operators' monitoring.

- Requests are counted and timed per Flask url rule (``/api/v1/cases/<code>/flow``, never the raw
  path; no rule: ``other``), so no case, user or alert id ever becomes a label value.
- ``gridwall_data_age_seconds`` and ``gridwall_push_outbox_depth`` (pending rows of
  ``gw_push_outbox``, all channels) are computed at scrape time.
- The metrics themselves are defined in dashboard/core/metrics.py: ``gridwall_walls_connected``
  follows the push slots (callbacks/live/push.py); the duties set
  ``gridwall_duty_last_success_timestamp_seconds`` after each successful run
  (dashboard/warning/lock.py ``run_loop``; the worker is its own process: its values reach this
  scrape only through a shared ``PROMETHEUS_MULTIPROC_DIR``).
- Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before
  the server starts (emptied at every start; dashboard/gunicorn_conf.py marks dead workers): every
  worker then writes its values there and a scrape, whichever worker answers it, sums them.
  Without it each process has its own registry.
- Access: with ``GRIDWALL_METRICS_TOKEN`` set only ``Authorization: Bearer <token>`` (else 401/403);
  without it only loopback callers that came through no proxy. No login needed (auth.OPEN_PATHS).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from datetime import datetime, timezone

from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from dashboard.core.metrics import HTTP_DURATION, HTTP_REQUESTS

METRICS_PATH = "/metrics"
OTHER = "other"
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _ScrapeTime:
    """The gauges read when scraped (the same answer whichever worker is asked)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        age = GaugeMetricFamily("gridwall_data_age_seconds",
                                "Seconds since the newest case change in the database (NaN: unknown)")
        age.add_metric([], self._data_age())
        yield age
        yield GaugeMetricFamily("gridwall_push_outbox_depth",
                                "Alerts owed to push channels and not yet sent (NaN: unknown)",
                                value=self._outbox_depth())

    def _engine(self):
        from data_access.db import get_engine

        return get_engine(self.app.config["GRIDWALL_DATABASE_URL"])

    def _outbox_depth(self) -> float:
        from data_access.push import outbox_depth

        try:
            with self._engine().connect() as conn:
                return float(outbox_depth(conn))
        except Exception:  # noqa: BLE001 - the database is down, or has no push tables yet
            return float("nan")

    def _data_age(self) -> float:
        from data_access.db import get_engine
        from data_access.health import database_status

        now = datetime.now(timezone.utc)
        try:
            ok, newest = database_status(get_engine(self.app.config["GRIDWALL_DATABASE_URL"]), now)
        except Exception:  # noqa: BLE001 - an unusable database URL
            ok, newest = False, None
        if not ok or newest is None:
            return float("nan")
        if newest.tzinfo is None:  # SQLite hands back naive UTC
            newest = newest.replace(tzinfo=timezone.utc)
        return max(0.0, (now - newest).total_seconds())


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else OTHER


def _start() -> None:
    g.gw_metrics_start = time.perf_counter()


def _record(response: Response) -> Response:
    start = g.pop("gw_metrics_start", None)
    route = _route()
    method = request.method if request.method in METHODS else OTHER
    HTTP_REQUESTS.labels(route=route, method=method, status=str(response.status_code)).inc()
    if start is not None:
        HTTP_DURATION.labels(route=route).observe(time.perf_counter() - start)
    return response


def _refusal() -> Response | None:
    token = current_app.config.get("GRIDWALL_METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return Response("metrics: bearer token required\n", 401, mimetype="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return Response("metrics: wrong token\n", 403, mimetype="text/plain")
        return None
    # No token: this host only. A request relayed by a proxy on this host arrives from loopback
    # but is anyone's: refuse whatever carries forwarding headers.
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback or "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return Response("metrics: loopback only (set GRIDWALL_METRICS_TOKEN)\n", 403, mimetype="text/plain")
    return None


def _metrics_view():
    refused = _refusal()
    if refused is not None:
        return refused
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTime(current_app._get_current_object()))
    body = generate_latest(registry) + generate_latest(scrape)
    return Response(body, 200, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def init_metrics(server: Flask) -> None:
    """Count and time every request of ``server`` and serve ``/metrics``. Call it first in the app
    factory, so that its timer starts before the other guards (their refusals are counted too)."""
    server.before_request(_start)
    server.after_request(_record)
    server.add_url_rule(METRICS_PATH, endpoint="gridwall_metrics", view_func=_metrics_view, methods=["GET"])
