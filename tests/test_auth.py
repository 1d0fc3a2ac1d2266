"""Browser auth: login, logout, kiosk links, the login requirement and the server-side scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard.auth import current_scope
from data_access.db import dispose_all
from data_access.models import GwAudit

from .api_seed import FAST_HASHER, PASSWORD, ROOT, TOWN_A, add_users, make_app, seed

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    app = make_app(backend_url)
    app.add_url_rule("/whoami", "whoami", lambda: {"region": current_scope().region})
    return app, tokens


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
    from dashboard.config import Settings

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
