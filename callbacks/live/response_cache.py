"""Answers to identical panel requests, kept per (role, region, request body) for a short while.

The slower panels (SLA board, staffing detail, region table, alerts, map) follow ``live-slow``:
one version per 10-second epoch, the same for every wall (``callbacks.live.tick.slow_version``). A room
of walls therefore sends the same request bodies, and the answer is a function of the body and
the user's scope: the results behind it are shared per version already (``callbacks.live.data``), but
Dash still dispatches and serialises each answer per request, which at 100 walls was most of the
server's time. Here the serialised answer is kept in the process for ``TTL_SECONDS`` and given to
the next request with the same body from a user of the same role and region.

Only callbacks with ``live-slow`` among their inputs are kept, only answers with status 200, and
the key holds the user's role and region, so no user receives an answer computed for another
scope (the request guard has resolved the user before this runs).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict

from flask import Response, g, request

from dashboard.identity.auth import auth_enabled, current_user

PATH = "/_dash-update-component"
TTL_SECONDS = 30.0
ENTRIES = 256
INPUT_ID = "live-slow"

_lock = threading.Lock()
_answers: OrderedDict[str, tuple[float, bytes]] = OrderedDict()


def _key(body: bytes) -> str:
    user = current_user() if auth_enabled() else None
    who = f"{user.role}|{user.region_code}" if user is not None else "-|-"
    return hashlib.sha256(who.encode() + b"\0" + body).hexdigest()


def install_response_cache(server, app) -> None:
    cacheable = {key for key, cb in app.callback_map.items()
                 if any(dep.get("id") == INPUT_ID for dep in cb.get("inputs", []))}

    def _is_cacheable() -> bool:
        if request.path != PATH or request.method != "POST":
            return False
        try:
            output = json.loads(request.get_data(cache=True)).get("output")
        except (ValueError, AttributeError):
            return False
        return output in cacheable

    @server.before_request
    def _answer_from_cache():
        if not _is_cacheable():
            return None
        key = _key(request.get_data(cache=True))
        now = time.monotonic()
        with _lock:
            hit = _answers.get(key)
            if hit is not None and hit[0] > now:
                _answers.move_to_end(key)
                return Response(hit[1], mimetype="application/json", headers={"X-Gridwall-Answer": "shared"})
        g.gw_answer_key = key
        return None

    @server.after_request
    def _keep_answer(response):
        key = g.pop("gw_answer_key", None)
        if key is None or response.status_code != 200 or response.is_streamed:
            return response
        with _lock:
            _answers[key] = (time.monotonic() + TTL_SECONDS, response.get_data())
            _answers.move_to_end(key)
            while len(_answers) > ENTRIES:
                _answers.popitem(last=False)
        return response


def clear() -> None:
    with _lock:
        _answers.clear()
