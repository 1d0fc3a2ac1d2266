"""The worker duty ``walls`` (dashboard/worker/walls.py): a kiosk wall silent for two minutes raises one
alert of kind ``wall`` in its region (an episode: once, whatever the runs), ended when the wall reports
again; a person's browser never raises it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from dashboard.core.wall_health import DARK_AFTER
from dashboard.warning.lock import run_loop
from dashboard.worker.walls import DarkWallWatch
from data_access import walls as walls_db
from data_access.models import Alert, GwDuty, GwWall
from data_access.moment import Moment
from data_access.scope import Scope
from layouts.i18n import ALERT_KIND

from .api_seed import ROOT, TOWN_A, TOWN_B, T, seed

UTC = timezone.utc
S = timedelta(seconds=1)
KIOSK = "kiosk-wall-000001"


@pytest.fixture
def county(engine):
    seed(engine)
    return engine


def heartbeat(engine, wall_id: str, at: datetime, *, kiosk: bool = True, region: str = TOWN_A,
              username: str = "wall_a") -> None:
    beat = walls_db.Heartbeat(wall_id=wall_id, username=username, kiosk=kiosk, region_code=region,
                              layout={"kiosk": True, "mode": "live"}, frame_age=2.0, heap_mb=90.0, version="v1",
                              remote_addr="10.0.0.7")
    with engine.begin() as conn:
        walls_db.record_heartbeat(conn, beat, at, DARK_AFTER)


def watch(engine, at: datetime):
    from zoneinfo import ZoneInfo

    return DarkWallWatch()(engine, Scope.whole_deployment(ROOT), Moment(at, ZoneInfo("Asia/Shanghai")), None)


def wall_alerts(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(Alert.__table__).where(Alert.kind == "wall")
                                              .order_by(Alert.id)).mappings()]


def dark_alert_of(engine, wall_id: str):
    with engine.connect() as conn:
        return conn.execute(select(GwWall.dark_alert_id).where(GwWall.wall_id == wall_id)).scalar()


def test_a_silent_kiosk_wall_raises_one_alert_after_two_minutes_and_it_ends_when_the_wall_returns(county):
    heartbeat(county, KIOSK, T)
    assert watch(county, T + 120 * S).raised == [] and wall_alerts(county) == []  # exactly two minutes: not yet
    report = watch(county, T + 121 * S)
    [alert] = wall_alerts(county)
    assert report.raised == [alert["id"]] and dark_alert_of(county, KIOSK) == alert["id"]
    assert alert["kind"] == "wall" and alert["severity"] == "warning" and alert["status"] == "new"
    assert alert["region_code"] == TOWN_A and alert["source"] == "gridwall"
    assert "wall_a" in alert["title"] and "城厢镇" in alert["title"] and alert["title"].startswith("大屏离线")
    assert alert["dedup_key"] == f"wall:dark:{KIOSK}@20261126T020000Z"
    assert alert["created_at"] == T + 121 * S and alert["resolved_at"] is None
    # later runs while it stays dark add nothing
    for later in (150, 600, 3600):
        assert watch(county, T + later * S).raised == []
    assert len(wall_alerts(county)) == 1
    # it reports again: the next run ends the episode at the moment it came back
    back = T + 4000 * S
    heartbeat(county, KIOSK, back)
    assert watch(county, back + 20 * S).ended == [alert["id"]]
    [ended] = wall_alerts(county)
    assert ended["status"] == "resolved" and ended["resolved_at"] == back
    assert dark_alert_of(county, KIOSK) is None
    assert watch(county, back + 40 * S).ended == []
    # dark again later: a new episode, a new alert
    heartbeat(county, KIOSK, back + 60 * S)
    watch(county, back + 60 * S + DARK_AFTER + S)
    alerts = wall_alerts(county)
    assert len(alerts) == 2 and alerts[1]["dedup_key"] != alerts[0]["dedup_key"] and alerts[1]["status"] == "new"


def test_a_persons_browser_never_raises_it(county):
    heartbeat(county, "officer-browser-1", T, kiosk=False, username="center1", region=ROOT)
    assert watch(county, T + timedelta(hours=5)).raised == []
    assert wall_alerts(county) == []


def test_an_acknowledged_dark_alert_is_ended_too_and_a_dismissed_one_stays_dismissed(county):
    heartbeat(county, KIOSK, T)
    heartbeat(county, "kiosk-wall-000002", T, region=TOWN_B, username="wall_b")
    watch(county, T + 200 * S)
    first, second = wall_alerts(county)
    with county.begin() as conn:
        conn.execute(Alert.__table__.update().where(Alert.id == first["id"]).values(status="acknowledged"))
        conn.execute(Alert.__table__.update().where(Alert.id == second["id"]).values(status="dismissed"))
    heartbeat(county, KIOSK, T + 300 * S)
    heartbeat(county, "kiosk-wall-000002", T + 300 * S, region=TOWN_B, username="wall_b")
    watch(county, T + 310 * S)
    first, second = wall_alerts(county)
    assert (first["status"], first["resolved_at"]) == ("resolved", T + 300 * S)
    assert (second["status"], second["resolved_at"]) == ("dismissed", T + 300 * S)
    assert second["region_code"] == TOWN_B


def test_a_run_whose_bookkeeping_was_lost_finds_its_alert_again(county):
    heartbeat(county, KIOSK, T)
    watch(county, T + 200 * S)
    with county.begin() as conn:
        walls_db.set_dark_alert(conn, KIOSK, None)  # as if the link had not been stored
    assert watch(county, T + 230 * S).raised == []
    [alert] = wall_alerts(county)
    assert dark_alert_of(county, KIOSK) == alert["id"]


def test_walls_long_gone_are_forgotten_unless_their_alert_is_open(county):
    heartbeat(county, "kiosk-gone-00001", T - timedelta(days=40))
    heartbeat(county, "browser-gone-001", T - timedelta(days=40), kiosk=False)
    watch(county, T)  # raises the kiosk wall's alert, forgets the browser
    with county.connect() as conn:
        left = set(conn.execute(select(GwWall.wall_id)).scalars())
    assert left == {"kiosk-gone-00001"}


def test_the_duty_runs_through_the_single_instance_loop(county):
    """As ``gridwall worker`` runs it: run_loop with its lock, the walls duty's label and a set clock."""
    from zoneinfo import ZoneInfo

    from dashboard.warning.lock import LeaseLock

    heartbeat(county, KIOSK, T)
    runs = run_loop(county, tz=ZoneInfo("Asia/Shanghai"), interval=0, max_runs=1, run=DarkWallWatch(),
                    lock=LeaseLock(county, "gridwall.walls", lease=60), label="walls",
                    clock=lambda: T + 180 * S, stop=threading.Event())
    assert runs == 1 and len(wall_alerts(county)) == 1
    with county.connect() as conn:
        duty = conn.execute(select(GwDuty.__table__).where(GwDuty.duty == "walls")).mappings().one()
    assert duty["last_success_at"] == T + 180 * S and duty["state"] == "stopped"


def test_the_kind_has_its_chinese_name():
    assert ALERT_KIND["wall"] == "大屏离线"
