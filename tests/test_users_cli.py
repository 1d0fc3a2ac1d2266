"""`gridwall user add` and `gridwall token create` through the real command line."""

from __future__ import annotations

import hashlib

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import select

from dashboard.cli import main
from dashboard.core.config import get_settings
from dashboard.identity.users import authenticate, user_for_token
from data_access.db import dispose_all
from data_access.models import GwToken, GwUser

from .api_seed import FAST_HASHER, TOWN_A, seed


@pytest.fixture
def cli(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    get_settings.cache_clear()
    dispose_all()
    seed(engine)
    runner = CliRunner()
    yield lambda *args, input=None: runner.invoke(main, list(args), input=input)
    get_settings.cache_clear()
    dispose_all()


def test_user_add_hashes_the_password_with_argon2(cli, engine):
    result = cli("user", "add", "duty", "--role", "center", "--password-stdin", input="pa ss\n")
    assert result.exit_code == 0, result.output
    assert "duty" in result.output
    with engine.connect() as conn:
        row = conn.execute(select(GwUser.role, GwUser.region_code, GwUser.password_hash)).one()
    assert row.role == "center" and row.region_code is None
    assert row.password_hash.startswith("$argon2") and "pa ss" not in row.password_hash
    assert PasswordHasher().verify(row.password_hash, "pa ss")
    assert authenticate(engine, "duty", "pa ss").username == "duty"
    assert authenticate(engine, "duty", "pass") is None


def test_user_add_again_updates_the_user(cli, engine):
    assert cli("user", "add", "s", "--role", "street", "--region", TOWN_A, "--password-stdin", input="a\n").exit_code == 0
    assert cli("user", "add", "s", "--role", "leader", "--password-stdin", input="b\n").exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(select(GwUser.role, GwUser.region_code)).all() == [("leader", None)]
    assert authenticate(engine, "s", "b") is not None and authenticate(engine, "s", "a") is None


def test_token_create_prints_a_token_and_stores_only_its_hash(cli, engine):
    assert cli("user", "add", "wall1", "--role", "wall", "--region", TOWN_A).exit_code == 0
    result = cli("token", "create", "wall1")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert len(token) >= 40
    with engine.connect() as conn:
        stored = conn.execute(select(GwToken.token_hash)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    assert user_for_token(engine, token).username == "wall1"
    assert user_for_token(engine, token + "x") is None


def test_user_add_keeps_a_disabled_user_disabled_unless_enable_is_given(cli, engine):
    assert cli("user", "add", "duty", "--role", "center", "--password-stdin", input="a\n").exit_code == 0
    assert cli("user", "disable", "duty").exit_code == 0
    result = cli("user", "add", "duty", "--role", "leader", "--password-stdin", input="b\n")
    assert result.exit_code == 0 and "--enable" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(GwUser.role, GwUser.active)).one() == ("leader", False)
    assert authenticate(engine, "duty", "b") is None
    result = cli("user", "add", "duty", "--role", "leader", "--enable")
    assert result.exit_code == 0 and "disabled" not in result.output
    assert authenticate(engine, "duty", "b").username == "duty"
    assert "--enable" in cli("user", "add", "--help").output


def test_a_wall_user_gets_no_password(cli, engine):
    result = cli("user", "add", "w", "--role", "wall", "--region", TOWN_A, "--password-stdin", input="pw\n")
    assert result.exit_code != 0 and "kiosk" in result.output
    # a user turned into a wall user loses the password it had
    assert cli("user", "add", "s", "--role", "leader", "--password-stdin", input="pw\n").exit_code == 0
    assert cli("user", "add", "s", "--role", "wall", "--region", TOWN_A).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(select(GwUser.username, GwUser.password_hash)).all() == [("s", None)]


USER_ERRORS = [
    (("token", "create", "ghost"), None, "unknown user"),
    (("user", "add", "s", "--role", "street", "--password-stdin"), "pw\n", "--region"),
    (("user", "add", "s", "--role", "street", "--region", "320585", "--password-stdin"), "pw\n", "street code"),
    (("user", "add", "w", "--role", "wall"), None, "--region"),
    (("user", "add", "s", "--role", "street", "--region", "32058510x", "--password-stdin"), "pw\n", "malformed"),
    (("user", "add", "s", "--role", "street", "--region", "320585999", "--password-stdin"), "pw\n", "unknown region"),
    (("user", "add", "c", "--role", "center", "--password-stdin"), "\n", "password"),
    (("user", "add", "c", "--role", "leader"), None, "password"),
    (("user", "add", "two words", "--role", "center", "--password-stdin"), "pw\n", "user name"),
    (("user", "add", "c", "--role", "admin", "--password-stdin"), "pw\n", "admin"),
]


def test_user_errors_are_readable(cli, engine):
    for args, stdin, message in USER_ERRORS:
        result = cli(*args, input=stdin)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    with engine.connect() as conn:
        assert conn.execute(select(GwUser.id)).first() is None
