"""DingTalk robots (dashboard/push/channels.py): every request carries ``timestamp`` and ``sign`` (URL-encoded
base64 HMAC-SHA256 of ``timestamp + "\\n" + secret``) that the robot checks against its secret and clock; a
wrong secret is a failure that is retried, never a lost alert."""

from __future__ import annotations

from datetime import timedelta

from dashboard.push.channels import dingtalk_sign
from data_access import push as outbox

from .push_support import DING_SECRET, FakeClock, FakeRobot, add_alert, dispatcher, push_settings


def test_dingtalk_sign_is_the_documented_hmac():
    # base64(HMAC-SHA256("SEC123", "1700000000000\nSEC123")), URL-encoded
    import base64
    import hashlib
    import hmac
    from urllib.parse import quote_plus

    expected = quote_plus(base64.b64encode(hmac.new(b"SEC123", b"1700000000000\nSEC123", hashlib.sha256).digest()))
    assert dingtalk_sign("SEC123", 1700000000000) == expected
    assert not set("+/=") & set(dingtalk_sign(DING_SECRET, 1700000000123))  # URL-encoded: safe in a query


def test_signed_markdown_reaches_a_checking_robot(engine):
    clock = FakeClock()
    with FakeRobot("dingtalk", secret=DING_SECRET, clock=clock) as robot:
        push = push_settings([{"name": "ding", "kind": "dingtalk", "url": robot.url, "secret": DING_SECRET}])
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        ids = [add_alert(engine, created_at=clock(), severity="critical"), add_alert(engine, created_at=clock())]
        d.run_pass()
    assert robot.refused == []
    (message,) = robot.messages
    body = message["body"]
    assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("【网格预警】2 条新预警")
    assert sorted(robot.alert_ids()) == sorted(ids)


def test_a_wrong_secret_or_a_stale_clock_is_refused_and_retried(engine):
    clock = FakeClock()
    with FakeRobot("dingtalk", secret=DING_SECRET, clock=clock) as robot:
        wrong = push_settings([{"name": "ding", "kind": "dingtalk", "url": robot.url, "secret": "SECnot-the-one"}])
        d = dispatcher(engine, wrong, clock)
        d.run_pass()
        clock.advance(1)
        alert = add_alert(engine, created_at=clock())
        d.run_pass()
        assert robot.messages == [] and robot.refused == ["sign not match"]
        with engine.connect() as conn:
            state = outbox.channel_states(conn, ["ding"], clock())["ding"]
        assert state["state"] == "failing" and "errcode 310000" in state["last_error"] and state["pending"] == 1
        # the robot's clock is two hours ahead of ours: the timestamp is out of range
        robot.clock = lambda: clock() + timedelta(hours=2)
        right = push_settings([{"name": "ding", "kind": "dingtalk", "url": robot.url, "secret": DING_SECRET}])
        d = dispatcher(engine, right, clock)
        clock.advance(10)
        d.run_pass()
        assert robot.refused[-1] == "timestamp out of range"
        robot.clock = clock
        for _ in range(30):
            clock.advance(5)
            d.run_pass()
    assert robot.alert_ids() == [alert]
