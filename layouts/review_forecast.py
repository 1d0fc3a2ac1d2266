"""The review page's sections on the coming week (预测研判) and the concealment watch (疑似瞒报漏报).

* ``review-forecast``: the engine's stored forecast for the next 7 days, per street x major category,
  each with its 80 % interval (a street's or the county's total too); one street: per category.
* ``review-hotspots``: next week's hotspot grids on a map (the view's child regions outlined, the
  grids shaded in the wall's blue sequence by their expected cases, ranked) beside their list.
* ``review-forecast-record``: the forecasts' own record over the past 8 weeks, each week forecast
  from the days before it, against what happened; the interval's coverage and the mean absolute
  error beside a naive forecast's, so that a meeting can judge how far to trust the numbers.
* ``review-concealment`` (roles ``center`` and ``leader`` only): the communities the engine flagged in
  the period, with their evidence, worded as suspicion (疑似, 建议核实).

The data come shaped by ``dashboard.analytics.forecast_record.forecast_view`` (the API's body) and
``dashboard.analytics.concealment_watch.watch_rows``; every name arrives from the database, so the
map's tooltips and labels carry only names and numbers (Leaflet sets tooltips as HTML: escaped here).
"""

from __future__ import annotations

import html as html_text
from datetime import datetime
from zoneinfo import ZoneInfo

import dash_leaflet as dl
from dash import html

from .map import DEFAULT_CENTER, FILL_OPACITY, NO_DATA, OUTLINE, PALETTE, swatch_colour
from .review_format import NONE
from .shell import section

FORECAST_DAYS = 7
RECORD_WEEKS = 8
# Roles that see the concealment watch (a street user never does: layouts and the callback both check).
WATCH_ROLES = ("center", "leader")
# Class upper bounds of a grid's expected cases over 7 days (fixed, like the wall's, so a colour keeps its meaning).
HOTSPOT_BREAKS = [5, 10, 20, 40, 80]
TEST_NAMES = {"own_history": "与自身以往比", "peers": "与同类社区比"}


def sections(role: str | None = None) -> list[html.Section]:
    out = [
        section(f"预测研判 · 未来{FORECAST_DAYS}天", html.Div(id="review-forecast", className="review-forecast",
                                                          children=[html.Div("—", className="empty")]),
                extra=html.Div("来源：预警引擎每日预测 · 小字为80%区间", className="panel-note")),
        section("下周热点网格", html.Div(id="review-hotspots", className="review-hotspots",
                                     children=[html.Div("—", className="empty")]),
                extra=html.Div("按各网格未来7天预计件数", className="panel-note")),
        section(f"预测回测 · 近{RECORD_WEEKS}周", html.Div(id="review-forecast-record", className="review-forecast-record",
                                                       children=[html.Div("—", className="empty")]),
                extra=html.Div("每周均只用该周之前的数据预测，再与实际比较", className="panel-note")),
    ]
    if role is None or role in WATCH_ROLES:
        out.append(section("疑似瞒报漏报", html.Div(id="review-concealment", className="review-concealment",
                                                 children=[html.Div("—", className="empty")]),
                           extra=html.Div("仅供核实线索，不作结论", className="panel-note")))
    return out


# --- formats ----------------------------------------------------------------------------------------

def count(value) -> str:
    return NONE if value is None else f"{round(float(value)):,}"


def interval(lo, hi) -> str:
    return NONE if lo is None or hi is None else f"{int(lo):,}–{int(hi):,}"


def percent(value, digits: int = 0) -> str:
    return NONE if value is None else f"{100 * float(value):.{digits}f}%"


def share_text(part: dict) -> str:
    """"18%（34/189）": the patrol share with its counts; "—" without reports."""
    total = part["patrol"] + part["other"]
    if not total:
        return NONE
    return f"{percent(part['share'])}（{part['patrol']}/{total}）"


def local_time(value: datetime | None, tz: ZoneInfo) -> str:
    return NONE if value is None else value.astimezone(tz).strftime("%m-%d %H:%M")


def _cell(item: dict | None, strong: bool = False) -> html.Td:
    if not item:
        return html.Td(NONE, className="num fc-cell")
    return html.Td(className="num fc-cell" + (" fc-cell--total" if strong else ""), children=[
        html.Div(count(item["expected"]), className="fc-mean"),
        html.Div(interval(item["lo80"], item["hi80"]), className="fc-range"),
    ])


# --- the forecast -----------------------------------------------------------------------------------

def forecast_table(fc: dict, level: str, tz: ZoneInfo) -> html.Div:
    """The stored forecast of the view (``forecast_view(...)["forecast"]``): a matrix of streets x
    major categories with their totals, or, for one street, its categories."""
    if not fc["rows"]:
        if level in ("community", "grid"):
            return html.Div("预测按街道和大类生成；社区、网格请看下方热点网格", className="empty")
        return html.Div("暂无预测数据（预警引擎每日生成）", className="empty")
    when = html.Div(className="panel-note fc-when", children=[
        f"预测期 {fc['start']} 至 {fc['end']}（{fc['days']}天）· 生成于 {local_time(fc['made_at'], tz)}",
        html.Span("80%区间：按模型，实际件数约十次中有八次落在区间内；可信度见下方回测", className="fc-hint"),
    ])
    regions = fc["regions"]
    cats = fc["categories"]
    cell = {(r["region_code"], r["category_code"]): r for r in fc["rows"]}
    if len(regions) == 1:
        reg = regions[0]
        body = [html.Tr([html.Th(c["category_name"]), _cell(cell.get((reg["region_code"], c["category_code"])))],
                        **{"data-category": c["category_code"]}) for c in sorted(cats, key=lambda c: -c["expected"])]
        body.append(html.Tr([html.Th("合计"), _cell(reg, strong=True)], className="fc-total-row"))
        table = html.Table(className="page-table fc-table fc-table--one", children=[
            html.Thead(html.Tr([html.Th("类别"), html.Th(f"{reg['region_name']} 预计件数（区间）", className="num")])),
            html.Tbody(body)])
        return html.Div([when, table])
    head = html.Tr([html.Th("街道"), *[html.Th(c["category_name"], className="num fc-cat") for c in cats],
                    html.Th("合计", className="num")])
    body = []
    for reg in regions:
        code = reg["region_code"]
        body.append(html.Tr([html.Th(reg["region_name"], className="fc-region"),
                             *[_cell(cell.get((code, c["category_code"]))) for c in cats],
                             _cell(reg, strong=True)], **{"data-region": code}))
    body.append(html.Tr([html.Th("合计"), *[_cell(c, strong=True) for c in cats], _cell(fc["total"], strong=True)],
                        className="fc-total-row"))
    table = html.Table(className="page-table fc-table", children=[html.Thead(head), html.Tbody(body)])
    return html.Div([when, html.Div(table, className="fc-scroll")])


# --- hotspots -----------------------------------------------------------------------------------------

def hotspot_class(expected: float, breaks: list[float] = HOTSPOT_BREAKS) -> int:
    """The palette index of a grid's expected cases (classes by the fixed upper bounds ``breaks``)."""
    for i, upper in enumerate(breaks):
        if expected <= upper:
            return i
    return len(breaks)


def _tooltip(name: str, rank: int, expected) -> str:
    return f"{rank}. {html_text.escape(name)}：预计 {count(expected)} 件"


def hotspot_map(grids: list[dict], places: dict[str, dict], outline: dict) -> html.Div:
    """The view's child regions outlined (``outline``, a FeatureCollection) and the hotspot grids filled
    by class, each with its rank on it. No tile layer (intranet), as on the wall."""
    layers = [dl.GeoJSON(data={"type": "FeatureCollection", "features": outline.get("features", [])},
                         zoomToBounds=True, interactive=False,
                         style={"color": OUTLINE, "weight": 1, "opacity": 0.6, "fillColor": NO_DATA,
                                "fillOpacity": 0.25})]
    by_class: dict[int, list] = {}
    markers = []
    for g in grids:
        place = places.get(g["grid_code"]) or {}
        if place.get("geometry"):
            by_class.setdefault(hotspot_class(g["expected"]), []).append({
                "type": "Feature", "id": g["grid_code"], "geometry": place["geometry"],
                "properties": {"tooltip": _tooltip(place.get("name") or g["grid_code"], g["rank"], g["expected"])}})
        if place.get("point"):
            markers.append(dl.DivMarker(position=place["point"], interactive=False, iconOptions={
                "html": str(int(g["rank"])), "className": "hs-rank", "iconSize": [20, 20], "iconAnchor": [-2, 22]}))
    for i in sorted(by_class):
        layers.append(dl.GeoJSON(data={"type": "FeatureCollection", "features": by_class[i]},
                                 zoomToBounds=not outline.get("features"),
                                 style={"color": "#cfe6ff", "weight": 2, "fillColor": PALETTE[min(i, len(PALETTE) - 1)],
                                        "fillOpacity": min(1.0, FILL_OPACITY + 0.3)}))
    return html.Div(className="hs-map-frame", children=[
        dl.Map(children=layers + markers, center=DEFAULT_CENTER, zoom=11, zoomSnap=0.1, zoomControl=False,
               attributionControl=False, scrollWheelZoom=False, doubleClickZoom=False, zoomAnimation=False,
               className="hs-map", style={"width": "100%", "height": "100%"}),
        hotspot_legend(),
    ])


def hotspot_legend() -> html.Div:
    rows = [html.Div("预计件数（7天）", className="legend-title")]
    lower = None
    for i, upper in enumerate(HOTSPOT_BREAKS + [None]):
        text = f"≤ {upper}" if lower is None else (f"> {lower}" if upper is None else f"{lower + 1}–{upper}")
        rows.append(html.Div(className="legend-row", children=[
            html.Span(className="legend-swatch", style={"background": swatch_colour(PALETTE[min(i, len(PALETTE) - 1)])}),
            html.Span(text)]))
        lower = upper
    return html.Div(rows, className="map-legend hs-legend")


def hotspot_section(hot: dict, places: dict[str, dict], outline: dict) -> html.Div:
    grids = hot["grids"]
    if not grids:
        return html.Div("暂无网格上报记录，无法预测热点", className="empty")
    items = [html.Li(className="hs-item", **{"data-grid": g["grid_code"], "data-rank": str(g["rank"])}, children=[
        html.Span(str(g["rank"]), className="hs-item-rank"),
        html.Span((places.get(g["grid_code"]) or {}).get("name") or g["grid_code"], className="hs-item-name"),
        html.Span(f"{count(g['expected'])} 件", className="hs-item-value"),
    ]) for g in grids]
    rec = hot["record"]
    if rec["hit_rate"] is not None:
        trust = (f"近{len(rec['weeks'])}周命中率 {percent(rec['hit_rate'])}（预测的前{rec['top_n']}个网格中实际进入"
                 f"当周前{rec['top_n']}的比例）；简单沿用上周排名为 {percent(rec['naive_hit_rate'])}")
    else:
        trust = f"网格不足{rec['top_n'] + 1}个，不计命中率"
    return html.Div(className="hs-body", children=[
        hotspot_map(grids, places, outline),
        html.Div(className="hs-side", children=[
            html.Div(f"{hot['start']} 至 {hot['end']}", className="hs-dates"),
            html.Ol(items, className="hs-list"),
            html.Div(trust, className="panel-note hs-trust"),
        ]),
    ])


# --- the record -----------------------------------------------------------------------------------------

def _verdict(inside: bool) -> html.Span:
    return html.Span("✓ 落入" if inside else "✗ 偏出", className="rec-in" if inside else "rec-out")


def record_table(rec: dict, scope_name: str, level: str = "county") -> html.Div:
    if not rec["weeks"]:
        if level in ("community", "grid"):
            return html.Div("回测按街道和全县进行（预测按街道生成）", className="empty")
        return html.Div("历史数据不足，暂无回测", className="empty")
    o = rec["overall"]
    series = "街道×类别" if len(rec["regions"]) > 1 else "类别"
    rows = [html.Tr(**{"data-week": w["start"], "data-inside": "true" if w["inside"] else "false"}, children=[
        html.Td(f"{w['start'][5:]} 至 {w['end'][5:]}"),
        html.Td(count(w["expected"]), className="num"),
        html.Td(interval(w["lo80"], w["hi80"]), className="num"),
        html.Td(count(w["actual"]), className="num rec-actual"),
        html.Td(_verdict(w["inside"])),
        html.Td(f"{w['series_inside']}/{w['series']}（{percent(w['coverage'])}）", className="num"),
        html.Td(f"{w['mae']:.1f}", className="num"),
        html.Td(NONE if w["naive_mae"] is None else f"{w['naive_mae']:.1f}", className="num"),
    ]) for w in rec["weeks"]]
    head = html.Tr([html.Th("周"), html.Th(f"{scope_name}预测", className="num"), html.Th("80%区间", className="num"),
                    html.Th("实际", className="num"), html.Th("合计是否落入"),
                    html.Th(f"各{series}落入区间", className="num"),
                    html.Th(f"平均绝对误差（每{series}每周）", className="num"),
                    html.Th("沿用上周的误差", className="num")])
    coverage = o["coverage"]
    if coverage is None:
        judged = ""
    elif coverage < 0.7:
        judged = "：区间偏窄，实际波动比区间显示的大，使用时应留余量"
    elif coverage > 0.9:
        judged = "：区间偏宽，偏保守"
    else:
        judged = "：与标称的80%相符"
    better = (o["naive_mae"] or 0) > 0 and o["mae"] is not None
    gain = f"，比简单沿用上周（{o['naive_mae']:.1f}）低 {percent(1 - o['mae'] / o['naive_mae'])}" if better and \
        o["mae"] < o["naive_mae"] else (f"，不优于简单沿用上周（{o['naive_mae']:.1f}）" if better else "")
    summary = html.Div(className="rec-summary", children=[
        html.Div(className="rec-figure", children=[
            html.Span("区间覆盖率", className="rec-figure-name"),
            html.Span(percent(coverage), className="rec-figure-value"),
            html.Span(f"{o['series_inside']}/{o['series_weeks']} 个“{series}×周”落入80%区间{judged}",
                      className="rec-figure-note")]),
        html.Div(className="rec-figure", children=[
            html.Span("合计落入", className="rec-figure-name"),
            html.Span(f"{o['total_inside']}/{o['weeks']} 周", className="rec-figure-value"),
            html.Span(f"{scope_name}每周合计的实际件数落入其80%区间的周数", className="rec-figure-note")]),
        html.Div(className="rec-figure", children=[
            html.Span("平均绝对误差", className="rec-figure-name"),
            html.Span(f"{o['mae']:.1f} 件", className="rec-figure-value"),
            html.Span(f"每个{series}每周（平均实际 {o['mean_actual']:.1f} 件）{gain}", className="rec-figure-note")]),
    ])
    parts = [summary, html.Table(className="page-table rec-table", children=[html.Thead(head), html.Tbody(rows)])]
    if len(rec["regions"]) > 1:
        parts.append(html.Table(className="page-table rec-regions", children=[
            html.Thead(html.Tr([html.Th("街道"), html.Th(f"近{o['weeks']}周合计落入区间", className="num"),
                                html.Th("每周合计平均绝对误差", className="num"), html.Th("每周平均实际", className="num")])),
            html.Tbody([html.Tr(**{"data-region": r["region_code"]}, children=[
                html.Td(r["region_name"]), html.Td(f"{r['inside']}/{r['weeks']}", className="num"),
                html.Td(f"{r['mae']:.1f} 件（{percent(r['mae'] / r['mean_actual'] if r['mean_actual'] else None)}）",
                        className="num"),
                html.Td(count(r["mean_actual"]), className="num")]) for r in rec["regions"]])]))
    return html.Div(parts)


# --- the concealment watch -------------------------------------------------------------------------------

def evidence_line(ev: dict) -> str:
    """The engine's evidence of one alert in words (as suspicion)."""
    weeks = f"近{ev['weeks']}周" if ev.get("weeks") else "近期"
    if ev.get("test") == "own_history" and ev.get("observed") is not None and ev.get("expected") is not None:
        u = f"；同期12345/随手拍/视频为以往的{percent(ev['uncontrolled_ratio'])}" if ev.get("uncontrolled_ratio") is not None else ""
        return (f"{TEST_NAMES['own_history']}：{weeks}网格员巡查上报 {int(ev['observed'])} 件，按以往应约 "
                f"{ev['expected']:.0f} 件（{percent(ev['ratio'])}）{u}")
    if ev.get("test") == "peers" and ev.get("share") is not None:
        return (f"{TEST_NAMES['peers']}：{weeks}巡查上报占比 {percent(ev['share'])}，同类社区 {percent(ev['peer_share'])}；"
                f"按同类应约 {ev['expected']:.0f} 件、实报 {int(ev['observed'])} 件")
    return "预警引擎标记（证据不完整）"


def concealment_list(rows: list[dict], names: dict[str, str], period_text: str, tz: ZoneInfo) -> html.Div:
    if not rows:
        return html.Div(f"本期（{period_text}）预警引擎未标记疑似瞒报漏报的社区", className="empty")
    items = []
    for row in rows:
        code = row["community"]
        place = f"{names.get(code[:9]) or ''}{names.get(code) or code}"
        statuses = []
        for a in row["alerts"]:
            state = "已解除" if a["ended_at"] is not None else "持续中"
            if a["dismissed"]:
                state = "已忽略"
            elif a["acknowledged"]:
                state += " · 已确认"
            statuses.append(html.Li(className="cw-alert", **{"data-alert-id": str(a["id"])}, children=[
                html.Span(evidence_line(a["evidence"])),
                html.Span(f"（{local_time(a['created_at'], tz)} 标记，{state}）", className="cw-when")]))
        p, peers, before = row["period"], row["peers"], row["before"]
        items.append(html.Li(className="cw-item", **{"data-community": code}, children=[
            html.Div(className="cw-head", children=[
                html.Span(place, className="cw-place"),
                html.Span("疑似瞒报漏报 · 建议核实", className="cw-tag")]),
            html.Table(className="page-table cw-table", children=[
                html.Thead(html.Tr([html.Th("网格员巡查上报占比"), html.Th("本社区本期", className="num"),
                                    html.Th(f"辖区其他{peers['communities']}个社区本期", className="num"),
                                    html.Th(f"本社区此前{before['weeks']}周", className="num")])),
                html.Tbody(html.Tr([html.Td("巡查 / (巡查 + 12345 + 随手拍 + 视频)"),
                                    html.Td(share_text(p), className="num"),
                                    html.Td(share_text(peers), className="num"),
                                    html.Td(share_text(before), className="num")])),
            ]),
            html.Ul(statuses, className="cw-alerts"),
        ]))
    return html.Div([
        html.Ol(items, className="cw-list"),
        html.Div("网格员巡查上报明显少于同类社区或自身以往，而居民和设备渠道未同步减少，可能是问题未被上报；"
                 "也可能另有原因（人员变动、工作调整、数据口径）。以上仅为线索，请核实后再作判断。",
                 className="panel-note cw-note"),
    ])
