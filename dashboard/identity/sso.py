"""Single sign-on for real deployments: OpenID Connect (authlib) and a trusted reverse-proxy header.

Both map the identity provider's groups to a gridwall role and region through ``sso_role_map``
(configuration): ``{"gw-center": "center", "gw-leaders": "leader", "gw-chengxiang": "street:320585100",
"gw-wall-hall": "wall:320585"}``. A person in several mapped groups gets the widest role (center,
then leader, street, wall). A ``street``/``wall`` entry without a region takes it from the claim
named by ``sso_region_claim`` (OIDC only). No mapped group: no access (audited ``login_denied``).

Single-sign-on users are kept in ``gw_users`` under a prefixed name (``oidc:alice``,
``proxy:alice``), never merged with a local account of the same name, without a password. Their
role and region follow the provider on every login; ``gridwall user disable`` still shuts them out.

Proxy mode: when ``proxy_user_header`` is set, a request *from an address in
``proxy_trusted_ips``* carrying that header is that user; the header from any other address is
ignored (and logged), so a client that reaches gridwall directly cannot claim to be anyone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError

from dashboard.identity.addresses import client_ip, is_trusted_proxy
from dashboard.identity.sessions import safe_next, start_session
from data_access import users as user_db
from data_access.db import get_engine
from data_access.scope import REGION_CODE
from data_access.users import User

log = logging.getLogger(__name__)

ROLE_ORDER = ("center", "leader", "street", "wall")
REGION_ROLES = ("street", "wall")
OIDC_CLIENT = "gridwall"
_UNSAFE_NAME_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")

bp = Blueprint("gridwall_sso", __name__, template_folder="templates")


class NotMapped(LookupError):
    """The identity has no group that maps to a gridwall role (or its region is unusable)."""


@dataclass(frozen=True)
class Grant:
    role: str
    region: str | None


def parse_role_map(role_map: dict[str, str]) -> dict[str, Grant]:
    """``{"group": "role[:region]"}`` -> grants; malformed entries are refused at start-up."""
    grants = {}
    for group, value in (role_map or {}).items():
        role, _, region = str(value).partition(":")
        role, region = role.strip(), region.strip() or None
        if role not in ROLE_ORDER:
            raise ValueError(f"sso_role_map[{group!r}]: unknown role {role!r} (one of {', '.join(ROLE_ORDER)})")
        if region is not None and not _region_ok(role, region):
            raise ValueError(f"sso_role_map[{group!r}]: malformed region {region!r} for role {role}")
        grants[str(group)] = Grant(role, region)
    return grants


def _region_ok(role: str, region: str) -> bool:
    if not (region.isascii() and REGION_CODE.fullmatch(region)) or len(region) > 12:
        return False
    return role != "street" or len(region) == 9


def split_groups(value) -> list[str]:
    """Groups from a claim or header: a list, or one string separated by commas or spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in re.split(r"[,\s]+", value) if g]
    if isinstance(value, (list, tuple)):
        return [str(g) for g in value if isinstance(g, (str, int))]
    return []


def grant_for(groups: list[str], grants: dict[str, Grant], region_hint: str | None = None) -> Grant:
    """The widest grant among the groups. Raises NotMapped."""
    matched = [grants[g] for g in groups if g in grants]
    if not matched:
        raise NotMapped("no group maps to a gridwall role")
    best = min(matched, key=lambda gr: ROLE_ORDER.index(gr.role))
    if best.role in REGION_ROLES and best.region is None:
        hint = (region_hint or "").strip()
        if not _region_ok(best.role, hint):
            raise NotMapped(f"role {best.role} needs a region and none usable was given")
        best = Grant(best.role, hint)
    return best


def external_name(kind: str, name: str) -> str:
    cleaned = _UNSAFE_NAME_CHARS.sub("_", name)
    return f"{kind}:{cleaned}"[:64]


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def sign_in(kind: str, name: str, grant: Grant) -> User | None:
    """The gw_users row for an external identity, created or brought up to date; None when disabled
    or when its region is not in this database."""
    username = external_name(kind, name)
    now = datetime.now(timezone.utc)
    with _engine().begin() as conn:
        if grant.region is not None and not user_db.region_exists(conn, grant.region):
            raise NotMapped(f"region {grant.region} is not in table regions")
        user, changed = user_db.save_external_user(conn, username, role=grant.role, region_code=grant.region,
                                                   now=now)
        if changed:
            user_db.write_audit(conn, None, "user_save", {"user": username, "role": grant.role,
                                                          "region": grant.region, "via": kind}, now)
    return user


def _audit(username: str | None, action: str, detail: dict) -> None:
    try:
        with _engine().begin() as conn:
            user_db.write_audit(conn, username, action, detail)
    except SQLAlchemyError:
        log.warning("audit row not written: %s %s", action, username)


# --- trusted reverse proxy ---------------------------------------------------------------------

NOT_PROXIED = object()


def proxy_user():
    """The user named by the trusted proxy's header, None when it maps to no role, or NOT_PROXIED.

    NOT_PROXIED: the mode is off, the header is absent, or the request did not come through a
    trusted proxy (then the header is ignored and the session decides as usual).
    """
    cfg = current_app.config.get("GRIDWALL_SSO")
    if cfg is None or not cfg.proxy_user_header:
        return NOT_PROXIED
    name = (request.headers.get(cfg.proxy_user_header) or "").strip()
    if not name:
        return NOT_PROXIED
    if not is_trusted_proxy(request.remote_addr):
        log.warning("ignoring %s from untrusted address %s", cfg.proxy_user_header, request.remote_addr)
        return NOT_PROXIED
    groups = split_groups(request.headers.get(cfg.proxy_groups_header)) if cfg.proxy_groups_header else []
    username = external_name("proxy", name)
    try:
        user = sign_in("proxy", name, grant_for(groups, cfg.grants))
    except NotMapped as exc:
        if session.get("proxy_denied") != username:
            session["proxy_denied"] = username
            _audit(username, "login_denied", {"via": "proxy", "reason": str(exc), "ip": client_ip()})
        return None
    if user is not None and session.get("proxy_user") != user.username:
        session["proxy_user"] = user.username  # one login row per browser session, not per request
        _audit(user.username, "login", {"via": "proxy", "ip": client_ip()})
    return user


# --- OpenID Connect ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SsoConfig:
    grants: dict[str, Grant]
    oidc: bool
    oidc_username_claim: str
    oidc_role_claim: str
    region_claim: str | None
    proxy_user_header: str | None
    proxy_groups_header: str | None


def oidc_enabled() -> bool:
    cfg = current_app.config.get("GRIDWALL_SSO")
    return bool(cfg and cfg.oidc)


@bp.get("/login/oidc")
def oidc_login():
    if not oidc_enabled():
        return redirect("/login")
    session["oidc_next"] = safe_next(request.args.get("next"))
    client = current_app.extensions["authlib.integrations.flask_client"].create_client(OIDC_CLIENT)
    return client.authorize_redirect(url_for("gridwall_sso.oidc_callback", _external=True))


@bp.get("/login/oidc/callback")
def oidc_callback():
    from authlib.integrations.base_client import OAuthError

    if not oidc_enabled():
        return redirect("/login")
    cfg = current_app.config["GRIDWALL_SSO"]
    client = current_app.extensions["authlib.integrations.flask_client"].create_client(OIDC_CLIENT)
    nxt = session.get("oidc_next") or "/"
    try:
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if cfg.oidc_role_claim not in claims or cfg.oidc_username_claim not in claims:
            claims = {**dict(client.userinfo(token=token)), **claims}
    except (OAuthError, ValueError, KeyError) as exc:
        log.warning("OIDC sign-in failed: %s", exc)
        _audit(None, "login_failed", {"via": "oidc", "reason": str(exc)[:200], "ip": client_ip()})
        return _sso_error("统一身份认证失败，请重试", 401)
    name = str(claims.get(cfg.oidc_username_claim) or claims.get("sub") or "")
    if not name:
        return _sso_error("统一身份认证未提供用户名", 401)
    region_hint = claims.get(cfg.region_claim) if cfg.region_claim else None
    try:
        grant = grant_for(split_groups(claims.get(cfg.oidc_role_claim)), cfg.grants,
                          str(region_hint) if region_hint is not None else None)
        user = sign_in("oidc", name, grant)
    except NotMapped as exc:
        _audit(external_name("oidc", name), "login_denied", {"via": "oidc", "reason": str(exc), "ip": client_ip()})
        return _sso_error("该统一身份认证账号未获授权使用本系统", 403)
    except SQLAlchemyError:
        return _sso_error("数据库暂不可用，请稍后再试", 503)
    if user is None:
        _audit(external_name("oidc", name), "login_denied", {"via": "oidc", "reason": "disabled", "ip": client_ip()})
        return _sso_error("该账号已停用", 403)
    try:
        start_session(user, via="oidc")  # the same server-side session as a password login
    except SQLAlchemyError:
        return _sso_error("数据库暂不可用，请稍后再试", 503)
    _audit(user.username, "login", {"via": "oidc", "ip": client_ip()})
    return redirect(nxt)


def _sso_error(message: str, status: int):
    return render_template("login.html", error=message, username="", next="/", oidc=oidc_enabled()), status


def init_sso(server: Flask, settings) -> None:
    """Read the single-sign-on configuration; register the OIDC client and routes when configured."""
    grants = parse_role_map(settings.sso_role_map)
    oidc = bool(settings.oidc_issuer and settings.oidc_client_id)
    server.config["GRIDWALL_SSO"] = SsoConfig(
        grants=grants, oidc=oidc, oidc_username_claim=settings.oidc_username_claim,
        oidc_role_claim=settings.oidc_role_claim, region_claim=settings.sso_region_claim,
        proxy_user_header=settings.proxy_user_header, proxy_groups_header=settings.proxy_groups_header,
    )
    if oidc:
        from authlib.integrations.flask_client import OAuth

        oauth = OAuth(server)
        issuer = settings.oidc_issuer.rstrip("/")
        oauth.register(
            OIDC_CLIENT, client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.oidc_scope},
        )
    if settings.proxy_user_header and not settings.proxy_trusted_ips:
        log.warning("proxy_user_header is set but proxy_trusted_ips is empty: the header is ignored")
    server.register_blueprint(bp)
