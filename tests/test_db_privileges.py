"""Least privilege on PostgreSQL: gridwall runs under a role with SELECT only on the platform tables and
write access only to alerts and gw_*; that role cannot change a case.

Each test gets its own schema and its own role (unique names: the `test` database is shared), both
dropped afterwards.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import ProgrammingError

from dashboard.cli import main
from dashboard.core.config import get_settings
from data_access import figures
from data_access.cases import latest_cases, sla_cases
from data_access.db import dispose_all, init_db, make_engine
from data_access.models import Alert, GwAudit
from data_access.moment import Moment
from data_access.privileges import apply_grants, check_privileges, grant_statements
from data_access.scope import Scope

from .api_seed import FAST_HASHER, PASSWORD, ROOT, T, T_LOCAL, TOWN_A, add_users, make_app, seed
from .conftest import PG_URL

pytestmark = pytest.mark.postgres


def _url(schema: str, role: str | None = None) -> str:
    url = make_url(PG_URL).set(query={"options": f"-csearch_path={schema}"})
    if role is not None:
        url = url.set(username=role, password=None)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    suffix = uuid.uuid4().hex[:10]
    schema, role = f"gwpriv_{suffix}", f"gwro_{suffix}"
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'))
    owner = make_engine(_url(schema))
    init_db(owner)
    seed(owner)
    tokens = add_users(owner)
    with owner.begin() as conn:
        apply_grants(conn, role)
    restricted = make_engine(_url(schema, role))
    yield {"owner": owner, "restricted": restricted, "url": _url(schema, role), "owner_url": _url(schema),
           "role": role, "schema": schema, "tokens": tokens}
    restricted.dispose()
    owner.dispose()
    dispose_all()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def test_the_role_holds_exactly_what_gridwall_needs(pg):
    with pg["restricted"].connect() as conn:
        report = check_privileges(conn)
        assert conn.execute(text("SELECT current_user")).scalar_one() == pg["role"]
    assert report.ok and report.excess == [], report.render()
    with pg["owner"].connect() as conn:  # the owner (here a superuser) holds far more
        assert check_privileges(conn).excess
    with pg["owner"].connect() as conn:
        statements = grant_statements(conn, pg["role"])
    schema, role = pg["schema"], pg["role"]
    assert f"GRANT SELECT ON {schema}.cases TO {role}" in statements
    assert f"GRANT SELECT, INSERT, UPDATE ON {schema}.alerts TO {role}" in statements
    assert f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.gw_audit TO {role}" in statements
    assert not any(".cases " in s and "INSERT" in s for s in statements)


FORBIDDEN = [
    "INSERT INTO cases (id, code, status) VALUES (999999, 'X-1', 'reported')",
    "UPDATE cases SET status = 'closed'",
    "DELETE FROM cases",
    "TRUNCATE cases",
    "UPDATE regions SET name = 'x'",
    "INSERT INTO case_actions (id, case_id, action) VALUES (1, 1, 'close')",
    "DELETE FROM staff_pings",
    "DELETE FROM alerts",
    "DROP TABLE cases",
    "ALTER TABLE cases ADD COLUMN x int",
    "CREATE TABLE gw_sneaky (id int)",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_role_cannot_change_platform_data(pg, statement):
    with pytest.raises(ProgrammingError) as err:
        with pg["restricted"].begin() as conn:
            conn.execute(text(statement))
    assert err.value.orig.sqlstate == "42501", err.value  # insufficient_privilege
    with pg["owner"].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 6


def test_gridwall_runs_under_the_role(pg):
    ro = pg["restricted"]
    assert init_db(ro) == []  # every table exists: nothing to create, nothing refused

    scope, m = Scope(ROOT, ROOT), Moment(T, get_settings().tz)
    with ro.connect() as conn:
        body = figures.summary(conn, scope, m)
        assert body["cases"]["open"] == 5
        assert latest_cases(conn, Scope(TOWN_A, ROOT), m, 10)
        sla_cases(conn, scope, m, 10)

    app = make_app(pg["url"])
    tokens = pg["tokens"]
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {tokens['center1']}"}
    assert api.get(f"/api/v1/summary?at={T_LOCAL}", headers=bearer).get_json()["cases"]["open"] == 5
    assert api.get(f"/api/v1/regions/{ROOT}/children?at={T_LOCAL}", headers=bearer).status_code == 200
    assert api.get(f"/api/v1/cases?format=csv&at={T_LOCAL}", headers=bearer).status_code == 200

    with pg["owner"].connect() as conn:
        alert_id = conn.execute(select(Alert.id).where(Alert.dedup_key == "a1")).scalar_one()
    ack = api.post(f"/api/v1/alerts/{alert_id}/ack", headers=bearer)
    assert ack.status_code == 200 and ack.get_json()["status"] == "acknowledged"

    browser = app.test_client()
    assert browser.post("/login", data={"username": "center1", "password": "wrong"}).status_code == 401
    assert browser.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    assert browser.get("/api/v1/audit").status_code == 200
    kiosk = app.test_client().get(f"/kiosk/{tokens['wall_a']}")
    assert kiosk.status_code == 302

    # gridwall's own writes: new alerts, users and tokens
    from dashboard.identity.users import create_token
    from dashboard.usecases.users import save_user as add_user

    with ro.begin() as conn:
        conn.execute(Alert.__table__.insert().values(
            created_at=datetime.now(timezone.utc), kind="spike", severity="info", region_code=TOWN_A,
            title="t", detail="{}", status="new", source="gridwall", dedup_key="ro-1"))
    add_user(ro, "duty2", role="center", password="pw")
    assert create_token(ro, "duty2")

    with pg["owner"].connect() as conn:
        actions = conn.execute(select(GwAudit.action)).scalars().all()
    assert {"alert_ack", "export", "login", "login_failed", "kiosk_login", "token_create"} <= set(actions)


def test_cli_grants_and_checks(pg, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", pg["owner_url"])
    get_settings.cache_clear()
    try:
        printed = runner.invoke(main, ["db", "grant", pg["role"], "--print"])
        assert printed.exit_code == 0 and "GRANT SELECT ON" in printed.output and "REVOKE ALL" in printed.output
        monkeypatch.setenv("GRIDWALL_DATABASE_URL", pg["url"])
        get_settings.cache_clear()
        checked = runner.invoke(main, ["db", "privileges"])
        assert checked.exit_code == 0 and "every privilege gridwall needs is granted" in checked.output
        # take one needed privilege away: the check fails and names it
        with pg["owner"].begin() as conn:
            conn.execute(text(f'REVOKE UPDATE ON alerts FROM "{pg["role"]}"'))
        dispose_all()
        checked = runner.invoke(main, ["db", "privileges"])
        assert checked.exit_code == 1 and "missing: UPDATE on alerts" in checked.output
        # grant again (as the owner): back to exactly the needs
        monkeypatch.setenv("GRIDWALL_DATABASE_URL", pg["owner_url"])
        get_settings.cache_clear()
        assert runner.invoke(main, ["db", "grant", pg["role"]]).exit_code == 0
        with pg["restricted"].connect() as conn:
            assert check_privileges(conn).ok
    finally:
        get_settings.cache_clear()
        dispose_all()


def test_commands_run_under_the_role(pg, monkeypatch):
    """init-db, check-db and the early-warning engine need nothing beyond the grants."""
    runner = CliRunner()
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", pg["url"])
    get_settings.cache_clear()
    try:
        for args in (["init-db"], ["check-db"], ["warn", "--once", "--at", T_LOCAL]):
            result = runner.invoke(main, args)
            assert result.exit_code == 0, (args, result.output[-2000:], result.exception)
            assert "permission denied" not in result.output.lower()
    finally:
        get_settings.cache_clear()
        dispose_all()


def test_an_older_forecast_table_keeps_working_under_the_role(pg, monkeypatch, caplog):
    """gw_forecasts without the median column (an older gridwall): the role may not add it, so init-db
    warns and leaves it; the engine still writes and reads forecasts; the owner's init-db adds it."""
    from data_access.forecasts import read_forecast

    with pg["owner"].begin() as conn:
        conn.execute(text("ALTER TABLE gw_forecasts DROP COLUMN median"))
    runner = CliRunner()
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", pg["url"])
    get_settings.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="gridwall.db"):
            for args in (["init-db"], ["warn", "--once", "--at", T_LOCAL]):
                result = runner.invoke(main, args)
                assert result.exit_code == 0, (args, result.output[-2000:], result.exception)
                assert "forecast failed" not in result.output
        assert "gw_forecasts has no column median" in caplog.text
        with pg["restricted"].connect() as conn:
            rows = read_forecast(conn, Scope(ROOT, ROOT), Moment(T, T.tzinfo))
        assert rows and all(r["median"] is None and r["expected"] is not None for r in rows)
        init_db(pg["owner"], contract=False)
        with pg["restricted"].connect() as conn:
            assert "median" in {r[0] for r in conn.execute(text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'gw_forecasts' "
                "AND table_schema = current_schema()"))}
    finally:
        get_settings.cache_clear()
        dispose_all()
