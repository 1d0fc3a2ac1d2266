"""Login throttling: lockout per user name and address, spraying per address, audited, shared by workers,
and every attempt costs exactly one password-hash check (no timing oracle)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from data_access.db import dispose_all
from data_access.models import GwAudit
from data_access.users import write_audit

from .api_seed import FAST_HASHER, PASSWORD, add_users, make_app, seed

UTC = timezone.utc
HTML = {"Accept": "text/html"}


class CountingHasher(PasswordHasher):
    """The fast test hasher, counting how many passwords it checks."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=64, parallelism=1)
        self.verified = 0

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch):
    h = CountingHasher()
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield h
    dispose_all()


@pytest.fixture
def site(engine, backend_url, hasher, monkeypatch):
    seed(engine)
    add_users(engine)
    monkeypatch.setattr("dashboard.identity.users._hasher", hasher)
    return make_app(backend_url)


def attempt(client, username, password="wrong", ip="10.0.0.7", **headers):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers)


def audit(engine, action=None):
    stmt = select(GwAudit.username, GwAudit.action, GwAudit.detail).order_by(GwAudit.id)
    if action:
        stmt = stmt.where(GwAudit.action == action)
    with engine.connect() as conn:
        return [(r.username, r.action, json.loads(r.detail) if r.detail else None) for r in conn.execute(stmt)]


def test_limits_come_from_the_configuration(engine, backend_url, hasher):
    seed(engine)
    add_users(engine)
    app = make_app(backend_url, login_max_failures=2, login_lock_minutes=60)
    client = app.test_client()
    for _ in range(2):
        attempt(client, "center1")
    locked = attempt(client, "center1", PASSWORD)
    assert locked.status_code == 429 and 59 * 60 <= int(locked.headers["Retry-After"]) <= 61 * 60


def test_five_failures_lock_the_name_from_that_address(site, engine):
    client = site.test_client()
    for _ in range(5):
        assert attempt(client, "center1").status_code == 401
    locked = attempt(client, "center1", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/", headers=HTML).status_code == 302  # no session
    failed = audit(engine, "login_failed")
    assert len(failed) == 6 and failed[-1] == ("center1", "login_failed", {"ip": "10.0.0.7", "locked": True})
    # the same name from another address, and another name from this address, still log in
    assert attempt(site.test_client(), "center1", PASSWORD, ip="10.0.0.8").status_code == 302
    assert attempt(site.test_client(), "leader1", PASSWORD).status_code == 302


def test_a_success_clears_the_count(site):
    client = site.test_client()
    for _ in range(4):
        attempt(client, "leader1")
    assert attempt(client, "leader1", PASSWORD).status_code == 302
    for _ in range(4):
        assert attempt(site.test_client(), "leader1").status_code == 401
    assert attempt(site.test_client(), "leader1", PASSWORD).status_code == 302


def test_unknown_names_lock_too(site):
    client = site.test_client()
    for _ in range(5):
        assert attempt(client, "nobody").status_code == 401
    assert attempt(client, "nobody").status_code == 429  # same answer as for a real account


def test_the_lock_ends_after_its_time(site, engine):
    # Five failures 31 minutes ago (window 15 + lock 15): over.
    old = datetime.now(UTC) - timedelta(minutes=31)
    with engine.begin() as conn:
        for i in range(5):
            write_audit(conn, "center1", "login_failed", {"ip": "10.0.0.7"}, old + timedelta(seconds=i))
    assert attempt(site.test_client(), "center1", PASSWORD).status_code == 302
    # Five failures spread wider than the window never lock.
    spread = datetime.now(UTC) - timedelta(minutes=25)
    with engine.begin() as conn:
        for i in range(5):
            write_audit(conn, "leader1", "login_failed", {"ip": "10.0.0.7"}, spread + timedelta(minutes=5 * i))
    assert attempt(site.test_client(), "leader1", PASSWORD).status_code == 302


def test_password_spraying_locks_the_address(site):
    client = site.test_client()
    for i in range(20):
        assert attempt(client, f"guess{i}").status_code == 401
    # a right password for a real user from the spraying address is refused too
    assert attempt(client, "street_a", PASSWORD).status_code == 429
    assert attempt(site.test_client(), "street_a", PASSWORD, ip="10.0.0.9").status_code == 302


def test_the_lock_is_shared_by_workers(site, backend_url):
    # Two app instances on one database stand for two gunicorn workers (or two hosts).
    other = make_app(backend_url)
    for _ in range(5):
        attempt(site.test_client(), "center1")
    assert attempt(other.test_client(), "center1", PASSWORD).status_code == 429


def test_every_attempt_costs_one_hash_check(site, hasher):
    """Known or unknown name, right or wrong or empty password, locked or not: one argon2 check each."""
    client = site.test_client()
    cases = [("center1", PASSWORD), ("center1", "wrong"), ("nobody", "x"), ("center1", ""), ("", ""),
             ("wall_a", "x")]
    for username, password in cases:
        before = hasher.verified
        attempt(client, username, password, ip="10.0.0.20")
        assert hasher.verified - before == 1, (username, password)
    for _ in range(5):
        attempt(client, "leader1", ip="10.0.0.21")
    before = hasher.verified
    assert attempt(client, "leader1", PASSWORD, ip="10.0.0.21").status_code == 429
    assert hasher.verified - before == 1


def test_behind_a_trusted_proxy_the_forwarded_address_counts(engine, backend_url, hasher):
    seed(engine)
    add_users(engine)
    app = make_app(backend_url, proxy_trusted_ips="10.1.0.1")
    client = app.test_client()
    for _ in range(5):
        attempt(client, "center1", ip="10.1.0.1", **{"X-Forwarded-For": "172.16.0.5"})
    # another client behind the same proxy is not locked out
    assert attempt(client, "center1", PASSWORD, ip="10.1.0.1", **{"X-Forwarded-For": "172.16.0.6"}).status_code == 302
    assert attempt(app.test_client(), "center1", PASSWORD, ip="10.1.0.1",
                   **{"X-Forwarded-For": "172.16.0.5"}).status_code == 429
    # a client that is not the proxy cannot pick its address with the header
    for _ in range(5):
        attempt(client, "leader1", ip="10.2.0.9", **{"X-Forwarded-For": f"1.2.3.{_}"})
    assert attempt(client, "leader1", PASSWORD, ip="10.2.0.9", **{"X-Forwarded-For": "9.9.9.9"}).status_code == 429
    failed = audit(engine, "login_failed")
    assert {d["ip"] for _, _, d in failed} == {"172.16.0.5", "10.2.0.9"}
