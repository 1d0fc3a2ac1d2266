"""``GET /api/v1/review/forecast`` on SQLite and PostgreSQL over the hand-built steady county
(tests/review_forecast_county.py): the shape, the stored forecast with its intervals, the hotspot grids,
the record; scoped (a street user sees its street; 403 outside), validated (400), in the OpenAPI document;
and the page's section shows the same."""

from __future__ import annotations

import json

import pytest

from dashboard.app import create_app, dash_apps
from dashboard.core.config import Settings
from data_access import forecast_record as record_db
from data_access.db import dispose_all

from .api_seed import FAST_HASHER, PASSWORD, add_users, make_app
from .review_forecast_county import C1, G11, G12, G31, ROOT, S1, S2, load_history

AT = "at=2026-11-26T10:00:00"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    record_db.clear_caches()
    yield
    dispose_all()


@pytest.fixture
def api(engine, backend_url):
    load_history(engine)
    tokens = add_users(engine)
    client = make_app(backend_url).test_client()

    def get(query: str, who: str = "center1"):
        return client.get(f"/api/v1/review/forecast?{query}", headers={"Authorization": f"Bearer {tokens[who]}"})

    return get


def test_the_forecast_route_has_its_shape_and_the_counties_streets(api):
    resp = api(AT)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"region", "name", "at", "interval", "forecast", "hotspots", "record"}
    assert (body["region"], body["name"], body["at"], body["interval"]) == (ROOT, "太仓市", "2026-11-26T10:00:00+08:00", 0.8)
    fc = body["forecast"]
    assert fc["made_at"] == "2026-11-26T09:00:00+08:00" and (fc["start"], fc["end"], fc["days"]) == ("2026-11-26", "2026-12-02", 7)
    # S2: 7 days of mean 2 in [0, 4]: variance 2.44 a day, 17.05 in all -> NB(14, k = 0.016) [9, 19]
    assert [(r["region_code"], r["category_code"], r["expected"], r["lo80"], r["hi80"]) for r in fc["rows"]] == [
        (S1, "01", 21.0, 15, 27), (S1, "02", 7.0, 4, 10), (S2, "01", 14.0, 9, 19)]   # the county's own rows left out
    assert [(r["region_name"], r["expected"]) for r in fc["regions"]] == [("城厢镇", 28.0), ("沙溪镇", 14.0)]
    assert [(c["category_name"], c["expected"]) for c in fc["categories"]] == [("市容环境", 35.0), ("宣传广告", 7.0)]
    assert fc["total"]["expected"] == 42.0 and fc["total"]["lo80"] < 42 < fc["total"]["hi80"]
    hot = body["hotspots"]
    assert [(g["grid_code"], g["name"], g["rank"]) for g in hot["grids"]] == [
        (G11, "东林村第一网格", 1), (G31, "印溪社区第一网格", 2), (G12, "东林村第二网格", 3)]
    rec = body["record"]
    assert len(rec["weeks"]) == 8 and all(w["actual"] == 42 and w["series"] == 3 for w in rec["weeks"])
    assert [r["region_code"] for r in rec["regions"]] == [S1, S2]
    assert set(rec["overall"]) == {"weeks", "total_inside", "series_weeks", "series_inside", "coverage", "mae",
                                   "naive_mae", "mean_actual"}


def test_a_street_user_gets_its_street_and_is_refused_others(api):
    body = api(AT, "street_a").get_json()
    assert body["region"] == S1 and {r["region_code"] for r in body["forecast"]["rows"]} == {S1}
    assert [g["grid_code"] for g in body["hotspots"]["grids"]] == [G11, G12]
    assert "沙溪镇" not in json.dumps(body, ensure_ascii=False)
    for region in (S2, ROOT, "320585101001"):
        resp = api(f"region={region}&{AT}", "street_a")
        assert resp.status_code == 403 and set(resp.get_json()) == {"error"}


def test_below_a_street_there_is_no_stored_forecast_and_no_record_but_hotspots(api):
    body = api(f"region={C1}&{AT}").get_json()
    assert body["forecast"]["rows"] == [] and body["forecast"]["total"] is None
    assert body["record"] == {"weeks": [], "regions": [], "overall": None}
    assert [g["grid_code"] for g in body["hotspots"]["grids"]] == [G11, G12]


@pytest.mark.parametrize("query", ["region=12ab", "region=3205851", "at=yesterday", "at=0001-01-01",
                                   "region=320585999"])
def test_malformed_requests_answer_400(api, query):
    resp = api(query)
    assert resp.status_code == 400 and set(resp.get_json()) == {"error"}


def test_the_routes_are_in_the_openapi_document(api):
    from dashboard.web.openapi import openapi_document

    doc = openapi_document()
    assert {"/review/forecast", "/review/concealment"} <= set(doc["paths"])
    assert [p["name"] for p in doc["paths"]["/review/forecast"]["get"]["parameters"]] == ["region", "at"]
    assert "ReviewForecast" in doc["components"]["schemas"] and "ReviewConcealment" in doc["components"]["schemas"]


def test_the_pages_section_shows_the_same_forecast_hotspots_and_record(engine, backend_url):
    load_history(engine)
    add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="fc-test"), auth=True)
    client = app.server.test_client()
    assert client.post("/login", data={"username": "leader1", "password": PASSWORD}).status_code == 302
    review = next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == "/review/")
    key, cb = next((k, cb) for k, cb in review.callback_map.items() if "review-hotspots.children" in k)
    outputs = [{"id": o.component_id, "property": o.component_property} for o in cb["output"]]
    body = {"output": key, "outputs": outputs, "inputs": [{**d, "value": f"?{AT}" if d["property"] == "search" else None} for d in cb["inputs"]],
            "state": [], "changedPropIds": ["url.search"]}
    resp = client.post("/review/_dash-update-component", json=body)
    assert resp.status_code == 200
    values = resp.get_json()["response"]
    forecast = json.dumps(values["review-forecast"], ensure_ascii=False)
    assert "城厢镇" in forecast and "沙溪镇" in forecast and "15–27" in forecast and "市容环境" in forecast
    hot = json.dumps(values["review-hotspots"], ensure_ascii=False)
    assert f'"data-grid": "{G11}"' in hot and "东林村第一网格" in hot and "2026-11-26 至 2026-12-02" in hot
    record = json.dumps(values["review-forecast-record"], ensure_ascii=False)
    assert record.count('"data-week"') == 8 and "区间覆盖率" in record and "平均绝对误差" in record
