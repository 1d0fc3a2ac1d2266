"""Authentication and the user's scope on the Flask server under Dash.

Public surface used by the app factory, callbacks and API:
- ``init_auth(server, settings, enabled)``: signed sessions, the login requirement, /login,
  /logout and /kiosk/TOKEN.
- ``current_user()``: the user of the current request (None with auth off).
- ``current_scope()``: the Scope of that user, resolved on the server side only.
- ``deployment_root()``: the root region of this deployment.

Browser requests carry a session cookie; API requests (``/api/v1``) may instead carry
``Authorization: Bearer TOKEN``. With auth off (demo on loopback) everything is open at the root.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (Blueprint, Flask, abort, current_app, g, jsonify, redirect, render_template, request,
                   session)
from sqlalchemy.exc import SQLAlchemyError

from data_access import users as user_db
from data_access.db import get_engine
from data_access.regions import find_root
from data_access.scope import Scope, ScopeError
from data_access.users import User

from . import users

# Paths that hold no data (or start a session) and stay open without a login.
OPEN_PATHS = frozenset(("/healthz", "/login", "/logout", "/_favicon.ico", "/api/v1/openapi.json"))
OPEN_PREFIXES = ("/kiosk/", "/assets/", "/_dash-component-suites/", "/static/")
API_PREFIX = "/api/"
SESSION_USER = "uid"

bp = Blueprint("gridwall_auth", __name__, template_folder="templates")


def deployment_root() -> str:
    """The root region of this deployment, resolved once per app."""
    cfg = current_app.config
    root = cfg.get("GRIDWALL_ROOT_CODE")
    if root is None:
        with get_engine(cfg["GRIDWALL_DATABASE_URL"]).connect() as conn:
            root = find_root(conn, cfg.get("GRIDWALL_ROOT"))
        cfg["GRIDWALL_ROOT_CODE"] = root
    return root


def auth_enabled() -> bool:
    return bool(current_app.config.get("GRIDWALL_AUTH_ENABLED", True))


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def current_user() -> User | None:
    """The authenticated user of this request (set by the request guard); None with auth off."""
    if "gw_user" not in g:
        g.gw_user = _resolve_user() if auth_enabled() else None
    return g.gw_user


def user_scope(user: User | None) -> Scope:
    """The scope a user may see: its region (a street user's street), else the whole root.

    Raises ScopeError when the user's region lies outside this deployment's root.
    """
    root = deployment_root()
    region = user.region_code if user is not None and user.region_code else root
    return Scope(region=region, root=root)


def current_scope() -> Scope:
    return user_scope(current_user())


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _resolve_user() -> User | None:
    if request.path.startswith(API_PREFIX) and request.headers.get("Authorization"):
        token = _bearer_token()
        return users.user_for_token(_engine(), token) if token else None
    uid = session.get(SESSION_USER)
    if not isinstance(uid, int):
        return None
    user = users.user_by_id(_engine(), uid)
    if user is None or not user.active:
        session.clear()
        return None
    return user


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _wants_html() -> bool:
    if request.method != "GET" or request.path.startswith(("/_dash-", API_PREFIX, "/_reload")):
        return False
    return "text/html" in request.headers.get("Accept", "")


def _require_login():
    if not auth_enabled() or _is_open(request.path):
        return None
    try:
        user = current_user()
    except SQLAlchemyError:
        return jsonify(error="database unavailable"), 503
    if user is not None:
        return None
    if _wants_html():
        nxt = request.full_path if request.query_string else request.path
        return redirect("/login?" + urlencode({"next": nxt}))
    return jsonify(error="authentication required"), 401


def _safe_next(value: str | None) -> str:
    """Only a local path, never another host (//host or /\\host)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _start_session(user: User, *, permanent: bool = False) -> None:
    session.clear()
    session[SESSION_USER] = user.id
    session.permanent = permanent
    g.gw_user = user


def _audit(username: str | None, action: str, detail: dict | None = None) -> None:
    try:
        with _engine().begin() as conn:
            user_db.write_audit(conn, username, action, detail)
    except SQLAlchemyError:
        current_app.logger.warning("audit row not written: %s %s", action, username)


@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = _safe_next(request.values.get("next"))
    if not auth_enabled():
        return redirect(nxt)
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        try:
            user = users.authenticate(_engine(), username, password) if username and password else None
        except SQLAlchemyError:
            return render_template("login.html", error="数据库暂不可用，请稍后再试", username=username,
                                   next=nxt), 503
        if user is not None:
            _start_session(user)
            _audit(user.username, "login")
            return redirect(nxt)
        _audit(username[:64] or None, "login_failed")
        error = "用户名或密码错误"
    status = 401 if error else 200
    return render_template("login.html", error=error, username=username, next=nxt), status


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect("/login")


@bp.route("/kiosk/<token>")
def kiosk(token: str):
    """A wall user's long-lived link: a session at its region, then the wall."""
    if not auth_enabled():
        return redirect("/")
    try:
        user = users.user_for_token(_engine(), token)
    except SQLAlchemyError:
        abort(503)
    if user is None or user.role != "wall":
        return render_template("login.html", error="大屏链接无效或已停用", username="", next="/"), 403
    try:
        region = user_scope(user).region
    except (ScopeError, SQLAlchemyError):
        abort(403)
    _start_session(user, permanent=True)
    _audit(user.username, "kiosk_login")
    args = {k: v for k, v in request.args.items() if k != "region"}
    return redirect("/?" + urlencode({"region": region, **args}))


def init_auth(server: Flask, settings=None, enabled: bool = True) -> None:
    """Install sessions, the login requirement and the login routes on ``server``."""
    if settings is None:
        from .config import get_settings

        settings = get_settings()
    server.config["GRIDWALL_AUTH_ENABLED"] = bool(enabled)
    server.secret_key = settings.effective_secret_key()
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_NAME="gridwall_session")
    server.register_blueprint(bp)
    server.before_request(_require_login)
