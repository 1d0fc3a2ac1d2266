"""The wall's data_access queries (case stream, SLA board, data age, boundaries) on both backends."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, update

from data_access.cases import data_as_of, latest_cases, sla_cases
from data_access.figures import case_figures
from data_access.geo import child_boundaries, parse_boundary
from data_access.models import Case, Grid, Region
from data_access.moment import Moment
from data_access.scope import Scope

from .wall_fixtures import COUNTY, insert_case, rect, seed_small_county

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
ROOT = Scope(COUNTY, COUNTY)


def moment(at=NOW) -> Moment:
    from zoneinfo import ZoneInfo

    return Moment(at, ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def county(engine):
    seed_small_county(engine, now=NOW)
    return engine


def test_latest_cases_newest_first_with_names(county):
    with county.connect() as conn:
        rows = latest_cases(conn, ROOT, moment(), limit=10)
    assert len(rows) == 10
    times = [r["reported_at"] for r in rows]
    assert times == sorted(times, reverse=True)
    assert all(t <= NOW for t in times)
    located = [r for r in rows if r["grid_code"]]
    assert located and all(r["street_name"] and r["community_name"] and r["grid_name"] for r in located)
    # The bad row: no grid, an unknown category, NULL title/source/urgency - listed, not dropped.
    odd = next(r for r in rows if r["grid_code"] is None)
    assert odd["category_code"] == "9999" and odd["category_name"] is None and odd["title"] is None


def test_latest_cases_scope_and_moment(county):
    street = ROOT.narrow("320585100")
    with county.connect() as conn:
        rows = latest_cases(conn, street, moment(), limit=100)
        earlier = latest_cases(conn, ROOT, moment(NOW - timedelta(hours=6)), limit=100)
    assert rows and all(r["grid_code"].startswith("320585100") for r in rows)
    assert all(r["reported_at"] <= NOW - timedelta(hours=6) for r in earlier)
    insert_case(county, "320585-FUTURE-1", NOW + timedelta(hours=1))
    with county.connect() as conn:
        codes = [r["code"] for r in latest_cases(conn, ROOT, moment(), limit=100)]
    assert "320585-FUTURE-1" not in codes


def test_sla_cases_match_the_figures(county):
    with county.connect() as conn:
        rows = sla_cases(conn, ROOT, moment(), limit=1000)
        figures = case_figures(conn, ROOT, moment())
    states = [r["sla_state"] for r in rows]
    assert states.count("overdue") == figures["overdue"]
    assert states.count("warning") == figures["warning"]
    assert states == sorted(states, key=lambda s: s != "overdue")  # overdue first
    overdue_dues = [r["resolve_due_at"] for r in rows if r["sla_state"] == "overdue"]
    assert overdue_dues == sorted(overdue_dues)


def test_data_as_of(county, engine):
    with county.connect() as conn:
        as_of = data_as_of(conn, ROOT, moment())
    assert as_of is not None and as_of <= NOW
    # A platform that never fills updated_at: the latest report time stands in.
    with county.begin() as conn:
        conn.execute(update(Case).values(updated_at=None))
    with county.connect() as conn:
        latest = max(r["reported_at"] for r in latest_cases(conn, ROOT, moment(), limit=1))
        assert data_as_of(conn, ROOT, moment()) == latest
        assert data_as_of(conn, ROOT, moment(NOW - timedelta(days=30))) is None


def test_child_boundaries_fall_back_and_skip(county):
    with county.connect() as conn:
        fc = child_boundaries(conn, ROOT)
    assert fc["type"] == "FeatureCollection"
    drawn = {f["id"] for f in fc["features"]}
    # 城厢镇 and 璜泾镇 have boundaries, 沙溪镇 is the union of its grids, 浏河镇 has nothing usable.
    assert drawn == {"320585100", "320585101", "320585103"}
    assert fc["skipped"] == [{"code": "320585102", "name": "浏河镇"}]
    union = next(f for f in fc["features"] if f["id"] == "320585101")
    assert union["geometry"]["type"] == "Polygon"
    lon0, lat0, lon1, lat1 = fc["bbox"]
    assert lon0 == pytest.approx(121.05) and lat0 == pytest.approx(31.45)
    assert lon1 == pytest.approx(121.29) and lat1 == pytest.approx(31.65)
    json.dumps(fc)  # serialisable as it is


def test_child_boundaries_of_a_community_are_its_grids(county):
    with county.connect() as conn:
        fc = child_boundaries(conn, ROOT.narrow("320585100001"))
    assert [f["id"] for f in fc["features"]] == ["320585100001001", "320585100001002"]
    assert all(f["properties"]["name"] for f in fc["features"])


def test_child_boundaries_survive_garbage(engine):
    bad = ['{"type": "Point", "coordinates": [121, 31]}', "[]", "null", "", "{", '"text"',
           '{"type": "Polygon", "coordinates": [[[500, 31], [501, 31], [501, 32], [500, 31]]]}',
           '{"type": "Polygon", "coordinates": "nonsense"}',
           '{"type": "Polygon", "coordinates": []}']
    with engine.begin() as conn:
        conn.execute(insert(Region), [{"code": COUNTY, "name": "太仓市", "level": "county", "parent_code": None,
                                        "boundary": None}] + [
            {"code": f"320585{100 + i}", "name": None, "level": "street", "parent_code": COUNTY, "boundary": text}
            for i, text in enumerate(bad)])
        # A self-intersecting "bow tie" is repaired, not dropped; a NULL name falls back to the code.
        bow = {"type": "Polygon", "coordinates": [[[121, 31], [121.1, 31.1], [121.1, 31], [121, 31.1], [121, 31]]]}
        conn.execute(insert(Region).values(code="320585200", name=None, level="street", parent_code=COUNTY,
                                           boundary=json.dumps(bow)))
        conn.execute(insert(Grid).values(code="320585101001001", community_code="320585101001", name="g",
                                         boundary="not json"))
    with engine.connect() as conn:
        fc = child_boundaries(conn, ROOT)
    assert [f["id"] for f in fc["features"]] == ["320585200"]
    assert fc["features"][0]["properties"]["name"] == "320585200"
    assert len(fc["skipped"]) == len(bad)


def test_parse_boundary_accepts_a_feature_and_multipolygon():
    poly = json.loads(rect(121, 31, 0.1, 0.1))
    assert parse_boundary(json.dumps({"type": "Feature", "geometry": poly, "properties": {}})) is not None
    multi = {"type": "MultiPolygon", "coordinates": [poly["coordinates"]]}
    assert parse_boundary(json.dumps(multi)).geom_type == "MultiPolygon"
    assert parse_boundary(None) is None
    assert parse_boundary(12) is None
