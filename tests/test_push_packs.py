"""The weekly packs announced through push (issue 15 §4, once push exists): one message per channel for
a run's packs, each region with its PDF and Excel links; a county route hears of every pack, a street's
route of its own only, a route whose kinds leave out ``pack`` of none; a robot that is down is tried
again and then given up on (the packs stay in the archive), and the sends count toward its limit."""

from __future__ import annotations

import re

from sqlalchemy import select

from dashboard.core.config import Settings
from dashboard.push.packs import PackAnnouncer
from data_access.models import GwPushSend
from data_access.moment import Moment

from .api_seed import TOWN_A, seed
from .push_support import FakeRobot
from .test_pack_duty_exactly_once import MONDAY_0700, TZ, FakeBuild, duty, root


def settings_for(county_robot, street_robot, alerts_only_robot) -> Settings:
    return Settings(database_url="sqlite://", secret_key="x", public_url="https://wall.example.org", push={
        "channel": [{"name": "county", "kind": "wecom", "url": county_robot.url},
                    {"name": "street", "kind": "wecom", "url": street_robot.url},
                    {"name": "alerts-only", "kind": "wecom", "url": alerts_only_robot.url}],
        "route": [{"region": "320585", "channels": ["county"]},
                  {"region": TOWN_A, "channels": ["street"]},
                  {"region": "320585", "kinds": ["spike"], "channels": ["alerts-only"]}]})


def test_a_runs_packs_are_announced_once_per_channel_with_their_links(engine):
    seed(engine)
    with FakeRobot() as county_robot, FakeRobot() as street_robot, FakeRobot() as alerts_only:
        settings = settings_for(county_robot, street_robot, alerts_only)
        announcer = PackAnnouncer(engine, settings, sleep=lambda _s: False)
        pack_duty = duty(engine, FakeBuild(), catch_up_weeks=0, on_ready=announcer, public_url="https://wall.example.org")
        pack_duty(engine, root(), Moment(MONDAY_0700, TZ))
        county_texts, street_texts = county_robot.texts(), street_robot.texts()
    assert len(county_texts) == 1 and len(street_texts) == 1 and alerts_only.texts() == []
    county_text = county_texts[0]
    assert "周报已生成：2026-11-16 至 2026-11-22" in county_text
    assert "太仓市（领导版）" in county_text and "城厢镇（镇街版）" in county_text and "沙溪镇（镇街版）" in county_text
    assert len(re.findall(r"https://wall\.example\.org/api/v1/packs/\d+", county_text)) == 6  # 3 regions x 2
    assert "城厢镇（镇街版）" in street_texts[0] and "沙溪镇" not in street_texts[0] and "太仓市" not in street_texts[0]
    assert "/review?period=week&date=2026-11-16" in county_text
    with engine.connect() as conn:
        sends = conn.execute(select(GwPushSend.channel, GwPushSend.ok, GwPushSend.purpose)).all()
    assert sorted(sends) == [("county", True, "pack"), ("street", True, "pack")]


def test_a_robot_down_is_tried_again_then_given_up_on_with_the_packs_kept(engine, caplog):
    seed(engine)
    with FakeRobot() as county_robot, FakeRobot() as street_robot, FakeRobot() as alerts_only:
        county_robot.mode = "http500"
        settings = settings_for(county_robot, street_robot, alerts_only)
        waits = []
        announcer = PackAnnouncer(engine, settings, sleep=lambda s: waits.append(s) or False)
        pack_duty = duty(engine, FakeBuild(), catch_up_weeks=0, on_ready=announcer, public_url="https://wall.example.org")
        report = pack_duty(engine, root(), Moment(MONDAY_0700, TZ))
        attempts = county_robot.attempts
    assert len(report.built) == 6  # the packs are archived whatever the robot does
    assert attempts == 4 and waits[:3] == [5.0, 20.0, 60.0]
    assert "gave up" in caplog.text and "key=" not in caplog.text
    with engine.connect() as conn:
        failed = conn.execute(select(GwPushSend.ok).where(GwPushSend.channel == "county")).scalars().all()
    assert failed == [False] * 4


def test_the_worker_announces_through_push_only_when_channels_are_configured(engine):
    from dashboard.worker.packs import PackDuty, announce

    with FakeRobot() as a, FakeRobot() as b, FakeRobot() as c:
        wired = PackDuty.from_settings(engine, settings_for(a, b, c))
    assert isinstance(wired.on_ready, PackAnnouncer)
    assert PackDuty.from_settings(engine, Settings(database_url="sqlite://", secret_key="x")).on_ready is announce
