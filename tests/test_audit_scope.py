"""The audit log is scoped like everything else (issue 12, item 4): each row carries the region of its
user when it was written, and a duty officer bound to a street reads that street's rows only, through
the API and the /audit page; rows of root users and of the system are seen at the root only. On both
backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from data_access.db import dispose_all
from data_access.models import GwAudit
from data_access.scope import Scope
from data_access.users import audit_rows, write_audit

from .api_seed import FAST_HASHER, PASSWORD, ROOT, TOWN_A, TOWN_B, add_users, make_app, seed


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def audited(engine, backend_url):
    """Two streets' duty officers, and audit rows written by the real write sites of both streets,
    of a root user and of nobody in particular."""
    from dashboard.identity.users import create_token
    from dashboard.usecases.users import save_user as add_user

    seed(engine)
    tokens = add_users(engine)  # center1 (root), street_a and wall_a (TOWN_A), leader1 (root)
    add_user(engine, "center_a", role="center", region=TOWN_A, password=PASSWORD)
    add_user(engine, "center_b", role="center", region=TOWN_B, password=PASSWORD)
    add_user(engine, "street_b", role="street", region=TOWN_B, password=PASSWORD)
    tokens.update({name: create_token(engine, name) for name in ("center_a", "center_b")})  # system rows
    app = make_app(backend_url)
    assert login(app.test_client(), "street_a").status_code == 302
    assert app.test_client().get(f"/kiosk/{tokens['wall_a']}").status_code == 302
    assert login(app.test_client(), "street_b").status_code == 302
    assert login(app.test_client(), "street_b", "wrong").status_code == 401
    assert login(app.test_client(), "center1").status_code == 302
    assert login(app.test_client(), "nobody", "x").status_code == 401
    return app, tokens


STREET_A_ROWS = {("street_a", "login"), ("wall_a", "kiosk_login")}
STREET_B_ROWS = {("street_b", "login"), ("street_b", "login_failed")}
ROOT_ROWS = {("center1", "login"), ("nobody", "login_failed"), (None, "token_create")}


def _api_rows(app, token: str, query: str = "") -> set[tuple]:
    resp = app.test_client().get(f"/api/v1/audit{query}", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    return {(r["username"], r["action"]) for r in resp.get_json()}


def test_each_row_keeps_the_region_of_its_user_when_written(audited, engine):
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.username, GwAudit.action, GwAudit.region_code)).all()
    regions = {(r.username, r.action): r.region_code for r in rows}
    assert {k: regions[k] for k in STREET_A_ROWS} == dict.fromkeys(STREET_A_ROWS, TOWN_A)
    assert {k: regions[k] for k in STREET_B_ROWS} == dict.fromkeys(STREET_B_ROWS, TOWN_B)
    assert {k: regions[k] for k in ROOT_ROWS} == dict.fromkeys(ROOT_ROWS)  # NULL: seen at the root only


def test_a_street_duty_officer_reads_only_its_streets_rows_through_the_api(audited):
    app, tokens = audited
    seen = _api_rows(app, tokens["center_a"])
    assert STREET_A_ROWS <= seen
    assert not seen & (STREET_B_ROWS | ROOT_ROWS)
    assert {user for user, _ in seen} <= {"street_a", "wall_a", "center_a"}
    assert _api_rows(app, tokens["center_a"], "?user=street_b") == set()  # a filter cannot reach further
    assert _api_rows(app, tokens["center_a"], "?action=login_failed") == set()
    other = _api_rows(app, tokens["center_b"])
    assert STREET_B_ROWS <= other and not other & (STREET_A_ROWS | ROOT_ROWS)


def test_a_root_duty_officer_reads_every_row(audited):
    app, tokens = audited
    assert STREET_A_ROWS | STREET_B_ROWS | ROOT_ROWS <= _api_rows(app, tokens["center1"])


def test_the_audit_page_is_scoped_too(audited):
    app, _ = audited
    street = app.test_client()
    assert login(street, "center_a").status_code == 302
    page = street.get("/audit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "street_a" in text and "wall_a" in text
    for foreign in ("street_b", "center1", "nobody"):
        assert foreign not in text, foreign
    root = app.test_client()
    assert login(root, "center1").status_code == 302
    text = root.get("/audit").get_data(as_text=True)
    assert all(name in text for name in ("street_a", "wall_a", "street_b", "nobody"))


def test_the_scoped_read_on_its_own(engine):
    seed(engine)
    add_users(engine)
    with engine.begin() as conn:
        write_audit(conn, "street_a", "export", {"rows": 1})
        write_audit(conn, "no_such_user", "login_failed", {"ip": "10.0.0.1"})
        write_audit(conn, None, "user_disable", {"user": "street_a"})
    with engine.connect() as conn:
        street = [(r["username"], r["action"]) for r in audit_rows(conn, Scope(TOWN_A, ROOT))]
        other = audit_rows(conn, Scope(TOWN_B, ROOT))
        root = [(r["username"], r["action"]) for r in audit_rows(conn, Scope(ROOT, ROOT), limit=3)]
    assert street == [("street_a", "export")] and other == []
    assert root == [(None, "user_disable"), ("no_such_user", "login_failed"), ("street_a", "export")]


def test_an_older_table_without_the_region_column_is_written_and_read_at_the_root_only(engine):
    """Under a role that may not add the column (init-db then leaves the table as it is)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE gw_audit DROP COLUMN region_code")
    seed(engine)
    add_users(engine)
    with engine.begin() as conn:
        write_audit(conn, "street_a", "login", {"ip": "10.0.0.2"})
    with engine.connect() as conn:
        assert [r["username"] for r in audit_rows(conn, Scope(ROOT, ROOT), "login")] == ["street_a"]
        assert audit_rows(conn, Scope(TOWN_A, ROOT)) == []  # no region recorded: nothing below the root
