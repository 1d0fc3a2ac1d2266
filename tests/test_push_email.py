"""Push by e-mail (dashboard/push/channels.py): plain text through SMTP with a Chinese subject, each alert's
link in the body, every recipient; a server that is down is retried; a password is never sent in clear."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from data_access import push as outbox

from .push_support import PUBLIC_URL, FakeClock, add_alert, dispatcher, push_settings

TO = ["duty@example.org", "leader@example.org"]


class _Inbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                             policy=email.policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def test_alerts_arrive_as_plain_text_mail(engine, smtp):
    port, inbox = smtp
    clock = FakeClock()
    push = push_settings([{"name": "mail", "kind": "email", "url": f"smtp://127.0.0.1:{port}", "to": TO,
                           "sender": "gridwall@example.org"}])
    d = dispatcher(engine, push, clock)
    d.run_pass()
    clock.advance(1)
    alert = add_alert(engine, created_at=clock(), severity="critical", title="城厢镇 市容环境类事件骤增")
    d.run_pass()
    (rcpt, mail), = inbox.mails
    assert sorted(rcpt) == sorted(TO)
    assert mail["Subject"] == "【网格预警】【严重】骤增预警：城厢镇 市容环境类事件骤增"
    assert mail["From"] == "gridwall@example.org"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_content()
    assert f"{PUBLIC_URL}/?alert={alert}" in body and "时间：2026-11-26 10:00 起" in body
    assert "依据：近7日 12 件，以往同期约 3 件 · 涉及 3 件事件" in body


def test_a_mail_server_that_is_down_is_retried(engine, smtp):
    port, inbox = smtp
    clock = FakeClock()
    dead = _free_port()  # nothing listens here
    d = dispatcher(engine, push_settings([{"name": "mail", "kind": "email", "url": f"smtp://127.0.0.1:{dead}",
                                           "to": TO}], timeout_seconds=1), clock)
    d.run_pass()
    clock.advance(1)
    alerts = [add_alert(engine, created_at=clock()), add_alert(engine, created_at=clock())]
    d.run_pass()
    with engine.connect() as conn:
        state = outbox.channel_states(conn, ["mail"], clock())["mail"]
    assert state["state"] == "failing" and state["pending"] == 2
    # the server comes back (the operator fixed the port): the same rows are sent
    d = dispatcher(engine, push_settings([{"name": "mail", "kind": "email", "url": f"smtp://127.0.0.1:{port}",
                                           "to": TO}]), clock)
    for _ in range(5):
        clock.advance(5)
        d.run_pass()
    (rcpt, mail), = inbox.mails
    assert mail["Subject"] == "【网格预警】2 条新预警（1 分钟内）"
    assert all(f"/?alert={a}" in mail.get_content() for a in alerts)


def test_a_password_is_not_sent_without_starttls(engine, smtp):
    port, inbox = smtp
    clock = FakeClock()
    push = push_settings([{"name": "mail", "kind": "email", "url": f"smtp://gw:pa55-never-shown@127.0.0.1:{port}",
                           "to": TO}])
    d = dispatcher(engine, push, clock)
    d.run_pass()
    clock.advance(1)
    add_alert(engine, created_at=clock())
    d.run_pass()
    assert inbox.mails == []
    with engine.connect() as conn:
        state = outbox.channel_states(conn, ["mail"], clock())["mail"]
    assert "STARTTLS" in state["last_error"] and "pa55" not in state["last_error"]
