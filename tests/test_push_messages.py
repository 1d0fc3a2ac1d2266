"""The words of pushed messages (dashboard/push/messages.py): one alert says what, where, since when, the
evidence and the link; several make a digest ("5 条新预警（2 分钟内）"); robots' markdown stays within
4,096 bytes, every alert in exactly one message."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from dashboard.push.messages import MARKDOWN_LIMIT, AlertItem, alert_link, compose

from .push_support import PUBLIC_URL, T0

TZ = ZoneInfo("Asia/Shanghai")


def _item(i: int, **kw) -> AlertItem:
    values = dict(id=i, kind="spike", severity="critical", region_code="320585100", place="城厢镇",
                  title="市容环境类事件骤增", created_at=T0 + timedelta(seconds=30 * i),
                  evidence="近7日 12 件，以往同期约 3 件 · 涉及 5 件事件", link=alert_link(PUBLIC_URL, i))
    return AlertItem(**{**values, **kw})


def test_one_alert_says_what_where_since_when_why_and_where_to_look():
    (message,) = compose("wecom", [_item(7)], TZ)
    assert message.body.splitlines() == [
        "### 【严重】骤增预警", "**市容环境类事件骤增**", "> 地点：城厢镇", "> 时间：2026-11-26 10:03 起",
        "> 依据：近7日 12 件，以往同期约 3 件 · 涉及 5 件事件", f"[查看详情]({PUBLIC_URL}/?alert=7)"]
    assert message.subject == "【网格预警】【严重】骤增预警：市容环境类事件骤增"


def test_several_alerts_make_one_digest_with_each_link():
    (message,) = compose("dingtalk", [_item(i) for i in range(5)], TZ)
    assert message.body.startswith("### 5 条新预警（2 分钟内）\n")
    assert re.findall(r"\?alert=(\d+)", message.body) == ["0", "1", "2", "3", "4"]
    assert message.subject == "【网格预警】5 条新预警（2 分钟内）"


def test_escalations_say_how_long_they_went_unacknowledged():
    (alone,) = compose("wecom", [_item(1, escalated_min=10)], TZ)
    assert alone.body.startswith("### 【升级·严重】骤增预警 10 分钟未确认")
    (mixed,) = compose("wecom", [_item(1, escalated_min=10), _item(2)], TZ)
    assert "其中 1 条超时未确认" in mixed.body and "【升级·10 分钟未确认·严重·骤增】" in mixed.body


def test_markdown_never_exceeds_4096_bytes_and_loses_no_alert():
    items = [_item(i, title="东门社区第三网格 占道经营、乱堆乱放反复发生" * (1 + i % 5)) for i in range(200)]
    items.append(_item(999, title="很长" * 3000, evidence="近7日 " + "很多" * 2000))
    messages = compose("wecom", items, TZ)
    assert all(len(m.body.encode("utf-8")) <= MARKDOWN_LIMIT for m in messages)
    carried = [i.id for m in messages for i in m.items]
    assert carried == [i.id for i in items]
    linked = [int(x) for m in messages for x in re.findall(r"\?alert=(\d+)", m.body)]
    assert linked == carried
    assert messages[-1].body.endswith(f"[查看详情]({PUBLIC_URL}/?alert=999)")


def test_mail_is_plain_text_without_markdown():
    (message,) = compose("email", [_item(1), _item(2, evidence="")], TZ)
    assert "###" not in message.body and "**" not in message.body and "](" not in message.body
    assert f"   查看：{PUBLIC_URL}/?alert=2" in message.body
    assert message.body.count("依据：") == 1  # an alert without evidence has no empty line for it
