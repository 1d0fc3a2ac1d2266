"""The wall's words (Simplified Chinese) and number formats.

Unknown codes from a real platform are shown as they are, never dropped.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

CENTER_TITLE = "网格化联动指挥中心"

SOURCE = {
    "patrol": "网格员巡查",
    "hotline": "12345热线",
    "resident": "居民随手拍",
    "video": "视频AI",
    "sensor": "物联感知",
    "department": "部门移交",
    "superior": "上级交办",
    "other": "其他",
}

URGENCY = {"normal": "一般", "urgent": "紧急", "critical": "特急"}

STATUS = {
    "reported": "待受理",
    "accepted": "已受理",
    "dispatched": "待签收",
    "handling": "处置中",
    "verifying": "待核查",
    "closed": "已结案",
    "rejected": "不予立案",
    "merged": "重复合并",
}

SEVERITY = {"info": "提示", "warning": "警告", "critical": "严重"}

ALERT_KIND = {
    "spike": "骤增",
    "cluster": "时空聚集",
    "repeat": "重复多发",
    "sla": "超期风险",
    "staffing": "在岗在线",
    "underreport": "疑似瞒报漏报",
    "sensitive": "重大风险苗头",
    "stale": "数据中断",
    "external": "外部预警",
}

# (element id, label, tone) of the case figures, in the order shown.
CASE_TILES = (
    ("kpi-open", "在办事件", "info"),
    ("kpi-overdue", "超期", "bad"),
    ("kpi-warning", "临期黄灯", "warn"),
    ("kpi-new-today", "今日新增", "info"),
    ("kpi-closed-today", "今日结案", "good"),
)
CASE_TILE_KEYS = {"kpi-open": "open", "kpi-overdue": "overdue", "kpi-warning": "warning",
                  "kpi-new-today": "new_today", "kpi-closed-today": "closed_today"}

RATE_TILES = (
    ("rate-on-time", "按期结案率", "on_time"),
    ("rate-closed", "结案率", "closed"),
    ("rate-satisfied", "满意率", "satisfied"),
    ("rate-self-resolved", "自办结率", "self_resolved"),
)

STAFFING_TILES = (
    ("staff-grids", "网格数", "grids"),
    ("staff-on-duty", "在岗", "on_duty"),
    ("staff-online", "在线", "online"),
    ("staff-patrolled", "今日已巡", "patrolled_today"),
)

WEEKDAYS = "一二三四五六日"
NONE = "—"


def label(table: dict[str, str], code: str | None) -> str:
    if not code:
        return NONE
    return table.get(code, code)


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, "—" when there is no denominator."""
    if value is None:
        return NONE
    return f"{value * 100:.1f}%"


def count(value: int | None) -> str:
    return NONE if value is None else str(int(value))


def hhmm(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%H:%M") if value else "--:--"


def hhmmss(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%H:%M:%S") if value else "--:--:--"


def local_datetime(value: datetime, tz: ZoneInfo) -> str:
    local = value.astimezone(tz)
    return f"{local:%Y-%m-%d} 星期{WEEKDAYS[local.weekday()]} {local:%H:%M:%S}"


def duration(seconds: float) -> str:
    """A coarse duration in Chinese: 45秒, 12分钟, 3小时20分, 2天5小时."""
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}秒"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    days, hours = divmod(hours, 24)
    return f"{days}天{hours}小时" if hours else f"{days}天"
