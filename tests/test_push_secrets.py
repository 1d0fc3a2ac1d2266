"""Push secrets (a robot URL's key or access token, a DingTalk or webhook secret, an SMTP password) never
reach logs, the send log, the outbox, /ops' channel states, exceptions or configuration errors: only the
redacted address (scheme://host/path) is shown."""

from __future__ import annotations

import logging
import socket

import pytest
from pydantic import ValidationError

from dashboard.core.config import PushChannel, Settings, redact_url
from dashboard.push import channels
from dashboard.push.messages import probe_message
from data_access import push as outbox
from data_access.models import GwPushSend
from sqlalchemy import select

from .push_support import (DING_SECRET, DING_TOKEN, WECOM_KEY, FakeClock, FakeRobot, add_alert, dispatcher,
                           push_settings)

SECRETS = (WECOM_KEY, DING_TOKEN, DING_SECRET, "SECwrong-secret-never-shown")


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


def test_redacted_addresses_keep_scheme_host_and_path_only():
    assert redact_url(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}") == \
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    assert redact_url("smtps://gw:pa55@mail.example.org:465") == "smtps://mail.example.org:465"
    channel = PushChannel(name="d", kind="wecom", url=f"https://h.example.org/send?key={WECOM_KEY}")
    _clean(repr(channel) + str(channel) + channel.display_url)


@pytest.mark.parametrize("down", ["errcode", "http500", "silent", "refused"])
def test_failures_are_logged_and_stored_without_secrets(engine, caplog, down):
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with FakeRobot("wecom", clock=clock, hang=0.6) as wecom, \
            FakeRobot("dingtalk", secret=DING_SECRET, clock=clock, hang=0.6) as ding:
        wecom_url, ding_url = wecom.url, ding.url
        if down == "refused":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                dead = s.getsockname()[1]
            wecom_url = wecom_url.replace(f":{wecom.port}/", f":{dead}/")
            ding_url = ding_url.replace(f":{ding.port}/", f":{dead}/")
        else:
            wecom.mode = ding.mode = down
        push = push_settings([{"name": "wecom", "kind": "wecom", "url": wecom_url},
                              {"name": "ding", "kind": "dingtalk", "url": ding_url, "secret": DING_SECRET}],
                             timeout_seconds=0.3)
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        add_alert(engine, created_at=clock())
        d.run_pass()
        errors = []
        for channel in push.channel:
            with pytest.raises(channels.SendFailed) as failed:
                channels.send(channel, probe_message(channel.name, clock(), d.tz), now=clock(), timeout=0.3)
            errors.append(str(failed.value) + repr(failed.value))
    with engine.connect() as conn:
        states = outbox.channel_states(conn, ["wecom", "ding"], clock())
        logged = [e for (e,) in conn.execute(select(GwPushSend.error))]
        stored = [r["last_error"] for r in outbox.outbox_rows(conn)]
    assert all(s["state"] == "failing" and s["last_error"] for s in states.values())
    assert all(logged) and all(stored)
    _clean(caplog.text + repr(states) + repr(logged) + repr(stored) + "".join(errors))
    assert "push: wecom (wecom http://127.0.0.1:" in caplog.text  # the redacted address is what is shown
    if down == "errcode":
        assert "errcode 45009" in states["wecom"]["last_error"] and "***" in states["wecom"]["last_error"]


def test_a_wrong_dingtalk_secret_is_not_shown_either(engine, caplog):
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with FakeRobot("dingtalk", secret=DING_SECRET, clock=clock) as ding:
        push = push_settings([{"name": "ding", "kind": "dingtalk", "url": ding.url,
                               "secret": "SECwrong-secret-never-shown"}])
        d = dispatcher(engine, push, clock)
        d.run_pass()
        clock.advance(1)
        add_alert(engine, created_at=clock())
        d.run_pass()
    assert ding.refused == ["sign not match"]
    with engine.connect() as conn:
        _clean(caplog.text + repr(outbox.channel_states(conn, ["ding"], clock())))


def test_configuration_errors_do_not_echo_secrets(tmp_path, monkeypatch):
    config = tmp_path / "gridwall.toml"
    config.write_text(f"""
[[push.channel]]
name = "ding"
kind = "dingtalk"
url = "ftp://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
secret = "{DING_SECRET}"
""")
    monkeypatch.setenv("GRIDWALL_CONFIG", str(config))
    with pytest.raises(ValidationError) as bad:
        Settings()
    assert "ding (dingtalk): the url must start with https:// or http://" in str(bad.value)
    _clean(str(bad.value) + repr(bad.value))  # what a traceback or a log shows
