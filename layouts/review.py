"""The review page at ``/review`` (研判会商): the period under review and, until the period figures
arrive, the engine's stored forecast for the coming week.

The URL holds the whole view (``?region=&period=&date=&end=&at=``), so a link reproduces it; the
controls only rewrite the URL (assets/pages.js). ``#review-period`` carries the period's first and
last days in ``data-start``/``data-end`` (docs/interfaces.md).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from .shell import REVIEW, page_frame, section

KIND_OPTIONS = [{"label": "周", "value": "week"}, {"label": "月", "value": "month"},
                {"label": "季度", "value": "quarter"}, {"label": "自定义", "value": "custom"}]
FORECAST_DAYS = 7
FORECAST_ROWS = 40


def period_label(period, at: datetime, tz: ZoneInfo) -> str:
    """A period (``data_access.period.Period``) in words, e.g. "2026-11-16 至 2026-11-22（第47周）";
    while it is partial, followed by "截至 <E'>"."""
    span = f"{period.first.isoformat()} 至 {period.last.isoformat()}"
    if period.kind == "week":
        text = f"{span}（第{period.first.isocalendar().week}周）"
    elif period.kind == "month":
        text = f"{period.first.year}年{period.first.month}月（{span}）"
    elif period.kind == "quarter":
        text = f"{period.first.year}年第{(period.first.month - 1) // 3 + 1}季度（{span}）"
    else:
        text = f"{span}（共{period.days}天）"
    if period.partial(at):
        text += f" 截至 {period.as_of(at).astimezone(tz).strftime('%Y-%m-%d %H:%M')}"
    return text


def controls() -> html.Div:
    return html.Div(className="review-controls", children=[
        dcc.RadioItems(id="review-kind", options=KIND_OPTIONS, value="week", inline=True,
                       className="shade-control review-kind"),
        dcc.DatePickerSingle(id="review-date", display_format="YYYY-MM-DD", first_day_of_week=1,
                             placeholder="日期", className="review-date"),
        html.Span("至", className="review-to"),
        dcc.DatePickerSingle(id="review-end", display_format="YYYY-MM-DD", first_day_of_week=1,
                             placeholder="结束日期", disabled=True, className="review-date"),
        html.Button("查看", id="review-apply", n_clicks=0, className="review-apply"),
    ])


def forecast_table(rows: list[dict], names: dict[str, str]) -> html.Div:
    """Per region and category: the expected cases over the coming days (the engine's stored forecast)."""
    if not rows:
        return html.Div("暂无预测数据（预警引擎每日生成）", className="empty")
    shown = rows[:FORECAST_ROWS]
    body = [html.Tr([
        html.Td(names.get(r["region_code"], r["region_code"])),
        html.Td(names.get(f"cat:{r['category_code']}", r["category_code"])),
        html.Td(f"{r['expected']:.1f}", className="num"),
        html.Td(f"{r['expected'] / r['days']:.1f}", className="num"),
    ], **{"data-region": r["region_code"]}) for r in shown]
    table = html.Table(className="page-table", children=[
        html.Thead(html.Tr([html.Th("区域"), html.Th("类别"), html.Th(f"预计件数（{FORECAST_DAYS}天合计）"),
                            html.Th("日均")])),
        html.Tbody(body),
    ])
    more = [html.Div(f"仅显示前 {FORECAST_ROWS} 行（共 {len(rows)} 行）", className="panel-note")] \
        if len(rows) > len(shown) else []
    return html.Div([table, *more])


def layout(username: str | None = None, role: str | None = None) -> html.Div:
    return html.Div(id="review", children=[
        dcc.Location(id="url", refresh=False),
        page_frame("研判会商", REVIEW.path, username, role, [
            section("研判周期", [
                controls(),
                html.Div(className="review-heading", children=[
                    html.Span(id="review-region", className="review-region", **{"data-region": ""}),
                    html.H2("—", id="review-period", className="review-period",
                            **{"data-start": "", "data-end": "", "data-partial": ""}),
                ]),
                html.Div(id="review-notice", className="notice"),
            ]),
            section(f"预测（未来{FORECAST_DAYS}天）", html.Div(id="review-forecast", children=[
                html.Div("—", className="empty")]), extra=html.Div("来源：预警引擎每日预测", className="panel-note")),
        ]),
    ])
