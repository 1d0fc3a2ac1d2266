"""Server-side sessions: logout, disabling a user and a new password end them on every worker; the check is
one statement per request; only the session id's hash is stored; a kiosk link asks before it replaces
another user's session."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, update

from dashboard.identity.auth import current_scope
from data_access.db import dispose_all, get_engine
from data_access.models import GwAudit, GwSession, GwToken, GwUser

from .api_seed import FAST_HASHER, PASSWORD, ROOT, TOWN_A, add_users, make_app, seed

HTML = {"Accept": "text/html"}
SAME_SITE = {"Origin": "http://localhost"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def whoami_app(url):
    app = make_app(url)
    app.add_url_rule("/whoami", "whoami", lambda: {"region": current_scope().region})
    return app


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    return whoami_app(backend_url), tokens


def login(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie (copied, stolen, or kept by a proxy)."""
    other = app.test_client()
    other.set_cookie("gridwall_session", client.get_cookie("gridwall_session").value)
    return other


def live_sessions(engine) -> list[tuple[str, str]]:
    stmt = (select(GwUser.username, GwSession.via).join(GwUser, GwUser.id == GwSession.user_id)
            .where(GwSession.ended_at.is_(None)).order_by(GwSession.id))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


# --- ending sessions -------------------------------------------------------------------------------

def test_a_cookie_copied_before_logout_is_refused_after_it(site, engine):
    app, _ = site
    client = login_as(app, "center1")
    copy = copy_of(app, client)
    assert copy.get("/api/v1/summary").status_code == 200
    assert client.post("/logout").status_code == 302
    assert copy.get("/api/v1/summary").status_code == 401
    assert copy.get("/", headers=HTML).status_code == 302
    assert live_sessions(engine) == []


def login_as(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_logout_on_one_worker_ends_the_session_on_every_worker(site, backend_url):
    app, _ = site
    other_worker = whoami_app(backend_url)  # another process (gunicorn worker or host) on the same database
    client = login_as(app, "leader1")
    on_other = copy_of(other_worker, client)
    assert on_other.get("/whoami").get_json() == {"region": ROOT}
    client.post("/logout")
    assert on_other.get("/whoami").status_code == 401


def test_disabling_a_user_ends_its_sessions_for_good(site, engine):
    from dashboard.identity.users import set_user_active

    app, _ = site
    client = login_as(app, "leader1")
    copy = copy_of(app, client)
    kept = login_as(app, "center1")
    set_user_active(engine, "leader1", False)
    assert client.get("/whoami").status_code == 401
    set_user_active(engine, "leader1", True)
    assert copy.get("/whoami").status_code == 401  # enabling again brings no session back
    assert kept.get("/whoami").status_code == 200
    assert login(app.test_client(), "leader1").status_code == 302


def test_a_new_password_ends_every_session_and_other_changes_do_not(site, engine):
    from dashboard.usecases.users import save_user

    app, _ = site
    first, second = login_as(app, "street_a"), login_as(app, "street_a")
    save_user(engine, "street_a", role="street", region=TOWN_A)  # no new password: sessions go on
    assert first.get("/whoami").status_code == 200 and second.get("/whoami").status_code == 200
    save_user(engine, "street_a", role="leader")  # a role change applies at once, the session stays
    assert first.get("/whoami").get_json() == {"region": ROOT}
    save_user(engine, "street_a", role="leader", password="a-new-one")
    assert first.get("/whoami").status_code == 401 and second.get("/whoami").status_code == 401
    assert live_sessions(engine) == []


def test_only_the_hash_of_the_session_id_is_stored(site, engine):
    app, _ = site
    client = login_as(app, "center1")
    contents = app.session_interface.get_signing_serializer(app).loads(client.get_cookie("gridwall_session").value)
    assert set(contents) - {"_permanent"} == {"sid"} and len(contents["sid"]) >= 40
    with engine.connect() as conn:
        stored = conn.execute(select(GwSession.id_hash, GwSession.via)).one()
    assert stored.id_hash == hashlib.sha256(contents["sid"].encode()).hexdigest() and stored.via == "password"


def test_logging_in_again_ends_the_browsers_previous_session(site, engine):
    app, _ = site
    client = login_as(app, "leader1")
    before = copy_of(app, client)
    login(client, "center1")
    assert before.get("/whoami").status_code == 401
    assert live_sessions(engine) == [("center1", "password")]


# --- the cost of the check -------------------------------------------------------------------------

class Statements:
    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *args):
        self.seen.append(statement)


def test_each_request_checks_its_session_in_one_statement(site, backend_url):
    app, tokens = site
    password = login_as(app, "center1")
    kiosk = app.test_client()
    assert kiosk.get(f"/kiosk/{tokens['wall_a']}").status_code == 302
    for client in (password, kiosk):
        with Statements(get_engine(backend_url)) as seen:
            assert client.get("/", headers=HTML).status_code == 200
        assert len(seen) == 1, seen


def test_last_seen_is_written_at_most_once_a_minute(site, engine, backend_url):
    app, _ = site
    client = login_as(app, "center1")
    two_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=2)
    with engine.begin() as conn:
        conn.execute(update(GwSession).values(last_seen_at=two_minutes_ago))
    with Statements(get_engine(backend_url)) as seen:
        client.get("/", headers=HTML)
        client.get("/", headers=HTML)
    assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "SELECT"]
    with engine.connect() as conn:
        assert conn.execute(select(GwSession.last_seen_at)).scalar_one() > two_minutes_ago + timedelta(minutes=1)


# --- kiosk links -----------------------------------------------------------------------------------

def confirm_code(page: str) -> str:
    return re.search(r'name="confirm" value="([0-9a-f]+)"', page).group(1)


def test_a_kiosk_link_in_another_users_browser_asks_before_replacing_its_session(site, engine):
    app, tokens = site
    link = f"/kiosk/{tokens['wall_a']}?kiosk=1"
    duty = login_as(app, "center1")
    page = duty.get(link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "center1" in text and "wall_a" in text and "保留当前登录" in text
    assert duty.get("/whoami").get_json() == {"region": ROOT}  # nothing replaced by the GET
    code = confirm_code(text)
    # a post without the code bound to this browser's session, or from another site, replaces nothing
    assert duty.post(link, headers=SAME_SITE).status_code == 303
    other = login_as(app, "leader1")
    other_code = confirm_code(other.get(link).get_data(as_text=True))
    assert duty.post(link, data={"confirm": other_code}, headers=SAME_SITE).status_code == 303
    assert duty.post(link, data={"confirm": code}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert app.test_client().post(link, data={"confirm": code}).status_code == 303  # no session to confirm
    assert duty.get("/whoami").get_json() == {"region": ROOT}
    # confirmed from the page itself: the wall session replaces the duty officer's, which ends
    before = copy_of(app, duty)
    resp = duty.post(link, data={"confirm": code}, headers=SAME_SITE)
    assert resp.status_code == 302 and resp.location == f"/?region={TOWN_A}&kiosk=1"
    assert duty.get("/whoami").get_json() == {"region": TOWN_A}
    assert before.get("/whoami").status_code == 401
    with engine.connect() as conn:
        detail = conn.execute(select(GwAudit.detail).where(GwAudit.action == "kiosk_login")).scalar_one()
    assert '"replaced": "center1"' in detail


def test_a_kiosk_link_without_a_session_or_of_the_same_wall_logs_in_at_once(site, engine):
    from dashboard.identity.users import create_token

    app, tokens = site
    wall = app.test_client()
    assert wall.get(f"/kiosk/{tokens['wall_a']}").status_code == 302
    spare = create_token(engine, "wall_a")
    assert wall.get(f"/kiosk/{spare}").status_code == 302  # the same wall user: no question
    assert wall.get("/whoami").get_json() == {"region": TOWN_A}
    assert live_sessions(engine) == [("wall_a", "kiosk")]


def test_head_on_a_kiosk_link_starts_nothing(site, engine):
    app, tokens = site
    client = app.test_client()
    resp = client.head(f"/kiosk/{tokens['wall_a']}")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert live_sessions(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(GwAudit.action).where(GwAudit.action.like("kiosk%"))).first() is None


def test_a_kiosk_cookie_from_before_server_sessions_is_moved_to_one_while_its_token_lives(site, engine):
    app, _ = site
    with engine.connect() as conn:
        wall_id = conn.execute(select(GwUser.id).where(GwUser.username == "wall_a")).scalar_one()
        token_id = conn.execute(select(GwToken.id).where(GwToken.user_id == wall_id)).scalar_one()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess.update({"uid": wall_id, "via": "kiosk", "tid": token_id, "iat": 1_700_000_000})
    assert client.get("/whoami").get_json() == {"region": TOWN_A}
    assert live_sessions(engine) == [("wall_a", "kiosk")]
    with engine.begin() as conn:
        conn.execute(update(GwToken).values(revoked_at=datetime.now(timezone.utc)))
    assert client.get("/whoami").status_code == 401
