"""Webhooks (dashboard/push/channels.py; docs/interfaces.md, "Push"): JSON ``{"alerts": [...], "text": ...}``
with ``X-Gridwall-Timestamp`` and, with a secret, ``X-Gridwall-Signature: sha256=<hex HMAC-SHA256(secret,
timestamp + "." + body)>``; any 2xx is success, anything else is retried."""

from __future__ import annotations

import hashlib
import hmac
import json

from .push_support import PUBLIC_URL, FakeClock, FakeRobot, add_alert, dispatcher, push_settings

SECRET = "whsec-never-shown-1234"


def test_a_signed_webhook_carries_each_alert_as_json(engine):
    clock = FakeClock()
    with FakeRobot("webhook", clock=clock) as hook:
        d = dispatcher(engine, push_settings([{"name": "ops", "kind": "webhook", "url": hook.url, "secret": SECRET}],
                                             timeout_seconds=0.3), clock)
        d.run_pass()
        clock.advance(1)
        hook.mode = "http500"
        ids = [add_alert(engine, created_at=clock(), severity="critical", region_code="320585100001"),
               add_alert(engine, created_at=clock(), kind="external", source="external-x",
                         detail={"observed": 3, "window": "今日"})]
        d.run_pass()
        hook.mode = "up"
        for _ in range(10):
            clock.advance(3)
            d.run_pass()
    (message,) = hook.messages
    headers = {k.lower(): v for k, v in message["headers"].items()}
    timestamp = headers["x-gridwall-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - clock().timestamp()) < 60
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + message["raw"],
                                    hashlib.sha256).hexdigest()
    assert headers["x-gridwall-signature"] == expected
    body = json.loads(message["raw"])
    assert [a["id"] for a in body["alerts"]] == ids
    first = body["alerts"][0]
    assert set(first) == {"id", "kind", "severity", "region_code", "title", "created_at", "link", "evidence"}
    assert first["link"] == f"{PUBLIC_URL}/?alert={ids[0]}" and first["region_code"] == "320585100001"
    assert first["created_at"].startswith("2026-11-26T02:00:01") and first["evidence"].startswith("近7日 12 件")
    assert body["alerts"][1]["evidence"] == "今日 3 件"
    assert "2 条新预警" in body["text"] and first["link"] in body["text"]


def test_without_a_secret_there_is_no_signature(engine):
    clock = FakeClock()
    with FakeRobot("webhook", clock=clock) as hook:
        d = dispatcher(engine, push_settings([{"name": "ops", "kind": "webhook", "url": hook.url}]), clock)
        d.run_pass()
        clock.advance(1)
        alert = add_alert(engine, created_at=clock())
        d.run_pass()
    (message,) = hook.messages
    headers = {k.lower() for k in message["headers"]}
    assert "x-gridwall-timestamp" in headers and "x-gridwall-signature" not in headers
    assert [a["id"] for a in json.loads(message["raw"])["alerts"]] == [alert]
