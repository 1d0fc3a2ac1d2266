"""The wall at ``/``: a fixed 16:9 grid for a video wall, filled by the callbacks in ``callbacks.wall``.

The layout is a static shell: every figure arrives through a callback, so the page renders even
while the database is down and shows "—" until the first good read.
"""

from __future__ import annotations

from dash import dcc, html

from . import i18n
from .map import street_map
from .stream import case_stream
from .tiles import case_tiles, rate_tiles, staffing_tiles

TICK_MS = 1000  # figures, stream and SLA board
MAP_TICK_MS = 5000  # street colours
HEADER_TICK_MS = 30000  # names and breadcrumb; also retries after a database outage


def panel(title: str, body, class_name: str = "", extra=None) -> html.Section:
    head = [html.H2(title, className="panel-title")]
    if extra is not None:
        head.append(extra)
    return html.Section(className=f"panel {class_name}".strip(), children=[
        html.Div(head, className="panel-head"),
        html.Div(body, className="panel-body"),
    ])


def header() -> html.Header:
    return html.Header(className="wall-header", children=[
        html.Div(className="header-left", children=[
            html.H1(i18n.CENTER_TITLE, id="wall-title", className="wall-title"),
            html.Nav(id="breadcrumb", className="breadcrumb", children=[]),
            html.Div(id="region-notice", className="notice", children=[]),
        ]),
        html.Div(className="header-right", children=[
            html.Div(id="view-mode", className="view-mode", children=[]),
            html.Div(id="clock", className="clock", children=""),
            html.Div("—", id="freshness", className="freshness", **{"data-stale": "false"}),
        ]),
    ])


def layout() -> html.Div:
    return html.Div(id="wall", className="wall", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="tick", interval=TICK_MS),
        dcc.Interval(id="map-tick", interval=MAP_TICK_MS),
        dcc.Interval(id="header-tick", interval=HEADER_TICK_MS),
        dcc.Store(id="wall-clock", data=None),  # {"tz": ..., "at": ISO or None} for the clock
        dcc.Store(id="live-version", data=None),
        dcc.Store(id="live-beat", data=None),
        dcc.Store(id="figures-state", data=None),
        dcc.Store(id="stream-state", data=None),
        dcc.Store(id="map-state", data=None),
        header(),
        case_tiles(),
        html.Main(className="wall-body", children=[
            html.Div(className="col col-left", children=[
                panel("近7日指标", rate_tiles(), "panel-rates"),
                panel("力量在岗", staffing_tiles(), "panel-staffing"),
                panel("预警", html.Div(id="alerts", className="alert-list"), "panel-alerts"),
            ]),
            html.Div(className="col col-center", children=[
                panel("事件分布", street_map(), "panel-map"),
                panel("超期临期", html.Div(id="sla-board", className="sla-board"), "panel-sla"),
            ]),
            html.Div(className="col col-right", children=[
                panel("实时事件", case_stream(), "panel-stream"),
            ]),
        ]),
    ])
