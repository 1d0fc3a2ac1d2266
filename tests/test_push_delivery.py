"""Push delivery (dashboard/push/dispatcher.py): every alert reaches each channel exactly once, through
robot outages, dispatcher restarts, whatever system wrote the alert; the warning engine owes its alerts
in the transaction that inserts them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.analytics.findings import Finding
from dashboard.core.config import PushSettings
from dashboard.push.routes import raised_hook
from dashboard.warning.engine import EngineState, run_engine
from dashboard.warning.families import Family
from data_access import push as outbox
from data_access.moment import Moment
from data_access.scope import Scope

from .push_support import (PUBLIC_URL, FakeClock, FakeRobot, add_alert, add_region, dispatcher,
                           push_settings)


def _wecom(robot: FakeRobot, **knobs) -> PushSettings:
    return push_settings([{"name": "duty", "kind": "wecom", "url": robot.url}], timeout_seconds=0.3, **knobs)


def _run(d, clock, seconds: float, step: float = 1.0) -> None:
    """Passes every ``step`` seconds of the fake clock for ``seconds``."""
    for _ in range(int(seconds / step)):
        clock.advance(step)
        d.run_pass()


@pytest.mark.parametrize("down", ["http500", "errcode", "silent"])
def test_a_robot_down_for_a_while_then_back_gets_every_alert_exactly_once(engine, down):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock, hang=0.6) as robot:
        d = dispatcher(engine, _wecom(robot), clock)
        d.run_pass()
        robot.mode = down
        ids = [add_alert(engine, created_at=clock(), title=f"预警{i}") for i in range(3)]
        _run(d, clock, 60, step=2)
        ids += [add_alert(engine, created_at=clock(), title=f"预警{i}") for i in range(3, 5)]
        _run(d, clock, 120, step=2)
        assert robot.messages == [] and robot.attempts >= 4
        with engine.connect() as conn:
            assert outbox.outbox_depth(conn) == 5
            state = outbox.channel_states(conn, ["duty"], clock())["duty"]
        assert state["state"] == "failing" and state["pending"] == 5 and state["last_error"]
        # attempts back off: far fewer than one per pass
        assert robot.attempts <= 10
        robot.mode = "up"
        _run(d, clock, 400, step=5)
    assert sorted(robot.alert_ids()) == sorted(ids)
    assert all(f"{PUBLIC_URL}/?alert={i}" in "".join(robot.texts()) for i in ids)
    with engine.connect() as conn:
        assert outbox.outbox_depth(conn) == 0
        assert outbox.channel_states(conn, ["duty"], clock())["duty"]["state"] == "ok"


def test_a_new_dispatcher_carries_on_without_losing_or_repeating(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        push = _wecom(robot)
        first = dispatcher(engine, push, clock)
        first.run_pass()
        sent = [add_alert(engine, created_at=clock(), title="甲")]
        _run(first, clock, 3)
        assert robot.alert_ids() == sent
        robot.mode = "http500"
        waiting = [add_alert(engine, created_at=clock(), title=t) for t in ("乙", "丙")]
        _run(first, clock, 10)
        del first  # the process ends; all it knew is in the database
        robot.mode = "up"
        second = dispatcher(engine, push, clock)
        _run(second, clock, 400, step=5)
        third = dispatcher(engine, push, clock)  # and once more: nothing left, nothing again
        _run(third, clock, 30, step=5)
    assert sorted(robot.alert_ids()) == sorted(sent + waiting)


def test_alerts_from_another_system_are_pushed_but_not_older_ones(engine):
    clock = FakeClock()
    add_region(engine)
    add_region(engine, "320585100", "城厢镇", "street")
    before = add_alert(engine, created_at=clock() - timedelta(hours=1), source="external-x", kind="external")
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, _wecom(robot), clock)
        d.run_pass()  # push is enabled now: the alert of an hour ago is history
        clock.advance(5)
        external = add_alert(engine, created_at=clock(), source="external-x", kind="external", severity="critical",
                             title="燃气泄漏报警（外部系统）", detail={"sensor": "G-17"})
        acked = add_alert(engine, created_at=clock(), source="external-x", status="acknowledged")
        _run(d, clock, 5)
    assert robot.alert_ids() == [external]
    text = robot.texts()[0]
    assert "【严重】外部预警预警" not in text  # the kind's label is not doubled
    assert "燃气泄漏报警（外部系统）" in text and "城厢镇" in text and "2026-11-26 10:00" in text
    assert before not in robot.alert_ids() and acked not in robot.alert_ids()


def test_routes_choose_channels_by_region_severity_and_kind(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as county, FakeRobot("wecom", clock=clock) as street:
        push = push_settings(
            [{"name": "county", "kind": "wecom", "url": county.url}, {"name": "street", "kind": "wecom", "url": street.url}],
            [{"region": "320585", "min_severity": "critical", "channels": ["county"]},
             {"region": "320585100", "min_severity": "warning", "kinds": ["spike"], "channels": ["street"]}])
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        both = add_alert(engine, created_at=clock(), severity="critical", kind="spike")
        street_only = add_alert(engine, created_at=clock(), severity="warning", kind="spike")
        nobody = [add_alert(engine, created_at=clock(), severity="info", kind="spike"),
                  add_alert(engine, created_at=clock(), severity="warning", kind="sla"),
                  add_alert(engine, created_at=clock(), severity="warning", region_code="320585200")]
        _run(d, clock, 5)
    assert sorted(county.alert_ids()) == [both]
    assert sorted(street.alert_ids()) == sorted([both, street_only])
    assert not set(nobody) & set(county.alert_ids() + street.alert_ids())


class _OneFinding(Family):
    name, prefixes = "stub", ("stub:",)

    def run(self, conn, ctx):
        return [Finding(kind="spike", severity="critical", region_code="320585100", title="城厢镇 骤增",
                        dedup_key="stub:1", detail={"observed": 9, "expected": 2})]


def test_the_engine_owes_its_alerts_in_the_transaction_that_inserts_them(engine):
    clock = FakeClock()
    push = push_settings([{"name": "duty", "kind": "wecom", "url": "https://robot.example.org/send?key=k"}])
    scope = Scope.whole_deployment("320585")
    m = Moment(clock(), push_tz())

    def broken(conn, alert, now):
        raise RuntimeError("the outbox cannot be written")

    with pytest.raises(RuntimeError):
        run_engine(engine, scope, m, state=EngineState(families=[_OneFinding()]), forecast=False, on_raised=broken)
    with engine.connect() as conn:
        assert outbox.outbox_rows(conn) == []
        assert outbox.unqueued_new_alerts(conn, clock() - timedelta(days=1), clock(), ["critical"]) == []  # nor alert

    report = run_engine(engine, scope, m, state=EngineState(families=[_OneFinding()]), forecast=False,
                        on_raised=raised_hook(push))
    (alert,) = report.raised
    with engine.connect() as conn:
        rows = outbox.outbox_rows(conn, alert["id"])
    assert [(r["channel"], r["tier"], r["state"]) for r in rows] == [("duty", 0, "pending")]
    # without [push] the engine runs as before (warn --once, --replay)
    assert raised_hook(PushSettings()) is None


def push_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_many_alerts_no_route_takes_do_not_hide_a_later_one(engine):
    from sqlalchemy import insert

    from data_access.models import Alert

    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        push = push_settings([{"name": "duty", "kind": "wecom", "url": robot.url}],
                             [{"region": "320585", "min_severity": "info", "kinds": ["sla"], "channels": ["duty"]}])
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        with engine.begin() as conn:  # 1,200 alerts of a kind no route takes
            conn.execute(insert(Alert.__table__), [
                {"created_at": clock(), "kind": "spike", "severity": "warning", "region_code": "320585100",
                 "title": f"t{i}", "status": "new", "source": "external-x"} for i in range(1200)])
        clock.advance(1)
        wanted = add_alert(engine, created_at=clock(), kind="sla")
        _run(d, clock, 3)
    assert robot.alert_ids() == [wanted]


def test_a_row_whose_alert_was_deleted_is_cancelled_not_kept(engine):
    from sqlalchemy import delete

    from data_access.models import Alert

    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, _wecom(robot), clock)
        d.run_pass()
        robot.mode = "http500"
        clock.advance(1)
        gone = add_alert(engine, created_at=clock(), source="external-x")
        kept = add_alert(engine, created_at=clock(), source="external-x")
        _run(d, clock, 3)
        with engine.begin() as conn:  # the other system took its alert back
            conn.execute(delete(Alert).where(Alert.id == gone))
        robot.mode = "up"
        _run(d, clock, 60, step=5)
    assert robot.alert_ids() == [kept]
    with engine.connect() as conn:
        assert [r["state"] for r in outbox.outbox_rows(conn, gone)] == ["cancelled"]
        assert outbox.outbox_depth(conn) == 0


def test_personal_data_in_an_alert_is_masked_before_it_leaves(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, _wecom(robot), clock)
        d.run_pass()
        clock.advance(1)
        add_alert(engine, created_at=clock(), source="external-x", title="居民张三 13812345678 反映燃气异味",
                  detail={"observed": 2, "window": "今日", "note": "联系电话 13812345678"})
        d.run_pass()
    (text,) = robot.texts()
    assert "13812345678" not in text and "138****5678" in text
