"""The HTTP API on both backends: shapes, scope, bad input, acknowledgement, health."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dashboard.core.config import get_settings
from data_access.db import dispose_all
from data_access.models import Alert, GwAudit

from .api_seed import (GRID_A, GRID_B, ROOT, T_LOCAL, TOWN_A, TOWN_B, FAST_HASHER, add_users, make_app,
                       seed)
from .conftest import REDIS_URL


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def county(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    app = make_app(backend_url)
    return app.test_client(), tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def get(client, tokens, url, who="center1"):
    return client.get(url, headers=bearer(tokens[who]))


def test_summary_has_the_interface_shape(county):
    client, tokens = county
    resp = get(client, tokens, f"/api/v1/summary?region={ROOT}&at={T_LOCAL}")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["region"] == ROOT and body["name"] == "太仓市"
    assert body["at"] == "2026-11-26T10:00:00+08:00"
    assert set(body) == {"region", "name", "at", "cases", "rates_7d", "staffing", "alerts"}
    assert body["cases"] == {"open": 5, "overdue": 1, "warning": 1, "accept_overdue": 0,
                             "dispatch_overdue": 0, "new_today": 4, "closed_today": 0}
    assert set(body["rates_7d"]) == {"on_time", "closed", "satisfied", "self_resolved"}
    assert body["rates_7d"]["satisfied"] == 1.0
    assert set(body["staffing"]) == {"grids", "grids_staffed", "workers", "on_duty", "online", "patrolled_today"}
    assert body["staffing"]["grids"] == 2
    assert body["alerts"] == {"new": 1, "acknowledged": 1}


def test_summary_defaults_to_the_callers_region_and_rates_can_be_null(county):
    client, tokens = county
    body = get(client, tokens, f"/api/v1/summary?at={T_LOCAL}", "street_a").get_json()
    assert body["region"] == TOWN_A and body["name"] == "城厢镇"
    assert body["cases"]["open"] == 3
    body = get(client, tokens, f"/api/v1/summary?region={TOWN_B}&at=2020-01-01T00:00").get_json()
    assert body["rates_7d"] == {"on_time": None, "closed": None, "satisfied": None, "self_resolved": None}
    assert body["cases"]["open"] == 0


def test_children_one_row_per_child_with_case_figures(county):
    client, tokens = county
    rows = get(client, tokens, f"/api/v1/regions/{ROOT}/children?at={T_LOCAL}").get_json()
    assert [(r["code"], r["name"]) for r in rows] == [(TOWN_A, "城厢镇"), (TOWN_B, "沙溪镇")]
    assert rows[0]["cases"]["open"] == 3 and rows[1]["cases"]["open"] == 1
    assert set(rows[0]["cases"]) == {"open", "overdue", "warning", "accept_overdue", "dispatch_overdue",
                                     "new_today", "closed_today"}
    grids = get(client, tokens, "/api/v1/regions/320585100001/children").get_json()
    assert [r["code"] for r in grids] == [GRID_A]
    assert get(client, tokens, f"/api/v1/regions/{GRID_A}/children").get_json() == []


def test_cases_newest_first_masked_and_filtered_by_state(county):
    client, tokens = county
    rows = get(client, tokens, f"/api/v1/cases?region={ROOT}&state=open&at={T_LOCAL}").get_json()
    assert [r["code"] for r in rows] == ["A-1", "B-1", "U-1", "A-3", "A-2"]
    first = rows[0]
    assert set(first) >= {"code", "title", "category_code", "category_name", "source", "urgency", "status",
                          "reported_at", "grid_code", "address", "resolve_due_at"}
    assert first["title"] == "居民张*反映噪音，电话138****5678"
    assert first["address"] == "东林村8组 车牌苏E***45"
    assert first["category_name"] == "噪音扰民" and first["reported_at"] == "2026-11-26T09:00:00+08:00"
    assert rows[1]["category_name"] is None  # unknown category code still listed
    overdue = get(client, tokens, f"/api/v1/cases?region={TOWN_A}&state=overdue&at={T_LOCAL}").get_json()
    assert [r["code"] for r in overdue] == ["A-2"]
    warning = get(client, tokens, f"/api/v1/cases?state=warning&at={T_LOCAL}").get_json()
    assert [r["code"] for r in warning] == ["A-3"]
    limited = get(client, tokens, f"/api/v1/cases?limit=2&at={T_LOCAL}").get_json()
    assert [r["code"] for r in limited] == ["A-1", "B-1"]
    street = get(client, tokens, f"/api/v1/cases?at={T_LOCAL}", "street_a").get_json()
    assert {r["grid_code"] for r in street} == {GRID_A}


def test_alerts_newest_first_and_by_status(county):
    client, tokens = county
    rows = get(client, tokens, f"/api/v1/alerts?region={ROOT}&at={T_LOCAL}").get_json()
    assert [r["region_code"] for r in rows] == [GRID_B, TOWN_A, ROOT]
    assert rows[1]["detail"] == {"observed": 9, "expected": 2.1} and rows[0]["detail"] == "not json"
    assert rows[1]["created_at"] == "2026-11-26T08:00:00+08:00"
    assert rows[0]["ack_by"] == "x" and rows[0]["ack_at"] == "2026-11-26T09:30:00+08:00"
    new = get(client, tokens, "/api/v1/alerts?status=new").get_json()
    assert [r["status"] for r in new] == ["new"]
    street = get(client, tokens, "/api/v1/alerts", "street_a").get_json()
    assert [r["region_code"] for r in street] == [TOWN_A]


def test_openapi_is_a_valid_openapi_3_document(county):
    from openapi_spec_validator import validate

    client, _ = county
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    doc = json.loads(resp.data)
    validate(doc)
    assert {"/summary", "/regions/{code}/children", "/cases", "/alerts", "/alerts/{id}/ack"} <= set(doc["paths"])


@pytest.mark.parametrize("url", ["/api/v1/summary", f"/api/v1/regions/{ROOT}/children", "/api/v1/cases",
                                 "/api/v1/alerts"])
def test_no_or_bad_token_is_401_json(county, url):
    client, _ = county
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic abc"}):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 401 and "error" in resp.get_json()
    assert client.post("/api/v1/alerts/1/ack").status_code == 401


def test_street_user_is_kept_inside_its_street(county):
    client, tokens = county
    for url in (f"/api/v1/summary?region={TOWN_B}", f"/api/v1/summary?region={ROOT}",
                f"/api/v1/regions/{ROOT}/children", f"/api/v1/cases?region={GRID_B}",
                f"/api/v1/alerts?region={TOWN_B}"):
        resp = get(client, tokens, url, "street_a")
        assert resp.status_code == 403, url
        assert set(resp.get_json()) == {"error"}
    assert get(client, tokens, f"/api/v1/summary?region={GRID_A}", "street_a").status_code == 200


MALFORMED = [
    "/api/v1/summary?region=32058",
    "/api/v1/summary?region=abc",
    "/api/v1/summary?region=320585'%20OR%20'1'='1",
    "/api/v1/cases?region=320585;DROP%20TABLE%20cases;--",
    "/api/v1/regions/320585%27--/children",
    "/api/v1/summary?at=yesterday",
    "/api/v1/summary?at=2026-13-45T99:00",
    "/api/v1/cases?limit=0",
    "/api/v1/cases?limit=1001",
    "/api/v1/cases?limit=-5",
    "/api/v1/cases?limit=ten",
    "/api/v1/cases?state=closed",
    "/api/v1/alerts?status=everything",
    "/api/v1/alerts?limit=1e3",
    "/api/v1/cases?limit=%C2%B2",             # a superscript digit
    "/api/v1/summary?region=320585%0A",       # a trailing newline
    "/api/v1/summary?region=%EF%BC%93%EF%BC%92%EF%BC%90%EF%BC%95%EF%BC%98%EF%BC%95",  # full-width digits
    "/api/v1/summary?at=0001-01-01T00:00",
    "/api/v1/summary?at=2026-11-26T10:00%2B25:00",
]


def test_malformed_input_is_400_with_a_message(county):
    client, tokens = county
    for url in MALFORMED:
        resp = get(client, tokens, url)
        assert resp.status_code == 400, (url, resp.data)
        assert resp.get_json()["error"], url


def test_unknown_region_is_400_and_unknown_route_is_404_json(county):
    client, tokens = county
    # interfaces.md: "an unknown or malformed region code answers 400"
    assert get(client, tokens, "/api/v1/summary?region=320585999").status_code == 400
    assert get(client, tokens, "/api/v1/regions/320585999001/children").status_code == 400
    # outside the scope answers 403 whether or not it exists: no probing
    assert get(client, tokens, "/api/v1/summary?region=320585999", "street_a").status_code == 403
    resp = get(client, tokens, "/api/v1/nothing")
    assert resp.status_code == 404 and resp.get_json()["error"]


def test_ack_needs_a_duty_officer_and_leaves_an_audit_row(county, engine):
    client, tokens = county
    with engine.connect() as conn:
        alert_id = conn.execute(select(Alert.id).where(Alert.dedup_key == "a1")).scalar_one()
    for who in ("leader1", "street_a", "wall_a"):
        resp = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=bearer(tokens[who]))
        assert resp.status_code == 403, who
    resp = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=bearer(tokens["center1"]))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "acknowledged" and body["ack_by"] == "center1" and body["ack_at"]
    with engine.connect() as conn:
        row = conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == alert_id)).one()
        audit = conn.execute(select(GwAudit.username, GwAudit.detail).where(GwAudit.action == "alert_ack")).all()
    assert tuple(row) == ("acknowledged", "center1")
    assert len(audit) == 1 and audit[0].username == "center1"
    assert json.loads(audit[0].detail)["alert_id"] == alert_id
    center = tokens["center1"]
    assert client.post("/api/v1/alerts/999999/ack", headers=bearer(center)).status_code == 404
    assert client.post("/api/v1/alerts/abc/ack", headers=bearer(center)).status_code == 400
    assert client.post("/api/v1/alerts/%C2%B2/ack", headers=bearer(center)).status_code == 400
    with engine.connect() as conn:
        resolved = conn.execute(select(Alert.id).where(Alert.dedup_key == "r1")).scalar_one()
    assert client.post(f"/api/v1/alerts/{resolved}/ack", headers=bearer(center)).status_code == 409


def test_auth_off_opens_the_api_at_the_root(engine, backend_url):
    seed(engine)
    client = make_app(backend_url, auth=False).test_client()
    body = client.get(f"/api/v1/summary?at={T_LOCAL}").get_json()
    assert body["region"] == ROOT and body["cases"]["open"] == 5


def test_healthz_ok_with_local_cache(county):
    client, _ = county
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["cache"] == "local"
    # newest updated_at of the seed is A-1 reported at 09:00 local
    assert body["data_as_of"] == "2026-11-26T09:00:00+08:00"


def test_healthz_says_when_the_platforms_feed_has_stalled(county, engine):
    """The seed's last change is days old: the feed has stalled (the wall says 数据停滞), though the
    database answers; a case changed just now makes it ok again."""
    from datetime import datetime, timezone

    from .wall_fixtures import insert_case

    client, _ = county
    body = client.get("/healthz").get_json()
    assert (body["status"], body["database"], body["feed"]) == ("ok", "ok", "stalled")
    insert_case(engine, "FEED-NOW", datetime.now(timezone.utc))
    assert client.get("/healthz").get_json()["feed"] == "ok"


DEAD_PG = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def test_healthz_degraded_when_the_database_is_down():
    client = make_app(DEAD_PG).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "degraded", "database": "down", "cache": "local", "data_as_of": None,
                               "feed": "unknown", "duties": {d: {"last_success": None} for d in ("packs", "push", "rollup", "walls", "warning")}}
    # the API says so too, without a traceback
    resp = client.get("/api/v1/summary", headers=bearer("whatever"))
    assert resp.status_code == 503 and resp.get_json()["error"]


@pytest.mark.redis
def test_healthz_reports_the_shared_cache(engine, backend_url):
    ok = make_app(backend_url, redis_url=REDIS_URL).test_client().get("/healthz").get_json()
    assert ok["cache"] == "ok" and ok["status"] == "ok"
    down = make_app(backend_url, redis_url="redis://127.0.0.1:1/0").test_client().get("/healthz").get_json()
    assert down["cache"] == "down" and down["status"] == "degraded" and down["database"] == "ok"


def test_get_settings_is_not_consulted_by_the_api(county, monkeypatch):
    # The app's own config decides the database; a different environment must not leak in.
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", DEAD_PG)
    get_settings.cache_clear()
    client, tokens = county
    assert get(client, tokens, "/api/v1/summary").status_code == 200
    get_settings.cache_clear()


def test_csv_export_is_scoped_masked_and_audited(county, engine):
    client, tokens = county
    resp = get(client, tokens, f"/api/v1/cases?format=csv&at={T_LOCAL}", "street_a")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeffcode,title,") and "138****5678" in body and "13812345678" not in body
    assert "B-1" not in body and "U-1" not in body  # only the caller's street
    assert get(client, tokens, "/api/v1/cases?format=xml").status_code == 400
    assert get(client, tokens, f"/api/v1/cases?format=csv&region={TOWN_B}", "street_a").status_code == 403
    with engine.connect() as conn:
        rows = conn.execute(select(GwAudit.username, GwAudit.detail).where(GwAudit.action == "export")).all()
    assert len(rows) == 1 and rows[0].username == "street_a"
    assert json.loads(rows[0].detail) == {"what": "cases", "region": TOWN_A, "state": "open", "rows": 3,
                                         "at": "2026-11-26T10:00:00+08:00"}


def test_bodies_and_methods_the_api_does_not_take(county):
    client, tokens = county
    headers = {**bearer(tokens["center1"]), "Content-Type": "application/json"}
    # The acknowledgement's body is optional (a disposition, issue 17); one that is not a JSON object
    # answers 400 and acknowledges nothing.
    for body in (b"{not json", b"[]", b"\xff\xfe"):
        resp = client.post("/api/v1/alerts/1/ack", data=body, headers=headers)
        assert resp.status_code == 400 and resp.get_json()["error"], body
    for method in ("put", "delete", "patch"):
        resp = getattr(client, method)("/api/v1/summary", headers=headers)
        assert resp.status_code in (404, 405) and resp.status_code != 500
