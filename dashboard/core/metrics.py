"""The process's Prometheus metrics (prometheus-client): defined once here, so that the web layer,
the push channel and the worker duties all write the same ones. ``GET /metrics`` serves them
(dashboard/web/metrics.py, which also says how several gunicorn workers are summed).

Label values are bounded: url rules (never raw paths), methods, status codes, duty and channel names;
never a case, user or alert id.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("gridwall_http_requests_total", "HTTP requests answered, by url rule",
                        ("route", "method", "status"))
HTTP_DURATION = Histogram("gridwall_http_request_duration_seconds", "Time to answer a request, by url rule",
                          ("route",))
WALLS_CONNECTED = Gauge("gridwall_walls_connected", "Walls holding the push channel (/live/events) open",
                        multiprocess_mode="livesum")
PUSH_SENT = Counter("gridwall_push_sent_total", "Pushed messages, by channel and result", ("channel", "result"))
DUTY_LAST_SUCCESS = Gauge("gridwall_duty_last_success_timestamp_seconds",
                          "Unix time of the last successful run of a worker duty", ("duty",),
                          multiprocess_mode="max")


def duty_succeeded(duty: str) -> None:
    """A duty (``warning``, ``packs``, ``push`` ...) finished a run: called by the engine's ``run_loop``. Never raises."""
    try:
        DUTY_LAST_SUCCESS.labels(duty=duty).set(time.time())
    except Exception:  # noqa: BLE001 - monitoring must not stop a duty
        pass
