"""gunicorn settings for gridwall: ``gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi:server``.

gunicorn writes ``Server: gunicorn`` into every response itself (the application cannot remove
it); this file drops that line, so the server does not announce its software or version. Bind
address and worker count come from the usual GUNICORN_CMD_ARGS / command-line options.

``GET /metrics`` with several workers: set ``PROMETHEUS_MULTIPROC_DIR`` to a directory that exists,
is writable by the workers and is emptied before every start (old files would add a previous run's
counts); then any worker's scrape sums all of them. ``child_exit`` below drops a dead worker's live
gauges (``gridwall_walls_connected``). Without the variable each worker answers its own figures.
"""

from __future__ import annotations

import os

from gunicorn.http import wsgi as _gunicorn_wsgi

bind = os.environ.get("GRIDWALL_BIND", "127.0.0.1:8050")
workers = int(os.environ.get("GRIDWALL_WORKERS", "2"))
worker_class = "gthread"
# Each wall on the push channel (callbacks/push.py) holds a thread; idle threads cost little.
threads = int(os.environ.get("GRIDWALL_THREADS", "32"))
# Long-lived kiosk walls poll every second; keep their connections open between polls.
keepalive = 30


def child_exit(server, worker):
    """A worker ended: its live gauges leave the multiprocess sum (nothing to do without one)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


_default_headers = _gunicorn_wsgi.Response.default_headers


def _headers_without_banner(self):
    return [h for h in _default_headers(self) if not h.lower().startswith("server:")]


if getattr(_gunicorn_wsgi.Response.default_headers, "__name__", "") != "_headers_without_banner":
    _gunicorn_wsgi.Response.default_headers = _headers_without_banner
