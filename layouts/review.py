"""The review page at ``/review`` (研判会商): the period under review, the core sections (headline
figures, children table and 红黑榜, score rules: layouts/review_core.py), the other sections
(layouts/review_*.py: departments, trends, forecast and the concealment watch).

The URL holds the whole view (``?region=&period=&date=&end=&at=``, ``&present=1`` for the
presentation mode), so a link reproduces it; the controls only rewrite the URL (assets/pages.js).
``#review-period`` carries the period's first and last days in ``data-start``/``data-end``
(docs/interfaces.md). In presentation mode the controls and navigation are hidden and each panel
after the period is one slide, scaled to fit the screen (assets/pages.js, ``pages.present``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from . import review_commitments, review_core, review_departments, review_forecast, review_trends
from . import review_alert_quality, review_packs
from .shell import REVIEW, page_frame, section

KIND_OPTIONS = [{"label": "周", "value": "week"}, {"label": "月", "value": "month"},
                {"label": "季度", "value": "quarter"}, {"label": "自定义", "value": "custom"}]


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
        html.Button("演示模式", id="review-present-on", n_clicks=0, className="review-apply review-present-on",
                    title="隐藏控件与导航，逐页放映（← → 翻页，Esc 退出）"),
        # The meeting pack of the region and period shown (GET /api/v1/review/pack; callbacks/review_export.py).
        html.A("导出 PDF", id="review-pack-pdf", href="/api/v1/review/pack?format=pdf", download="",
               className="review-apply review-pack", title="研判会商材料（PDF，A4 横向）"),
        html.A("导出 Excel", id="review-pack-xlsx", href="/api/v1/review/pack?format=xlsx", download="",
               className="review-apply review-pack", title="研判会商材料（Excel，每表一页）"),
    ])


def slide_nav() -> html.Div:
    """Presentation mode: the slide counter, previous/next and the way out (assets/pages.js)."""
    return html.Div(id="review-slides", className="review-slides", children=[
        html.Button("‹", id="review-slide-prev", className="review-apply", title="上一页（←）"),
        html.Span("", id="review-slide-count", className="review-slide-count"),
        html.Button("›", id="review-slide-next", className="review-apply", title="下一页（→）"),
        html.Button("退出演示", id="review-present-off", n_clicks=0, className="review-apply", title="Esc"),
    ])


def core_sections() -> list:
    """The headline figures, the children with their ranks and the 红黑榜, the score rules."""
    return [
        section("核心指标", html.Div(id="review-headline", children=[html.Div("—", className="empty")]),
                extra=html.Div("环比：与上期比；同比：与去年同期比。分母不足 10 时不计百分比变化，只列件数。",
                               className="panel-note")),
        section("下级区域排名", html.Div(className="review-ranking", children=[
            html.Div(className="review-ranking-table", children=[
                html.Table(id="review-children", className="page-table review-children-table"),
                html.Div(review_core.DISCOVERY_NOTE, className="panel-note review-discovery-note"),
            ]),
            html.Div(id="review-rolls", className="review-rolls"),
        ])),
        section("评分规则", html.Div(id="review-rules")),
    ]


def layout(username: str | None = None, role: str | None = None) -> html.Div:
    return html.Div(id="review", className="review", children=[
        dcc.Location(id="url", refresh=False),
        # The search the core sections were last drawn for; the other sections follow it (callbacks/review_core.py).
        dcc.Store(id="review-core-drawn", data=None),
        page_frame("研判会商", REVIEW.path, username, role, [
            section("研判周期", [
                controls(),
                html.Div(className="review-heading", children=[
                    html.Span(id="review-region", className="review-region", **{"data-region": ""}),
                    html.H2("—", id="review-period", className="review-period",
                            **{"data-start": "", "data-end": "", "data-partial": ""}),
                ]),
                html.Div(id="review-compare", className="review-compare"),
                html.Div(id="review-notice", className="notice"),
            ]),
            # The meeting opens with what the last one decided (督办事项).
            *review_commitments.sections(role),
            *core_sections(),
            *review_departments.sections(role),
            *review_trends.sections(role),
            *review_forecast.sections(role),
            *review_alert_quality.sections(role),
            *review_packs.sections(role),
        ]),
        slide_nav(),
    ])
