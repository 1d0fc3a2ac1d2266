"""The use cases (dashboard/usecases): each write in one place, with its audit row, on both backends.

They take engine, scope and user explicitly: these tests call them with no Flask app at all, as a
worker would. The API and the wall reach the same acknowledgement (the audit row says which).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import select

from dashboard.identity.users import UserError
from dashboard.usecases.alerts import acknowledge_alert
from dashboard.usecases.users import save_user
from data_access.models import Alert, GwAudit, GwUser
from data_access.scope import Scope
from data_access.users import User

from .api_seed import FAST_HASHER, ROOT, TOWN_A, TOWN_B, add_users, make_app, seed
from tests.ast_support import parse_source

ROOT_SCOPE = Scope(ROOT, ROOT)
DUTY = User(1, "duty1", "center", None, True)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def county(engine):
    seed(engine)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())
    return ids


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _audit(engine, action="alert_ack"):
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.username, GwAudit.detail).where(GwAudit.action == action)
                            .order_by(GwAudit.id)).all()
    return [(u, json.loads(d) if d else None) for u, d in rows]


def _alert(engine, alert_id):
    with engine.connect() as conn:
        return tuple(conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == alert_id)).one())


def test_acknowledging_an_alert_writes_it_and_its_audit_row(engine, county):
    outcome = acknowledge_alert(engine, ROOT_SCOPE, DUTY, county["a1"], via="worker")
    assert outcome.ok and outcome.status == "ok"
    assert outcome.alert["status"] == "acknowledged" and outcome.alert["ack_by"] == "duty1"
    assert _alert(engine, county["a1"]) == ("acknowledged", "duty1")
    assert _audit(engine) == [("duty1", {"alert_id": county["a1"], "status": "acknowledged", "via": "worker"})]
    # Again: still ok (idempotent), the first acknowledgement stays.
    again = acknowledge_alert(engine, ROOT_SCOPE, User(2, "duty2", "center", None, True), county["a1"], via="api")
    assert again.ok and again.alert["ack_by"] == "duty1"


def test_auth_off_acknowledges_as_demo(engine, county):
    assert acknowledge_alert(engine, ROOT_SCOPE, None, county["a1"], via="wall").ok
    assert _alert(engine, county["a1"]) == ("acknowledged", "demo")
    assert _audit(engine)[0][0] == "demo"


def test_an_alert_outside_the_scope_missing_or_closed_is_an_outcome_and_writes_nothing(engine, county):
    town_b = Scope(TOWN_B, ROOT)
    outside = acknowledge_alert(engine, town_b, DUTY, county["a1"], via="api")  # a1 is in TOWN_A
    assert outside.status == "not_found" and not outside.ok and outside.alert is None
    assert acknowledge_alert(engine, ROOT_SCOPE, DUTY, 999999, via="api").status == "not_found"
    closed = acknowledge_alert(engine, ROOT_SCOPE, DUTY, county["r1"], via="api")
    assert closed.status == "closed" and "resolved" in closed.reason
    assert _alert(engine, county["a1"]) == ("new", None) and _alert(engine, county["r1"])[0] == "resolved"
    assert _audit(engine) == []


def test_the_acknowledgement_and_its_audit_row_share_one_transaction(engine, county, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit table gone")

    monkeypatch.setattr("dashboard.usecases.alerts.write_audit", broken)
    with pytest.raises(RuntimeError):
        acknowledge_alert(engine, ROOT_SCOPE, DUTY, county["a1"], via="api")
    assert _alert(engine, county["a1"]) == ("new", None), "no acknowledgement without its audit row"


def test_the_api_acknowledges_through_the_use_case(engine, backend_url, county, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    tokens = add_users(engine)
    client = make_app(backend_url).test_client()
    resp = client.post(f"/api/v1/alerts/{county['a1']}/ack", headers=bearer(tokens["center1"]))
    assert resp.status_code == 200
    assert _audit(engine) == [("center1", {"alert_id": county["a1"], "status": "acknowledged", "via": "api"})]
    denied = client.post(f"/api/v1/alerts/{county['a1']}/ack", headers=bearer(tokens["leader1"]))
    assert denied.status_code == 403 and denied.is_json and "center" in denied.get_json()["error"]


def _raw_writes(path: Path) -> set[str]:
    """The data-layer writes a module reaches: ``ack_alert`` and ``data_access.users.save_user``."""
    raw = {"data_access.alerts": "ack_alert", "data_access.users": "save_user"}
    found, aliases = set(), {}
    tree = parse_source(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in raw:
            found |= {a.name for a in node.names if a.name == raw[node.module]}
        elif isinstance(node, ast.ImportFrom) and node.module == "data_access":
            aliases.update({a.asname or a.name: f"data_access.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module in raw and node.attr == raw[module]:
                found.add(node.attr)
    return found


def test_only_the_use_cases_acknowledge_alerts_and_save_users():
    sources = [p for d in ("callbacks", "layouts", "dashboard") for p in (REPO / d).rglob("*.py")]
    writers = {str(p.relative_to(REPO)): w for p in sources if (w := _raw_writes(p))}
    assert writers == {"dashboard/usecases/alerts.py": {"ack_alert"}, "dashboard/usecases/users.py": {"save_user"}}


def test_roles_are_checked_only_by_require_role_and_has_role():
    """No hand-written ``user.role`` test beside the gate (login and kiosk checks live in identity/)."""
    offenders = []
    for d in ("callbacks", "layouts", "dashboard/web", "dashboard/usecases"):
        for p in (REPO / d).rglob("*.py"):
            for node in ast.walk(parse_source(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Compare) and any(
                        isinstance(n, ast.Attribute) and n.attr == "role" for n in [node.left, *node.comparators]):
                    offenders.append(f"{p.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


# --- users -----------------------------------------------------------------------------------------

@pytest.fixture
def fast_hash(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)


def test_save_user_creates_then_updates_with_an_audit_row_each(engine, county, fast_hash):
    first = save_user(engine, "s1", role="street", region=TOWN_A, password="pw")
    assert first.created
    again = save_user(engine, "s1", role="leader", by=DUTY)  # no password: the stored one stays
    assert not again.created and again.user_id == first.user_id
    with engine.connect() as conn:
        row = conn.execute(select(GwUser.role, GwUser.region_code, GwUser.password_hash)).one()
    assert (row.role, row.region_code) == ("leader", None) and row.password_hash.startswith("$argon2")
    assert _audit(engine, "user_save") == [(None, {"user": "s1", "role": "street", "region": TOWN_A}),
                                           ("duty1", {"user": "s1", "role": "leader", "region": None})]


@pytest.mark.parametrize("kwargs,reason", [
    ({"name": "two words", "role": "center", "password": "pw"}, "user name"),
    ({"name": "x", "role": "admin", "password": "pw"}, "admin"),
    ({"name": "x", "role": "center"}, "password"),
    ({"name": "x", "role": "street", "password": "pw"}, "--region"),
    ({"name": "x", "role": "street", "region": "320585999", "password": "pw"}, "unknown region"),
])
def test_save_user_refuses_with_a_reason_and_writes_nothing(engine, county, fast_hash, kwargs, reason):
    kwargs = dict(kwargs)  # the parameters are shared by both backends' runs
    name = kwargs.pop("name")
    with pytest.raises(UserError, match=reason):
        save_user(engine, name, **kwargs)
    with engine.connect() as conn:
        assert conn.execute(select(GwUser.id)).all() == []
    assert _audit(engine, "user_save") == []


def test_require_role_is_a_403_a_callback_can_catch_and_has_role_says_the_same(engine, backend_url):
    from werkzeug.exceptions import Forbidden

    from dashboard.identity import auth

    seed(engine)
    for enabled, user, allowed in ((False, None, True), (True, DUTY, True),
                                   (True, User(3, "boss", "leader", None, True), False)):
        app = make_app(backend_url, auth=enabled)
        with app.test_request_context("/"):
            g.gw_user = user
            assert auth.has_role("center") is allowed
            if allowed:
                assert auth.require_role("center") is user
            else:
                with pytest.raises(auth.RoleRequired) as raised:
                    auth.require_role("center")
                assert isinstance(raised.value, Forbidden) and raised.value.code == 403
