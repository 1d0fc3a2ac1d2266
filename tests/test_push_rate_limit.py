"""The rate limit and digests (dashboard/push/dispatcher.py, messages.py): a robot never gets more than
20 messages in any 60 s window, whoever sends (the dispatcher, another process, ``gridwall push test``);
a burst is merged into digests of at most 4,096 bytes that carry every alert's link exactly once."""

from __future__ import annotations

from datetime import timedelta

from dashboard.push.messages import MARKDOWN_LIMIT
from data_access import push as outbox

from .push_support import PUBLIC_URL, FakeClock, FakeRobot, add_alert, dispatcher, push_settings


def _most_in_a_minute(times) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + timedelta(seconds=60)) for t in times), default=0)


def test_a_burst_of_50_alerts_never_puts_more_than_20_messages_in_a_minute(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, push_settings([{"name": "duty", "kind": "wecom", "url": robot.url}]), clock)
        d.run_pass()
        ids = []
        for i in range(50):  # one alert a second: each pass finds one new alert
            clock.advance(1)
            ids.append(add_alert(engine, created_at=clock(), title=f"第{i}条 市容环境类事件骤增"))
            d.run_pass()
        for _ in range(60):
            clock.advance(2)
            d.run_pass()
    assert robot.refused == []
    assert _most_in_a_minute([m["at"] for m in robot.messages]) <= 20
    assert len(robot.messages) < 50  # merged
    assert sorted(robot.alert_ids()) == sorted(ids)  # every alert in exactly one message
    digests = [t for t in robot.texts() if "条新预警" in t]
    assert digests and all(f"{PUBLIC_URL}/?alert=" in t for t in digests)
    assert max(m["size"] for m in robot.messages) <= MARKDOWN_LIMIT


def test_a_burst_of_long_alerts_is_split_into_digests_under_4096_bytes(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, push_settings([{"name": "duty", "kind": "wecom", "url": robot.url}]), clock)
        d.run_pass()
        clock.advance(1)
        ids = [add_alert(engine, created_at=clock(), title="城厢镇东门社区第三网格 " + "占道经营、乱堆乱放" * 8 + str(i),
                         detail={"observed": 40 + i, "expected": 7, "window": {"days": 7}, "case_ids": list(range(30))})
               for i in range(50)]
        ids.append(add_alert(engine, created_at=clock(), title="超长标题" * 600))  # alone it exceeds the limit
        d.run_pass()
    assert robot.refused == []
    assert 3 <= len(robot.messages) <= 20
    assert all(m["size"] <= MARKDOWN_LIMIT for m in robot.messages)
    assert sorted(robot.alert_ids()) == sorted(ids)
    assert all(t.startswith("### ") and "条新预警（1 分钟内）" in t for t in robot.texts()[:-1])


def test_sends_of_other_processes_count_toward_the_limit(engine):
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock) as robot:
        d = dispatcher(engine, push_settings([{"name": "duty", "kind": "wecom", "url": robot.url}]), clock)
        d.run_pass()
        with engine.begin() as conn:  # another process (a test, a worker before a restart) sent 20 just now
            for _ in range(20):
                outbox.log_send(conn, "duty", clock(), ok=True, alerts=1, purpose="test")
        clock.advance(1)
        ids = [add_alert(engine, created_at=clock()) for _ in range(3)]
        for _ in range(50):
            clock.advance(1)
            d.run_pass()
        assert robot.messages == []
        for _ in range(15):
            clock.advance(1)
            d.run_pass()
    assert len(robot.messages) == 1 and sorted(robot.alert_ids()) == sorted(ids)
    assert robot.messages[0]["at"] >= clock() - timedelta(seconds=15)
