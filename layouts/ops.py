"""The operations page at ``/ops`` (运行监测), for duty officers: the walls' health and the push channels.

A placeholder until the issue that fills it: ``#ops-walls`` and ``#ops-channels`` hold their empty
states (docs/interfaces.md: each row will carry ``data-wall-state`` / ``data-channel`` and
``data-state``).
"""

from __future__ import annotations

from dash import dcc, html

from .shell import OPS, page_frame, section

NO_WALLS = "尚无大屏心跳"
NO_CHANNELS = "未配置推送通道"
REFRESH_MS = 30000


def empty(text: str) -> html.Div:
    return html.Div(text, className="empty")


def layout(username: str | None = None, role: str | None = None) -> html.Div:
    return html.Div(id="ops", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="ops-tick", interval=REFRESH_MS),
        page_frame("运行监测", OPS.path, username, role, [
            html.Div(className="ops-grid", children=[
                section("大屏状态", html.Div(id="ops-walls", className="ops-list", children=[empty(NO_WALLS)])),
                section("推送通道", html.Div(id="ops-channels", className="ops-list", children=[empty(NO_CHANNELS)])),
            ]),
        ]),
    ])
