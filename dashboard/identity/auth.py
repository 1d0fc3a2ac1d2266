"""Authentication and the user's scope on the Flask server under Dash.

Public surface used by the app factory, callbacks and API:
- ``init_auth(server, settings, enabled)``: signed sessions, the login requirement, /login,
  /logout, /kiosk/TOKEN, single sign-on (``dashboard.identity.sso``) and the /audit page.
- ``current_user()``: the user of the current request (None with auth off).
- ``current_scope()``: the Scope of that user, resolved on the server side only.
- ``require_role(*roles)``: the current user when it has one of the roles, else ``RoleRequired``
  (a 403; the only role gate: pages, API routes and callbacks that write call it);
  ``has_role(*roles)`` is the same test without raising, for what a page shows (ack buttons).
- ``audit(action, detail)``: one row in gw_audit by the current user (exports, acknowledgements).
- ``deployment_root()``: the root region of this deployment.

Browser requests carry a session cookie holding a random session id; the session itself lives on
the server (``dashboard.identity.sessions``, table gw_sessions) and is re-checked on every request:
logout, a disabled user, a new password or a revoked kiosk token ends it at once, on every worker.
API requests (``/api/v1``) may instead carry ``Authorization: Bearer TOKEN``. With auth off (demo on
loopback) everything is open at the root.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

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
)
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Forbidden

from dashboard.identity import audit_throttle, sso, users
from dashboard.identity.addresses import client_ip, trusted_networks
from dashboard.identity.sessions import (  # safe_next and start_session are also used from here
    confirmation_code,
    confirmed,
    end_session,
    safe_next,
    session_user,
    start_session,
)
from dashboard.identity.throttle import Policy, refusal
from data_access import users as user_db
from data_access.db import get_engine
from data_access.regions import find_root
from data_access.scope import Scope, ScopeError
from data_access.users import User

# Paths that hold no data (or start a session) and stay open without a login.
# /metrics has its own rule (a token, else loopback only: dashboard/web/metrics.py).
OPEN_PATHS = frozenset(("/healthz", "/metrics", "/login", "/logout", "/_favicon.ico", "/api/v1/openapi.json"))
OPEN_PREFIXES = ("/kiosk/", "/login/", "/assets/", "/_dash-component-suites/", "/static/")
API_PREFIX = "/api/"
AUDIT_PAGE_ROWS = 200
HASHING_RETRY_SECONDS = 5

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


class RoleRequired(Forbidden):
    """The current user lacks every role a write or a page needs (403).

    Flask answers it as a 403 page; the API answers it as 403 JSON; a callback may catch it to
    show its own message.
    """

    def __init__(self, roles: tuple[str, ...]):
        super().__init__(f"only {' or '.join(roles)} users may do this")
        self.roles = roles


def has_role(*roles: str) -> bool:
    """Whether the current user has one of ``roles`` (always with auth off): for display decisions."""
    if not auth_enabled():
        return True
    user = current_user()
    return user is not None and user.role in roles


def require_role(*roles: str) -> User | None:
    """The current user if it has one of ``roles`` (None with auth off); else raise RoleRequired.

    The one role gate of gridwall (pages, API routes, callbacks that write). A request without a
    user never gets here with auth on: the login requirement answers it with 401 first.
    """
    if not has_role(*roles):
        raise RoleRequired(roles)
    return current_user() if auth_enabled() else None


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


def _resolve_user() -> User | None:
    if request.path.startswith(API_PREFIX) and request.headers.get("Authorization"):
        token = _bearer_token()
        return users.user_for_token(_engine(), token) if token else None
    proxied = sso.proxy_user()
    if proxied is not sso.NOT_PROXIED:
        return proxied
    return session_user()


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
    if request.method != "POST":  # GET, and HEAD (Flask adds it to GET routes): the page, nothing else
        return _login_page(None, "", nxt, 200)
    username = (request.form.get("username") or "").strip()[:64]
    password = request.form.get("password") or ""
    ip = client_ip()
    engine = _engine()
    try:
        with engine.connect() as conn:
            refused = refusal(conn, current_app.config["GRIDWALL_LOGIN_POLICY"], username, ip, _now())
    except SQLAlchemyError:
        return _login_page("数据库暂不可用，请稍后再试", username, nxt, 503)
    if refused is not None:
        return _refused(refused, username, ip, nxt)
    # Only now is the password checked: a refused attempt costs no hash. An unknown user, a user
    # without a password and a wrong password cost the same single check (against a dummy hash).
    try:
        user = users.authenticate(engine, username, password)
    except users.HashingBusy:
        current_app.logger.warning("login for %r from %s: no password-hashing slot", username, ip)
        resp = _login_page("登录繁忙，请稍后再试", username, nxt, 503)
        resp.headers["Retry-After"] = str(HASHING_RETRY_SECONDS)
        return resp
    except SQLAlchemyError:
        return _login_page("数据库暂不可用，请稍后再试", username, nxt, 503)
    if user is None:
        _audit(username or None, "login_failed", user_db.login_detail(ip))
        return _login_page("用户名或密码错误", username, nxt, 401)
    try:
        start_session(user, via="password")
    except SQLAlchemyError:
        return _login_page("数据库暂不可用，请稍后再试", username, nxt, 503)
    _audit(user.username, "login", user_db.login_detail(ip))
    return redirect(nxt)


def _refused(refused, username: str, ip: str, nxt: str):
    """429 for an attempt refused by the throttle: a lock (counts as a failure) or the per-name delay."""
    left = (refused.until - _now()).total_seconds()
    seconds = max(1, math.ceil(left))
    if refused.locked:
        _audit(username or None, "login_failed", user_db.login_detail(ip, locked=True))
        minutes = max(1, math.ceil(left / 60))
        resp = _login_page(f"登录失败次数过多，请 {minutes} 分钟后再试", username, nxt, 429)
        resp.headers["Retry-After"] = str(minutes * 60)
        return resp
    _audit(username or None, "login_delayed", user_db.login_detail(ip, seconds=seconds))
    resp = _login_page(f"该账号登录尝试过于频繁，请 {seconds} 秒后再试", username, nxt, 429)
    resp.headers["Retry-After"] = str(seconds)
    return resp


@bp.route("/logout", methods=["POST"])
def logout():
    try:
        user = current_user() if auth_enabled() else None
        end_session()
    except SQLAlchemyError:  # the session is not ended: keep the cookie, so that logout can be tried again
        return jsonify(error="database unavailable"), 503
    if user is not None:
        _audit(user.username, "logout", {"ip": client_ip()})
    return redirect("/login")


KIOSK_PURPOSE = "kiosk:"


@bp.route("/kiosk/<token>", methods=["GET", "POST"])
def kiosk(token: str):
    """A wall user's long-lived link: a session at its region, then the wall.

    A browser already logged in as another user (a duty officer's) is asked first: the link opens a
    confirmation page whose form posts back here with a code bound to that session.
    """
    if not auth_enabled():
        return redirect("/")
    if request.method == "HEAD":
        return "", 200  # a monitor's probe: no session, no audit row
    try:
        found = users.token_for(_engine(), token)
    except SQLAlchemyError:
        abort(503)
    if found is None or found[1].role != "wall":
        ip = client_ip()
        extra = audit_throttle.admit("kiosk_failed", ip)  # a row per address a minute, a cap per minute
        if extra is not None:
            _audit(None, "kiosk_failed", {"ip": ip, **extra})
        return _login_page("大屏链接无效或已停用", "", "/", 403)
    token_id, user = found
    try:
        region = user_scope(user).region
        current = current_user()
    except (ScopeError, SQLAlchemyError):
        abort(403)
    purpose = KIOSK_PURPOSE + users.token_hash(token)
    here = request.full_path if request.query_string else request.path
    if request.method == "POST" and not confirmed(purpose, request.form.get("confirm")):
        return redirect(here, 303)  # no confirmation of this browser's session: ask again
    replaced = current.username if current is not None and current.id != user.id else None
    if replaced is not None and request.method != "POST":
        return make_response(render_template("kiosk_confirm.html", current=current.username, wall=user.username,
                                             action=here, code=confirmation_code(purpose)), 200)
    try:
        start_session(user, via="kiosk", token_id=token_id)
    except SQLAlchemyError:
        abort(503)
    detail = {"ip": client_ip(), "token_id": token_id}
    if replaced is not None:
        detail["replaced"] = replaced
    _audit(user.username, "kiosk_login", detail)
    args = {k: v for k, v in request.args.items() if k != "region"}
    return redirect("/?" + urlencode({"region": region, **args}))


@bp.get("/audit")
def audit_page():
    """The audit log (审计日志) for duty officers."""
    require_role("center")
    action = request.args.get("action") or None
    if action is not None and (len(action) > 32 or not action.replace("_", "").isalnum()):
        action = None
    try:
        scope = current_scope()  # a street's duty officer sees its street's rows
    except ScopeError:
        abort(403)
    with _engine().connect() as conn:
        rows = user_db.audit_rows(conn, scope, action, AUDIT_PAGE_ROWS)
    tz = current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai"
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for row in rows:
        row["local_ts"] = row["ts"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if row["ts"] else ""
    return render_template("audit.html", rows=rows, action=action or "", actions=AUDIT_ACTIONS)


AUDIT_ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "login_delayed": "登录延迟", "login_denied": "拒绝登录",
    "logout": "退出",
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
