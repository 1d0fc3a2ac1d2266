"""Bad rows in the platform tables never crash a command, an API route or a wall callback.

A small synthetic county gets the defects real platforms have (contract.md): NULLs where a value is
expected, unknown codes, invalid GeoJSON, timestamps in the future, a NULL-named region.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, update

from callbacks import map_view, panels, wall
from callbacks.live import outage
from callbacks.live import tick as live
from dashboard import cli
from dashboard.app import create_app
from dashboard.core.checkdb import run_check
from dashboard.core.config import Settings, get_settings
from dashboard.synth import simulate
from dashboard.synth.seed import seed_county
from data_access.db import dispose_all
from data_access.models import Alert, Case, Grid, Region, Staff

from .test_seed import NOW

COUNTY = "320585"


def _break(engine) -> None:
    base = dict(title=None, description=None, source=None, urgency=None, lon=None, lat=None, address=None,
                reporter_staff_id=None, level=None, handler_org_id=None, accept_due_at=None, dispatch_due_at=None,
                accepted_at=None, dispatched_at=None, closed_at=None, satisfaction=None, merged_into=None,
                escalations=None, returns=None, reworks=None, urges=None, updated_at=None)
    rows = [
        dict(base, code="bad-null-everything", category_code=None, grid_code=None, reported_at=None,
             status=None, resolve_due_at=None),
        dict(base, code="bad-unknown-category", category_code="9999", grid_code="320585100001001",
             reported_at=NOW - timedelta(hours=1), status="handling", resolve_due_at=None),
        dict(base, code="bad-future", category_code="0101", grid_code="320585100001001",
             reported_at=NOW + timedelta(days=400), status="weird", resolve_due_at=NOW - timedelta(days=1)),
        dict(base, code="bad-orphan-grid", category_code="0101", grid_code="999999999999999",
             reported_at=NOW - timedelta(hours=2), status="accepted", resolve_due_at=NOW + timedelta(hours=1)),
        dict(base, code="bad-short-grid", category_code="0101", grid_code="320585",
             reported_at=NOW - timedelta(hours=2), status="closed", resolve_due_at=NOW,
             title="<img src=x onerror=alert(1)>", satisfaction=9),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Case), rows)
        conn.execute(insert(Grid), [dict(code="320585100001999", community_code="320585999999", name=None,
                                         kind=None, boundary="{not json", households=None, population=None)])
        conn.execute(update(Region).where(Region.level == "street").values(boundary='{"type": "Point", "coordinates": [1, 2]}'))
        first_street = conn.execute(Region.__table__.select().where(Region.level == "street").limit(1)).first()
        conn.execute(update(Region).where(Region.code == first_street.code).values(name=None))
        conn.execute(insert(Staff), [dict(name=None, role="grid_worker", org_id=None, grid_code="nonsense",
                                          full_time=None, active=None)])
        conn.execute(insert(Alert), [dict(created_at=None, kind=None, severity="bogus", region_code=None,
                                          title=None, detail="{bad json", status=None, source=None, dedup_key=None)])


@pytest.fixture
def broken_county(engine, backend_url):
    seed_county(engine, seed=5, days=2, now=NOW, full_ping_days=1)
    _break(engine)
    return engine, backend_url


def test_api_routes_answer_on_bad_rows(broken_county):
    _, url = broken_county
    app = create_app(Settings(database_url=url, secret_key="bad-rows"), auth=False)
    client = app.server.test_client()
    for path in ("/healthz", "/api/v1/summary", "/api/v1/summary?region=320585100",
                 f"/api/v1/summary?region={COUNTY}&at=2026-11-25T10:00", "/api/v1/regions/320585/children",
                 "/api/v1/regions/320585100/children", "/api/v1/cases?region=320585&state=open",
                 "/api/v1/cases?region=320585&state=overdue", "/api/v1/cases?region=320585&state=warning",
                 "/api/v1/alerts?region=320585"):
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.get_data(as_text=True)[:300])
    summary = client.get("/api/v1/summary").get_json()
    assert summary["cases"]["open"] > 0


def test_wall_callbacks_render_on_bad_rows(broken_county, monkeypatch):
    _, url = broken_county
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    app = create_app(Settings(database_url=url, secret_key="bad-rows"), auth=False)
    with app.server.test_request_context("/"):
        figures = wall.update_figures(1, "", None)
        assert figures[0].isdigit() and isinstance(figures[-1], list)
        assert live.update_signal(1, "", None)[0]["stale"] is False  # fresh, not stale: nothing failed
        wall.update_stream(1, "", None)
        map_view.update_map(None, "open", "", None)
        for update in (panels.update_sla, panels.update_staffing, panels.update_region, panels.update_alerts):
            update(None, "", None)
        wall.update_header("", 1)
        wall.update_figures(1, "?region=320585100", None)


def test_check_db_and_simulator_survive_bad_rows(broken_county, caplog):
    engine, _ = broken_county
    report = run_check(engine)
    text = report.render()
    assert "9999" in text and not report.fatal
    sim = simulate.run_simulator(engine, speed=1e6, seed=1, start=NOW, max_ticks=5, tick_seconds=120)
    assert sim.live
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text


def test_commands_exit_cleanly_on_bad_rows(broken_county, monkeypatch):
    _, url = broken_county
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", url)
    get_settings.cache_clear()
    dispose_all()
    try:
        runner = CliRunner()
        assert runner.invoke(cli.main, ["init-db"]).exit_code == 0
        result = runner.invoke(cli.main, ["check-db"])
        assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
        dispose_all()
