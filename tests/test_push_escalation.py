"""Escalation (dashboard/push/dispatcher.py): a critical alert still ``new`` escalate_after_min after it was
raised goes to the route's escalate_to channels, not before, once per tier; acknowledging it (through the
wall's use case) stops every escalation not yet sent, also one waiting for a robot that is down."""

from __future__ import annotations

from datetime import timedelta

from dashboard.usecases.alerts import acknowledge_alert
from data_access import push as outbox
from data_access.scope import Scope

from .push_support import FakeClock, FakeRobot, add_alert, dispatcher, push_settings

ROOT = Scope.whole_deployment("320585")


def _settings(duty, leader, city):
    return push_settings(
        [{"name": "duty", "kind": "wecom", "url": duty.url}, {"name": "leader", "kind": "wecom", "url": leader.url},
         {"name": "city", "kind": "wecom", "url": city.url}],
        [{"region": "320585", "min_severity": "warning", "channels": ["duty"],
          "escalate_after_min": 10, "escalate_to": ["leader"]},
         {"region": "320585", "min_severity": "critical", "escalate_after_min": 30, "escalate_to": ["city"]}],
        timeout_seconds=0.3)


def _until(d, clock, start, minutes: float, step: float = 15.0) -> None:
    """Passes every ``step`` seconds until ``minutes`` after ``start``."""
    while clock() < start + timedelta(minutes=minutes):
        clock.advance(step)
        d.run_pass()


def test_a_critical_alert_escalates_after_its_delay_once_per_tier(engine):
    clock = FakeClock()
    with FakeRobot(clock=clock) as duty, FakeRobot(clock=clock) as leader, FakeRobot(clock=clock) as city:
        d = dispatcher(engine, _settings(duty, leader, city), clock)
        d.run_pass()
        clock.advance(1)
        raised = clock()
        critical = add_alert(engine, created_at=raised, severity="critical")
        warning = add_alert(engine, created_at=raised, severity="warning")
        _until(d, clock, raised, 9.75)
        assert sorted(duty.alert_ids()) == sorted([critical, warning])
        assert leader.messages == [] and city.messages == []
        _until(d, clock, raised, 10.25)
        assert leader.alert_ids() == [critical]
        assert "【升级·严重】骤增预警 10 分钟未确认" in leader.texts()[0]
        _until(d, clock, raised, 29.75, step=30)
        assert leader.alert_ids() == [critical] and city.messages == []
        _until(d, clock, raised, 30.25)
        assert city.alert_ids() == [critical]
        _until(d, clock, raised, 90, step=60)
    assert sorted(duty.alert_ids()) == sorted([critical, warning])  # the first tier never again
    assert leader.alert_ids() == [critical] and city.alert_ids() == [critical]
    with engine.connect() as conn:
        tiers = sorted((r["channel"], r["tier"], r["state"]) for r in outbox.outbox_rows(conn, critical))
    assert tiers == [("city", 30, "sent"), ("duty", 0, "sent"), ("leader", 10, "sent")]


def test_acknowledging_stops_escalation_even_one_waiting_for_a_robot(engine):
    clock = FakeClock()
    with FakeRobot(clock=clock) as duty, FakeRobot(clock=clock) as leader, FakeRobot(clock=clock) as city:
        d = dispatcher(engine, _settings(duty, leader, city), clock)
        d.run_pass()
        clock.advance(1)
        raised = clock()
        early = add_alert(engine, created_at=raised, severity="critical", title="早确认")
        late = add_alert(engine, created_at=raised, severity="critical", title="升级途中确认")
        _until(d, clock, raised, 5)
        assert acknowledge_alert(engine, ROOT, None, early, via="wall", now=clock()).ok
        leader.mode = "http500"
        _until(d, clock, raised, 12)
        with engine.connect() as conn:
            owed = {(r["alert_id"], r["channel"]): r["state"] for r in outbox.outbox_rows(conn)}
        assert owed[(late, "leader")] == "pending" and (early, "leader") not in owed
        assert acknowledge_alert(engine, ROOT, None, late, via="api", now=clock()).ok
        leader.mode = "up"
        _until(d, clock, raised, 45, step=30)
    assert leader.messages == [] and city.messages == []
    assert sorted(duty.alert_ids()) == sorted([early, late])
    with engine.connect() as conn:
        assert outbox.outbox_rows(conn, late)[1]["state"] == "cancelled"
        assert outbox.outbox_depth(conn) == 0


def test_a_route_that_only_escalates_needs_no_first_push(engine):
    clock = FakeClock()
    with FakeRobot(clock=clock) as leader:
        push = push_settings([{"name": "leader", "kind": "wecom", "url": leader.url}],
                             [{"region": "320585", "min_severity": "critical", "escalate_after_min": 5,
                               "escalate_to": ["leader"]}])
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        raised = clock()
        alert = add_alert(engine, created_at=raised, severity="critical")
        _until(d, clock, raised, 4.5)
        assert leader.messages == []
        _until(d, clock, raised, 8)
    assert leader.alert_ids() == [alert]
