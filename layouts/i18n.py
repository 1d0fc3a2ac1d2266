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
    "wall": "大屏离线",
}

STAGE = {"accept": "受理", "dispatch": "派遣", "resolve": "处置"}

ROLE = {"grid_worker": "网格员", "grid_leader": "网格长", "handler": "处置员", "dispatcher": "调度员"}

GRID_KIND = {"basic": "基础网格", "special": "专属网格"}

CHILD_LEVEL = {"province": "设区市", "city": "县区", "county": "镇街", "street": "村社区", "community": "网格"}

# Map shading: (value, label, unit of the legend).
SHADES = (
    ("open", "在办", "件"),
    ("overdue", "超期", "件"),
    ("per_1000", "每千人在办", "件/千人"),
    ("online_rate", "在线率", "%"),
)

NONE = "—"

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 -> 一, 12 -> 十二, 40 -> 四十, 123 -> 123 (grid sequences stay well below 100)."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def grid_name(code: str | None, name: str | None = None) -> str | None:
    """A grid as the wall names it, the one way it does: its own name; for a grid the platform left
    unnamed, 第N网格 from the 3-digit sequence ending its 15-digit code (第四网格, never "网格004");
    None when there is neither (not a grid code, or sequence 000). A name equal to the code is the
    data layer's stand-in for a missing one (``data_access.regions``)."""
    code = code or ""
    if name and name != code:
        return name
    tail = code[-3:]
    if len(code) == 15 and tail.isdigit() and int(tail):
        return f"第{chinese_number(int(tail))}网格"
    return None


def place_name(code: str | None, name: str | None = None) -> str:
    """A region or grid by its name; an unnamed grid as 第N网格; else its code ("—" without one)."""
    return grid_name(code, name) or code or NONE


def label(table: dict[str, str], code: str | None) -> str:
    if not code:
        return NONE
    return table.get(code, code)


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal, "—" when there is no denominator."""
    if value is None:
        return NONE
    if value >= 1:  # "100.0%" is a digit wider than the tile was drawn for
        return "100%"
    return f"{value * 100:.1f}%"


def count(value: int | None) -> str:
    return NONE if value is None else str(int(value))


def hhmm(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%H:%M") if value else "--:--"


def stale_mark(as_of: datetime | None, tz: ZoneInfo | None) -> str:
    """A roll-up child whose county feed stopped: 停更 with the time (or date) of its last data; 未接入
    when no data of it ever arrived."""
    if as_of is None:
        return "未接入"
    local = as_of.astimezone(tz) if tz else as_of
    today = datetime.now(local.tzinfo).date()
    return f"停更 {local:%H:%M}" if local.date() == today else f"停更 {local:%m-%d %H:%M}"


def hhmmss(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%H:%M:%S") if value else "--:--:--"


def clock_span(seconds: float) -> str:
    """A ticking span as the browser shows it: ``07:12:09``, ``3天07:12:09`` (assets/gridwall.js: span)."""
    s = int(max(0, seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}天{text}" if days else text


def ago(seconds: float) -> str:
    """Time since a report as the browser shows it (assets/gridwall.js: ago)."""
    s = int(max(0, seconds))
    if s < 60:
        return "刚刚"
    if s < 3600:
        return f"{s // 60}分钟前"
    if s < 86400:
        return f"{s // 3600}小时前"
    return f"{s // 86400}天前"


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
