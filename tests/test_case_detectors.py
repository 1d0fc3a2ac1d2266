"""The case detectors' glue on a small synthetic county, SQLite and PostgreSQL: planted situations
are reported once each with stable keys, and the forecast round-trips through its tables."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from dashboard.synth.seed import seed_county
from dashboard.warning import case_detectors as cd
from data_access.forecasts import read_forecast, read_hotspots, write_forecast
from data_access.models import Case, Grid
from data_access.moment import Moment
from data_access.scope import Scope

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)
ROOT = Scope("320585", "320585")


def _plant(conn, rows):
    next_id = (conn.execute(select(func.max(Case.id))).scalar() or 0) + 1
    out = []
    for i, row in enumerate(rows):
        at = row["at"]
        values = {"id": next_id + i, "code": f"T-{next_id + i}", "title": row.get("title", "测试事件"),
                  "description": row.get("description"), "category_code": row["category"], "source": row.get("source", "patrol"),
                  "urgency": "normal", "reported_at": at, "grid_code": row["grid"], "address": row.get("address"),
                  "status": "reported", "level": "grid", "updated_at": at, "escalations": 0, "returns": 0,
                  "reworks": 0, "urges": 0}
        conn.execute(insert(Case), [values])
        out.append(next_id + i)
    return out


@pytest.fixture
def county(engine):
    cd.clear_caches()
    seed_county(engine, seed=11, days=14, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.begin() as conn:
        grids = [g for (g,) in conn.execute(select(Grid.code).order_by(Grid.code))]
        hot, other = grids[100], grids[300]
        yesterday = NOW - timedelta(days=1)
        spike_ids = _plant(conn, [{"at": yesterday.replace(hour=9) + timedelta(minutes=7 * i), "grid": hot, "category": "0103",
                                   "source": ("patrol", "hotline", "resident")[i % 3]} for i in range(30)])
        sensitive_ids = _plant(conn, [{"at": NOW - timedelta(hours=1), "grid": other, "category": "0803",
                                       "title": "某工地工人讨薪", "description": "二十余名工人在项目部门口聚集讨薪"}])
        repeat_ids = _plant(conn, [{"at": NOW - timedelta(days=d, hours=2), "grid": other, "category": "0301",
                                    "address": "太仓市城厢镇测试路1号"} for d in (0, 1, 2)])
    yield {"hot": hot, "other": other, "spike": spike_ids, "sensitive": sensitive_ids, "repeat": repeat_ids}
    cd.clear_caches()


def test_planted_situations_are_found_once_with_stable_keys(engine, county):
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        first = cd.case_findings(conn, ROOT, m)
        again = cd.case_findings(conn, ROOT, Moment(NOW + timedelta(minutes=1), TZ))
    keys = [f.dedup_key for f in first]
    assert len(keys) == len(set(keys))
    assert {f.dedup_key for f in again} == set(keys)
    for f in first:
        json.dumps(f.detail)  # the evidence is JSON
        assert f.region_code.startswith("320585")

    street = county["hot"][:9]
    spikes = [f for f in first if f.kind == "spike" and f.dedup_key.startswith(f"spike:{street}:01:")]
    assert len(spikes) == 1
    spike = spikes[0]
    assert spike.dedup_key == f"spike:{street}:01:2026-11-24"
    assert spike.detail["observed"] >= 30 and spike.detail["observed"] > spike.detail["expected"]
    assert set(county["spike"]) & set(spike.detail["case_ids"])
    assert spike.detail["method"] == "ears"  # 14 days of history: too little for the regression

    clusters = [f for f in first if f.kind == "cluster" and county["hot"] in f.detail["grids"]]
    assert len(clusters) == 1 and clusters[0].detail["recurrence_days"] >= 100
    assert clusters[0].detail["window"]["end"] == "2026-11-24" and set(county["spike"]) & set(clusters[0].detail["case_ids"])

    sensitive = [f for f in first if f.kind == "sensitive" and f.detail["case_id"] in county["sensitive"]]
    assert len(sensitive) == 1 and sensitive[0].severity == "critical"
    assert sensitive[0].dedup_key == f"sensitive:{county['sensitive'][0]}" and "讨薪" in sensitive[0].detail["words"]

    repeats = [f for f in first if f.kind == "repeat" and set(county["repeat"]) <= set(f.detail["case_ids"])]
    assert len(repeats) == 1 and repeats[0].dedup_key.startswith("repeat:addr:")
    assert repeats[0].detail["first_case_id"] == county["repeat"][-1]  # the earliest report and repeats[0].region_code == county["other"]

    # Titles lead with the problem, then the place; a grid is never named by its code's digits.
    assert spike.title.split("：")[0].endswith("骤增") and " · " in spike.title
    # the span and the count are apart ("11-30至12-02共4件", not "12-024件")
    assert re.search(r"(全天|至\d\d-\d\d|\d\d:\d\d)共\d+件，通常约", spike.title), spike.title
    assert clusters[0].title.startswith("事件时空聚集：") and repeats[0].title.split(" · ")[0].endswith("次")
    assert not any(re.search(r"网格\d{3}", f.title) for f in first)


def test_forecast_is_written_and_read_for_a_street(engine, county):
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        rows, hot = cd.forecast_outputs(conn, ROOT, m)
    assert rows and hot
    with engine.begin() as conn:
        assert write_forecast(conn, (rows, hot)) == {"gw_forecasts": len(rows), "gw_hotspots": len(hot)}
        write_forecast(conn, (rows, hot))  # a second write replaces, never doubles
    street = Scope(county["hot"][:9], "320585")
    with engine.connect() as conn:
        mine = read_forecast(conn, street, m)
        everything = read_forecast(conn, ROOT, m)
        spots = read_hotspots(conn, ROOT, m)
        before = read_forecast(conn, ROOT, Moment(NOW - timedelta(hours=1), TZ))
    assert before == [] and len(everything) == len(rows)
    assert mine and {r["region_code"] for r in mine} == {street.region}
    days = sorted({r["day"] for r in mine})
    assert days[0] == NOW.date() and len(days) == 7
    assert all(r["lo80"] <= r["expected"] <= r["hi80"] for r in mine)
    assert all(r["lo80"] <= r["median"] <= r["hi80"] for r in mine)   # the point forecast for absolute error
    assert {r["region_code"] for r in everything} >= {"320585", street.region}
    assert [r["rank"] for r in spots] == list(range(1, len(hot) + 1))


def test_empty_database_and_bad_rows_never_crash(engine):
    cd.clear_caches()
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        assert cd.case_findings(conn, ROOT, m) == []
        assert cd.forecast_outputs(conn, ROOT, m) == ([], [])
    with engine.begin() as conn:
        _plant(conn, [
            {"at": NOW - timedelta(hours=2), "grid": None, "category": None, "source": None, "title": None},
            {"at": NOW - timedelta(hours=3), "grid": "32058510000", "category": "9", "address": "  "},
            {"at": NOW + timedelta(days=2), "grid": "320585100001001", "category": "0807", "title": "未来的事件"},
            {"at": NOW - timedelta(days=1), "grid": "320585100001001", "category": "0807", "title": None,
             "description": "有人扬言跳楼"},
        ])
    with engine.connect() as conn:
        found = cd.case_findings(conn, ROOT, m)
        rows, hot = cd.forecast_outputs(conn, ROOT, m)
    # only the real, located, past case with a sensitive sign is reported; the future one is not
    assert [f.kind for f in found] == ["sensitive"] and found[0].region_code == "320585100001001"
    assert "跳楼" in found[0].detail["words"]
    cd.clear_caches()
