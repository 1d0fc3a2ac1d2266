"""``gridwall check-db``, on SQLite and PostgreSQL.

Each test builds a small platform database (the ``engine`` fixture gives one with every table),
breaks it in known ways and checks that the report names each problem by table and key, and
that only what stops gridwall (a missing table, a missing column the figures need, no root) is
fatal.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Column, MetaData, Table, insert, text

from dashboard.core.checkdb import FATAL, INFO, WARNING, Report, run_check
from data_access.checks import geojson_problem
from data_access.models import (Alert, Case, CaseAction, Category, Grid, Org, Region, Staff, StaffPing,
                                StaffShift)

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)

COUNTY, STREET, COMMUNITY = "320585", "320585100", "320585100001"
GRID = COMMUNITY + "001"


def square(lon: float, lat: float, d: float = 0.01) -> str:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


BOWTIE = json.dumps({"type": "Polygon", "coordinates": [
    [[121.0, 31.0], [121.1, 31.1], [121.1, 31.0], [121.0, 31.1], [121.0, 31.0]]]})


def case_row(code: str, **over) -> dict:
    row = dict(code=code, title="井盖缺失", category_code="0101", source="patrol", urgency="normal",
               reported_at=T0, grid_code=GRID, status="handling", level="community", lon=121.12, lat=31.55,
               accept_due_at=T0 + timedelta(minutes=30), dispatch_due_at=T0 + timedelta(hours=1),
               resolve_due_at=T0 + timedelta(hours=4), escalations=0, returns=0, reworks=0, urges=0,
               updated_at=T0)
    row.update(over)
    return row


def put(conn, table, rows: list[dict]) -> None:
    """Insert rows one by one (their keys differ; executemany wants the same keys)."""
    for row in rows:
        conn.execute(insert(table), row)


def seed_clean(engine, *, cases: bool = True) -> None:
    """A small county that satisfies every check."""
    with engine.begin() as conn:
        put(conn, Region, [
            dict(code=COUNTY, name="太仓市", level="county", parent_code=None, boundary=square(121.0, 31.4, 0.3)),
            dict(code=STREET, name="城厢镇", level="street", parent_code=COUNTY),
            dict(code=COMMUNITY, name="东林村", level="community", parent_code=STREET),
        ])
        put(conn, Grid, [dict(code=GRID, community_code=COMMUNITY, name="第一网格", kind="basic",
                                         boundary=square(121.1, 31.5), households=300, population=900)])
        put(conn, Category, [
            dict(code="01", parent_code=None, name="市容环境", dept_type="urban_management"),
            dict(code="0101", parent_code="01", name="暴露垃圾", tier="A", accept_minutes=30, dispatch_minutes=60,
                 resolve_hours=4, dept_type="urban_management"),
        ])
        put(conn, Org, [dict(id=1, name="城厢镇分中心", kind="street", region_code=STREET)])
        put(conn, Staff, [dict(id=1, name="张三", role="grid_worker", org_id=1, grid_code=GRID,
                                          full_time=True, active=True)])
        put(conn, StaffShift, [dict(id=1, staff_id=1, starts_at=T0, ends_at=T0 + timedelta(hours=8))])
        put(conn, StaffPing, [dict(staff_id=1, ts=T0, lon=121.11, lat=31.51)])
        put(conn, Alert, [dict(created_at=T0, kind="sla", severity="warning", region_code=COUNTY,
                                          title="超期风险", detail="{}", status="new", source="gridwall",
                                          dedup_key="sla:1")])
        if cases:
            put(conn, Case, [
                case_row("320585-20260110-00001"),
                case_row("320585-20260110-00002", status="closed", closed_at=T0 + timedelta(hours=2)),
            ])
            put(conn, CaseAction, [dict(case_id=1, ts=T0, action="report")])


def add_bad_rows(conn, cases_table=Case.__table__) -> None:
    """Rows every check should name: an orphan grid, three broken boundaries, bad cases."""
    put(conn, Grid, [
        dict(code="320585100099001", community_code="320585100099", name="孤儿网格", kind="basic"),
        dict(code=COMMUNITY + "002", community_code=COMMUNITY, name="坏 JSON", kind="basic", boundary="{not json"),
        dict(code=COMMUNITY + "003", community_code=COMMUNITY, name="点", kind="basic",
             boundary=json.dumps({"type": "Point", "coordinates": [121.1, 31.5]})),
        dict(code=COMMUNITY + "004", community_code=COMMUNITY, name="自相交", kind="basic", boundary=BOWTIE),
    ])
    put(conn, cases_table, [
        {k: v for k, v in case_row("BAD-CATEGORY", category_code="9999").items() if k in cases_table.c},
        {k: v for k, v in case_row("BAD-FUTURE", reported_at=FAR_FUTURE).items() if k in cases_table.c},
        {k: v for k, v in case_row("BAD-NULL-REPORTED", reported_at=None).items() if k in cases_table.c},
    ])


def check(engine, root=None) -> Report:
    return run_check(engine, configured_root=root, tz=SHANGHAI)


def findings(report: Report, check_id: str, subject: str | None = None):
    return [f for f in report.findings if f.check == check_id and (subject is None or f.subject.startswith(subject))]


def one(report: Report, check_id: str, subject: str | None = None):
    found = findings(report, check_id, subject)
    assert len(found) == 1, (check_id, subject, report.render())
    return found[0]


def assert_names(report: Report, check_id: str, subject: str, *keys: str, count: int | None = None):
    f = one(report, check_id, subject)
    assert f.severity == WARNING
    for key in keys:
        assert any(key in e for e in f.examples), (key, f)
    if count is not None:
        assert f.count == count
    rendered = report.render()
    assert subject in rendered and all(key in rendered for key in keys)


# --- check-db --------------------------------------------------------------------------------

def test_clean_database_passes_without_warnings(engine):
    seed_clean(engine)
    report = check(engine)
    assert not report.fatal, report.render()
    assert report.by_severity(WARNING) == [], report.render()
    assert report.skipped == {}, report.render()
    assert one(report, "root").subject == f"{COUNTY} 太仓市"
    counts = one(report, "row-counts").examples
    assert "cases: 2" in counts and "regions: 3" in counts
    assert "通过 OK" in report.render()


def test_bad_rows_are_named_as_warnings_and_not_fatal(engine):
    seed_clean(engine)
    with engine.begin() as conn:
        add_bad_rows(conn)
    report = check(engine)
    assert not report.fatal, report.render()

    assert_names(report, "orphan-grid", "grids.community_code", "320585100099001", count=1)
    assert_names(report, "geojson-json", "grids.boundary", COMMUNITY + "002", count=1)
    assert_names(report, "geojson-type", "grids.boundary", COMMUNITY + "003", count=1)
    bowtie = one(report, "geojson-invalid", "grids.boundary")
    assert bowtie.count == 1 and "Self-intersection" in bowtie.examples[0] and COMMUNITY + "004" in bowtie.examples[0]
    assert_names(report, "unknown-category", "cases.category_code", "'9999'", "BAD-CATEGORY", count=1)
    assert_names(report, "future-timestamp", "cases.reported_at", "BAD-FUTURE", count=1)
    assert_names(report, "null-reported-at", "cases.reported_at", "BAD-NULL-REPORTED", count=1)
    # The orphan grid's community code is well-formed; nothing else is reported about it.
    assert findings(report, "malformed-code") == []


def test_missing_table_and_column_are_fatal_and_other_checks_still_run(engine):
    seed_clean(engine, cases=False)
    StaffPing.__table__.drop(engine)
    Case.__table__.drop(engine)
    lean = Table("cases", MetaData(), *(Column(col.name, col.type) for col in Case.__table__.columns
                                        if col.name != "resolve_due_at"))
    lean.create(engine)
    with engine.begin() as conn:
        add_bad_rows(conn, lean)
    report = check(engine)

    assert report.fatal
    fatal = {(f.check, f.subject) for f in report.by_severity(FATAL)}
    assert fatal == {("missing-table", "staff_pings"), ("missing-required-column", "cases: resolve_due_at")}
    # What depends on the missing pieces is listed as not checked, with the reason.
    assert "staff_pings.ts" in report.skipped["table staff_pings is missing"]
    assert "cases.resolve_due_at" in report.skipped["column cases.resolve_due_at is missing"]
    # Everything else still ran.
    assert_names(report, "orphan-grid", "grids.community_code", "320585100099001")
    assert_names(report, "unknown-category", "cases.category_code", "BAD-CATEGORY")
    assert_names(report, "null-reported-at", "cases.reported_at", "BAD-NULL-REPORTED")
    one(report, "missing-index", "cases.reported_at")
    rendered = report.render()
    assert "staff_pings" in rendered and "resolve_due_at" in rendered and "不通过 FAIL" in rendered
    assert "not checked because table staff_pings is missing" in rendered


def test_missing_optional_column_is_a_warning(engine):
    seed_clean(engine, cases=False)
    Grid.__table__.drop(engine)
    lean = Table("grids", MetaData(), *(Column(col.name, col.type) for col in Grid.__table__.columns
                                        if col.name not in ("households", "population")))
    lean.create(engine)
    report = check(engine)
    assert not report.fatal, report.render()
    assert one(report, "missing-optional-column", "grids").subject == "grids: households, population"


def test_no_root_region_is_fatal_unless_configured(engine):
    seed_clean(engine)
    with engine.begin() as conn:
        conn.execute(Region.__table__.delete().where(Region.__table__.c.level == "county"))
    report = check(engine)
    assert report.fatal and [f.check for f in report.by_severity(FATAL)] == ["no-root"]
    configured = check(engine, root=COUNTY)
    assert not configured.fatal, configured.render()
    assert one(configured, "root").subject.startswith(COUNTY)
    # The county row is gone: its street now points at a missing parent.
    assert_names(configured, "region-parent-missing", "regions.parent_code", STREET)


def test_view_duplicates_malformed_codes_and_unknown_values(engine):
    seed_clean(engine)
    Category.__table__.drop(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE vendor_categories (code VARCHAR(4), parent_code VARCHAR(4), name TEXT, "
                          "tier TEXT, accept_minutes INTEGER, dispatch_minutes INTEGER, resolve_hours INTEGER, "
                          "dept_type TEXT)"))
        conn.execute(text("INSERT INTO vendor_categories VALUES ('0101', NULL, '暴露垃圾', 'A', 30, 60, 4, NULL), "
                          "('0101', NULL, '暴露垃圾(旧)', 'A', 30, 60, 4, NULL), ('0102', NULL, '道路不洁', NULL, "
                          "NULL, NULL, NULL, NULL)"))
        conn.execute(text("CREATE VIEW categories AS SELECT * FROM vendor_categories"))
        put(conn, Case, [case_row("BAD-STATUS", status="pending", source="wechat"),
                                    case_row("BAD-GRID", grid_code="32058510000A001")])
        put(conn, Staff, [dict(id=2, name="李四", role="grid_worker", grid_code="320585100001999",
                                          active=True)])
    report = check(engine)
    assert not report.fatal, report.render()
    assert_names(report, "duplicate-key", "categories.code", "'0101' ×2", count=1)
    assert_names(report, "category-incomplete", "categories", "0102", count=1)
    assert_names(report, "unknown-value", "cases.status", "'pending'", "BAD-STATUS")
    assert_names(report, "unknown-value", "cases.source", "'wechat'")
    assert_names(report, "malformed-code", "cases.grid_code", "BAD-GRID")
    assert_names(report, "staff-unknown-grid", "staff.grid_code", "320585100001999")
    # A unique key the database enforces is not scanned for duplicates.
    assert findings(report, "duplicate-key", "cases.code") == []


def test_wrong_column_types_and_a_failing_check_does_not_stop_the_others(engine):
    seed_clean(engine)
    Staff.__table__.drop(engine)
    StaffShift.__table__.drop(engine)
    with engine.begin() as conn:
        # A vendor's booleans as integers and a naive roster timestamp.
        conn.execute(text("CREATE TABLE staff (id INTEGER PRIMARY KEY, name TEXT, role TEXT, org_id INTEGER, "
                          "grid_code VARCHAR(15), full_time INTEGER, active INTEGER)"))
        conn.execute(text("INSERT INTO staff VALUES (1, '张三', 'grid_worker', 1, NULL, 1, 1)"))
        conn.execute(text("CREATE TABLE staff_shifts (id INTEGER PRIMARY KEY, staff_id INTEGER, "
                          "starts_at TIMESTAMP, ends_at TIMESTAMP)"))
        put(conn, Case.__table__, [case_row("BAD-NULL-REPORTED", reported_at=None)])
    report = check(engine)
    assert_names(report, "null-reported-at", "cases.reported_at", "BAD-NULL-REPORTED")
    if engine.dialect.name == "postgresql":
        # The figures read staff.active: its wrong type is fatal; staff.full_time is optional.
        active = one(report, "type-mismatch", "staff.active")
        assert active.severity == FATAL and active.examples == ("is INTEGER, contract: boolean",)
        assert one(report, "type-mismatch", "staff.full_time").severity == WARNING
        assert [f.subject for f in report.by_severity(FATAL)] == ["staff.active"]
        assert one(report, "naive-timestamp", "staff_shifts.starts_at").severity == WARNING
        # ``active IS true`` fails on an integer column: that check alone is skipped, with the reason.
        (reason,) = [r for r, subjects in report.skipped.items() if "staff.grid_code" in subjects]
        assert reason.startswith("the query failed")
        assert "not checked because the query failed" in report.render()
    else:  # SQLite columns have affinities, not types; 1 IS true holds
        assert not report.fatal, report.render()
        assert findings(report, "type-mismatch") == []
        assert_names(report, "worker-without-grid", "staff.grid_code", "1")


def test_missing_recommended_index_comes_with_its_create_statement(engine):
    seed_clean(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_cases_resolve_due_at_grid"))
    report = check(engine)
    f = one(report, "missing-index", "cases.resolve_due_at")
    assert f.severity == INFO
    assert f.examples == ("CREATE INDEX ix_cases_resolve_due_at ON cases (resolve_due_at);",)
    assert not findings(report, "missing-index", "cases.grid_code")
    assert not findings(report, "missing-index", "staff_pings.")
    assert not report.fatal


def test_missing_review_index_comes_with_the_models_own_statement(engine):
    # The review's composite and partial indexes (data_access/models.py) are recommended whole.
    seed_clean(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_case_actions_action_ts"))
        conn.execute(text("DROP INDEX ix_cases_open_late"))
        # A ping index on ts alone does not serve the staffing figures' window read (ts, staff_id).
        conn.execute(text("DROP INDEX ix_staff_pings_ts_staff"))
        conn.execute(text("CREATE INDEX ix_staff_pings_ts ON staff_pings (ts)"))
    report = check(engine)
    p = one(report, "missing-index", "staff_pings.ix_staff_pings_ts_staff")
    assert p.examples == (f"CREATE INDEX{' CONCURRENTLY' if engine.dialect.name == 'postgresql' else ''} "
                          "ix_staff_pings_ts_staff ON staff_pings (ts, staff_id);",)
    f = one(report, "missing-index", "case_actions.ix_case_actions_action_ts")
    concurrently = " CONCURRENTLY" if engine.dialect.name == "postgresql" else ""
    assert f.examples == (f"CREATE INDEX{concurrently} ix_case_actions_action_ts ON case_actions "
                          "(action, ts, case_id, from_org_id, to_org_id);",)
    g = one(report, "missing-index", "cases.ix_cases_open_late")
    assert g.examples[0].endswith("WHERE closed_at IS NULL OR closed_at > resolve_due_at;")
    assert not findings(report, "missing-index", "cases.ix_cases_dispatched_at_grid")


def test_unreachable_database_is_fatal_not_a_traceback(tmp_path):
    from data_access.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'missing.db'}")
    report = check(engine)
    assert report.fatal and report.by_severity(FATAL)[0].check == "connect"
    assert "不通过 FAIL" in report.render()
    assert not (tmp_path / "missing.db").exists()  # checking never creates a database


@pytest.mark.parametrize("value, kind, reason", [
    ("{not json", "geojson-json", "not JSON"),
    ('[1, 2]', "geojson-type", "list"),
    ('{"type": "Feature", "geometry": null}', "geojson-type", "not the Feature"),
    ('{"type": "LineString", "coordinates": [[121, 31], [121.1, 31.1]]}', "geojson-type", "LineString"),
    (BOWTIE, "geojson-invalid", "Self-intersection"),
    ('{"type": "Polygon", "coordinates": [[[1, 2]]]}', "geojson-invalid", "malformed coordinates"),
    (square(345000.0, 3480000.0, 100.0), "geojson-coords", "projected"),
    (square(31.5, 121.1), "geojson-coords", "swapped"),
    (square(2.35, 48.85), "geojson-coords", "not in China"),
])
def test_geojson_problem_kinds(value, kind, reason):
    found = geojson_problem(value)
    assert found is not None and found[0] == kind and reason in found[1], found


def test_geojson_valid_polygons_pass():
    assert geojson_problem(square(121.1, 31.5)) is None
    multi = {"type": "MultiPolygon", "coordinates": [json.loads(square(121.1, 31.5))["coordinates"]]}
    assert geojson_problem(json.dumps(multi)) is None
    assert geojson_problem(multi) is None  # a json/jsonb column hands back a dict


# --- the CLI ---------------------------------------------------------------------------------

def test_cli_exit_codes(engine, backend_url, monkeypatch):
    from dashboard.cli import main
    from dashboard.core.config import get_settings
    from data_access.db import dispose_all

    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    monkeypatch.delenv("GRIDWALL_ROOT", raising=False)
    monkeypatch.delenv("GRIDWALL_CONFIG", raising=False)
    seed_clean(engine)
    runner = CliRunner()
    get_settings.cache_clear()
    dispose_all()
    try:
        ok = runner.invoke(main, ["check-db"])
        assert ok.exit_code == 0, ok.output
        assert "通过 OK" in ok.output and "太仓市" in ok.output

        StaffPing.__table__.drop(engine)
        dispose_all()
        failed = runner.invoke(main, ["check-db"])
        assert failed.exit_code == 1, failed.output
        assert "缺少契约表 missing contract table" in failed.output and "staff_pings" in failed.output
    finally:
        dispose_all()
        get_settings.cache_clear()
