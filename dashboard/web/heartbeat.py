"""``POST /live/heartbeat``: an open wall reports its health every 30 s (``assets/heartbeat.js``).

Same session as the wall (the login requirement answers 401 without one; ``dashboard.web.security``
refuses a cross-site post). Who reports (user, kiosk or not) comes from the session; the region the
wall's URL names is clamped to the user's scope, as the wall itself does (a foreign or malformed code:
the user's own region). The body is checked (``dashboard.core.wall_health``): 400 naming the bad field,
nothing written. The answer carries the server's code version and the heap ceiling the wall reloads
itself at::

    {"version": "93a6212aadd7", "heap_mb": 1536, "interval_s": 30, "region": "320585100", "recorded": true}

While the database cannot be written the answer is the same with ``"recorded": false`` (and
``region`` null when the user's scope could not be resolved): the wall still learns of a new code
version, and an outage puts no failed request in its console (the wall shows the outage itself).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard.core.code_version import code_version
from dashboard.core.wall_health import (
    DARK_AFTER,
    HEARTBEAT_SECONDS,
    MAX_BODY_BYTES,
    SHOWN_FOR,
    BadHeartbeat,
    parse_heartbeat,
)
from dashboard.identity.addresses import client_ip
from dashboard.identity.auth import auth_enabled, current_scope, current_user, has_role
from data_access import walls as walls_db
from data_access.db import get_engine
from data_access.regions import NoRoot
from data_access.scope import BadRegionCode, Scope, ScopeError

UTC = timezone.utc
HEARTBEAT_PATH = "/live/heartbeat"
DEFAULT_HEAP_MB = 1536
# One user (a kiosk link on many screens) may report this many different walls in a week; more is
# someone filling the table (answered 429, nothing written).
MAX_WALLS_PER_USER = 200

bp = Blueprint("gridwall_heartbeat", __name__)


def _json(obj, status: int = 200) -> Response:
    resp = Response(json.dumps(obj, ensure_ascii=False), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def clamp_region(scope: Scope, wanted: str | None) -> str:
    """The region a wall of ``scope`` shows for ``?region=wanted``: that one inside the scope, else the
    scope's own (callbacks.view.resolve_view does the same for the page)."""
    try:
        return scope.narrow(wanted).region
    except (ScopeError, BadRegionCode):
        return scope.region


def server_version() -> str:
    return current_app.config.get("GRIDWALL_CODE_VERSION") or code_version()


@bp.post(HEARTBEAT_PATH)
def heartbeat():
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        return _json({"error": f"heartbeat body over {MAX_BODY_BYTES} bytes"}, 400)
    if not request.is_json:
        return _json({"error": "a JSON body expected (Content-Type: application/json)"}, 400)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return _json({"error": "malformed JSON"}, 400)
    try:
        beat = parse_heartbeat(body)
    except BadHeartbeat as exc:
        return _json({"error": f"malformed heartbeat: {exc}"}, 400)
    user = current_user() if auth_enabled() else None
    try:
        scope = current_scope()
    except ScopeError:
        return _json({"error": "your account's region is outside this deployment"}, 403)
    except (SQLAlchemyError, NoRoot) as exc:  # the deployment's root is read once from the database
        current_app.logger.warning("heartbeat of wall %s not recorded: %s", beat.wall_id, type(exc).__name__)
        return _answer(None, recorded=False)
    region = clamp_region(scope, beat.region)
    record = walls_db.Heartbeat(
        wall_id=beat.wall_id, username=user.username if user is not None else None,
        kiosk=user is not None and has_role("wall"), region_code=region, layout=beat.layout,
        frame_age=beat.frame_age, heap_mb=beat.heap_mb, version=beat.version, remote_addr=client_ip()[:64])
    now = datetime.now(UTC)
    try:
        with get_engine(current_app.config["GRIDWALL_DATABASE_URL"]).begin() as conn:
            if record.username is not None and walls_db.walls_of_user(
                    conn, record.username, since=now - SHOWN_FOR, beyond=record.wall_id) >= MAX_WALLS_PER_USER:
                return _json({"error": f"more than {MAX_WALLS_PER_USER} walls reported by this user in a week"}, 429)
            walls_db.record_heartbeat(conn, record, now, DARK_AFTER)
    except SQLAlchemyError as exc:
        current_app.logger.warning("heartbeat of wall %s not recorded: %s", beat.wall_id, type(exc).__name__)
        return _answer(region, recorded=False)
    return _answer(region, recorded=True)


def _answer(region: str | None, *, recorded: bool) -> Response:
    return _json({"version": server_version(), "heap_mb": current_app.config.get("GRIDWALL_WALL_HEAP_MB",
                                                                                  DEFAULT_HEAP_MB),
                  "interval_s": HEARTBEAT_SECONDS, "region": region, "recorded": recorded})


def register_heartbeat(server: Flask) -> None:
    server.config.setdefault("GRIDWALL_CODE_VERSION", code_version())
    server.config.setdefault("GRIDWALL_WALL_HEAP_MB", DEFAULT_HEAP_MB)
    server.config.setdefault("GRIDWALL_HEARTBEAT_MS", HEARTBEAT_SECONDS * 1000)
    server.register_blueprint(bp)
