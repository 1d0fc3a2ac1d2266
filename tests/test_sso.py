"""Single sign-on: the role map, the trusted reverse-proxy header, and OIDC against a real (local) provider."""

from __future__ import annotations

import json
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import flask
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update
from werkzeug.serving import make_server

from dashboard.identity.auth import current_scope, current_user
from dashboard.identity.sso import Grant, NotMapped, external_name, grant_for, parse_role_map, split_groups
from data_access.db import dispose_all
from data_access.models import GwAudit, GwUser

from .api_seed import FAST_HASHER, ROOT, TOWN_A, TOWN_B, add_users, make_app, seed

ROLE_MAP = {"gw-center": "center", "gw-leaders": "leader", "gw-chengxiang": f"street:{TOWN_A}",
            "gw-streets": "street", "gw-hall": f"wall:{ROOT}"}
PROXY = {"proxy_user_header": "X-Remote-User", "proxy_groups_header": "X-Remote-Groups",
         "proxy_trusted_ips": "127.0.0.1", "sso_role_map": ROLE_MAP}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def whoami(app):
    def view():
        user = current_user()
        return {"user": user.username, "role": user.role, "region": current_scope().region}

    app.add_url_rule("/whoami", "whoami", view)
    return app


# --- the role map ------------------------------------------------------------------------------

def test_role_map_picks_the_widest_grant_and_refuses_bad_entries():
    grants = parse_role_map(ROLE_MAP)
    assert grant_for(["gw-chengxiang", "gw-leaders"], grants) == Grant("leader", None)
    assert grant_for(["x", "gw-chengxiang"], grants) == Grant("street", TOWN_A)
    assert grant_for(["gw-streets"], grants, region_hint=TOWN_B) == Grant("street", TOWN_B)
    for groups, hint in ((["x"], None), ([], None), (["gw-streets"], None), (["gw-streets"], ROOT),
                         (["gw-streets"], "32058510x")):
        with pytest.raises(NotMapped):
            grant_for(groups, grants, hint)
    for bad in ({"g": "admin"}, {"g": "street:320585"}, {"g": "wall:abc"}, {"g": "street:３２０５８５１００"}):
        with pytest.raises(ValueError):
            parse_role_map(bad)
    assert split_groups("a, b c") == ["a", "b", "c"] and split_groups(["a", 3, None]) == ["a", "3"]
    assert split_groups({"a": 1}) == [] and external_name("oidc", "li si\n") == "oidc:li_si_"


# --- trusted reverse proxy ---------------------------------------------------------------------

@pytest.fixture
def proxied(engine, backend_url):
    seed(engine)
    add_users(engine)
    return whoami(make_app(backend_url, **PROXY))


def as_proxy(client, path, user, groups, ip="127.0.0.1"):
    return client.get(path, headers={"X-Remote-User": user, "X-Remote-Groups": groups},
                      environ_base={"REMOTE_ADDR": ip})


def test_proxy_header_from_the_trusted_proxy_signs_in(proxied, engine):
    client = proxied.test_client()
    assert as_proxy(client, "/whoami", "alice", "staff,gw-chengxiang").get_json() == \
        {"user": "proxy:alice", "role": "street", "region": TOWN_A}
    assert as_proxy(client, "/api/v1/summary?region=320585", "alice", "gw-chengxiang").status_code == 403
    assert as_proxy(client, "/whoami", "bob", "gw-center").get_json()["role"] == "center"
    # the provider's groups decide on every request: alice promoted
    assert as_proxy(client, "/whoami", "alice", "gw-leaders").get_json() == \
        {"user": "proxy:alice", "role": "leader", "region": ROOT}
    with engine.connect() as conn:
        logins = conn.execute(select(GwAudit.username).where(GwAudit.action == "login")).scalars().all()
    assert logins == ["proxy:alice", "proxy:bob", "proxy:alice"]  # once per browser session, not per request


def test_proxy_header_from_anyone_else_is_ignored(proxied):
    client = proxied.test_client()
    resp = as_proxy(client, "/whoami", "center1", "gw-center", ip="10.9.9.9")
    assert resp.status_code == 401
    resp = as_proxy(client, "/", "center1", "gw-center", ip="10.9.9.9")
    assert resp.status_code == 401


def test_proxy_user_without_a_mapped_group_or_disabled_gets_nothing(proxied, engine):
    client = proxied.test_client()
    assert as_proxy(client, "/whoami", "eve", "staff").status_code == 401
    assert as_proxy(client, "/api/v1/summary", "eve", "").status_code == 401
    as_proxy(client, "/whoami", "carol", "gw-center")
    with engine.begin() as conn:
        conn.execute(update(GwUser).where(GwUser.username == "proxy:carol").values(active=False))
    assert as_proxy(proxied.test_client(), "/whoami", "carol", "gw-center").status_code == 401
    with engine.connect() as conn:
        denied = conn.execute(select(GwAudit.username).where(GwAudit.action == "login_denied")).scalars().all()
        active = conn.execute(select(GwUser.active).where(GwUser.username == "proxy:carol")).scalar_one()
    assert denied == ["proxy:eve"] and active is False  # signing in again does not re-enable


def test_proxy_names_never_take_over_local_accounts(proxied):
    resp = as_proxy(proxied.test_client(), "/whoami", "center1", "gw-chengxiang")
    assert resp.get_json()["user"] == "proxy:center1" and resp.get_json()["role"] == "street"


# --- OpenID Connect against a local provider ---------------------------------------------------

class Provider:
    """A minimal OpenID provider: discovery, authorize (auto-approves the next profile), token, JWKS, userinfo."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.codes: dict[str, dict] = {}
        self.profile: dict = {}
        app = flask.Flask("fake_oidc")
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                    "userinfo_endpoint": f"{self.issuer}/userinfo", "response_types_supported": ["code"],
                    "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}

        @app.get("/jwks")
        def jwks():
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def authorize():
            args = flask.request.args
            code = secrets.token_urlsafe(8)
            self.codes[code] = {"nonce": args.get("nonce"), "client_id": args["client_id"], **self.profile}
            return flask.redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/token")
        def token():
            grant = self.codes.pop(flask.request.form.get("code"), None)
            if grant is None:
                return {"error": "invalid_grant"}, 400
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": grant["client_id"], "sub": grant["sub"], "iat": now,
                      "exp": now + 300, "nonce": grant["nonce"], **grant.get("id_claims", {})}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            self.last_userinfo = grant.get("userinfo", {})
            return {"access_token": "at-" + grant["sub"], "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token}

        @app.get("/userinfo")
        def userinfo():
            return {"sub": "x", **getattr(self, "last_userinfo", {})}

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def provider():
    p = Provider()
    yield p
    p.close()


@pytest.fixture
def oidc_app(engine, backend_url, provider):
    seed(engine)
    add_users(engine)
    return whoami(make_app(backend_url, oidc_issuer=provider.issuer, oidc_client_id="gridwall",
                           oidc_client_secret="s3cret", sso_role_map=ROLE_MAP, sso_region_claim="gw_region"))


def sign_in(client, provider, profile, next_path="/whoami"):
    provider.profile = profile
    start = client.get(f"/login/oidc?next={next_path}")
    assert start.status_code == 302 and start.location.startswith(provider.issuer + "/authorize?")
    back = requests.get(start.location, allow_redirects=False, timeout=10)
    assert back.status_code == 302
    parts = urlsplit(back.headers["Location"])
    return client.get(f"{parts.path}?{parts.query}")


def test_oidc_login_maps_groups_to_role_and_region(oidc_app, provider, engine):
    client = oidc_app.test_client()
    assert "统一身份认证登录" in client.get("/login").get_data(as_text=True)
    resp = sign_in(client, provider, {"sub": "u1", "id_claims": {"preferred_username": "wang.wu",
                                                                  "groups": ["gw-chengxiang"]}})
    assert resp.status_code == 302 and resp.location == "/whoami"
    assert client.get("/whoami").get_json() == {"user": "oidc:wang.wu", "role": "street", "region": TOWN_A}
    assert client.get(f"/api/v1/summary?region={TOWN_B}").status_code == 403
    with engine.connect() as conn:
        row = conn.execute(select(GwAudit.username, GwAudit.detail).where(GwAudit.action == "login")).one()
    assert row.username == "oidc:wang.wu" and json.loads(row.detail)["via"] == "oidc"


def test_an_oidc_session_lives_on_the_server_and_logout_ends_every_copy(oidc_app, provider, engine):
    from data_access.models import GwSession

    client = oidc_app.test_client()
    sign_in(client, provider, {"sub": "u5", "id_claims": {"preferred_username": "sun", "groups": ["gw-leaders"]}})
    copy = oidc_app.test_client()
    copy.set_cookie("gridwall_session", client.get_cookie("gridwall_session").value)
    assert copy.get("/whoami").get_json()["user"] == "oidc:sun"
    with engine.connect() as conn:
        assert conn.execute(select(GwSession.via).where(GwSession.ended_at.is_(None))).scalars().all() == ["oidc"]
    assert client.post("/logout").status_code == 302
    assert copy.get("/whoami").status_code == 401


def test_oidc_groups_and_region_from_userinfo(oidc_app, provider):
    client = oidc_app.test_client()
    resp = sign_in(client, provider, {"sub": "u2", "id_claims": {"preferred_username": "li"},
                                      "userinfo": {"groups": "gw-streets", "gw_region": TOWN_B}})
    assert resp.status_code == 302
    assert client.get("/whoami").get_json() == {"user": "oidc:li", "role": "street", "region": TOWN_B}


def test_oidc_without_a_role_or_with_a_forged_state_gets_no_session(oidc_app, provider, engine):
    client = oidc_app.test_client()
    resp = sign_in(client, provider, {"sub": "u3", "id_claims": {"preferred_username": "zhao", "groups": ["x"]}})
    assert resp.status_code == 403 and "未获授权" in resp.get_data(as_text=True)
    assert client.get("/whoami").status_code == 401
    # a callback whose state this browser never started
    other = oidc_app.test_client()
    provider.profile = {"sub": "u4", "id_claims": {"preferred_username": "qian", "groups": ["gw-center"]}}
    start = client.get("/login/oidc")
    back = requests.get(start.location, allow_redirects=False, timeout=10)
    parts = urlsplit(back.headers["Location"])
    resp = other.get(f"{parts.path}?{parts.query}")
    assert resp.status_code == 401 and other.get("/whoami").status_code == 401
    # a made-up code with this browser's own state
    start = client.get("/login/oidc")
    state = parse_qs(urlsplit(start.location).query)["state"][0]
    resp = client.get(f"/login/oidc/callback?code=forged&state={state}")
    assert resp.status_code == 401 and client.get("/whoami").status_code == 401
    with engine.connect() as conn:
        actions = conn.execute(select(GwAudit.action)).scalars().all()
    assert actions.count("login_denied") == 1 and actions.count("login_failed") == 2 and "login" not in actions


def test_oidc_routes_are_inert_when_not_configured(engine, backend_url):
    seed(engine)
    client = make_app(backend_url).test_client()
    assert client.get("/login/oidc").location == "/login"
    assert client.get("/login/oidc/callback?code=x&state=y").location == "/login"
    assert "统一身份认证" not in client.get("/login").get_data(as_text=True)
