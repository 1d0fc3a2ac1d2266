"""Browser auth: login, logout, kiosk links, the login requirement and the server-side scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.identity.auth import current_scope
from data_access.db import dispose_all
from data_access.models import GwAudit

from .api_seed import FAST_HASHER, PASSWORD, ROOT, TOWN_A, add_users, make_app, seed

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    return whoami_app(backend_url), tokens


def login(client, username, password=PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def test_pages_redirect_to_login_and_data_routes_answer_401(site):
    app, _ = site
    client = app.test_client()
    resp = client.get("/?region=320585100", headers=HTML)
    assert resp.status_code == 302 and resp.location.startswith("/login?next=")
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert client.get(path, headers=HTML).status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401
    # open: the login page, health, static assets (no data)
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/assets/style.css").status_code == 404  # served (absent), not 401


def test_login_page_is_chinese(site):
    app, _ = site
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "用户名" in page and "密码" in page and 'name="username"' in page


def test_login_success_starts_a_session(site, engine):
    app, _ = site
    client = app.test_client()
    resp = login(client, "center1", next="/?region=320585100")
    assert resp.status_code == 302 and resp.location == "/?region=320585100"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/whoami").get_json() == {"region": ROOT}
    # the session also opens the API
    assert client.get("/api/v1/summary").status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(GwAudit.username).where(GwAudit.action == "login")).scalars().all() == ["center1"]


@pytest.mark.parametrize("username,password", [("center1", "wrong"), ("nobody", PASSWORD), ("center1", ""),
                                               ("wall_a", "")])
def test_login_failure_stays_on_the_login_page(site, username, password):
    app, _ = site
    client = app.test_client()
    resp = login(client, username, password)
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/", headers=HTML).status_code == 302


def test_head_on_login_is_the_page_and_never_a_login(site, engine):
    app, _ = site
    client = app.test_client()
    resp = client.head("/login", data={"username": "center1", "password": PASSWORD},
                       headers={"Origin": "https://evil.example"})
    assert resp.status_code == 200 and resp.content_type.startswith("text/html") and resp.get_data() == b""
    assert "Set-Cookie" not in resp.headers
    assert client.get("/", headers=HTML).status_code == 302
    assert client.head("/login", data={"username": "center1", "password": "wrong"}).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(GwAudit.action).where(GwAudit.action.like("login%"))).first() is None


def test_a_wall_user_with_a_password_cannot_log_in_at_the_login_page(site, engine):
    from data_access.users import set_password_hash, user_by_name

    app, _ = site
    with engine.begin() as conn:  # a password stored before wall users were refused one
        set_password_hash(conn, user_by_name(conn, "wall_a").id, FAST_HASHER.hash(PASSWORD))
    client = app.test_client()
    resp = login(client, "wall_a")
    assert resp.status_code == 401 and "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/", headers=HTML).status_code == 302
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.username, GwAudit.action).where(GwAudit.action.like("login%"))).all()
    assert [tuple(r) for r in rows] == [("wall_a", "login_failed")]


def test_next_never_leaves_the_site(site):
    app, _ = site
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        resp = login(app.test_client(), "center1", next=target)
        assert resp.location == "/"


def test_street_user_scope_comes_from_the_server(site):
    app, _ = site
    client = app.test_client()
    login(client, "street_a")
    assert client.get("/whoami?region=320585").get_json() == {"region": TOWN_A}
    assert client.get("/api/v1/summary?region=320585").status_code == 403
    assert client.get("/api/v1/summary").get_json()["region"] == TOWN_A


def test_logout_ends_the_session(site):
    app, _ = site
    client = app.test_client()
    login(client, "leader1")
    assert client.get("/", headers=HTML).status_code == 200
    resp = client.post("/logout")
    assert resp.status_code == 302 and resp.location == "/login"
    assert client.get("/", headers=HTML).status_code == 302


def test_kiosk_link_of_a_wall_user(site):
    app, tokens = site
    client = app.test_client()
    resp = client.get(f"/kiosk/{tokens['wall_a']}?kiosk=1")
    assert resp.status_code == 302
    assert resp.location == f"/?region={TOWN_A}&kiosk=1"
    assert client.get("/whoami").get_json() == {"region": TOWN_A}
    # only wall users get kiosk links; bad tokens start nothing
    for token in (tokens["center1"], "forged"):
        other = app.test_client()
        assert other.get(f"/kiosk/{token}").status_code == 403
        assert other.get("/", headers=HTML).status_code == 302


def test_a_disabled_user_loses_its_session(site, engine):
    from sqlalchemy import update

    from data_access.models import GwUser

    app, tokens = site
    client = app.test_client()
    login(client, "leader1")
    with engine.begin() as conn:
        conn.execute(update(GwUser).where(GwUser.username == "leader1").values(active=False))
    assert client.get("/", headers=HTML).status_code == 302
    assert client.get("/api/v1/summary", headers={"Authorization": f"Bearer {tokens['leader1']}"}).status_code == 401


def test_auth_off_is_open_at_the_root(engine, backend_url):
    seed(engine)
    app = make_app(backend_url, auth=False)
    app.add_url_rule("/whoami", "whoami", lambda: {"region": current_scope().region})
    client = app.test_client()
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/whoami").get_json() == {"region": ROOT}
    assert client.get("/login").status_code == 302


def test_through_the_real_dash_app(engine, backend_url):
    from dashboard.app import create_app
    from dashboard.core.config import Settings

    seed(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="test-secret"), auth=True)
    client = app.server.test_client()
    assert client.get("/", headers=HTML).status_code == 302
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/healthz").get_json()["database"] == "ok"
    bearer = {"Authorization": f"Bearer {tokens['street_a']}"}
    assert client.get("/api/v1/summary", headers=bearer).get_json()["region"] == TOWN_A
    assert client.get("/api/v1/summary?region=320585", headers=bearer).status_code == 403
    assert client.get("/api/v1/nothing", headers=bearer).status_code == 404
    login(client, "street_a")
    assert client.get("/", headers=HTML).status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/api/v1/cases").status_code == 200


# --- sessions: kiosk across restarts, revocation, password change, lifetime, forgery -------------

def whoami_app(url, **overrides):
    app = make_app(url, **overrides)
    app.add_url_rule("/whoami", "whoami", lambda: {"region": current_scope().region})
    return app


def session_cookie(client) -> str:
    return client.get_cookie("gridwall_session").value


def test_kiosk_session_survives_a_server_restart(engine, backend_url, tmp_path, monkeypatch):
    from dashboard.core import config

    seed(engine)
    tokens = add_users(engine)
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "var")  # the key is generated once and kept here
    first = whoami_app(backend_url, secret_key=None)
    client = first.test_client()
    resp = client.get(f"/kiosk/{tokens['wall_a']}")
    cookie = resp.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie  # persistent: survives a browser restart too
    # a new process with the same var/ directory: same key, the wall stays logged in
    restarted = whoami_app(backend_url, secret_key=None).test_client()
    restarted.set_cookie("gridwall_session", session_cookie(client))
    assert restarted.get("/whoami").get_json() == {"region": TOWN_A}
    # a different key (another deployment) does not accept it
    other = whoami_app(backend_url, secret_key="another").test_client()
    other.set_cookie("gridwall_session", session_cookie(client))
    assert other.get("/whoami").status_code == 401


def test_revoking_the_kiosk_token_ends_its_session(site, engine):
    from dashboard.identity.users import create_token, revoke_tokens, token_for

    app, tokens = site
    spare = create_token(engine, "wall_a")
    wall = app.test_client()
    wall.get(f"/kiosk/{tokens['wall_a']}")
    other = app.test_client()
    other.get(f"/kiosk/{spare}")
    assert wall.get("/whoami").status_code == 200 and other.get("/whoami").status_code == 200
    token_id = token_for(engine, tokens["wall_a"])[0]
    assert revoke_tokens(engine, "wall_a", token_id=token_id) == 1
    assert wall.get("/", headers=HTML).status_code == 302  # ended at its next request
    assert wall.get(f"/kiosk/{tokens['wall_a']}").status_code == 403
    assert other.get("/whoami").status_code == 200  # a session from another link goes on
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.action).where(GwAudit.action.in_(("token_revoke", "kiosk_failed")))).all()
    assert sorted(r.action for r in rows) == ["kiosk_failed", "token_revoke"]


def test_a_new_password_ends_older_sessions(site, engine):
    from dashboard.usecases.users import save_user as add_user

    app, _ = site
    client = app.test_client()
    login(client, "leader1")
    assert client.get("/whoami").status_code == 200
    add_user(engine, "leader1", role="leader", password="a-new-one")
    assert client.get("/whoami").status_code == 401
    assert login(client, "leader1", "a-new-one").status_code == 302


def test_a_session_ends_after_session_hours(site, engine):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from data_access.models import GwSession

    app, _ = site
    client = app.test_client()
    login(client, "center1")
    for hours, status in ((11, 200), (13, 401)):  # the start time lives on the server, not in the cookie
        with engine.begin() as conn:
            conn.execute(update(GwSession).values(created_at=datetime.now(timezone.utc) - timedelta(hours=hours)))
        assert client.get("/whoami").status_code == status, hours


def test_forged_session_contents_are_refused(site, engine):
    from dashboard.identity.users import token_for

    app, tokens = site
    client = app.test_client()
    login(client, "street_a")
    with engine.connect() as conn:
        from data_access.users import user_by_name

        street_uid, center_uid = user_by_name(conn, "street_a").id, user_by_name(conn, "center1").id
    wall_tid = token_for(engine, tokens["wall_a"])[0]
    # the signing key is the defence; these show the server trusts only a live session id it issued
    for forged in ({"uid": center_uid, "via": "password", "pw": "0" * 16, "iat": 2_000_000_000},  # old style
                   {"uid": street_uid},  # no session id
                   {"uid": center_uid, "via": "kiosk", "tid": wall_tid},  # another user's kiosk link
                   {"uid": str(center_uid), "via": "password"},
                   {"sid": "x" * 43}, {"sid": 1}, {"sid": ["x" * 43]}):  # ids never issued, or of a wrong type
        with client.session_transaction() as sess:
            sess.clear()
            sess.update(forged)
        assert client.get("/whoami").status_code == 401, forged


def test_session_cookie_is_secure_when_configured(engine, backend_url):
    seed(engine)
    add_users(engine)
    app = make_app(backend_url, secure_cookies=True)
    resp = login(app.test_client(), "center1")
    assert "Secure" in resp.headers["Set-Cookie"]
    assert app.test_client().get("/login").headers["Strict-Transport-Security"]


def test_logout_is_audited(site, engine):
    app, _ = site
    client = app.test_client()
    login(client, "leader1")
    client.post("/logout")
    client.post("/logout")  # a second logout, without a session, writes nothing
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.username).where(GwAudit.action == "logout")).scalars().all()
    assert rows == ["leader1"]


def test_require_role_guards_writing_callbacks(site):
    from dashboard.identity.auth import require_role

    app, _ = site
    app.add_url_rule("/center-only", "center_only", lambda: {"user": require_role("center").username})
    client = app.test_client()
    assert client.get("/center-only").status_code == 401
    login(client, "leader1")
    assert client.get("/center-only").status_code == 403
    login(client, "center1")
    assert client.get("/center-only").get_json() == {"user": "center1"}


# --- the audit log: API and page, center only ---------------------------------------------------

def test_audit_log_is_for_duty_officers(site):
    app, tokens = site
    client = app.test_client()
    login(client, "center1")
    login(app.test_client(), "nobody", "x")
    rows = client.get("/api/v1/audit").get_json()
    assert [(r["username"], r["action"]) for r in rows[:2]] == [("nobody", "login_failed"), ("center1", "login")]
    assert {"id", "ts", "username", "action", "detail"} <= set(rows[0])
    failed = client.get("/api/v1/audit?action=login_failed").get_json()
    assert [r["username"] for r in failed] == ["nobody"] and failed[0]["detail"]["ip"]
    assert client.get(f"/api/v1/audit?before={rows[-1]['id']}").get_json() == []
    assert client.get("/api/v1/audit?user=center1").get_json()[0]["username"] == "center1"
    for bad in ("action=a%20b", "before=x", "limit=0", "user=" + "x" * 65):
        assert client.get(f"/api/v1/audit?{bad}").status_code == 400, bad
    for who in ("leader1", "street_a", "wall_a"):
        resp = app.test_client().get("/api/v1/audit", headers={"Authorization": f"Bearer {tokens[who]}"})
        assert resp.status_code == 403, who
    page = client.get("/audit")
    assert page.status_code == 200 and "审计日志" in page.get_data(as_text=True)
    assert "登录失败" in client.get("/audit?action=login_failed").get_data(as_text=True)
    street = app.test_client()
    login(street, "street_a")
    assert street.get("/audit").status_code == 403
    assert app.test_client().get("/audit", headers=HTML).status_code == 302


# --- the command line: disable users, list and revoke tokens -------------------------------------

@pytest.fixture
def cli(site, backend_url, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import main
    from dashboard.core.config import get_settings

    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args, input=None: runner.invoke(main, list(args), input=input)
    get_settings.cache_clear()


def test_cli_disable_list_and_revoke(site, cli):
    app, tokens = site
    client = app.test_client()
    login(client, "leader1")
    listed = cli("user", "list")
    assert listed.exit_code == 0 and "street_a\tstreet\t320585100\tactive\ttokens=1" in listed.output
    assert cli("user", "disable", "leader1").exit_code == 0
    assert client.get("/whoami").status_code == 401
    assert login(app.test_client(), "leader1").status_code == 401
    assert "leader1\tleader\t-\tdisabled" in cli("user", "list").output
    assert cli("user", "enable", "leader1").exit_code == 0
    assert login(app.test_client(), "leader1").status_code == 302
    assert cli("user", "disable", "ghost").exit_code == 1

    bearer = {"Authorization": f"Bearer {tokens['street_a']}"}
    token_id = cli("token", "list", "street_a").output.split("\t")[0]
    assert cli("token", "revoke", "street_a").exit_code == 2  # pick one of --id, --token-stdin, --all
    assert cli("token", "revoke", "street_a", "--token-stdin", input="not-it\n").exit_code == 1
    assert cli("token", "revoke", "street_a", "--id", token_id).exit_code == 0
    assert app.test_client().get("/api/v1/summary", headers=bearer).status_code == 401
    assert "\tlive" not in cli("token", "list", "street_a").output
    center = {"Authorization": f"Bearer {tokens['center1']}"}
    assert cli("token", "revoke", "center1", "--token-stdin", input=tokens["center1"] + "\n").exit_code == 0
    assert app.test_client().get("/api/v1/summary", headers=center).status_code == 401
    cli("token", "create", "wall_a")
    assert "revoked 2 token(s)" in cli("token", "revoke", "wall_a", "--all").output
