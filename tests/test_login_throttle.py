"""Login throttling: lockout per user name and address, spraying per address, a growing delay per user
name across addresses, audited, shared by workers; every checked attempt costs exactly one password-hash
check (no timing oracle), a refused one none, and only a few checks run at once."""

from __future__ import annotations

import json
import threading
import time
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


def test_every_checked_attempt_costs_one_hash_check_and_a_refused_one_none(site, hasher):
    """Known or unknown name, right or wrong or empty password, a wall user: one argon2 check each (no timing
    oracle); an attempt refused by the throttle is refused before any hash (it cannot cost 64 MiB)."""
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
    assert attempt(client, "leader1", "wrong", ip="10.0.0.21").status_code == 429
    assert hasher.verified == before


# --- per user name, across addresses: a growing delay, not a lock -----------------------------------

def fail_from_many(engine, username, count, *, ago=timedelta(0), action="login_failed", **flags):
    """``count`` failures of ``username``, one from each of as many addresses, ending ``ago`` before now."""
    end = datetime.now(UTC) - ago
    with engine.begin() as conn:
        for i in range(count):
            write_audit(conn, username, action, {"ip": f"10.9.{i // 250}.{i % 250}", **flags},
                        end - timedelta(milliseconds=10 * (count - i)))


def test_failures_of_one_name_from_many_addresses_delay_it_without_hashing(site, engine, hasher):
    client = site.test_client()
    for i in range(10):  # 2 x login_max_failures, each from its own address: no pair lock anywhere
        assert attempt(client, "center1", ip=f"10.3.0.{i}").status_code == 401
    before = hasher.verified
    delayed = attempt(client, "center1", PASSWORD, ip="10.3.1.1")  # a new address, even the right password
    assert delayed.status_code == 429 and 1 <= int(delayed.headers["Retry-After"]) <= 2
    assert "过于频繁" in delayed.get_data(as_text=True)
    assert hasher.verified == before
    assert audit(engine, "login_delayed")[-1][2]["ip"] == "10.3.1.1"
    # other names are not affected
    assert attempt(client, "leader1", PASSWORD, ip="10.3.1.1").status_code == 302


def test_the_delay_doubles_with_each_checked_failure_up_to_five_minutes(site, engine):
    for count, seconds in ((10, 2), (11, 4), (13, 16), (16, 128), (30, 300)):
        with engine.begin() as conn:
            conn.execute(GwAudit.__table__.delete())
        fail_from_many(engine, "center1", count)
        resp = attempt(site.test_client(), "center1", PASSWORD, ip="10.4.0.1")
        assert resp.status_code == 429, count
        assert seconds - 2 <= int(resp.headers["Retry-After"]) <= seconds, (count, resp.headers["Retry-After"])


def test_the_delay_passes_and_refused_attempts_do_not_extend_it(site, engine):
    fail_from_many(engine, "center1", 10, ago=timedelta(seconds=3))  # the 2 s delay is over
    fail_from_many(engine, "center1", 200, action="login_delayed")  # a flood of refused attempts: not counted
    fail_from_many(engine, "center1", 200, locked=True)  # nor attempts refused by a lock
    assert attempt(site.test_client(), "center1", PASSWORD, ip="10.4.0.2").status_code == 302
    # failures older than the window no longer count
    fail_from_many(engine, "leader1", 40, ago=timedelta(minutes=16))
    assert attempt(site.test_client(), "leader1", PASSWORD, ip="10.4.0.2").status_code == 302


def test_the_real_user_still_logs_in_from_an_address_it_used_before(site, engine):
    with engine.begin() as conn:
        write_audit(conn, "center1", "login", {"ip": "10.5.0.1"}, datetime.now(UTC) - timedelta(days=3))
    fail_from_many(engine, "center1", 40)  # a flood at the maximum delay
    assert attempt(site.test_client(), "center1", PASSWORD, ip="10.5.0.9").status_code == 429
    assert attempt(site.test_client(), "center1", PASSWORD, ip="10.5.0.1").status_code == 302


def test_a_flood_on_one_name_does_not_hide_the_failures_of_an_address(site, engine):
    client = site.test_client()
    for _ in range(4):
        assert attempt(client, "center1", ip="10.6.0.1").status_code == 401
    # 2,500 refused attempts on the same name from other addresses: newer than the four failures
    now = datetime.now(UTC)
    rows = [{"ts": now + timedelta(microseconds=i), "username": "center1", "action": "login_failed",
             "detail": json.dumps({"ip": f"10.7.{i // 250}.{i % 250}", "locked": True})} for i in range(2500)]
    with engine.begin() as conn:
        conn.execute(GwAudit.__table__.insert(), rows)
    assert attempt(client, "center1", ip="10.6.0.1").status_code == 401  # the fifth failure of the pair
    assert attempt(client, "center1", PASSWORD, ip="10.6.0.1").status_code == 429  # locked: it was counted


# --- bounded hashing -------------------------------------------------------------------------------

class BlockingHasher(CountingHasher):
    """Holds every check until released, counting how many run at once."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.running = self.most = 0
        self.lock = threading.Lock()

    def verify(self, hash, password):  # noqa: A002
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.release.wait(10)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


def test_concurrent_password_checks_are_bounded_and_the_rest_get_503(site, monkeypatch):
    from dashboard.identity import users

    blocking = BlockingHasher()
    monkeypatch.setattr(users, "_hasher", blocking)
    monkeypatch.setattr(users, "_hash_slots", threading.BoundedSemaphore(2))
    monkeypatch.setattr(users, "HASH_WAIT_SECONDS", 0.3)
    statuses, retry = [], []

    def one(i):
        resp = attempt(site.test_client(), f"user{i}", ip=f"10.8.0.{i}")
        statuses.append(resp.status_code)
        retry.append(resp.headers.get("Retry-After"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    time.sleep(1.0)  # the two without a slot have given up by now
    blocking.release.set()
    for th in threads:
        th.join(10)
    assert sorted(statuses) == [401, 401, 503, 503] and blocking.most == 2
    assert sorted(r for r in retry if r) == ["5", "5"]


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
