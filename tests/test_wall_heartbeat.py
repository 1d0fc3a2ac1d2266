"""POST /live/heartbeat (dashboard/web/heartbeat.py): login required, identity and kiosk-ness from the
session, the region clamped to the user's scope, bad bodies refused with 400 and nothing written, one
row per wall (upsert), and the answer carrying the server's code version and heap ceiling."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dashboard.app import create_app
from dashboard.core.config import Settings
from dashboard.core.wall_health import DARK_AFTER, BadHeartbeat, display_of, parse_heartbeat
from data_access import walls as walls_db
from data_access.db import dispose_all
from data_access.models import GwWall

from .api_seed import COMM_A, FAST_HASHER, PASSWORD, ROOT, TOWN_A, TOWN_B, add_users, seed

UTC = timezone.utc
WALL = "wall-0123456789abcdef"


@pytest.fixture
def site(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="heartbeat-test", wall_heap_mb=1024), auth=True)
    app.server.config["GRIDWALL_CODE_VERSION"] = "v-server"
    yield {"app": app, "engine": engine, "tokens": tokens}
    dispose_all()


def kiosk_client(site):
    client = site["app"].server.test_client()
    assert client.get(f"/kiosk/{site['tokens']['wall_a']}").status_code == 302
    return client


def login(site, username: str):
    client = site["app"].server.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def beat(client, search: str = "", wall: str = WALL, **extra):
    body = {"wall": wall, "search": search, "frame_age": 2.5, "heap": 64 * 1024 * 1024, "version": "v-page", **extra}
    return client.post("/live/heartbeat", json=body)


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(GwWall.__table__).order_by(GwWall.wall_id)).mappings()]


def test_a_heartbeat_needs_a_session(site):
    assert beat(site["app"].server.test_client()).status_code == 401
    assert rows(site["engine"]) == []


def test_a_kiosk_wall_is_recorded_with_its_identity_from_the_session(site):
    resp = beat(kiosk_client(site), f"?region={COMM_A}&kiosk=1&rotate=30&seams=3x1&scale=1.5")
    assert resp.status_code == 200
    assert resp.get_json() == {"version": "v-server", "heap_mb": 1024, "interval_s": 30, "region": COMM_A,
                               "recorded": True}
    [row] = rows(site["engine"])
    assert row["username"] == "wall_a" and row["kiosk"] is True and row["region_code"] == COMM_A
    assert json.loads(row["layout"]) == {"kiosk": True, "mode": "live", "rotate": 30, "seams": "3x1", "scale": 1.5}
    assert row["frame_age"] == 2.5 and row["heap_mb"] == 64.0 and row["version"] == "v-page"
    assert row["remote_addr"] == "127.0.0.1" and row["first_seen_at"] == row["last_seen_at"] == row["live_since"]


@pytest.mark.parametrize("asked", [TOWN_B, ROOT, "320585101001", "3205", "' OR 1=1", "３２０５８５１００", ""])
def test_a_region_outside_the_scope_is_clamped_to_the_users_own(site, asked):
    resp = beat(kiosk_client(site), f"?region={asked}")
    assert resp.status_code == 200 and resp.get_json()["region"] == TOWN_A
    assert rows(site["engine"])[0]["region_code"] == TOWN_A


def test_a_duty_officers_browser_is_not_a_kiosk_wall(site):
    client = login(site, "center1")
    assert beat(client, f"?region={TOWN_B}").get_json()["region"] == TOWN_B  # inside the root's scope
    assert beat(client, "", wall="another-wall-id").get_json()["region"] == ROOT
    assert {(r["username"], r["kiosk"], r["region_code"]) for r in rows(site["engine"])} == {
        ("center1", False, TOWN_B), ("center1", False, ROOT)}


def test_the_body_cannot_claim_an_identity(site):
    resp = site["app"].server.test_client().post("/live/heartbeat", json={"wall": WALL, "username": "center1"})
    assert resp.status_code == 401
    resp = kiosk_client(site).post("/live/heartbeat", json={"wall": WALL, "username": "center1", "kiosk": False})
    assert resp.status_code == 400 and "unknown fields" in resp.get_json()["error"]


BAD_BODIES = [
    ({"search": "?kiosk=1"}, "wall"),
    ({"wall": "short"}, "wall"),
    ({"wall": "bad id with spaces"}, "wall"),
    ({"wall": ["x" * 10]}, "wall"),
    ({"wall": WALL, "frame_age": -1}, "frame_age"),
    ({"wall": WALL, "frame_age": "3"}, "frame_age"),
    ({"wall": WALL, "frame_age": True}, "frame_age"),
    ({"wall": WALL, "heap": 10 ** 15}, "heap"),
    ({"wall": WALL, "version": "<script>"}, "version"),
    ({"wall": WALL, "search": "?region=" + "3" * 500}, "search"),
    ({"wall": WALL, "search": 7}, "search"),
    ({"wall": WALL, "extra": 1}, "unknown fields"),
]


@pytest.mark.parametrize("body,named", BAD_BODIES)
def test_a_malformed_body_answers_400_naming_the_field_and_writes_nothing(site, body, named):
    resp = kiosk_client(site).post("/live/heartbeat", json=body)
    assert resp.status_code == 400 and named in resp.get_json()["error"]
    assert rows(site["engine"]) == []


def test_bodies_that_are_not_a_json_object_answer_400(site):
    client = kiosk_client(site)
    for data, kind in (("not json", "application/json"), ("[1, 2]", "application/json"),
                       ("wall=abc", "application/x-www-form-urlencoded"),
                       (json.dumps({"wall": WALL, "search": "x" * 5000}), "application/json")):
        resp = client.post("/live/heartbeat", data=data, content_type=kind)
        assert resp.status_code == 400 and resp.get_json()["error"], data[:20]
    assert rows(site["engine"]) == []


def test_a_cross_site_post_is_refused(site):
    resp = kiosk_client(site).post("/live/heartbeat", json={"wall": WALL},
                                   headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403 and rows(site["engine"]) == []
    same = kiosk_client(site).post("/live/heartbeat", json={"wall": WALL}, headers={"Origin": "http://localhost"})
    assert same.status_code == 200


def test_heartbeats_of_one_wall_update_its_one_row(site):
    client = kiosk_client(site)
    assert beat(client, "?kiosk=1", frame_age=1.0).status_code == 200
    first = rows(site["engine"])[0]
    assert beat(client, "?kiosk=1&rotate=60", frame_age=120.0, heap=None, version="v-server").status_code == 200
    [row] = rows(site["engine"])
    assert row["first_seen_at"] == first["first_seen_at"] and row["last_seen_at"] >= first["last_seen_at"]
    assert row["frame_age"] == 120.0 and row["heap_mb"] is None and row["version"] == "v-server"
    assert json.loads(row["layout"])["rotate"] == 60


def test_live_since_restarts_after_a_silence(engine):
    t0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    beat_ = walls_db.Heartbeat(wall_id=WALL, username="wall_a", kiosk=True, region_code=TOWN_A, layout={},
                               frame_age=1.0, heap_mb=None, version="v", remote_addr="10.0.0.1")
    for at in (t0, t0 + timedelta(seconds=30), t0 + timedelta(seconds=60)):
        with engine.begin() as conn:
            walls_db.record_heartbeat(conn, beat_, at, DARK_AFTER)
    assert rows(engine)[0]["live_since"] == t0
    back = t0 + timedelta(seconds=60) + DARK_AFTER + timedelta(seconds=1)
    with engine.begin() as conn:
        walls_db.record_heartbeat(conn, beat_, back, DARK_AFTER)
    [row] = rows(engine)
    assert row["live_since"] == back and row["first_seen_at"] == t0 and row["last_seen_at"] == back


def test_one_user_cannot_fill_the_table_with_walls(site, monkeypatch):
    monkeypatch.setattr("dashboard.web.heartbeat.MAX_WALLS_PER_USER", 3)
    client = kiosk_client(site)
    for i in range(3):
        assert beat(client, wall=f"wall-number-{i}").status_code == 200
    assert beat(client, wall="wall-number-9").status_code == 429
    assert beat(client, wall="wall-number-1").status_code == 200  # a known wall still reports
    with site["engine"].connect() as conn:
        assert conn.execute(select(func.count()).select_from(GwWall.__table__)).scalar() == 3


def test_the_display_is_read_as_the_wall_reads_it():
    assert display_of({}) == {"kiosk": False, "mode": "live"}
    assert display_of({"kiosk": "1", "rotate": "45", "seams": "2x2", "scale": "2", "at": "2026-11-20"}) == {
        "kiosk": True, "mode": "history", "rotate": 45, "seams": "2x2", "scale": 2.0}
    # values the wall ignores are left out
    assert display_of({"kiosk": "yes", "rotate": "-5", "seams": "9x9", "scale": "9"}) == {"kiosk": False,
                                                                                        "mode": "live"}
    assert display_of({"seams": "1x1", "scale": "1", "rotate": "0"}) == {"kiosk": False, "mode": "live"}
    with pytest.raises(BadHeartbeat):
        parse_heartbeat({"wall": WALL, "frame_age": float("nan")})
    parsed = parse_heartbeat({"wall": WALL, "search": "?region=320585100&kiosk=1", "heap": 3 * 1024 ** 2})
    assert parsed.region == "320585100" and parsed.heap_mb == 3.0 and parsed.frame_age is None


def test_without_a_database_the_wall_still_learns_the_version_and_nothing_fails_in_its_console():
    app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
                              secret_key="heartbeat-test"), auth=False)
    app.server.config["GRIDWALL_CODE_VERSION"] = "v-server"
    resp = app.server.test_client().post("/live/heartbeat", json={"wall": WALL, "search": "?kiosk=1"})
    dispose_all()
    assert resp.status_code == 200
    assert resp.get_json() == {"version": "v-server", "heap_mb": 1536, "interval_s": 30, "region": None,
                               "recorded": False}
