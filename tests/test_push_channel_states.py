"""What /ops and /metrics read of push (data_access/push.py): each channel's state (idle, ok, failing),
its last success and last (redacted) error, rows pending and messages sent in the last hour; the outbox
depth; ``gridwall_push_sent_total`` counted per message by channel and result."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY

from data_access import push as outbox

from .push_support import FakeClock, FakeRobot, add_alert, dispatcher, push_settings


def _sent(channel: str, result: str) -> float:
    return REGISTRY.get_sample_value("gridwall_push_sent_total", {"channel": channel, "result": result}) or 0.0


def test_channel_states_follow_the_sends(engine):
    clock = FakeClock()
    names = ["duty", "spare"]
    with FakeRobot("wecom", clock=clock) as robot:
        push = push_settings([{"name": "duty", "kind": "wecom", "url": robot.url},
                              {"name": "spare", "kind": "webhook", "url": "https://spare.example.org/hook"}],
                             [{"channels": ["duty"]}])
        d = dispatcher(engine, push, clock)
        with engine.connect() as conn:
            assert {n: s["state"] for n, s in outbox.channel_states(conn, names, clock()).items()} == \
                {"duty": "idle", "spare": "idle"}
            assert outbox.outbox_depth(conn) == 0
        d.run_pass()
        ok_before, error_before = _sent("duty", "ok"), _sent("duty", "error")
        clock.advance(1)
        add_alert(engine, created_at=clock())
        d.run_pass()
        sent_at = clock()
        robot.mode = "http500"
        clock.advance(60)
        add_alert(engine, created_at=clock())
        add_alert(engine, created_at=clock())
        d.run_pass()
        with engine.connect() as conn:
            states = outbox.channel_states(conn, names, clock())
            depth = outbox.outbox_depth(conn)
        assert states["duty"] == {"state": "failing", "last_ok_at": sent_at, "last_error_at": clock(),
                                  "last_error": "HTTP 500", "pending": 2, "sent_last_hour": 1}
        assert states["spare"]["state"] == "idle" and depth == 2
        assert _sent("duty", "ok") - ok_before == 1 and _sent("duty", "error") - error_before == 1
        robot.mode = "up"
        clock.advance(10)
        d.run_pass()
        with engine.connect() as conn:
            states = outbox.channel_states(conn, names, clock())
            assert outbox.outbox_depth(conn) == 0
        assert states["duty"]["state"] == "ok" and states["duty"]["pending"] == 0
        assert states["duty"]["sent_last_hour"] == 2 and states["duty"]["last_error"] == "HTTP 500"
        with engine.connect() as conn:  # an hour on, nothing sent in the last hour
            later = outbox.channel_states(conn, ["duty"], clock() + timedelta(hours=1, seconds=1))
        assert later["duty"]["sent_last_hour"] == 0 and later["duty"]["state"] == "ok"


def test_no_channel_configured_does_nothing(engine):
    clock = FakeClock()
    d = dispatcher(engine, push_settings([], []), clock)
    add_alert(engine, created_at=clock())
    report = d.run_pass()
    assert not report
    with engine.connect() as conn:
        assert outbox.outbox_rows(conn) == [] and outbox.outbox_depth(conn) == 0
