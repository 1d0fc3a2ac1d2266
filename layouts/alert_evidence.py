"""The per-kind part of the wall's evidence panel (``layouts/alert_detail.py``): a rise's series with
its expected level and band, a cluster's circle on a small map, a repeat's address and dates, a
community's patrol shares, the cases at risk and who holds them, the grids of a staffing alert, and
what any other alert's detail says. It draws ``alert_view``'s ``evidence_detail``
(``dashboard.usecases.alert_evidence``), masked. Element ids and data attributes: docs/interfaces.md.
"""

from __future__ import annotations

import math
from typing import Any

import dash_leaflet as dl
import plotly.graph_objects as go
from dash import dcc, html

ROOT_ID = "alert-evidence"
GRAPH_ID = "alert-evidence-graph"
MAP_ID = "alert-evidence-map"

# The wall's colours (assets/wall.css): text, muted, the blues of the map, amber and red.
TEXT, MUTED, GRID_LINE = "#d8e6ff", "#8aa0c0", "rgba(138, 160, 192, 0.18)"
BLUE, BAND, ALERT, WARN, AFTER = "#4a94d6", "rgba(122, 182, 238, 0.22)", "#ff5a4f", "#f5c542", "#5b6b7d"


def part(ev: dict[str, Any] | None) -> list:
    """The evidence part of the panel, or nothing when the alert has none beyond its one line."""
    if not isinstance(ev, dict):
        return []
    draw = DRAW.get(ev.get("kind"), _words)
    try:
        children = draw(ev)
    except (KeyError, TypeError, ValueError):  # a malformed shape: the panel stays up without it
        return []
    if not children:
        return []
    return [html.Div(id=ROOT_ID, className=f"alert-evidence ev-{ev.get('kind')}", children=children,
                     **{"data-kind": str(ev.get("kind"))})]


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.{digits}f}"
    return f"{x:.0f}" if isinstance(x, (int, float)) else str(x)


def _pct(x: Any) -> str:
    return "—" if x is None else f"{x:.0%}"


# --- rises ---------------------------------------------------------------------------------------

def spike_figure(ev: dict[str, Any]) -> go.Figure:
    days = ev["days"]
    tripped, after = ev["tripped"], ev["after"]
    colours = [ALERT if t else (AFTER if a else BLUE) for t, a in zip(tripped, after)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=ev["lo"], mode="lines", line={"width": 0}, hoverinfo="skip",
                             showlegend=False, meta="band-lo", connectgaps=False))
    fig.add_trace(go.Scatter(x=days, y=ev["hi"], mode="lines", line={"width": 0}, fill="tonexty", fillcolor=BAND,
                             name=f"通常范围（{ev.get('usual', 0.9):.0%}）", meta="band", connectgaps=False))
    fig.add_trace(go.Bar(x=days, y=ev["observed"], marker={"color": colours}, name="每日事件数", meta="observed",
                         opacity=0.85))
    fig.add_trace(go.Scatter(x=days, y=ev["expected"], mode="lines", line={"color": TEXT, "width": 2},
                             name="预期水平", meta="expected", connectgaps=False))
    fig.add_trace(go.Scatter(x=days, y=ev["alarm_at"], mode="lines", line={"color": WARN, "width": 1.5, "dash": "dash"},
                             name="单日报警线", meta="alarm", connectgaps=False))
    marked = [i for i, t in enumerate(tripped) if t]
    fig.add_trace(go.Scatter(x=[days[i] for i in marked], y=[ev["observed"][i] for i in marked], mode="markers",
                             marker={"color": ALERT, "size": 11, "symbol": "diamond", "line": {"color": TEXT, "width": 1}},
                             name="触发预警的日子", meta="tripped"))
    fig.update_layout(
        height=250, margin={"l": 36, "r": 10, "t": 28, "b": 30}, barmode="overlay",
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": TEXT, "size": 13},
        legend={"orientation": "h", "y": 1.14, "x": 0, "font": {"size": 12}},
        xaxis={"type": "date", "tickformat": "%m-%d", "gridcolor": GRID_LINE, "color": MUTED},
        yaxis={"rangemode": "tozero", "gridcolor": GRID_LINE, "color": MUTED, "title": None},
    )
    return fig


def _spike(ev: dict[str, Any]) -> list:
    window, engine = ev["window"], ev.get("engine") or {}
    days = ev["days"]
    tripped = [d for d, t in zip(days, ev["tripped"]) if t]
    span = window["start"][5:] if window["start"] == window["end"] else f"{window['start'][5:]} 至 {window['end'][5:]}"
    said = f"触发：{span}" + (f"共 {_fmt(engine.get('observed'))} 件，预期约 {_fmt(engine.get('expected'))} 件"
                             if engine.get("observed") is not None else "")
    if engine.get("p_value") is not None:
        said += f"（偶然出现的概率 {engine['p_value']:.2g}）"
    notes = ["柱为每日事件数，红色为触发预警的日子，灰色为预警之后的日子；浅色带为通常范围，虚线为单日报警线。"]
    if ev.get("intraday"):
        notes.append("最后一天为今日截至目前的件数，对照全天预期。")
    if (engine.get("alpha_scale") or 1) > 1:
        notes.append(f"本地区的事件数起伏较大，报警线已按近三周的预警量放宽（检验水平 ×{engine['alpha_scale']:g}，"
                     "配置项 [warning] rise_alarm_target）。")
    if "recomputed" in ev.get("source", ""):
        notes.append("预期水平与范围按同一模型重算" + ("（预警之后的日子）" if "engine" in ev["source"] else "") + "，可能与引擎当时略有出入。")
    return [
        html.H3("依据：每日走势"),
        html.Div(said, className="ev-said"),
        html.Div(className="ev-graph", **{"data-tripped": ",".join(tripped), "data-source": ev.get("source", ""),
                                          "data-days": str(len(days))}, children=[
            dcc.Graph(id=GRAPH_ID, figure=spike_figure(ev), config={"staticPlot": True, "displayModeBar": False},
                      style={"height": "250px"}),
        ]),
        html.Div(" ".join(notes), className="ev-note"),
    ]


# --- clusters ------------------------------------------------------------------------------------

def _bounds(lat: float, lon: float, radius_m: float, points: list[dict]) -> list[list[float]]:
    r = max(radius_m, 300.0)
    dlat = r / 111_000
    dlon = r / (111_000 * max(math.cos(math.radians(lat)), 0.1))
    south, north, west, east = lat - dlat, lat + dlat, lon - dlon, lon + dlon
    for p in points:
        south, north = min(south, p["lat"]), max(north, p["lat"])
        west, east = min(west, p["lon"]), max(east, p["lon"])
    return [[south, west], [north, east]]


def small_map(layers: list, bounds: list[list[float]], **data) -> html.Div:
    return html.Div(className="ev-map", **data, children=dl.Map(
        id=MAP_ID, children=layers, bounds=bounds, boundsOptions={"padding": [16, 16]}, zoomControl=False,
        attributionControl=False, scrollWheelZoom=False, doubleClickZoom=False, dragging=False,
        zoomAnimation=False, style={"width": "100%", "height": "100%"}))


def _cluster(ev: dict[str, Any]) -> list:
    c, radius, points = ev["center"], ev["radius_m"], ev["points"]
    window = ev.get("window") or {}
    layers = [
        dl.GeoJSON(data=ev.get("outlines") or {"type": "FeatureCollection", "features": []}, interactive=False,
                   style={"color": "#9fc6ff", "weight": 1, "fillColor": "#1c5794", "fillOpacity": 0.25}),
        dl.Circle(center=[c["lat"], c["lon"]], radius=max(radius, 50), className="ev-circle", color=ALERT, weight=2,
                  fillColor=ALERT, fillOpacity=0.08, interactive=False),
        *[dl.CircleMarker(center=[p["lat"], p["lon"]], radius=5, className="ev-point", color=TEXT, weight=1,
                          fillColor=WARN, fillOpacity=0.9, interactive=False) for p in points],
    ]
    said = (f"近{_fmt(window.get('days'))}日圈内 {_fmt(ev.get('observed'))} 件，通常约 {_fmt(ev.get('expected'))} 件；"
            f"圆心半径 {radius / 1000:.1f} 公里，涉及 {ev.get('grid_count') or 0} 个网格")
    return [
        html.H3("依据：聚集范围"),
        html.Div(said, className="ev-said"),
        small_map(layers, _bounds(c["lat"], c["lon"], radius, points),
                  **{"data-radius-m": str(radius), "data-center": f"{c['lat']},{c['lon']}",
                     "data-points": str(len(points))}),
        html.Div("红圈为聚集范围，黄点为所涉事件，蓝色为圈内网格。"
                 + (f"另有 {ev['unplaced']} 件无坐标未标出。" if ev.get("unplaced") else ""), className="ev-note"),
    ]


# --- repeats -------------------------------------------------------------------------------------

def _repeat(ev: dict[str, Any]) -> list:
    if ev["mode"] == "rebound":
        rows = [("结案", ev.get("closed_at") or "—"), ("再次上报", ev.get("reported_at") or "—"),
                ("间隔", f"{_fmt(ev.get('gap_days'))} 天")]
    else:
        rows = [("次数", f"近{_fmt(ev.get('window_days'))}日上报 {_fmt(ev.get('observed'))} 次"
                       f"（{_fmt(ev.get('threshold'))} 次即预警）")]
    heading = ev.get("address") or ev.get("place") or "同一地点"
    return [
        html.H3("依据：同一地点反复上报"),
        html.Div(heading, className="ev-address", **{"data-mode": ev["mode"]}),
        *([html.Div(ev["place"], className="ev-place")] if ev.get("place") and ev.get("address") else []),
        html.Dl(className="ev-facts", children=[x for k, v in rows for x in (html.Dt(k), html.Dd(v))]),
        html.Ol(className="ev-dates", children=[html.Li(d, **{"data-case-date": d}) for d in ev.get("dates") or []]),
    ]


# --- concealment ---------------------------------------------------------------------------------

def _share_cell(key: str, part: dict) -> html.Td:
    share = part.get("share")
    return html.Td(f"{_pct(share)}（{part.get('patrol', 0)}/{part.get('patrol', 0) + part.get('other', 0)}）",
                   className="num", **{"data-share": key, "data-value": "" if share is None else f"{share:.4f}"})


def _underreport(ev: dict[str, Any]) -> list:
    period, peers, before = ev["period"], ev["peers"], ev["before"]
    weeks = ev.get("weeks") or []
    table = html.Table(className="alert-detail-cases ev-shares", children=[
        html.Thead(html.Tr([html.Th("网格员巡查上报占比"), html.Th("本社区 · 标记各周"),
                            html.Th(f"本街道其他{peers.get('communities', 0)}个社区 · 同期"),
                            html.Th(f"本社区 · 此前{before.get('weeks', 12)}周")])),
        html.Tbody(html.Tr([html.Td("巡查 / (巡查 + 12345 + 随手拍 + 视频)"), _share_cell("period", period),
                            _share_cell("peers", peers), _share_cell("before", before)])),
    ])
    strip = html.Div(className="ev-weeks", children=[
        html.Span(className="ev-week" + (" ev-week--flagged" if w["flagged"] else ""),
                  title=f"{w['week']}：本社区 {_pct(w['share'])}，同街道其他社区 {_pct(w['peer_share'])}",
                  **{"data-week": w["week"], "data-share": "" if w["share"] is None else f"{w['share']:.4f}"},
                  children=[html.I(style={"height": f"{(w['share'] or 0) * 100:.0f}%"})])
        for w in weeks])
    return [
        html.H3("依据：巡查上报占比"),
        table,
        html.Div("每周占比（右侧红框为标记各周）：", className="ev-note"), strip,
        html.Div("疑似，建议核实：也可能另有原因（人员变动、工作调整、数据口径）。", className="ev-note"),
    ]


# --- SLA -----------------------------------------------------------------------------------------

def _sla(ev: dict[str, Any]) -> list:
    rows = ev.get("rows") or []
    said = f"承办单位：{ev.get('org') or '—'}"
    if ev.get("mode") == "backlog":
        said += f"；在办 {_fmt(ev.get('observed'))} 件，近4周同期通常 {_fmt(ev.get('expected'))} 件"
    elif ev.get("observed") is not None:
        said += f"；临期无进展 {_fmt(ev.get('observed'))} 件" + (f"，其中 {ev['overdue']} 件已超期" if ev.get("overdue") else "")
    out = [html.H3("依据：临期事件与承办单位"), html.Div(said, className="ev-said")]
    if rows:
        out.append(html.Table(className="alert-detail-cases ev-sla", children=[
            html.Thead(html.Tr([html.Th(t) for t in ("事件", "环节", "时限", "超期/剩余", "承办")])),
            html.Tbody([html.Tr([
                html.Td(r.get("title") or r.get("code")), html.Td(r.get("phase_label") or "—"),
                html.Td(r.get("due_at") or "—"),
                html.Td(r.get("left") or "—", className="alert-detail-late" if r.get("late") else None),
                html.Td(r.get("holder") or "—", className="ev-holder"),
            ], **{"data-sla-case": r.get("code") or "", "data-late": "1" if r.get("late") else "0"}) for r in rows]),
        ]))
    return out


# --- staffing ------------------------------------------------------------------------------------

STATE = {"vacant": "无网格员", "absent": "有网格员，未在岗", "unpatrolled": "今日未巡查"}


def _staffing(ev: dict[str, Any]) -> list:
    grids = ev.get("grids") or []
    mode = ev.get("mode")
    if mode == "offline":
        said = f"离线 {_fmt(ev.get('observed'))} 人 / 在岗 {_fmt(ev.get('on_duty'))} 人"
        head, cells = ("网格", "离线人数"), lambda g: [html.Td(g["place"]), html.Td(str(g["offline"]), className="num")]
    elif mode == "uncovered":
        said = f"{_fmt(ev.get('observed'))} 个网格无人在岗（共 {_fmt(ev.get('total'))} 个）"
        head, cells = ("网格", "情况"), lambda g: [html.Td(g["place"]), html.Td(STATE.get(g.get("state"), ""))]
    elif mode == "patrol":
        said = f"今日已巡 {_fmt(ev.get('patrolled'))} / {_fmt(ev.get('rostered'))} 个排班网格"
        head, cells = ("网格", "情况"), lambda g: [html.Td(g["place"]), html.Td(STATE.get(g.get("state"), ""))]
    else:
        said, head, cells = "", ("网格",), lambda g: [html.Td(g["place"])]
    out = [html.H3("依据：所涉网格"), html.Div(said, className="ev-said")]
    if grids:
        out.append(html.Table(className="alert-detail-cases ev-grids", children=[
            html.Thead(html.Tr([html.Th(t) for t in head])),
            html.Tbody([html.Tr(cells(g), **{"data-grid-code": g["code"],
                                             "data-offline-count": str(g.get("offline", ""))}) for g in grids]),
        ]))
    workers = ev.get("workers")
    if mode == "offline" and workers is not None:
        out.append(html.Table(className="alert-detail-cases ev-workers", children=[
            html.Thead(html.Tr([html.Th(t) for t in ("网格", "网格员", "最后定位")])),
            html.Tbody([html.Tr([html.Td(w["place"]), html.Td(w["name"]), html.Td(w.get("last_ping") or "无定位")],
                                **{"data-worker": w["name"]}) for w in workers]),
        ]))
        placed = [w for w in workers if w.get("lat") is not None]
        if placed:
            lat = sum(w["lat"] for w in placed) / len(placed)
            lon = sum(w["lon"] for w in placed) / len(placed)
            layers = [dl.CircleMarker(center=[w["lat"], w["lon"]], radius=6, className="ev-worker", color=TEXT, weight=1,
                                      fillColor=WARN, fillOpacity=0.9, interactive=False) for w in placed]
            out.append(small_map(layers, _bounds(lat, lon, 500, placed), **{"data-points": str(len(placed))}))
        out.append(html.Div("仅用于调度联系，不作考核排名。", className="ev-note"))
    elif mode == "offline":
        out.append(html.Div("按部署设置只显示人数（docs/security.md）。", className="ev-note"))
    return out


# --- anything else: the detail in words ----------------------------------------------------------

def _words(ev: dict[str, Any]) -> list:
    facts = ev.get("facts") or []
    if not facts:
        return []
    return [html.H3("依据"), html.Dl(className="alert-detail-facts ev-facts", children=[
        x for f in facts for x in (html.Dt(f["label"]), html.Dd(f["value"]))])]


DRAW = {"spike": _spike, "cluster": _cluster, "repeat": _repeat, "underreport": _underreport, "sla": _sla,
        "staffing": _staffing}
