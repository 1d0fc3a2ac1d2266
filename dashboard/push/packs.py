"""Announcing the weekly meeting packs (周报) through the push channels (issue 15 §4, with push).

Which channels: those of every ``[[push.route]]`` whose region prefix covers the pack's region (a
county route hears of the county's pack and every street's; a street's route of its own) and whose
``kinds`` is empty or names ``pack``. One message per channel per run of the pack duty: the packs of
that run, each region with its links (PDF, Excel), so a Monday morning is one message, not eighteen.
The links need a login and the role the pack is for (``/api/v1/packs/ID``).

Sending shares the channels' limit (the send log, ``purpose = "pack"``); a failed or rate-limited send
is tried again after 5 s, 20 s and 60 s, then logged as lost: an announcement is a courtesy, the pack
itself stays in the archive (``/review`` 周报归档).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Engine

from dashboard.core.config import PushChannel, PushSettings
from data_access import push as outbox

from . import channels
from .dispatcher import RATE_WINDOW, record_metric
from .messages import BRAND, Message

log = logging.getLogger("gridwall.push")
UTC = timezone.utc
PACK_KIND = "pack"
RETRY_SECONDS = (5.0, 20.0, 60.0)
FORMAT_LABEL = {"pdf": "PDF", "xlsx": "Excel"}
AUDIENCE_LABEL = {"leader": "领导版", "street": "镇街版"}


def pack_channels(push: PushSettings, region_code: str) -> list[str]:
    """The channels whose routes cover ``region_code`` and take packs."""
    names = []
    for route in push.route:
        if route.kinds and PACK_KIND not in route.kinds:
            continue
        if region_code.startswith(route.region):
            names += [n for n in route.channels if n not in names]
    return names


def pack_message(packs: list, public_url: str) -> Message:
    """One message for ``packs`` (``dashboard.worker.packs.ArchivedPack``): by week, then region."""
    by_target: dict[tuple, list] = defaultdict(list)
    for p in packs:
        by_target[(p.period.first, p.period.last, p.region_code, p.region_name, p.audience)].append(p)
    weeks = sorted({(k[0], k[1]) for k in by_target})
    subject = f"【{BRAND}】周报已生成：{weeks[0][0].isoformat()} 至 {weeks[-1][1].isoformat()}"
    lines = [f"### {subject}"]
    for first, last in weeks:
        if len(weeks) > 1:
            lines.append(f"**{first.isoformat()} 至 {last.isoformat()}**")
        for key in sorted(k for k in by_target if (k[0], k[1]) == (first, last)):
            links = " · ".join(f"[{FORMAT_LABEL.get(p.fmt, p.fmt)}]({p.link})"
                               for p in sorted(by_target[key], key=lambda p: p.fmt))
            lines.append(f"- {key[3]}（{AUDIENCE_LABEL.get(key[4], key[4])}）：{links}")
    review = f"{public_url.rstrip('/')}/review?period=week&date={weeks[-1][0].isoformat()}"
    lines.append(f"在线查看：[研判会商]({review})（需登录）")
    return Message(subject=subject, body="\n".join(lines))


class PackAnnouncer:
    """``PackDuty``'s ``on_ready``: collects the packs of a run; ``flush()`` (called by the duty when the
    run ends) sends one message per channel."""

    def __init__(self, engine: Engine, settings, *, stop: threading.Event | None = None,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], bool] | None = None):
        self.engine = engine
        self.push: PushSettings = settings.push
        self.public_url = settings.public_url
        self.clock = clock or (lambda: datetime.now(UTC))
        stop = stop or threading.Event()
        self.sleep = sleep or stop.wait  # returns True when the worker is stopping
        self.pending: list = []

    def __call__(self, pack) -> None:
        self.pending.append(pack)

    def flush(self) -> dict[str, bool]:
        """Send what the run made; {channel: delivered}."""
        packs, self.pending = self.pending, []
        per_channel: dict[str, list] = defaultdict(list)
        for pack in packs:
            for name in pack_channels(self.push, pack.region_code):
                per_channel[name].append(pack)
        outcome = {}
        for name, mine in per_channel.items():
            channel = self.push.find(name)
            if channel is not None:
                outcome[name] = self._deliver(channel, pack_message(mine, self.public_url), len(mine))
        return outcome

    def _deliver(self, channel: PushChannel, message: Message, count: int) -> bool:
        for attempt, wait in enumerate((0.0, *RETRY_SECONDS)):
            if wait and self.sleep(wait):
                break
            now = self.clock()
            with self.engine.connect() as conn:
                if outbox.sends_since(conn, channel.name, now - RATE_WINDOW) >= self.push.per_minute:
                    continue  # the channel's minute is full: wait for the next try
            try:
                channels.send(channel, message, now=now, timeout=self.push.timeout_seconds,
                              public_url=self.public_url)
            except channels.SendFailed as exc:
                with self.engine.begin() as conn:
                    outbox.log_send(conn, channel.name, now, ok=False, alerts=0, purpose=PACK_KIND, error=str(exc))
                record_metric(channel.name, False)
                log.warning("push: announcing %d packs to %s failed (try %d): %s", count, channel.name,
                            attempt + 1, exc)
                continue
            with self.engine.begin() as conn:
                outbox.log_send(conn, channel.name, now, ok=True, alerts=0, purpose=PACK_KIND)
            record_metric(channel.name, True)
            log.info("push: announced %d packs to %s", count, channel.name)
            return True
        log.error("push: announcing %d packs to %s gave up; they are in the archive (/review 周报归档)",
                  count, channel.name)
        return False
