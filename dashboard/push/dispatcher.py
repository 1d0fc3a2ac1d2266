"""The push dispatcher: one pass owes, escalates and sends (docs/interfaces.md, "Push").

A pass, as of ``clock()``:
1. owe: alerts of any source, still ``new``, created within the look-back window (and not before
   push was first enabled here) that nothing is owed for yet get their tier-0 rows (the warning
   engine owes its own alerts when it inserts them; the unique key makes both idempotent);
2. escalate: a critical alert still ``new`` ``escalate_after_min`` after it was created gets rows for
   that route's ``escalate_to`` at tier ``escalate_after_min``; pending escalations of alerts no
   longer ``new`` are cancelled;
3. send, channel by channel: the due rows merged into as few messages as the byte limit allows, at
   most ``per_minute`` messages in any rolling minute counted in the send log (shared by every
   process); a failed send keeps its rows pending and backs the channel off (``retry_first_seconds``
   doubling up to ``retry_max_seconds``), a successful one marks them sent.
Nothing is kept in memory between passes: a new dispatcher carries on from the database. A crash
between a robot's answer and the commit that marks its rows sent would send them again: at least
once, never lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from layouts.alert_text import evidence
from dashboard.core.config import PushChannel, PushSettings
from dashboard.core.metrics import PUSH_SENT
from dashboard.core.outward import outward
from data_access import push as outbox

from . import channels, routes
from .messages import AlertItem, Message, alert_link, compose

log = logging.getLogger("gridwall.push")
UTC = timezone.utc
RATE_WINDOW = timedelta(seconds=60)
PRUNE_EVERY = timedelta(hours=1)
SCAN_BATCH = 500  # data_access.push.unqueued_new_alerts' default limit
KEEP = timedelta(days=7)  # send log and finished outbox rows; at least twice the look-back window

Sender = Callable[..., None]


@dataclass
class PassReport:
    owed: int = 0
    escalated: int = 0
    cancelled: int = 0
    messages: int = 0
    alerts: int = 0
    failures: int = 0
    failed_channels: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.owed, self.escalated, self.cancelled, self.messages, self.failures))

    def summary(self) -> str:
        failed = f" ({', '.join(self.failed_channels)})" if self.failed_channels else ""
        return (f"{self.owed} owed, {self.escalated} escalations, {self.cancelled} cancelled; "
                f"{self.messages} messages carrying {self.alerts} alerts sent; {self.failures} failed{failed}")


def retry_delay(streak: int, push: PushSettings) -> timedelta:
    """How long a channel waits after its ``streak``-th failure in a row."""
    seconds = push.retry_first_seconds * 2 ** max(0, min(streak - 1, 30))
    return timedelta(seconds=min(push.retry_max_seconds, seconds))


def record_metric(channel: str, ok: bool) -> None:
    try:
        PUSH_SENT.labels(channel=channel, result="ok" if ok else "error").inc()
    except Exception:  # noqa: BLE001 - monitoring must not stop a send
        pass


class Dispatcher:
    def __init__(self, engine: Engine, push: PushSettings, *, public_url: str, tz: ZoneInfo,
                 clock: Callable[[], datetime] | None = None, send: Sender = channels.send):
        self.engine = engine
        self.push = push
        self.public_url = public_url
        self.tz = tz
        self.clock = clock or (lambda: datetime.now(UTC))
        self.send = send
        self._channels = {c.name: c for c in push.channel}
        self._pruned_at: datetime | None = None
        self._unknown_warned: set[str] = set()

    @property
    def configured(self) -> bool:
        return bool(self._channels and self.push.route)

    def run_pass(self) -> PassReport:
        report = PassReport()
        if not self._channels:
            return report
        now = self.clock()
        self._owe(now, report)
        with self.engine.connect() as conn:
            due = outbox.due_channels(conn, now)
        for name in due:
            channel = self._channels.get(name)
            if channel is None:
                if name not in self._unknown_warned:
                    log.warning("push: rows are owed to channel %s, which is no longer configured; they wait", name)
                    self._unknown_warned.add(name)
                continue
            self._send_channel(channel, report)
        self._prune(now)
        return report

    # --- owing and escalating ---------------------------------------------------------------

    def _owe(self, now: datetime, report: PassReport) -> None:
        lookback = now - timedelta(hours=self.push.lookback_hours)
        with self.engine.begin() as conn:
            enabled = outbox.enabled_since(conn, now)
            since = max(lookback, enabled)
            if self.push.route:
                severities = routes.severities_routed(self.push)
                after = None
                while True:
                    batch = outbox.unqueued_new_alerts(conn, since, now, severities, after=after)
                    for alert in batch:
                        report.owed += routes.enqueue_alert(conn, self.push, alert, now)
                    if len(batch) < SCAN_BATCH:
                        break
                    after = (batch[-1]["created_at"], batch[-1]["id"])
            escalating = [r for r in self.push.route if r.escalate_to]
            if escalating:
                shortest = min(r.escalate_after_min for r in escalating)
                rows = []
                candidates = outbox.escalation_candidates(conn, lookback, now - timedelta(minutes=shortest), enabled)
                for alert in candidates:
                    age = now - alert["created_at"]
                    for tier, names in routes.escalations(self.push, alert):
                        if age >= timedelta(minutes=tier):
                            rows += [(alert["id"], name, tier) for name in names]
                if rows:  # most are owed already (a pass every second): insert only the new ones
                    owed = outbox.owed_keys(conn, sorted({row[0] for row in rows}))
                    report.escalated += outbox.enqueue(conn, [row for row in rows if row not in owed], now)
            report.cancelled += outbox.cancel_unsendable(conn)

    # --- sending ----------------------------------------------------------------------------

    def _send_channel(self, channel: PushChannel, report: PassReport) -> None:
        now = self.clock()
        with self.engine.connect() as conn:
            streak, last_failure = outbox.failure_streak(conn, channel.name)
            if streak and last_failure is not None and now < last_failure + retry_delay(streak, self.push):
                return  # backing off; the rows' next_attempt_at says the same
            budget = self.push.per_minute - outbox.sends_since(conn, channel.name, now - RATE_WINDOW)
            if budget <= 0:
                return
            rows = outbox.due_rows(conn, channel.name, now)
            if not rows:
                return
            places = outbox.place_names(conn, [r["alert_region_code"] for r in rows])
        items = [self._item(row, places) for row in rows]
        ids_of: dict[int, list[int]] = {}
        for row in rows:  # an alert owed at two tiers in one message: both rows ride on it
            ids_of.setdefault(row["alert_id"], []).append(row["id"])
        items = list({i.id: i for i in items}.values())
        for message in compose(channel.kind, items, self.tz)[:budget]:
            ids = [row_id for item in message.items for row_id in ids_of[item.id]]
            if not self._deliver(channel, message, ids, report):
                return

    def _item(self, row: dict, places: dict[str, str]) -> AlertItem:
        code = row["alert_region_code"] or ""
        # what leaves gridwall passes the one masking exit (a title another system wrote may hold a phone number)
        text = outward({"title": row["alert_title"] or "", "detail": row["alert_detail"]})
        return AlertItem(id=row["alert_id"], kind=row["alert_kind"] or "", severity=row["alert_severity"] or "",
                         region_code=code, place=places.get(code, code), title=text["title"],
                         created_at=row["alert_created_at"] or self.clock(),
                         evidence=evidence(text["detail"], row["alert_kind"]),
                         link=alert_link(self.public_url, row["alert_id"]), escalated_min=row["tier"])

    def _deliver(self, channel: PushChannel, message: Message, ids: list[int], report: PassReport) -> bool:
        at = self.clock()
        try:
            self.send(channel, message, now=at, timeout=self.push.timeout_seconds, public_url=self.public_url)
        except channels.SendFailed as exc:
            reason = str(exc)
            with self.engine.begin() as conn:
                outbox.log_send(conn, channel.name, at, ok=False, alerts=len(message.items), error=reason)
                streak, _ = outbox.failure_streak(conn, channel.name)
                retry_at = at + retry_delay(streak, self.push)
                outbox.mark_failed(conn, ids, retry_at, reason)
                outbox.defer_pending(conn, channel.name, retry_at)
            record_metric(channel.name, False)
            report.failures += 1
            report.failed_channels.append(channel.name)
            log.warning("push: %s (%s %s) failed: %s; %d alerts wait, next try in %.0f s", channel.name,
                        channel.kind, channel.display_url, reason, len(message.items),
                        (retry_at - at).total_seconds())
            return False
        with self.engine.begin() as conn:
            outbox.mark_sent(conn, ids, at)
            outbox.log_send(conn, channel.name, at, ok=True, alerts=len(message.items))
        record_metric(channel.name, True)
        report.messages += 1
        report.alerts += len(message.items)
        log.info("push: %s: sent %d alert(s) in one message", channel.name, len(message.items))
        return True

    def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        keep = max(KEEP, timedelta(hours=2 * self.push.lookback_hours))
        with self.engine.begin() as conn:
            outbox.prune(conn, now - keep)
