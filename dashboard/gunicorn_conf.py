"""gunicorn settings for gridwall: ``gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi:server``.

gunicorn writes ``Server: gunicorn`` into every response itself (the application cannot remove
it); this file drops that line, so the server does not announce its software or version. Bind
address and worker count come from the usual GUNICORN_CMD_ARGS / command-line options.
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

_default_headers = _gunicorn_wsgi.Response.default_headers


def _headers_without_banner(self):
    return [h for h in _default_headers(self) if not h.lower().startswith("server:")]


if getattr(_gunicorn_wsgi.Response.default_headers, "__name__", "") != "_headers_without_banner":
    _gunicorn_wsgi.Response.default_headers = _headers_without_banner
