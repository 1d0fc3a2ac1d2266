"""The dispatcher as the ``push`` duty of ``gridwall worker`` (and the demo), and ``gridwall push test``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Literal

from sqlalchemy import Engine

from data_access import push as outbox

from . import channels
from .dispatcher import RATE_WINDOW, Dispatcher, PassReport, record_metric
from .messages import probe_message

LOCK_NAME = "gridwall.push"
UTC = timezone.utc


class PushDuty:
    """``run_loop``'s ``run``: one dispatcher pass per call; a pass that did nothing reports None
    (the loop runs every second and logs only what happened)."""

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher

    @classmethod
    def from_settings(cls, engine: Engine, settings, *, clock: Callable[[], datetime] | None = None) -> "PushDuty":
        return cls(Dispatcher(engine, settings.push, public_url=settings.public_url, tz=settings.tz, clock=clock))

    def __call__(self, engine, scope, m, state) -> PassReport | None:
        report = self.dispatcher.run_pass()
        return report if report else None


@dataclass(frozen=True)
class ProbeOutcome:
    status: Literal["ok", "failed", "unknown"]
    reason: str = ""


def send_probe(engine: Engine, settings, name: str, *, clock: Callable[[], datetime] | None = None) -> ProbeOutcome:
    """Send one test message through channel ``name``; recorded in the send log like any message
    (it counts toward the channel's rate limit and shows in its state). ``failed`` with the redacted
    reason, also when the channel has had its messages for this minute."""
    channel = settings.push.find(name)
    if channel is None:
        known = ", ".join(c.name for c in settings.push.channel) or "none"
        return ProbeOutcome("unknown", f"no channel {name!r} in [push] (configured: {known})")
    now = (clock or (lambda: datetime.now(UTC)))()
    with engine.connect() as conn:
        recent = outbox.sends_since(conn, name, now - RATE_WINDOW)
    if recent >= settings.push.per_minute:
        return ProbeOutcome("failed", f"rate limit: {recent} messages to {name} in the last minute; try again shortly")
    message = probe_message(name, now, settings.tz)
    try:
        channels.send(channel, message, now=now, timeout=settings.push.timeout_seconds, public_url=settings.public_url)
    except channels.SendFailed as exc:
        with engine.begin() as conn:
            outbox.log_send(conn, name, now, ok=False, alerts=0, purpose="test", error=str(exc))
        record_metric(name, False)
        return ProbeOutcome("failed", str(exc))
    with engine.begin() as conn:
        outbox.log_send(conn, name, now, ok=True, alerts=0, purpose="test")
    record_metric(name, True)
    return ProbeOutcome("ok")
