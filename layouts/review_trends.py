"""The review page's sections: hot issues (热点问题) and the 26-week trend (趋势).

``#review-hot-issues`` holds the categories whose reported cases rose beyond chance (rows carry
``data-category`` and ``data-level``); ``#review-trend`` holds the small multiples of the main
figures over the last 26 weeks (``#review-trend-graph``, weeks of the period shaded, the week still
running drawn open and dashed). The callbacks (callbacks/review_trends.py) hand over plain rows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from .i18n import NONE, pct
from .shell import section

ALPHA_TEXT = "p < 0.01"
MIN_RATIO_BASE = 10  # as the headline figures: no ratio on a comparison count under 10
HOT_ROWS = 12  # rows shown (largest rises first); the API lists them all

LEVEL = {"major": "大类", "minor": "小类"}
COMPARISON = {"previous": "环比", "last_year": "同比"}

# The trend's panels: (figure key, title, kind) in the order drawn (2 rows of 4).
TREND_PANELS = (
    ("reported", "上报", "count"),
    ("closed", "办结", "count"),
    ("on_time_rate", "按期结案率", "rate"),
    ("closed_rate", "结案率", "rate"),
    ("satisfied_rate", "满意率", "rate"),
    ("return_rate", "退单率", "rate"),
    ("overdue_at_end", "期末超期", "count"),
    ("patrol_share", "巡查发现占比", "rate"),
)
TREND_COLUMNS = 4

# The wall's theme (assets/wall.css :root), for Plotly, which cannot read CSS variables.
THEME = {"text": "#eef4ff", "dim": "#9fb6d8", "faint": "#7d93b6", "edge": "#1b3b6b", "accent": "#3fd0ff",
         "rate": "#7dd3fc", "warn": "#f5c542", "band": "rgba(63, 208, 255, 0.12)",
         "grid": "rgba(27, 59, 107, 0.55)"}
FONT = ("Microsoft YaHei, PingFang SC, Noto Sans CJK SC, Source Han Sans SC, WenQuanYi Micro Hei, "
        "Hiragino Sans GB, sans-serif")
STATIC = {"staticPlot": True, "displayModeBar": False, "responsive": True}


def sections(role: str | None = None) -> list[html.Section]:
    return [
        section("热点问题", html.Div(id="review-hot-issues", className="hot-issues",
                                     children=[html.Div(NONE, className="empty")]),
                extra=html.Div(f"上报量显著上升的类别（精确检验，Holm 校正后 {ALPHA_TEXT}）", className="panel-note")),
        section("趋势（近26周）", html.Div(id="review-trend", className="review-trend",
                                          children=[html.Div(NONE, className="empty")]),
                extra=html.Div("阴影为本期，空心点为未满一周", className="panel-note")),
    ]


# --- hot issues ---------------------------------------------------------------------------------

def p_text(p: float | None) -> str:
    if p is None:
        return NONE
    if p < 0.0001:
        return "<0.0001"
    return f"{p:.4f}"


def ratio_text(ratio: float | None, baseline: int) -> str:
    if baseline == 0:
        return "新增"
    if baseline < MIN_RATIO_BASE or ratio is None:
        return NONE
    return f"{ratio:.1f}倍"


def share_text(share: float | None) -> str:
    return NONE if share is None else f"{share * 100:.0f}%"


def _comparison_cells(cmp: dict) -> list[html.Td]:
    if not cmp.get("covered", True):
        return [html.Td(str(cmp["count"]), className="num"),
                html.Td("无历史数据", colSpan=2, className="hot-uncovered", title="该比较期早于系统最早的数据，未作检验")]
    mark = "hot-sig" if cmp["significant"] else ""
    title = f"未校正 p = {p_text(cmp['p_value'])}" if cmp["p_adjusted"] is not None else "样本太少，不参与检验"
    return [html.Td(str(cmp["count"]), className=f"num {mark}".strip()),
            html.Td(ratio_text(cmp["ratio"], cmp["count"]), className=f"num {mark}".strip()),
            html.Td(("▲ " if cmp["significant"] else "") + p_text(cmp["p_adjusted"]), className=f"num {mark}".strip(),
                    title=title)]


def places_text(places: list[dict], names: dict[str, str]) -> str:
    return " · ".join(f"{names.get(p['code'], p['code'])} {p['count']}（{share_text(p['share'])}）"
                      for p in places) or NONE


def hot_issues_table(issues: list[dict], names: dict[str, str], tests: int) -> html.Div:
    """``issues``: ``HotIssue.to_dict()`` rows; ``names``: category names under "cat:<code>" and place names."""
    note = html.Div(f"共检验 {tests} 项（类别 × 环比/同比）；倍数按日均折算，比较基数不足 {MIN_RATIO_BASE} 件不显示倍数；"
                    "p 为 Holm 校正后的单侧精确检验值", className="panel-note")
    if not issues:
        return html.Div([html.Div(f"本期没有显著上升的类别（{ALPHA_TEXT}）", className="empty"), note])
    head = html.Thead([
        html.Tr([html.Th("类别", rowSpan=2), html.Th("层级", rowSpan=2), html.Th("本期", rowSpan=2, className="num"),
                 html.Th("环比（上期）", colSpan=3), html.Th("同比（去年同期）", colSpan=3),
                 html.Th("集中区域（前三）", rowSpan=2)]),
        html.Tr([html.Th("件数", className="num"), html.Th("倍数", className="num"), html.Th("p", className="num")] * 2),
    ])
    shown = issues[:HOT_ROWS]
    if len(issues) > len(shown):
        note = html.Div([html.Div(f"仅显示上升最多的前 {HOT_ROWS} 项（共 {len(issues)} 项）", className="panel-note"), note])
    rows = [html.Tr([
        html.Td(names.get(f"cat:{row['category_code']}", row["category_code"]),
                className="hot-minor" if row["level"] == "minor" else "hot-major"),
        html.Td(LEVEL.get(row["level"], row["level"])),
        html.Td(str(row["current"]), className="num"),
        *_comparison_cells(row["previous"]),
        *_comparison_cells(row["last_year"]),
        html.Td(places_text(row["places"], names), className="hot-places"),
    ], **{"data-category": row["category_code"], "data-level": row["level"]}) for row in shown]
    return html.Div([html.Table([head, html.Tbody(rows)], className="page-table hot-table"), note])


# --- the trend ----------------------------------------------------------------------------------

def _value_text(value, kind: str) -> str:
    if value is None:
        return NONE
    return pct(value) if kind == "rate" else str(int(value))


def trend_figure(weeks: list[dict]) -> go.Figure:
    """Small multiples of ``TREND_PANELS`` over the weeks.

    ``weeks``: oldest first, each ``{"start": date (Monday), "partial": bool, "in_period": bool,
    "figures": {key: value}}``. The weeks of the period are shaded; a week still running is an open
    marker joined by a dashed line.
    """
    last = weeks[-1] if weeks else None
    titles = []
    for key, title, kind in TREND_PANELS:
        latest = _value_text(last["figures"].get(key), kind) if last else NONE
        titles.append(f"{title}  {latest}" + ("（截至）" if last and last["partial"] else ""))
    rows = (len(TREND_PANELS) + TREND_COLUMNS - 1) // TREND_COLUMNS
    fig = make_subplots(rows=rows, cols=TREND_COLUMNS, subplot_titles=titles, horizontal_spacing=0.05,
                        vertical_spacing=0.2)
    days = [w["start"] for w in weeks]
    marked = [w["start"] for w in weeks if w["in_period"]]
    for n, (key, _title, kind) in enumerate(TREND_PANELS):
        row, col = n // TREND_COLUMNS + 1, n % TREND_COLUMNS + 1
        values = [w["figures"].get(key) for w in weeks]
        whole = [v if not w["partial"] else None for v, w in zip(values, weeks)]
        colour = THEME["rate"] if kind == "rate" else THEME["accent"]
        fig.add_trace(go.Scatter(x=days, y=whole, mode="lines+markers", line={"color": colour, "width": 2},
                                 marker={"size": 5, "color": colour}, connectgaps=False, showlegend=False),
                      row=row, col=col)
        if last is not None and last["partial"]:
            tail_x, tail_y = days[-2:], values[-2:]
            fig.add_trace(go.Scatter(x=tail_x, y=tail_y, mode="lines+markers",
                                     line={"color": colour, "width": 2, "dash": "dot"},
                                     marker={"size": [0, 8] if len(tail_x) == 2 else [8], "color": THEME["text"],
                                             "symbol": "circle-open", "line": {"width": 2, "color": colour}},
                                     showlegend=False), row=row, col=col)
        if marked:
            fig.add_vrect(x0=_shift(marked[0], -3.5), x1=_shift(marked[-1], 3.5), fillcolor=THEME["band"],
                          line_width=0, layer="below", row=row, col=col)
        y_axis = {"tickformat": ".0%", "range": rate_range(values)} if kind == "rate" else {"rangemode": "tozero"}
        fig.update_yaxes(row=row, col=col, gridcolor=THEME["grid"], zeroline=False, color=THEME["dim"],
                         nticks=4, **y_axis)
        fig.update_xaxes(row=row, col=col, type="date", tickformat="%m-%d", nticks=5, color=THEME["dim"],
                         gridcolor=THEME["grid"], showline=True, linecolor=THEME["edge"])
    fig.update_annotations(font={"color": THEME["text"], "size": 15, "family": FONT})
    fig.update_layout(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                      font={"color": THEME["dim"], "size": 12, "family": FONT},
                      margin={"l": 40, "r": 12, "t": 34, "b": 28}, showlegend=False)
    return fig


def rate_range(values: list, span: float = 0.2) -> list[float]:
    """A rate panel's y range: around the values, at least ``span`` wide (so that a steady 93 % does not
    look like a collapse, nor a 2-point dip like nothing), inside 0 .. 100 %."""
    known = [v for v in values if v is not None]
    if not known:
        return [0.0, 1.0]
    lo, hi = min(known), max(known)
    pad = max(0.0, span - (hi - lo)) / 2 + 0.02
    lo, hi = lo - pad, hi + pad
    if lo < 0:
        lo, hi = 0.0, min(1.0, hi - lo)
    if hi > 1:
        lo, hi = max(0.0, lo - (hi - 1)), 1.0
    return [round(lo, 4), round(hi, 4)]


def _shift(day: date, days: float) -> str:
    """A day moved by a fractional number of days, as Plotly's date text."""
    moment = datetime(day.year, day.month, day.day) + timedelta(days=days)
    return moment.strftime("%Y-%m-%d %H:%M")


def trend_graph(weeks: list[dict]) -> html.Div:
    if not weeks:
        return html.Div(NONE, className="empty")
    first, last = weeks[0]["start"], weeks[-1]["start"] + timedelta(days=6)
    return html.Div([
        dcc.Graph(id="review-trend-graph", figure=trend_figure(weeks), config=STATIC, className="review-trend-graph"),
        html.Div(f"{first.isoformat()} 至 {last.isoformat()}，每周一至周日；比率的分母见本期指标", className="panel-note"),
    ], **{"data-weeks": str(len(weeks)), "data-first": first.isoformat(), "data-last": weeks[-1]["start"].isoformat()})
