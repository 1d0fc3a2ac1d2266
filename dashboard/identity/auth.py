"""Authentication and the user's scope on the Flask server under Dash.

Public surface used by the app factory, callbacks and API:
- ``init_auth(server, settings, enabled)``: signed sessions, the login requirement, /login,
  /logout, /kiosk/TOKEN, single sign-on (``dashboard.identity.sso``) and the /audit page.
- ``current_user()``: the user of the current request (None with auth off).
- ``current_scope()``: the Scope of that user, resolved on the server side only.
- ``require_role(*roles)``: the current user when it has one of the roles, else 403 (a
  callback that writes, e.g. acknowledging an alert, calls ``require_role("center")``).
- ``audit(action, detail)``: one row in gw_audit by the current user (exports, acknowledgements).
- ``deployment_root()``: the root region of this deployment.

Browser requests carry a session cookie; API requests (``/api/v1``) may instead carry
``Authorization: Bearer TOKEN``. The session is re-checked against the database on every
request: a disabled user, a changed password or a revoked kiosk token ends it at once. With
auth off (demo on loopback) everything is open at the root.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from sqlalchemy.exc import SQLAlchemyError

from dashboard.identity import sso, users
from dashboard.identity.throttle import Policy, locked_until
from dashboard.web.security import client_ip, trusted_networks
from data_access import users as user_db
from data_access.db import get_engine
from data_access.regions import find_root
from data_access.scope import Scope, ScopeError
from data_access.users import User

# Paths that hold no data (or start a session) and stay open without a login.
OPEN_PATHS = frozenset(("/healthz", "/login", "/logout", "/_favicon.ico", "/api/v1/openapi.json"))
OPEN_PREFIXES = ("/kiosk/", "/login/", "/assets/", "/_dash-component-suites/", "/static/")
API_PREFIX = "/api/"
SESSION_USER = "uid"
AUDIT_PAGE_ROWS = 200

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


def _now() -> datetime:
    return datetime.now(timezone.utc)


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


def require_role(*roles: str) -> User | None:
    """The current user if its role is one of ``roles`` (None with auth off); else abort with 403."""
    if not auth_enabled():
        return None
    user = current_user()
    if user is None:
        abort(401)
    if user.role not in roles:
        abort(403)
    return user


def audit(action: str, detail: dict | None = None, username: str | None = None) -> None:
    """One audit row by the current user (or ``username``); a failed write is logged, never raised."""
    if username is None:
        user = current_user() if auth_enabled() else None
        username = user.username if user is not None else None
    _audit(username, action, detail)


# --- resolving the user of a request -----------------------------------------------------------

def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def password_tag(hashed: str | None) -> str | None:
    """A short fingerprint of the stored password hash: a new password ends older sessions."""
    return hashlib.sha256(hashed.encode()).hexdigest()[:16] if hashed else None


def _resolve_user() -> User | None:
    if request.path.startswith(API_PREFIX) and request.headers.get("Authorization"):
        token = _bearer_token()
        return users.user_for_token(_engine(), token) if token else None
    proxied = sso.proxy_user()
    if proxied is not sso.NOT_PROXIED:
        return proxied
    return _session_user()


def _session_user() -> User | None:
    uid = session.get(SESSION_USER)
    if not isinstance(uid, int):
        return None
    with _engine().connect() as conn:
        found = user_db.session_user(conn, uid)
        if found is None or not found[0].active:
            return _end_session()
        user, hashed = found
        via = session.get("via")
        if via == "kiosk":
            tid = session.get("tid")
            if not isinstance(tid, int) or not user_db.token_is_live(conn, tid, user.id):
                return _end_session()
            return user
    if via == "password" and session.get("pw") != password_tag(hashed):
        return _end_session()
    if via not in ("password", "oidc"):
        return _end_session()  # a session from before these rules, or forged
    iat = session.get("iat")
    hours = current_app.config.get("GRIDWALL_SESSION_HOURS", 12.0)
    if not isinstance(iat, (int, float)) or time.time() - iat > hours * 3600:
        return _end_session()
    return user


def _end_session() -> None:
    session.clear()
    return None


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


def safe_next(value: str | None) -> str:
    """Only a local path, never another host (//host, /\\host, or tricks browsers normalise)."""
    if not value or not value.startswith("/") or len(value) > 2000:
        return "/"
    if any(c in value for c in "\\\t\r\n\x00") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def start_session(user: User, *, via: str, token_id: int | None = None, hashed: str | None = None) -> None:
    """A fresh session (the old one, e.g. a pre-login one, is dropped)."""
    session.clear()
    session[SESSION_USER] = user.id
    session["via"] = via
    session["iat"] = int(time.time())
    if via == "kiosk":
        session["tid"] = token_id
        session.permanent = True  # survives browser and server restarts; the token can end it
    else:
        session.permanent = False
    if via == "password":
        session["pw"] = password_tag(hashed)
    g.gw_user = user


def _audit(username: str | None, action: str, detail: dict | None = None) -> None:
    try:
        with _engine().begin() as conn:
            user_db.write_audit(conn, username, action, detail)
    except SQLAlchemyError:
        current_app.logger.warning("audit row not written: %s %s", action, username)


# --- routes ------------------------------------------------------------------------------------

def _login_page(error: str | None, username: str, nxt: str, status: int):
    return make_response(render_template("login.html", error=error, username=username, next=nxt,
                                         oidc=sso.oidc_enabled()), status)


@bp.route("/login", methods=["GET", "POST"])
def login():
    nxt = safe_next(request.values.get("next"))
    if not auth_enabled():
        return redirect(nxt)
    if request.method == "GET":
        return _login_page(None, "", nxt, 200)
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    ip = client_ip()
    engine = _engine()
    try:
        with engine.connect() as conn:
            until = locked_until(conn, current_app.config["GRIDWALL_LOGIN_POLICY"], username, ip, _now())
        # The password is checked even when locked and for unknown names (against a dummy hash):
        # a lock, a wrong password and an unknown user cost the same time.
        user = users.authenticate(engine, username, password)
        hashed = None
        if user is not None and until is None:
            with engine.connect() as conn:
                _, hashed = user_db.session_user(conn, user.id)
    except SQLAlchemyError:
        return _login_page("数据库暂不可用，请稍后再试", username, nxt, 503)
    if until is not None:
        _audit(username or None, "login_failed", {"ip": ip, "locked": True})
        minutes = max(1, int((until - _now()).total_seconds() // 60) + 1)
        resp = _login_page(f"登录失败次数过多，请 {minutes} 分钟后再试", username, nxt, 429)
        resp.headers["Retry-After"] = str(minutes * 60)
        return resp
    if user is not None:
        start_session(user, via="password", hashed=hashed)
        _audit(user.username, "login", {"ip": ip})
        return redirect(nxt)
    _audit(username or None, "login_failed", {"ip": ip})
    return _login_page("用户名或密码错误", username, nxt, 401)


@bp.route("/logout", methods=["POST"])
def logout():
    user = current_user() if auth_enabled() and session.get(SESSION_USER) is not None else None
    if user is not None:
        _audit(user.username, "logout", {"ip": client_ip()})
    session.clear()
    return redirect("/login")


@bp.route("/kiosk/<token>")
def kiosk(token: str):
    """A wall user's long-lived link: a session at its region, then the wall."""
    if not auth_enabled():
        return redirect("/")
    try:
        found = users.token_for(_engine(), token)
    except SQLAlchemyError:
        abort(503)
    if found is None or found[1].role != "wall":
        _audit(None, "kiosk_failed", {"ip": client_ip()})
        return _login_page("大屏链接无效或已停用", "", "/", 403)
    token_id, user = found
    try:
        region = user_scope(user).region
    except (ScopeError, SQLAlchemyError):
        abort(403)
    start_session(user, via="kiosk", token_id=token_id)
    _audit(user.username, "kiosk_login", {"ip": client_ip(), "token_id": token_id})
    args = {k: v for k, v in request.args.items() if k != "region"}
    return redirect("/?" + urlencode({"region": region, **args}))


@bp.get("/audit")
def audit_page():
    """The audit log (审计日志) for duty officers."""
    require_role("center")
    action = request.args.get("action") or None
    if action is not None and (len(action) > 32 or not action.replace("_", "").isalnum()):
        action = None
    with _engine().connect() as conn:
        rows = user_db.audit_rows(conn, action, AUDIT_PAGE_ROWS)
    tz = current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for row in rows:
        row["local_ts"] = row["ts"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if row["ts"] else ""
    return render_template("audit.html", rows=rows, action=action or "", actions=AUDIT_ACTIONS)


AUDIT_ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_denied": "拒绝登录", "logout": "退出",
    "kiosk_login": "大屏链接登录", "kiosk_failed": "大屏链接无效", "alert_ack": "确认预警",
    "export": "导出", "user_save": "用户变更", "user_disable": "停用用户", "user_enable": "启用用户",
    "token_create": "签发令牌", "token_revoke": "吊销令牌",
}


def init_auth(server: Flask, settings=None, enabled: bool = True) -> None:
    """Install sessions, the login requirement, the login routes and single sign-on on ``server``."""
    if settings is None:
        from dashboard.core.config import get_settings

        settings = get_settings()
    server.config["GRIDWALL_AUTH_ENABLED"] = bool(enabled)
    server.config["GRIDWALL_LOGIN_POLICY"] = Policy.from_settings(settings)
    server.config["GRIDWALL_SESSION_HOURS"] = float(settings.session_hours)
    server.secret_key = settings.effective_secret_key()
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         SESSION_COOKIE_NAME="gridwall_session",
                         SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
                         # Only kiosk sessions are permanent; others end with the browser or session_hours.
                         PERMANENT_SESSION_LIFETIME=timedelta(days=max(1, settings.kiosk_days)))
    server.config["GRIDWALL_TRUSTED_PROXIES"] = trusted_networks(settings.proxy_trusted_ips)
    server.register_blueprint(bp)
    sso.init_sso(server, settings)
    server.before_request(_require_login)
