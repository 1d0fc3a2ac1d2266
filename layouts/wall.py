"""The wall at ``/``: a fixed grid for a video wall, filled by the callbacks in ``callbacks``.

The layout is a static shell: every figure arrives through a callback, so the page renders even
while the database is down and shows "—" until the first good read. The panels are placed by CSS
grid areas (assets/wall.css), one arrangement for 16:9 walls and one for ultrawide ones.
"""

from __future__ import annotations

from dash import dcc, html

from . import alert_detail, i18n, tile_catalogue
from .map import shade_control, street_map
from .shell import nav_links
from .stream import case_stream
from .tiles import case_tiles, staffing_tiles
from .trend import trend_panel

SLOW_TICK_MS = 60000  # trend and the change against yesterday
HEADER_TICK_MS = 30000  # names and breadcrumb; also retries after a database outage


def panel(title: str, body, area: str, extra=None, title_id: str | None = None) -> html.Section:
    head = [html.H2(title, className="panel-title", **({"id": title_id} if title_id else {}))]
    if extra is not None:
        head.append(extra)
    return html.Section(className=f"panel panel-{area}", children=[
        html.Div(head, className="panel-head"),
        html.Div(body, className="panel-body"),
    ])


def header(role: str | None = None) -> html.Header:
    return html.Header(className="wall-header", children=[
        html.Div(className="header-left", children=[
            html.H1(i18n.CENTER_TITLE, id="wall-title", className="wall-title"),
            html.Nav(id="breadcrumb", className="breadcrumb", children=[]),
            html.Div(id="region-notice", className="notice", children=[]),
            # A critical alert still new, in red, also in kiosk mode (callbacks/panels.py update_alerts).
            html.Div(id="alert-banner", className="alert-banner", role="alert", children=[]),
        ]),
        html.Div(className="header-right", children=[
            html.Div(id="ack-result", className="ack-result", children=[]),
            html.Div(id="view-mode", className="view-mode", children=[]),
            # The other pages, for the roles that may open them; hidden on a kiosk wall.
            html.Div(nav_links("/", role), className="wall-nav control"),
            html.Button("提示音 开", id="mute-toggle", n_clicks=0, className="mute-toggle control", title="预警提示音"),
            # Shown while the browser holds the alert sound back, kiosk mode too: not a .control
            # (assets/gridwall.js sets data-state; a click on the page lets the sound start).
            html.Button("点击启用提示音", id="chime-state", className="chime-state", title="浏览器未允许播放提示音",
                        **{"data-state": "off"}),
            html.Div(id="clock", className="clock", children=""),
            # The view's own last case time, apart from the link's state in #freshness (assets/live.js).
            html.Div("", id="region-last-case", className="region-last-case"),
            html.Div("—", id="freshness", className="freshness", **{"data-stale": "false", "data-mode": "live"}),
        ]),
    ])


def stores() -> list:
    return [
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="slow-tick", interval=SLOW_TICK_MS),
        dcc.Interval(id="header-tick", interval=HEADER_TICK_MS),
        dcc.Interval(id="rotate-tick", interval=60000, disabled=True),
        dcc.Store(id="wall-clock", data=None),  # {"tz": ..., "at": ISO or None} for the clock
        # The data version of the view and the server's heartbeat (callbacks/live.py): the tick
        # answers the tiles and the stream itself, the slower panels follow live-slow; #freshness
        # is drawn from the version and the heartbeat; assets/live.js pokes live-poke for a tick.
        dcc.Store(id="live-poke", data=None),
        dcc.Store(id="live-version", data=None),
        dcc.Store(id="live-slow", data=None),
        dcc.Store(id="live-beat", data=None),
        dcc.Store(id="figures-state", data=None),  # digests of what the figure outputs show
        dcc.Store(id="stream-feed", data=None),  # the tick's case list; assets/live.js draws it
        dcc.Store(id="stream-state", data=None),
        dcc.Store(id="map-state", data=None),
        # Digests of what each panel shows, so that an unchanged panel is not sent again.
        dcc.Store(id="sla-state", data=None),
        dcc.Store(id="staff-state", data=None),
        dcc.Store(id="region-state", data=None),
        dcc.Store(id="alerts-state", data=None),
        dcc.Store(id="yesterday", data=None),  # the case figures 24 h earlier, for the tiles' ▲/▼
        # The tiles' delta rules (layouts/tile_catalogue.py), read by assets/gridwall.js `deltas`.
        dcc.Store(id="tile-catalogue", data=tile_catalogue.browser_rules()),
        dcc.Store(id="ack-undone", data=None),  # the alert whose acknowledgement was just taken back
        dcc.Store(id="rotate-regions", data=None),  # the root's streets, for ?rotate=
        dcc.Store(id="kiosk-flag", data=None),
    ]


def layout(role: str | None = None, scale: float | None = None, seams: str | None = None,
           code_version: str | None = None, heartbeat_ms: int | None = None) -> html.Div:
    # The deployment's display defaults (GRIDWALL_SCALE, GRIDWALL_SEAMS); ?scale= and ?seams= win
    # (assets/gridwall.js, applyDisplay). The code version the page is served with and the heartbeat's
    # interval (assets/heartbeat.js: it reloads the page when the server's version moves on).
    display = {k: str(v) for k, v in (("data-scale", scale), ("data-seams", seams), ("data-code-version", code_version),
                                      ("data-heartbeat-ms", heartbeat_ms)) if v is not None}
    return html.Div(id="wall", className="wall", **display, children=[
        *stores(),
        header(role),
        alert_detail.container(),
        case_tiles(),
        html.Main(className="wall-body", children=[
            panel("力量在岗", html.Div(id="staffing", className="staffing", children=[
                staffing_tiles(),
                html.Div(id="staffing-detail", className="staffing-detail"),
            ]), "staff"),
            panel("辖区排行", html.Div(id="region-table", className="region-table"), "region",
                  title_id="region-title"),
            panel("今日趋势", trend_panel(), "trend",
                  extra=html.Div("柱 新增 · 线 结案 · 虚线/带 近四周同日", className="panel-note")),
            panel("事件分布", street_map(), "map", extra=shade_control()),
            panel("超期临期督办", html.Div(id="sla-board", className="sla-board"), "sla"),
            panel("预警", html.Div(id="alerts", className="alert-list fit-list"), "alerts"),
            panel("实时事件", case_stream(), "stream"),
        ]),
    ])
