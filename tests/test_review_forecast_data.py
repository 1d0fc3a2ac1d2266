"""What the review page's forecast section reads (data_access/forecast_record.py) and what it makes of it,
on SQLite and PostgreSQL: grid x day counts by local day, scoped; the hotspot grids' names and shapes; the
record's weeks over a hand-built history (tests/review_forecast_county.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from pytest import approx
from sqlalchemy import insert

from dashboard.analytics import forecast_record as fr
from data_access import forecast_record as record_db
from data_access.models import Case
from data_access.moment import Moment
from data_access.scope import Scope

from .review_forecast_county import (
    C1,
    G11,
    G12,
    G21,
    G31,
    ROOT,
    S1,
    S2,
    SH,
    T,
    L,
    _case,
    load_edges,
    load_geography,
    load_history,
)

M = Moment(T, SH)


def test_grid_counts_fall_on_local_days_inside_the_scope(engine):
    load_edges(engine)
    record_db.clear_caches()
    with engine.connect() as conn:
        days, grids, y = record_db.grid_days(conn, Scope(S1, ROOT), M, 7)
        root_days, root_grids, root_y = record_db.grid_days(conn, Scope(ROOT, ROOT), M, 7)
    assert [str(d) for d in days] == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23",
                                      "2026-11-24", "2026-11-25"]
    assert grids == [G11, G12]                        # G31 is S2's; the unlocated case has no grid
    # G11: 11-24 00:00 and 11-25 23:59 (11-26 00:01 is T's date, 11-18 23:59:59 before the window)
    assert y.tolist() == [[0, 0, 0, 0, 0, 1, 1], [0, 1, 0, 0, 0, 0, 0]]
    assert root_grids == [G11, G12, G31] and root_y[2].tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_grid_counts_follow_a_new_case_of_a_past_day(engine):
    load_edges(engine)
    record_db.clear_caches()
    scope = Scope(S1, ROOT)
    with engine.connect() as conn:
        first = record_db.grid_days(conn, scope, M, 7)[2].sum()
    with engine.begin() as conn:
        conn.execute(insert(Case), [_case(100, G11, "0101", L("11-22 12:00"))])   # a late import
    with engine.connect() as conn:
        assert record_db.grid_days(conn, scope, M, 7)[2].sum() == first + 1


def test_hotspot_grids_are_named_after_their_community_and_shaped_inside_the_scope(engine):
    load_geography(engine)
    with engine.connect() as conn:
        places = record_db.grid_places(conn, Scope(S1, ROOT), [G11, G12, G31, "bad'code", G21])
        grid_only = record_db.grid_places(conn, Scope(G11, ROOT), [G11])
    assert list(places) == [G11, G12, G21]            # G31 is outside S1; a malformed code is not looked up
    assert places[G11]["name"] == "东林村第一网格" and places[G21]["name"] == "南郊社区第一网格"
    assert places[G11]["geometry"]["type"] == "Polygon"
    lat, lon = places[G11]["point"]
    assert 31.50 < lat < 31.51 and 121.10 < lon < 121.11
    assert places[G12]["geometry"] is None and places[G12]["point"] is None   # no usable boundary
    assert grid_only[G11]["name"] == "东林村第一网格"   # a grid's view still names its community


def test_the_section_reads_and_shows_the_record_of_a_steady_street(engine):
    load_history(engine)
    record_db.clear_caches()
    with engine.connect() as conn:
        inputs = record_db.section_inputs(conn, Scope(S1, ROOT), M, fr.record_days(), fr.hotspot_days())
    assert {r["region_code"] for r in inputs["stored_rows"]} == {S1}
    assert int(inputs["street_counts"]["n"].sum()) == 4 * 70 and set(inputs["street_counts"]["street"]) == {S1}
    assert str(inputs["street_days"][0]) == "2026-09-17" and str(inputs["street_days"][-1]) == "2026-11-25"
    view = fr.forecast_view(**inputs, today=T.date())
    fc = view["forecast"]
    assert (fc["start"], fc["end"], fc["days"]) == ("2026-11-26", "2026-12-02", 7)
    # 7 days of mean 3 in [1, 5] (variance read off the interval 2.44, below the mean: 3) -> Poisson(21);
    # mean 1 in [0, 2] -> Poisson(7)
    assert [(r["category_name"], r["expected"], r["lo80"], r["hi80"]) for r in fc["rows"]] == \
        [("市容环境", 21.0, 15, 27), ("宣传广告", 7.0, 4, 10)]
    assert fc["total"]["expected"] == 28.0
    rec = view["record"]
    assert [w["start"] for w in rec["weeks"]] == ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19",
                                                  "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    assert all(w["actual"] == 28 and w["series"] == 2 for w in rec["weeks"])
    # a steady street is forecast steadily: the last weeks well inside their intervals
    assert all(w["expected"] == approx(28.0, rel=0.1) and w["inside"] for w in rec["weeks"][-4:])
    assert rec["regions"][0]["region_code"] == S1 and rec["overall"]["weeks"] == 8
    hot = view["hotspots"]
    assert [g["grid_code"] for g in hot["grids"]] == [G11, G12]
    assert hot["grids"][0]["expected"] == approx(21.0, rel=0.05)
    assert hot["record"]["hit_rate"] is None           # two grids: no top 10 to judge


def test_a_community_view_reads_no_record_and_the_county_view_sees_both_streets(engine):
    load_history(engine)
    record_db.clear_caches()
    with engine.connect() as conn:
        small = record_db.section_inputs(conn, Scope(C1, ROOT), M, 0, fr.hotspot_days())
        county = record_db.section_inputs(conn, Scope(ROOT, ROOT), M, 35, 7)
    assert len(small["street_counts"]) == 0 and small["stored_rows"] == []     # the engine forecasts streets
    assert small["grid_codes"] == [G11, G12]
    assert set(county["street_counts"]["street"]) == {S1, S2}
    assert int(county["street_counts"]["n"].sum()) == 6 * 35
    assert {r["region_code"] for r in county["stored_rows"]} == {S1, S2, ROOT}
    view = fr.forecast_view(**small, today=T.date(), with_record=False)
    assert view["record"]["weeks"] == [] and [g["grid_code"] for g in view["hotspots"]["grids"]] == [G11, G12]


def test_the_stored_forecast_read_is_the_one_made_by_t(engine):
    load_history(engine)
    record_db.clear_caches()
    earlier = Moment(T - timedelta(hours=2), SH)
    with engine.connect() as conn:
        assert record_db.section_inputs(conn, Scope(S2, ROOT), earlier, 0, 7)["stored_rows"] == []
        now = record_db.section_inputs(conn, Scope(S2, ROOT), M, 0, 7)["stored_rows"]
    assert len(now) == 7 and {r["region_code"] for r in now} == {S2}
    assert np.isclose(sum(r["expected"] for r in now), 14.0)
