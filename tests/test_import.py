"""`gridwall import` on small hand-made CSV and XLSX files: every mapping feature, every skip reason,
the exact --json report, idempotent re-imports, on SQLite and PostgreSQL (the ``engine`` fixture).

The hand-made city (root 990099) has two districts (North, South) as polygons, cut by two area
polygons (West, East) into four areas, and 500 m cells clipped to them; a district column with a
name table serves the cases without a usable point.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box, mapping, shape
from sqlalchemy import func, select

from dashboard.cli import main
from dashboard.core.config import get_settings
from dashboard.importer import MappingError, load_mapping, parse_mapping, run_import
from dashboard.importer.coords import gcj02_to_bd09, wgs84_to_gcj02
from dashboard.importer.geography import build_geography
from data_access.db import dispose_all
from data_access.models import Case, Category, Grid, Region

UTC = timezone.utc
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ROOT = "990099"

HEADER = ["id", "opened", "closed", "due", "status", "channel", "type", "group", "district", "lon", "lat",
          "title", "addr", "rating"]
# (row, what it exercises)
ROWS = [
    ["A1", "2026-07-01 08:00:00", "2026-07-01 10:00:00", "2026-07-03 08:00:00", "Closed", "Worker", "Garbage", "", "",
     "120.005", "31.005", "Trash pile", "1 Road", "满意"],                       # point -> cell; value maps
    ["A2", "2026-07-01T08:00:00+08:00", "", "2026-07-05 08:00:00", "open", "Phone", "0303", "", "",
     "120.015", "31.015", "", "", "5"],                                          # offset kept; a code as is
    ["A3", "2026-07-02", "2026-07-03", "", "", "App", "Broken bench", "", "N", "", "", "Bench", "", ""],  # dates only
    ["A4", "2026-07-03 09:00:00", "", "", "Open", "Fax", "Stray cats", "", "south district", "120.0100", "31.0100",
     "Cats", "", ""],                                                            # placeholder -> district catch-all
    ["A5", "2026-07-03 10:00:00", "", "", "Open", "Phone", "", "", "", "121.5", "31.5", "Far away", "", ""],  # outside
    ["A6", "2026-07-03 11:00:00", "", "2040-01-01 00:00:00", "Weird", "Phone", "Garbage", "", "", "", "", "x", "", ""],
    ["A7", "2026-07-03 12:00:00", "", "soon", "Open", "Phone", "Garbage", "", "", "", "", "y", "", "bad"],
    ["A8", "2026-07-03 13:00:00", "", "", "Open", "App", "Bench paint", "Parks", "Atlantis", "", "", "z", "", ""],
    ["A9", "2026-07-04 08:00:00", "2026-07-04 09:00:00", "", "Rejected", "Phone", "Garbage", "", "", "", "", "r", "", ""],
    ["A10", "2026-07-05 08:00:00", "2026-07-05 10:00:00", "", "Open", "Phone", "Garbage", "", "", "", "", "o", "", ""],
    ["A11", "2026-07-05 09:00:00", "", "", "Open", "Phone", "Garbage", "", "N", "abc", "31.0", "u", "", ""],
    ["", "2026-07-01 08:00:00", "", "", "Open", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B1", "", "", "", "Open", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B2", "the day before", "", "", "Open", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B3", "2099-01-01 00:00:00", "", "", "Open", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B4", "2026-07-01 08:00:00", "never", "", "Closed", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B5", "2026-07-01 08:00:00", "2099-01-01 00:00:00", "", "Closed", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B6", "2026-07-01 08:00:00", "", "", "Closed", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["B7", "2026-07-02 08:00:00", "2026-07-01 08:00:00", "", "Closed", "Phone", "Garbage", "", "", "", "", "", "", ""],
    ["A1", "2026-07-01 08:00:00", "", "", "Open", "Phone", "Garbage", "", "", "", "", "dup", "", ""],
]

EXPECTED = {
    "read": 20, "imported": 11, "updated": 0,
    "skipped": {"closed_before_opened": 1, "closed_in_future": 1, "closed_without_date": 1, "duplicate_in_file": 1,
                "missing_code": 1, "missing_opened": 1, "opened_in_future": 1, "unparseable_closed": 1,
                "unparseable_opened": 1},
    "cleared": {"closed_at": 1, "district": 1, "location": 3, "resolve_due_at": 2, "satisfaction": 1, "status": 1},
}

MAPPING = f"""
timezone = "America/New_York"
date_only_time = "12:00"

[root]
code = "{ROOT}"
name = "Testville"

[columns]
code = "id"
reported_at = "opened"
closed_at = "closed"
resolve_due_at = "due"
status = "status"
source = "channel"
title = "title"
address = "addr"
lon = "lon"
lat = "lat"
category = "type"
category_group = "group"
district = "district"
satisfaction = "rating"

[values.status]
Open = "handling"
Closed = "closed"
Rejected = "rejected"

[values.source]
Worker = "patrol"
Phone = "hotline"
App = "resident"

[values.satisfaction]
"满意" = 4

[defaults]
source = "other"

[location]
placeholders = [{{ lon = 120.01, lat = 31.01 }}]

[districts]
geojson = "districts.geojson"
name_property = "name"

[districts.names]
N = "North"
"south district" = "South"

[areas]
geojson = "areas.geojson"
name_property = "side"
min_area_m2 = 1000

[grids]
cell_m = 500
origin = [120.0, 31.0]

[categories]
other_major = "99"

[categories.majors]
"12" = "园林 Parks"

[categories.groups]
Parks = "12"

[categories.map]
Garbage = "0101"
"""


def _features(items, prop):
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {prop: name}, "geometry": mapping(geom)}
                         for name, geom in items]}


def write_world(folder, rows=ROWS, mapping_text=MAPPING, name="cases.csv"):
    """The CSV, its polygons and the mapping in ``folder``; returns (file, mapping path)."""
    (folder / "districts.geojson").write_text(json.dumps(_features(
        [("North", box(120.00, 31.01, 120.02, 31.02)), ("South", box(120.00, 31.00, 120.02, 31.01))], "name")))
    (folder / "areas.geojson").write_text(json.dumps(_features(
        [("West", box(120.00, 31.00, 120.01, 31.02)), ("East", box(120.01, 31.00, 120.02, 31.02))], "side")))
    return write_export(folder / name, HEADER, rows, folder / "mapping.toml", mapping_text)


def write_export(path, header, rows, mapping_path, mapping_text, encoding="utf-8", delimiter=","):
    """A CSV export and its mapping; returns (file, mapping path)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    mapping_path.write_text(mapping_text, encoding="utf-8")
    return path, mapping_path


def write_xlsx(path, rows=ROWS):
    """The same rows as a workbook, with typed cells: datetimes, dates, numbers."""
    from openpyxl import Workbook

    def typed(i, value):
        name = HEADER[i]
        if name in ("opened", "closed", "due") and value:
            try:
                if len(value) == 10:
                    return date.fromisoformat(value)
                if "T" not in value:
                    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return value
        if name in ("lon", "lat", "rating") and value:
            try:
                return float(value) if "." in value else int(value)
            except ValueError:
                return value
        return value or None

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append([typed(i, v) for i, v in enumerate(row)])
    wb.save(path)


def cases_by_code(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["code"]: dict(r) for r in conn.execute(select(Case.__table__)).mappings()}


def content_hash(engine) -> str:
    """Every stored column of every case (but the id), and the hierarchy and categories."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        for table, key in ((Case.__table__, "code"), (Region.__table__, "code"), (Grid.__table__, "code"),
                           (Category.__table__, "code")):
            cols = [c for c in table.c if c.name != "id"]
            for row in conn.execute(select(*cols).order_by(table.c[key])):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def counts(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar()
                     for t in (Case.__table__, Region.__table__, Grid.__table__, Category.__table__))


@pytest.fixture
def cli(backend_url, monkeypatch):
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    get_settings.cache_clear()
    dispose_all()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args))
    get_settings.cache_clear()
    dispose_all()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- the whole file ---------------------------------------------------------------------------

def test_csv_import_maps_every_feature_and_reports_exactly(engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == EXPECTED
    cases = cases_by_code(engine)
    assert set(cases) == {f"A{i}" for i in range(1, 12)}

    a1 = cases["A1"]  # naive local (EDT, UTC-4) -> UTC; accepted = reported; updated = the last time
    assert (a1["reported_at"], a1["closed_at"], a1["resolve_due_at"]) == (utc(2026, 7, 1, 12), utc(2026, 7, 1, 14),
                                                                         utc(2026, 7, 3, 12))
    assert a1["accepted_at"] == a1["reported_at"] and a1["updated_at"] == a1["closed_at"]
    assert (a1["status"], a1["source"], a1["category_code"], a1["satisfaction"]) == ("closed", "patrol", "0101", 4)
    assert (a1["title"], a1["address"], a1["level"], a1["urgency"]) == ("Trash pile", "1 Road", "county", "normal")
    assert (a1["lon"], a1["lat"]) == (120.005, 31.005)
    # South (002) x West (002), cell row 1 col 0 of a 500 m grid from (120.0, 31.0): the third cell by (row, col)
    assert a1["grid_code"] == "990099002002003"

    a2 = cases["A2"]  # an offset is kept; a status matched ignoring case; a category code taken as is
    assert a2["reported_at"] == utc(2026, 7, 1, 0) and a2["status"] == "handling" and a2["closed_at"] is None
    assert a2["category_code"] == "0303" and a2["satisfaction"] == 5 and a2["title"] == "0303"
    assert a2["grid_code"].startswith("990099001001")  # North x East
    with engine.connect() as conn:
        boundary = conn.execute(select(Grid.boundary).where(Grid.code == a2["grid_code"])).scalar()
    assert shape(json.loads(boundary)).buffer(1e-5).contains(shapely.Point(120.015, 31.015))

    a3 = cases["A3"]  # dates only: local noon; no status: closed by its close date; district by name table
    assert a3["reported_at"] == utc(2026, 7, 2, 16) and a3["closed_at"] == utc(2026, 7, 3, 16)
    assert a3["status"] == "closed" and a3["grid_code"] == "990099001999999" and a3["lon"] is None
    assert a3["source"] == "resident"

    a4 = cases["A4"]  # the placeholder point is cleared; its district column places it in the catch-all
    assert (a4["lon"], a4["lat"], a4["grid_code"], a4["source"]) == (None, None, "990099002999999", "other")
    a5 = cases["A5"]  # outside every area: no location, no district: root only
    assert (a5["lon"], a5["grid_code"]) == (None, None)
    assert cases["A6"]["resolve_due_at"] is None and cases["A6"]["status"] == "handling"  # years out; unknown status
    assert cases["A7"]["resolve_due_at"] is None and cases["A7"]["satisfaction"] is None
    assert cases["A8"]["grid_code"] is None  # an unknown district and no point
    a9 = cases["A9"]
    assert (a9["status"], a9["accepted_at"], a9["closed_at"]) == ("rejected", None, utc(2026, 7, 4, 13))
    assert cases["A10"]["closed_at"] is None and cases["A10"]["status"] == "handling"  # the file's status wins
    assert cases["A11"]["lon"] is None and cases["A11"]["grid_code"] == "990099001999999"

    # unknown categories: stable codes under their major, names kept; empty -> the blank name
    with engine.connect() as conn:
        cats = {r.code: (r.parent_code, r.name) for r in conn.execute(select(Category.__table__))}
    assert cats["99"] == (None, "其他(导入)") and cats["12"] == (None, "园林 Parks")
    assert cats["9901"] == ("99", "(未分类)") and cats["9902"] == ("99", "Broken bench")
    assert cats["9903"] == ("99", "Stray cats") and cats["1201"] == ("12", "Bench paint")
    assert cats["0101"][1] == "暴露垃圾/垃圾乱倒"  # the contract tree is there
    assert cases["A3"]["category_code"] == "9902" and cases["A5"]["category_code"] == "9901"
    assert cases["A8"]["category_code"] == "1201"

    # the generated hierarchy
    with engine.connect() as conn:
        regions = {r.code: (r.name, r.level, r.parent_code) for r in conn.execute(select(Region.__table__))}
        grids = {r.code: r for r in conn.execute(select(Grid.__table__))}
    assert regions[ROOT] == ("Testville", "county", None)
    assert regions["990099001"] == ("North", "street", ROOT) and regions["990099002"] == ("South", "street", ROOT)
    assert regions["990099001001"] == ("East", "community", "990099001")  # areas in natural order of their names
    assert regions["990099002002"] == ("West", "community", "990099002")
    assert regions["990099001999"] == ("位置不详", "community", "990099001")  # the catch-all
    assert grids["990099002002003"].name == "网格 1-0"  # row 1, column 0 from the origin
    assert all(len(c) == 15 and c[:12] in regions for c in grids)
    assert all(g.boundary for c, g in grids.items() if not c.endswith("999999"))
    # every located case lies in its grid's boundary
    for case in cases.values():
        if case["lon"] is not None:
            assert shape(json.loads(grids[case["grid_code"]].boundary)).buffer(1e-5).contains(
                shapely.Point(case["lon"], case["lat"]))


def test_reimport_changes_nothing_and_a_changed_row_is_updated(engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    run_import(engine, path, mapping_path, now=NOW)
    before, rows_before = content_hash(engine), counts(engine)
    again = run_import(engine, path, mapping_path, now=NOW)
    assert again.as_json() == {**EXPECTED, "imported": 0, "updated": 0}
    assert again.unchanged == 11
    assert content_hash(engine) == before and counts(engine) == rows_before

    changed = [list(r) for r in ROWS]
    changed[1][2], changed[1][4] = "2026-07-02 08:00:00", "Closed"  # A2 closes
    path2, _ = write_world(tmp_path, rows=changed, name="cases2.csv")
    report = run_import(engine, path2, mapping_path, now=NOW)
    assert (report.imported, report.updated, report.unchanged) == (0, 1, 10)
    a2 = cases_by_code(engine)["A2"]
    assert (a2["status"], a2["closed_at"], a2["updated_at"]) == ("closed", utc(2026, 7, 2, 12), utc(2026, 7, 2, 12))
    assert counts(engine) == rows_before


def test_xlsx_with_typed_cells_imports_the_same_rows(engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    xlsx = tmp_path / "cases.xlsx"
    write_xlsx(xlsx)
    first = run_import(engine, xlsx, mapping_path, now=NOW)
    assert first.as_json() == EXPECTED
    from_xlsx = content_hash(engine)
    # the CSV of the same rows finds every case as it is: the two formats map alike
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == {**EXPECTED, "imported": 0, "updated": 0}
    assert content_hash(engine) == from_xlsx


def test_dry_run_reports_and_writes_nothing(engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    empty = counts(engine)
    report = run_import(engine, path, mapping_path, now=NOW, dry_run=True)
    assert report.as_json() == EXPECTED and report.dry_run
    assert counts(engine) == empty
    run_import(engine, path, mapping_path, now=NOW)
    assert run_import(engine, path, mapping_path, now=NOW, dry_run=True).as_json() == {
        **EXPECTED, "imported": 0, "updated": 0}


def test_dry_run_creates_no_sqlite_file(tmp_path):
    from data_access.db import make_engine

    path, mapping_path = write_world(tmp_path)
    db = tmp_path / "none.db"
    eng = make_engine(f"sqlite:///{db}")
    try:
        assert run_import(eng, path, mapping_path, now=NOW, dry_run=True).as_json() == EXPECTED
    finally:
        eng.dispose()
    assert not db.exists()


def test_small_chunks_give_the_same_report(engine, tmp_path):
    """Duplicates and category codes do not depend on where the chunks break."""
    path, mapping_path = write_world(tmp_path)
    assert run_import(engine, path, mapping_path, now=NOW, chunk_rows=3).as_json() == EXPECTED


def test_unknown_categories_keep_their_codes_in_a_later_file(engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    run_import(engine, path, mapping_path, now=NOW)
    later = [["C1", "2026-08-01 08:00:00", "", "", "Open", "Phone", "Aardvark", "", "", "", "", "", "", ""],
             ["C2", "2026-08-01 09:00:00", "", "", "Open", "Phone", "Stray cats", "", "", "", "", "", "", ""]]
    path2, _ = write_world(tmp_path, rows=later, name="later.csv")
    run_import(engine, path2, mapping_path, now=NOW)
    cases = cases_by_code(engine)
    assert cases["C2"]["category_code"] == "9903"  # as in the first file
    assert cases["C1"]["category_code"] == "9904"  # the next free number, not a renumbering


# --- the command line -------------------------------------------------------------------------

def test_cli_json_report_and_reimport(cli, engine, tmp_path):
    path, mapping_path = write_world(tmp_path)
    result = cli("import", str(path), "--mapping", str(mapping_path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == EXPECTED
    result = cli("import", str(path), "--mapping", str(mapping_path), "--json")
    assert json.loads(result.output) == {**EXPECTED, "imported": 0, "updated": 0}
    text = cli("import", str(path), "--mapping", str(mapping_path), "--dry-run")
    assert text.exit_code == 0 and "dry run" in text.output and "unchanged 11" in text.output


def test_the_report_notes_a_mapping_that_leaves_figures_empty(cli, engine, tmp_path):
    """No due date and no patrol channel: the import works and says which figures will stay empty and
    which setting fills them; with --json the notes go to stderr and stdout stays the five keys."""
    path, mapping_path = write_world(tmp_path)
    assert run_import(engine, path, mapping_path, now=NOW, dry_run=True).notes() == []
    lean = MAPPING.replace('resolve_due_at = "due"\n', "").replace('Worker = "patrol"', 'Worker = "department"')
    mapping_path.write_text(lean, encoding="utf-8")
    notes = run_import(engine, path, mapping_path, now=NOW, dry_run=True).notes()
    assert len(notes) == 2
    assert "no row has a due date" in notes[0] and "due_from_category = true" in notes[0]
    assert "no row has source patrol" in notes[1]
    result = cli("import", str(path), "--mapping", str(mapping_path), "--json")
    assert result.exit_code == 0
    assert set(json.loads(result.stdout)) == {"read", "imported", "updated", "skipped", "cleared"}
    assert result.output.count("gridwall import: note:") == 2
    text = cli("import", str(path), "--mapping", str(mapping_path))
    assert "note: no row has a due date" in text.output and "note: no row has source patrol" in text.output


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace('code = "990099"', 'code = "99009"'), "root.code"),
    (lambda t: t.replace("[grids]", "[grids]\ncolour = 3"), "grids.colour"),
    (lambda t: t.replace('Worker = "patrol"', 'Worker = "walker"'), "values"),
    (lambda t: t.replace('Garbage = "0101"', 'Garbage = "0199"'), "0199"),
    (lambda t: t.replace('code = "id"', 'code = "case_no"'), "case_no"),
    (lambda t: t.replace('N = "North"', 'N = "Nowhere"'), "Nowhere"),
    (lambda t: t.replace('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'), "time zone"),
    (lambda t: t + "\n[[broken", "TOML"),
])
def test_a_malformed_mapping_exits_2_with_the_reason(cli, tmp_path, change, message):
    path, mapping_path = write_world(tmp_path, mapping_text=change(MAPPING))
    result = cli("import", str(path), "--mapping", str(mapping_path))
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_missing_file_exits_2(cli, tmp_path):
    _, mapping_path = write_world(tmp_path)
    result = cli("import", str(tmp_path / "nope.csv"), "--mapping", str(mapping_path))
    assert result.exit_code == 2 and "no such file" in result.output


# --- pure parts -------------------------------------------------------------------------------

def test_gcj02_points_are_converted_to_wgs84(engine, tmp_path):
    glon, glat = wgs84_to_gcj02(120.005, 31.005)
    assert abs(glon - 120.005) > 1e-3  # GCJ-02 is a few hundred metres off in China
    rows = [["G1", "2026-07-01 08:00:00", "", "", "Open", "Phone", "Garbage", "", "", f"{float(glon):.7f}",
             f"{float(glat):.7f}", "", "", ""]]
    path, mapping_path = write_world(tmp_path, rows=rows,
                                     mapping_text=MAPPING.replace("[location]", '[location]\ncrs = "gcj02"'))
    run_import(engine, path, mapping_path, now=NOW)
    g1 = cases_by_code(engine)["G1"]
    assert abs(g1["lon"] - 120.005) < 2e-6 and abs(g1["lat"] - 31.005) < 2e-6
    assert g1["grid_code"] == "990099002002003"


def test_baidu_points_and_polygons_are_converted_to_wgs84(engine, tmp_path):
    """BD-09 (Baidu maps) for the points and for the GeoJSON files: the same cases in the same grids as
    the WGS-84 world, the points back within a centimetre."""
    def to_bd09(lon, lat):
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))

    blon, blat = to_bd09(120.005, 31.005)
    assert abs(blon - 120.005) > 5e-3  # BD-09 is GCJ-02 moved further (about a kilometre here)
    rows = [["B1", "2026-07-01 08:00:00", "", "", "Open", "Phone", "Garbage", "", "", f"{float(blon):.9f}",
             f"{float(blat):.9f}", "", "", ""]]
    path, mapping_path = write_world(tmp_path, rows=rows, mapping_text=MAPPING.replace(
        "[location]", '[location]\ncrs = "bd09"\npolygons_crs = "bd09"'))
    for name in ("districts.geojson", "areas.geojson"):
        collection = json.loads((tmp_path / name).read_text())
        for feature in collection["features"]:
            geom = shapely.transform(shape(feature["geometry"]),
                                     lambda xy: np.column_stack(to_bd09(xy[:, 0], xy[:, 1])))
            feature["geometry"] = mapping(geom)
        (tmp_path / name).write_text(json.dumps(collection))
    run_import(engine, path, mapping_path, now=NOW)
    b1 = cases_by_code(engine)["B1"]
    assert abs(b1["lon"] - 120.005) < 2e-7 and abs(b1["lat"] - 31.005) < 2e-7
    assert b1["grid_code"] == "990099002002003"


def test_hierarchy_codes_do_not_depend_on_feature_order(tmp_path):
    path, mapping_path = write_world(tmp_path)
    first = build_geography(load_mapping(mapping_path), path, mapping_path)
    data = json.loads((tmp_path / "districts.geojson").read_text())
    data["features"].reverse()
    (tmp_path / "districts.geojson").write_text(json.dumps(data))
    second = build_geography(load_mapping(mapping_path), path, mapping_path)
    assert [r["code"] + r["name"] for r in first.regions] == [r["code"] + r["name"] for r in second.regions]
    assert [(g["code"], g["boundary"]) for g in first.grids] == [(g["code"], g["boundary"]) for g in second.grids]


def test_slivers_join_a_neighbour_and_names_only_districts_get_one_grid(tmp_path):
    path, mapping_path = write_world(tmp_path)
    # an area polygon that overlaps North by a 20 m strip: a sliver under min_area_m2, merged away
    (tmp_path / "areas.geojson").write_text(json.dumps(_features(
        [("West", box(120.00, 31.00, 120.01, 31.02)), ("East", box(120.01, 31.00, 120.02, 31.0198)),
         ("Beyond", box(120.01, 31.0198, 120.02, 31.03))], "side")))
    text = MAPPING.replace("min_area_m2 = 1000", "min_area_m2 = 50000")
    m = parse_mapping(__import__("tomllib").loads(text))
    geo = build_geography(m, path, mapping_path)
    north = [r["name"] for r in geo.regions if r["level"] == "community" and r["parent_code"] == "990099001"]
    assert north == ["East", "West", "位置不详"]  # no "Beyond": its 20 m strip joined East

    # districts by a name table only: one area and one grid each, which takes the district's cases
    m2 = parse_mapping({"root": {"code": "990098", "name": "Names"},
                        "columns": {"code": "id", "reported_at": "opened", "district": "district"},
                        "districts": {"names": {"a": "District 10", "b": "District 2"}}})
    geo2 = build_geography(m2, path, None)
    assert [(r["code"], r["name"]) for r in geo2.regions if r["level"] == "street"] == [
        ("990098001", "District 2"), ("990098002", "District 10")]
    assert geo2.district_of(["A", "b", "zzz", ""]) == ["990098002", "990098001", None, None]
    assert geo2.district_grid == {"990098001": "990098001001001", "990098002": "990098002001001"}


def test_mapping_errors_name_every_problem():
    with pytest.raises(MappingError) as err:
        parse_mapping({"root": {"code": "1", "name": "x"}, "columns": {"code": "id"}, "extra": 1})
    text = str(err.value)
    assert "root.code" in text and "columns.reported_at" in text and "extra" in text
    with pytest.raises(MappingError) as err:  # communities by name need streets by name, grids need communities
        parse_mapping({"root": {"code": "990095", "name": "x"},
                       "columns": {"code": "id", "reported_at": "t", "district": "d", "grid": "g"},
                       "districts": {"geojson": "d.geojson", "name_property": "n"}})
    assert "columns.grid needs columns.area" in str(err.value)
    with pytest.raises(MappingError) as err:
        parse_mapping({"root": {"code": "990095", "name": "x"},
                       "columns": {"code": "id", "reported_at": "t", "district": "d", "area": "a"},
                       "districts": {"geojson": "d.geojson", "name_property": "n"}})
    assert "columns.area needs columns.district with districts.names and no districts.geojson" in str(err.value)


NAMES_MAPPING = """
timezone = "Asia/Shanghai"
datetime_format = "%d/%m/%Y %H:%M"
code_prefix = "TC-"

[file]
encoding = "gb18030"
delimiter = ";"

[root]
code = "990097"
name = "太仓测试"

[columns]
code = "编号"
reported_at = "上报时间"
accepted_at = "受理时间"
dispatched_at = "派遣时间"
dispatch_due_at = "派遣时限"
title = ["大类", "小类"]
category = "小类"
urgency = "紧急程度"
district = "镇街"

[values.urgency]
"紧急" = "urgent"
"特急" = "critical"

[defaults]
source = "patrol"
accepted_at = "none"

[districts.names]
"城厢" = "城厢镇"
"沙溪" = "沙溪镇"

[categories]
due_from_category = true

[categories.map]
"井盖缺失" = "0501"
"""


def test_the_other_mapping_features(engine, tmp_path):
    """A semicolon-separated GB18030 CSV with day-first times in Shanghai; joined columns, a code prefix,
    urgency values, acceptance and dispatch columns, due times from the category, districts by name only."""
    header = ["编号", "上报时间", "受理时间", "派遣时间", "派遣时限", "大类", "小类", "紧急程度", "镇街"]
    rows = [["1", "02/07/2026 08:30", "02/07/2026 08:40", "02/07/2026 09:00", "02/07/2026 09:30", "基础设施", "井盖缺失",
             "紧急", "城厢"],
            ["2", "02/07/2026 10:00", "01/07/2026 10:00", "", "garbage", "", "路面积水", "一般", "沙溪"],
            ["3", "03/07/2026 10:00", "", "", "", "", "", "特急", ""]]
    path, mapping_path = write_export(tmp_path / "export.csv", header, rows, tmp_path / "names.toml", NAMES_MAPPING,
                                      encoding="gb18030", delimiter=";")
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == {"read": 3, "imported": 3, "updated": 0, "skipped": {},
                                "cleared": {"accepted_at": 1, "dispatch_due_at": 1}}
    cases = cases_by_code(engine)
    c1, c2, c3 = cases["TC-1"], cases["TC-2"], cases["TC-3"]
    assert c1["reported_at"] == utc(2026, 7, 2, 0, 30)  # 08:30 in Shanghai, day first
    assert (c1["accepted_at"], c1["dispatched_at"], c1["dispatch_due_at"]) == (
        utc(2026, 7, 2, 0, 40), utc(2026, 7, 2, 1), utc(2026, 7, 2, 1, 30))
    assert c1["title"] == "基础设施 / 井盖缺失" and c1["urgency"] == "urgent" and c1["source"] == "patrol"
    assert c1["category_code"] == "0501"  # 井盖缺失: tier U, resolve_hours 2
    assert c1["resolve_due_at"] == c1["reported_at"] + timedelta(hours=2)
    assert c2["accepted_at"] is None and c2["dispatch_due_at"] is None  # before the report; unparseable
    assert c2["title"] == "路面积水" and c2["urgency"] == "normal" and c2["resolve_due_at"] is None  # no limits
    assert c3["accepted_at"] is None and c3["urgency"] == "critical" and c3["grid_code"] is None
    # districts by name only: one area and one grid each (no boundary); natural order of the names
    assert (c1["grid_code"], c2["grid_code"]) == ("990097001001001", "990097002001001")
    with engine.connect() as conn:
        regions = {r.code: r.name for r in conn.execute(select(Region.code, Region.name))}
    assert regions["990097001"] == "城厢镇" and regions["990097001001"] == "城厢镇"


FALLBACK_MAPPING = """
timezone = "America/Los_Angeles"
datetime_format = "%m/%d/%Y %I:%M:%S %p"

[root]
code = "990096"
name = "Fallback City"

[columns]
code = "SRNumber"
reported_at = "CreatedDate"
closed_at = ["ClosedDate", "UpdatedDate"]
status = "Status"
title = ["RequestType", "Address"]
category = "RequestType"
district = "NCName"

[values.status]
Closed = "closed"
Cancelled = "rejected"
Open = "handling"

[districts.names]
"ECHO PARK NC" = "Echo Park"
"""


def test_a_time_column_list_takes_the_first_given_value(engine, tmp_path):
    """MyLA311's layout (US 12-hour clock): a closed case without a close time takes its last update
    (the list is a fallback, not a join); one with neither is skipped; an open case's last update is
    no close time (not cleared, not a reason to skip); text lists still join."""
    header = ["SRNumber", "CreatedDate", "ClosedDate", "UpdatedDate", "Status", "RequestType", "Address", "NCName"]
    rows = [["1-1", "01/01/2018 12:00:09 AM", "01/02/2018 01:30:00 PM", "01/03/2018 09:00:00 AM", "Closed",
             "Bulky Items", "356 S BERENDO ST", "ECHO PARK NC"],
            ["1-2", "01/01/2018 09:15:00 PM", "", "01/04/2018 08:00:00 AM", "Closed", "Graffiti Removal", "", ""],
            ["1-3", "01/02/2018 10:00:00 AM", "", "", "Closed", "Bulky Items", "", ""],
            ["1-4", "01/02/2018 11:00:00 AM", "", "", "Open", "Bulky Items", "", "ECHO PARK NC"],
            ["1-5", "01/02/2018 11:30:00 AM", "NULL", "01/02/2018 12:00:00 PM", "Cancelled", "Bulky Items", "", ""],
            # open cases: the last update is no close time (neither cleared nor a reason to skip) ...
            ["1-6", "01/03/2018 08:00:00 AM", "", "01/03/2018 09:00:00 AM", "Open", "Bulky Items", "", ""],
            ["1-7", "01/03/2018 08:00:00 AM", "", "not a time", "Open", "Bulky Items", "", ""],
            # ... but a close time on an open case is cleared (the status wins)
            ["1-8", "01/03/2018 08:00:00 AM", "01/03/2018 10:00:00 AM", "", "Open", "Bulky Items", "", ""],
            ["1-9", "01/03/2018 08:00:00 AM", "", "not a time", "Closed", "Bulky Items", "", ""]]
    path, mapping_path = write_export(tmp_path / "la.csv", header, rows, tmp_path / "la.toml", FALLBACK_MAPPING)
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == {"read": 9, "imported": 7, "updated": 0,
                                "skipped": {"closed_without_date": 1, "unparseable_closed": 1},
                                "cleared": {"closed_at": 1}}
    cases = cases_by_code(engine)
    assert cases["1-1"]["reported_at"] == utc(2018, 1, 1, 8, 0, 9)       # 00:00:09 PST
    assert cases["1-1"]["closed_at"] == utc(2018, 1, 2, 21, 30)           # the close time, not the update
    assert cases["1-2"]["closed_at"] == utc(2018, 1, 4, 16) and cases["1-2"]["status"] == "closed"
    assert cases["1-5"]["status"] == "rejected" and cases["1-5"]["closed_at"] == utc(2018, 1, 2, 20)
    assert cases["1-4"]["status"] == "handling" and cases["1-4"]["closed_at"] is None
    assert [(cases[c]["status"], cases[c]["closed_at"]) for c in ("1-6", "1-7", "1-8")] == [("handling", None)] * 3
    assert cases["1-1"]["title"] == "Bulky Items / 356 S BERENDO ST" and cases["1-2"]["title"] == "Graffiti Removal"


def test_xlsx_sheet_by_name_and_blank_rows(engine, tmp_path):
    from openpyxl import Workbook

    _, mapping_path = write_world(tmp_path, mapping_text=MAPPING.replace(
        "[root]", '[file]\nsheet = "案件"\n\n[root]'))
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["this sheet is not the data"])
    ws = wb.create_sheet("案件")
    ws.append(HEADER)
    ws.append(["X1", datetime(2026, 7, 1, 8, 0), None, None, "Open", "Phone", "Garbage", None, None, 120.005, 31.005,
               "t", None, None])
    ws.append([None] * len(HEADER))
    ws.append([101000295613, "2026-07-01 09:00:00", None, None, "Open", "Phone", "Garbage", None, "N", None, None,
               "u", None, 4])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == {"read": 2, "imported": 2, "updated": 0, "skipped": {}, "cleared": {}}
    cases = cases_by_code(engine)
    assert cases["X1"]["grid_code"] == "990099002002003" and cases["X1"]["reported_at"] == utc(2026, 7, 1, 12)
    assert cases["101000295613"]["satisfaction"] == 4  # a whole number cell is its digits, not "4.0"


def test_a_title_above_the_header_is_skipped_in_csv_and_xlsx(engine, tmp_path):
    """Exports from Chinese platforms often open with a title line ("2026年7月工单明细") and end with a
    合计 row: ``[file] header_row`` names the row of the column names; the total row is skipped as a
    row without a report time, like any other malformed row."""
    from openpyxl import Workbook

    header = ["编号", "上报时间", "受理时间", "派遣时间", "派遣时限", "大类", "小类", "紧急程度", "镇街"]
    rows = [["1", "02/07/2026 08:30", "", "", "", "基础设施", "井盖缺失", "紧急", "城厢"],
            ["2", "02/07/2026 10:00", "", "", "", "", "路面积水", "一般", "沙溪"],
            ["合计", "", "", "", "", "", "", "", ""]]
    mapping = NAMES_MAPPING.replace('[file]\n', '[file]\nheader_row = 2\n')
    path = tmp_path / "titled.csv"
    with path.open("w", newline="", encoding="gb18030") as fh:
        fh.write("太仓市2026年7月工单明细;;;;;;;;\n")
    with path.open("a", newline="", encoding="gb18030") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
    mapping_path = tmp_path / "titled.toml"
    mapping_path.write_text(mapping, encoding="utf-8")
    expected = {"read": 3, "imported": 2, "updated": 0, "skipped": {"missing_opened": 1}, "cleared": {}}
    assert run_import(engine, path, mapping_path, now=NOW).as_json() == expected

    wb = Workbook()
    ws = wb.active
    ws.append(["太仓市2026年7月工单明细"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append([v or None for v in row])
    book = tmp_path / "titled.xlsx"
    wb.save(book)
    xlsx_mapping = tmp_path / "titled_xlsx.toml"
    xlsx_mapping.write_text(mapping.replace('encoding = "gb18030"\ndelimiter = ";"\n', ""), encoding="utf-8")
    again = run_import(engine, book, xlsx_mapping, now=NOW).as_json()
    assert again == {**expected, "imported": 0}  # the same two cases, already there
    assert {code for code in cases_by_code(engine) if code.startswith("TC-")} == {"TC-1", "TC-2"}


def test_chinese_written_dates_parse_without_a_format(engine, tmp_path):
    """"2026年7月1日 8:00" as Chinese platforms export it; a date alone gets date_only_time."""
    rows = [["C1", "2026年7月1日 8:00", "2026年7月2日", "", "Closed", "Phone", "Garbage", "", "", "", "", "", "", ""]]
    path, mapping_path = write_world(tmp_path, rows=rows)
    assert run_import(engine, path, mapping_path, now=NOW).as_json()["imported"] == 1
    c1 = cases_by_code(engine)["C1"]
    assert (c1["reported_at"], c1["closed_at"]) == (utc(2026, 7, 1, 12), utc(2026, 7, 2, 16))  # New York, EDT


PLACES_MAPPING = """
timezone = "Asia/Shanghai"

[root]
code = "990095"
name = "太仓测试"

[columns]
code = "编号"
reported_at = "上报时间"
category = "小类"
district = "镇街"
area = "社区"
grid = "网格"

[districts.names]
"城厢" = "城厢镇"
"沙溪" = "沙溪镇"
"""


def test_communities_and_grids_by_name_keep_their_codes_across_files(engine, tmp_path):
    """A platform export with 镇街 / 社区 / 网格 names and no polygons: each community and grid gets a
    code within its street (natural order of the names); a later file keeps them and numbers only the
    new names; a case naming a community but no grid goes to the community's 位置不详 grid, one naming
    only its street to the street's own."""
    header = ["编号", "上报时间", "小类", "镇街", "社区", "网格"]
    rows = [["1", "2026-07-02 08:30", "井盖缺失", "城厢", "新区社区", "第2网格"],
            ["2", "2026-07-02 09:00", "井盖缺失", "城厢", "新区社区", "第10网格"],
            ["3", "2026-07-02 09:30", "井盖缺失", "城厢", "东门社区", "第1网格"],
            ["4", "2026-07-02 10:00", "井盖缺失", "城厢", "新区社区", ""],
            ["5", "2026-07-02 10:30", "井盖缺失", "城厢", "", ""],
            ["6", "2026-07-02 11:00", "井盖缺失", "沙溪", "涂松村", "第1网格"],
            ["7", "2026-07-02 11:30", "井盖缺失", "浏河", "某社区", "第1网格"]]
    path, mapping_path = write_export(tmp_path / "a.csv", header, rows, tmp_path / "places.toml", PLACES_MAPPING)
    report = run_import(engine, path, mapping_path, now=NOW)
    assert report.as_json() == {"read": 7, "imported": 7, "updated": 0, "skipped": {}, "cleared": {"district": 1}}
    grid = {code: c["grid_code"] for code, c in cases_by_code(engine).items()}
    # 城厢镇 990095001: 东门社区 002, 新区社区 003 (natural order); 第1 / 第2 / 第10网格 in natural order
    assert grid == {"1": "990095001003001", "2": "990095001003002", "3": "990095001002001",
                    "4": "990095001003999", "5": "990095001001001", "6": "990095002002001", "7": None}
    with engine.connect() as conn:
        regions = {r.code: r.name for r in conn.execute(select(Region.code, Region.name))}
        grids = {g.code: g.name for g in conn.execute(select(Grid.code, Grid.name))}
    assert regions["990095001002"] == "东门社区" and regions["990095001003"] == "新区社区"
    assert regions["990095001001"] == "位置不详" and grids["990095001003999"] == "位置不详"
    assert grids["990095001003002"] == "第10网格" and grids["990095002002001"] == "第1网格"

    later = [["8", "2026-07-03 08:30", "井盖缺失", "城厢", "北门社区", "第1网格"],
             ["9", "2026-07-03 09:00", "井盖缺失", "城厢", "新区社区", "第3网格"],
             ["10", "2026-07-03 09:30", "井盖缺失", "城厢", "新区社区", "第2网格"]]
    path2, _ = write_export(tmp_path / "b.csv", header, later, tmp_path / "places.toml", PLACES_MAPPING)
    run_import(engine, path2, mapping_path, now=NOW)
    grid = {code: c["grid_code"] for code, c in cases_by_code(engine).items()}
    # 北门社区 would sort first but 002 and 003 are taken: it is 004; in 新区社区 第2网格 keeps 001 and
    # the new 第3网格 takes 003 (001 and 002 are 第2 and 第10)
    assert (grid["8"], grid["9"], grid["10"]) == ("990095001004001", "990095001003003", "990095001003001")
    assert run_import(engine, path, mapping_path, now=NOW).as_json()["imported"] == 0
    assert cases_by_code(engine)["1"]["grid_code"] == "990095001003001"
