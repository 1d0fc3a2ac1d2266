"""The operations page at ``/ops`` (运行监测), for duty officers: the walls' health, the push channels and
the background duties.

- ``#ops-walls``: one row per wall heard from in the last 7 days (problems first), each carrying
  ``data-wall-state`` (``live``, ``lagging``, ``dark``; dashboard/core/wall_health.py) and ``data-wall``
  (its id): region, display, user (大屏账号 for a kiosk session), last heard, data age, heap, code
  version (an old one marked);
- ``#ops-channels``: the outbox depth, then one row per configured push channel carrying
  ``data-channel`` (its name) and ``data-state`` (``ok``, ``failing``, ``idle``);
- ``#ops-duties``: one row per worker duty carrying ``data-duty`` and ``data-duty-state`` (``ok``,
  ``late``, ``none``; dashboard/core/duty_status.py): its holder (host:pid), last success, standby instances.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import dcc, html

from . import i18n
from .shell import OPS, page_frame, section

NO_WALLS = "尚无大屏心跳"
NO_CHANNELS = "未配置推送通道"
NO_DUTIES = "尚无后台任务记录"
DATABASE_DOWN = "数据库暂不可用"
REFRESH_MS = 30000

WALL_STATES = {"live": "在线", "lagging": "滞后", "dark": "离线"}
WALL_ORDER = {"dark": 0, "lagging": 1, "live": 2}
CHANNEL_STATES = {"ok": "正常", "failing": "发送失败", "idle": "未发送"}
CHANNEL_KINDS = {"wecom": "企业微信", "dingtalk": "钉钉", "email": "邮件", "webhook": "Webhook"}
DUTY_STATES = {"ok": "运行中", "late": "超时未报", "none": "未运行"}
DUTY_NAMES = {"warning": "预警引擎", "packs": "周报生成", "walls": "大屏巡检", "push": "告警推送",
              "rollup": "汇总心跳"}  # rollup: the heartbeat a city or province roll-up reads (docs/scale.md)


def empty(text: str) -> html.Div:
    return html.Div(text, className="empty")


def _ago(value: datetime | None, now: datetime) -> str:
    return i18n.ago((now - value).total_seconds()) if value is not None else "—"


def _local(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%m-%d %H:%M:%S") if value is not None else ""


def display_text(layout: dict[str, Any]) -> str:
    """The display a wall's URL asks for, in words."""
    parts = []
    if layout.get("kiosk"):
        parts.append("展示模式")
    if layout.get("rotate"):
        parts.append(f"轮播 {layout['rotate']}秒")
    if layout.get("seams"):
        parts.append(f"拼接 {layout['seams']}")
    if layout.get("scale"):
        parts.append(f"缩放 {layout['scale']:g}")
    if layout.get("mode") == "history":
        parts.append("历史回看")
    return " · ".join(parts) or "标准"


def _head(*cells: str) -> html.Thead:
    return html.Thead(html.Tr([html.Th(c) for c in cells]))


# --- walls -----------------------------------------------------------------------------------------

def wall_rows(walls: list[dict[str, Any]], now: datetime, tz: ZoneInfo) -> list:
    """``walls``: gw_walls rows with ``state``, ``place`` (the region's name) and ``outdated`` added."""
    if not walls:
        return [empty(NO_WALLS)]
    counts = {s: sum(1 for w in walls if w["state"] == s) for s in WALL_STATES}
    summary = html.Div(className="ops-summary", children=[
        html.Span(f"{WALL_STATES[s]} {counts[s]}", className=f"ops-count ops-count--{s}") for s in WALL_STATES])
    ordered = sorted(walls, key=lambda w: (WALL_ORDER[w["state"]], not w["kiosk"], w.get("place") or "",
                                           w["wall_id"]))
    rows = []
    for wall in ordered:
        user = [html.Span(wall["username"] or "（免登录）")]
        if wall["kiosk"]:
            user.append(html.Span("大屏账号", className="ops-tag"))
        version = [html.Span(wall["version"] or "—")]
        if wall["outdated"]:
            version.append(html.Span("旧版本", className="ops-tag ops-tag--warn"))
        heap = f"{wall['heap_mb']:.0f} MB" if wall["heap_mb"] is not None else "—"
        age = i18n.duration(wall["frame_age"]) if wall["frame_age"] is not None else "—"
        rows.append(html.Tr(className=f"ops-wall ops-wall--{wall['state']}",
                            **{"data-wall-state": wall["state"], "data-wall": wall["wall_id"]}, children=[
            html.Td(WALL_STATES[wall["state"]], className="ops-state"),
            html.Td(wall.get("place") or wall["region_code"] or "—", title=wall["region_code"] or ""),
            html.Td(display_text(wall["layout"])),
            html.Td(user),
            html.Td(_ago(wall["last_seen_at"], now), title=_local(wall["last_seen_at"], tz)),
            html.Td(age, className="num"),
            html.Td(heap, className="num"),
            html.Td(version),
        ]))
    table = html.Table(className="page-table ops-table", children=[
        _head("状态", "区域", "显示", "账号", "最近心跳", "画面延迟", "内存", "版本"), html.Tbody(rows)])
    return [summary, table]


# --- push channels ---------------------------------------------------------------------------------

def channel_rows(channels: list[dict[str, str]], states: dict[str, dict[str, Any]], depth: int | None,
                 now: datetime, tz: ZoneInfo) -> list:
    """``channels``: the configured ones (name, kind, url without its key); ``states``:
    data_access.push.channel_states; ``depth``: rows owed across channels."""
    outbox = html.Div(f"待发送 {depth if depth is not None else '—'} 条", id="ops-outbox", className="ops-summary",
                      **{"data-depth": str(depth) if depth is not None else ""})
    if not channels:
        return [outbox, empty(NO_CHANNELS)]
    rows = []
    for channel in channels:
        st = states.get(channel["name"]) or {"state": "idle"}
        state = st.get("state") or "idle"
        error = st.get("last_error") or ""
        rows.append(html.Tr(className=f"ops-channel ops-channel--{state}",
                            **{"data-channel": channel["name"], "data-state": state}, children=[
            html.Td(CHANNEL_STATES.get(state, state), className="ops-state"),
            html.Td(channel["name"]),
            html.Td(CHANNEL_KINDS.get(channel.get("kind", ""), channel.get("kind", "")), title=channel.get("url", "")),
            html.Td(_ago(st.get("last_ok_at"), now), title=_local(st.get("last_ok_at"), tz)),
            html.Td([_ago(st.get("last_error_at"), now) if st.get("last_error_at") else "—",
                     html.Div(error[:200], className="ops-error") if error else None],
                    title=_local(st.get("last_error_at"), tz)),
            html.Td(str(st.get("pending", 0)), className="num"),
            html.Td(str(st.get("sent_last_hour", 0)), className="num"),
        ]))
    table = html.Table(className="page-table ops-table", children=[
        _head("状态", "通道", "类型", "最近成功", "最近失败", "待发", "近1小时已发"), html.Tbody(rows)])
    return [outbox, table]


# --- duties ----------------------------------------------------------------------------------------

def duty_rows(duties: list, now: datetime, tz: ZoneInfo) -> list:
    """``duties``: dashboard.core.duty_status.DutyStatus, one per duty."""
    if not duties:
        return [empty(NO_DUTIES)]
    rows = [html.Tr(className=f"ops-duty ops-duty--{d.state}", **{"data-duty": d.duty, "data-duty-state": d.state},
                    children=[
        html.Td(DUTY_STATES.get(d.state, d.state), className="ops-state"),
        html.Td(DUTY_NAMES.get(d.duty, d.duty), title=d.duty),
        html.Td(d.holder or "—", className="ops-holder", title=_local(d.holder_seen_at, tz)),
        html.Td(_ago(d.last_success_at, now), title=_local(d.last_success_at, tz)),
        html.Td("、".join(d.standby) or "—", className="ops-standby"),
    ]) for d in duties]
    return [html.Table(className="page-table ops-table", children=[
        _head("状态", "任务", "当前实例", "最近成功", "待命实例"), html.Tbody(rows)])]


def layout(username: str | None = None, role: str | None = None) -> html.Div:
    return html.Div(id="ops", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="ops-tick", interval=REFRESH_MS),
        page_frame("运行监测", OPS.path, username, role, [
            section("大屏状态", html.Div(id="ops-walls", className="ops-list", children=[empty(NO_WALLS)])),
            html.Div(className="ops-grid", children=[
                section("推送通道", html.Div(id="ops-channels", className="ops-list", children=[empty(NO_CHANNELS)])),
                section("后台任务", html.Div(id="ops-duties", className="ops-list", children=[empty(NO_DUTIES)])),
            ]),
            section("预警研判质量（近30日）", html.Div(id="ops-alert-quality", className="ops-list",
                                                   children=[empty("—")]),
                    extra=html.Div("值班员确认预警时的研判：准确率 =（属实 + 已知）÷ 已研判；研判少于 3 条不计",
                                   className="panel-note")),
        ]),
    ])
