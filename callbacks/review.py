"""Callbacks of the review page (``/review``): the period of the URL with the breadcrumb of the
drill-down, the presentation mode; the core sections (headline figures,
children, 红黑榜, score rules) are callbacks/review_core.py's, the others callbacks/review_*.py's.

The view comes from the URL as on the wall (``callbacks.view.resolve_view``: the user's scope from
the server session, narrowed by ``?region=``, ``?at=`` for a past moment) plus the period
(``?period=&date=&end=``, ``data_access.period.parse_period``); a period that cannot be reviewed
falls back to the last complete week and says why.
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, html, no_update

from callbacks.live.outage import DataUnavailable
from callbacks.reads import header_names
from callbacks.review_view import PERIOD_NOTICES, view_period  # noqa: F401 (PERIOD_NOTICES: re-exported)
from callbacks import review_commitments, review_core, review_departments, review_forecast, review_trends
from callbacks import review_alert_quality, review_export, review_packs
from layouts import review_core as core_layout
from layouts import review as page


def register(app) -> None:
    app.callback(
        Output("review-region", "children"),
        Output("review-region", "data-region"),
        Output("review-period", "children"),
        Output("review-period", "data-start"),
        Output("review-period", "data-end"),
        Output("review-period", "data-partial"),
        Output("review-notice", "children"),
        Output("review-kind", "value"),
        Output("review-date", "date"),
        Output("review-end", "date"),
        Input("url", "search"),
    )(show_period)

    def client(name, *deps, **kw):
        app.clientside_callback(ClientsideFunction(namespace="pages", function_name=name), *deps, **kw)

    client("periodSearch", Output("url", "search"), Input("review-apply", "n_clicks"),
           State("review-kind", "value"), State("review-date", "date"), State("review-end", "date"),
           State("url", "search"), prevent_initial_call=True)
    client("endEnabled", Output("review-end", "disabled"), Input("review-kind", "value"))
    client("presentSearch", Output("url", "search", allow_duplicate=True), Input("review-present-on", "n_clicks"),
           Input("review-present-off", "n_clicks"), State("url", "search"), prevent_initial_call=True)
    client("presentClass", Output("review", "className"), Input("url", "search"))
    review_core.register(app)
    for sections in (review_commitments, review_departments, review_trends, review_forecast):
        sections.register(app)
    review_alert_quality.register(app)  # 预警研判质量: each detector's record from the dispositions
    review_packs.register(app)  # 周报归档: the archive of weekly packs (gridwall worker)
    review_export.register(app)  # 导出 PDF / Excel: the pack of the region and period shown


def show_period(search):
    try:
        view, period, at, notices = view_period(search)
        names = header_names(view.base, view.scope)
    except DataUnavailable:
        return (no_update,) * 6 + (html.Span("数据库暂不可用", className="notice-item"),) + (no_update,) * 3
    region = core_layout.breadcrumb(review_core.crumbs(view, search)) if names["path"] else view.scope.region
    return (
        region, view.scope.region,
        page.period_label(period, at, view.tz), period.first.isoformat(), period.last.isoformat(),
        "true" if period.partial(at) else "false",
        [html.Span(text, className="notice-item") for text in notices],
        period.kind, period.first.isoformat(), period.last.isoformat() if period.kind == "custom" else None,
    )
