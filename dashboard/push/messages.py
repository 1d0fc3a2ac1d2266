"""The words a pushed message carries (Simplified Chinese): one alert, or a digest of several.

Each alert says what happened (severity, kind, title), where (the region's name), since when (local
time), the evidence in one line (``layouts.alert_text.evidence``) and its link. Robots get
markdown of at most ``MARKDOWN_LIMIT`` bytes (WeCom refuses more; DingTalk gets the same); mail and
webhooks get plain text. A digest longer than its limit is split into several messages, each alert
in exactly one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from layouts.i18n import ALERT_KIND, SEVERITY

MARKDOWN_LIMIT = 4096  # bytes of UTF-8: WeCom's limit for markdown content
TEXT_LIMIT = 64 * 1024  # mail and webhook text: kept readable, not a protocol limit
MAX_ITEMS = 100  # alerts in one message at most (a webhook's JSON stays small)
MARKDOWN_KINDS = ("wecom", "dingtalk")
BRAND = "网格预警"


@dataclass(frozen=True)
class AlertItem:
    """One alert as a message shows it. ``escalated_min``: 0 for its first push, else the minutes it
    has gone unacknowledged (an escalation)."""

    id: int
    kind: str
    severity: str
    region_code: str
    place: str
    title: str
    created_at: datetime
    evidence: str
    link: str
    escalated_min: int = 0


@dataclass(frozen=True)
class Message:
    subject: str  # a DingTalk message's title, a mail's subject
    body: str  # markdown for robots, plain text for mail and webhooks
    items: tuple[AlertItem, ...] = ()


def alert_link(public_url: str, alert_id: int) -> str:
    return f"{public_url.rstrip('/')}/?alert={alert_id}"


def _one_line(text: str | None) -> str:
    return " ".join(str(text or "").split())


def _severity(item: AlertItem) -> str:
    return SEVERITY.get(item.severity, item.severity or "预警")


def _kind(item: AlertItem) -> str:
    return ALERT_KIND.get(item.kind, item.kind or "预警")


def _kind_headline(item: AlertItem) -> str:
    """"骤增预警"; "外部预警" as it is."""
    label = _kind(item)
    return label if label.endswith("预警") else f"{label}预警"


def _when(at: datetime, tz: ZoneInfo, short: bool = False) -> str:
    return at.astimezone(tz).strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")


def _span(items: tuple[AlertItem, ...]) -> str:
    """"2 分钟内": how close together the alerts of a digest were raised."""
    times = [i.created_at for i in items]
    seconds = (max(times) - min(times)).total_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} 分钟内" if minutes < 120 else f"{math.ceil(minutes / 60)} 小时内"


def _headline(items: tuple[AlertItem, ...]) -> str:
    if len(items) == 1:
        item = items[0]
        if item.escalated_min:
            return f"【升级·{_severity(item)}】{_kind_headline(item)} {item.escalated_min} 分钟未确认"
        return f"【{_severity(item)}】{_kind_headline(item)}"
    escalated = sum(1 for i in items if i.escalated_min)
    if escalated == len(items):
        return f"【升级】{len(items)} 条严重预警超时未确认"
    if escalated:
        return f"{len(items)} 条预警（{_span(items)}，其中 {escalated} 条超时未确认）"
    return f"{len(items)} 条新预警（{_span(items)}）"


def _subject(items: tuple[AlertItem, ...]) -> str:
    if len(items) == 1:
        return f"【{BRAND}】{_headline(items)}：{_one_line(items[0].title)}"
    return f"【{BRAND}】{_headline(items)}"


def _markdown(items: tuple[AlertItem, ...], tz: ZoneInfo) -> str:
    if len(items) == 1:
        i = items[0]
        lines = [f"### {_headline(items)}", f"**{_one_line(i.title)}**", f"> 地点：{i.place}",
                 f"> 时间：{_when(i.created_at, tz)} 起"]
        if i.evidence:
            lines.append(f"> 依据：{i.evidence}")
        lines.append(f"[查看详情]({i.link})")
        return "\n".join(lines)
    lines = [f"### {_headline(items)}"]
    for n, i in enumerate(items, 1):
        tag = f"升级·{i.escalated_min} 分钟未确认·" if i.escalated_min else ""
        facts = " · ".join(p for p in (i.place, f"{_when(i.created_at, tz, short=True)} 起", i.evidence) if p)
        lines += [f"**{n}.【{tag}{_severity(i)}·{_kind(i)}】{_one_line(i.title)}**", f"{facts} [查看]({i.link})"]
    return "\n".join(lines)


def _text(items: tuple[AlertItem, ...], tz: ZoneInfo) -> str:
    lines = [_headline(items), ""]
    for n, i in enumerate(items, 1):
        tag = f"升级·{i.escalated_min} 分钟未确认·" if i.escalated_min else ""
        lines += [f"{n}. 【{tag}{_severity(i)}·{_kind(i)}】{_one_line(i.title)}", f"   地点：{i.place}",
                  f"   时间：{_when(i.created_at, tz)} 起"]
        if i.evidence:
            lines.append(f"   依据：{i.evidence}")
        lines += [f"   查看：{i.link}", ""]
    return "\n".join(lines).rstrip() + "\n"


def render(kind: str, items: tuple[AlertItem, ...], tz: ZoneInfo) -> Message:
    body = _markdown(items, tz) if kind in MARKDOWN_KINDS else _text(items, tz)
    return Message(subject=_subject(items), body=body, items=items)


def limit_for(kind: str) -> int:
    return MARKDOWN_LIMIT if kind in MARKDOWN_KINDS else TEXT_LIMIT


def _size(message: Message) -> int:
    return len(message.body.encode("utf-8"))


def _shortened(item: AlertItem, kind: str, tz: ZoneInfo, limit: int) -> Message:
    """One alert too long for a message alone (a very long title or evidence from another system):
    title and evidence cut until it fits; the link is never cut."""
    title, evidence = _one_line(item.title), item.evidence
    while True:
        cut = AlertItem(**{**item.__dict__, "title": title, "evidence": evidence})
        message = render(kind, (cut,), tz)
        if _size(message) <= limit or (not title and not evidence):
            return message
        if len(evidence) > 40:
            evidence = evidence[: len(evidence) // 2] + "…"
        elif evidence:
            evidence = ""
        else:
            title = title[: len(title) // 2] + "…" if len(title) > 2 else ""


def compose(kind: str, items: list[AlertItem], tz: ZoneInfo, limit: int | None = None) -> list[Message]:
    """The messages carrying ``items`` to a channel of ``kind``, in order: one alert alone, several
    merged into digests of at most ``limit`` bytes (default: the kind's) and ``MAX_ITEMS`` alerts."""
    limit = limit or limit_for(kind)
    out: list[Message] = []
    chunk: list[AlertItem] = []
    for item in items:
        if chunk and len(chunk) < MAX_ITEMS and _size(render(kind, (*chunk, item), tz)) <= limit:
            chunk.append(item)
            continue
        if chunk:
            out.append(_finish(kind, chunk, tz, limit))
        chunk = [item]
    if chunk:
        out.append(_finish(kind, chunk, tz, limit))
    return out


def _finish(kind: str, chunk: list[AlertItem], tz: ZoneInfo, limit: int) -> Message:
    message = render(kind, tuple(chunk), tz)
    if len(chunk) == 1 and _size(message) > limit:
        return _shortened(chunk[0], kind, tz, limit)
    return message


def probe_message(channel: str, now: datetime, tz: ZoneInfo) -> Message:
    """What ``gridwall push test`` sends."""
    subject = f"【{BRAND}】测试消息"
    text = f"这是一条测试消息：通道 {channel} 可以收到预警推送。\n发送时间：{_when(now, tz)}"
    return Message(subject=subject, body=f"### {subject}\n{text}")
