"""The review page's 预警研判质量 for the view and period the header reads (``view_period``); roles
center and leader only (the section is not on a street's page, and its callback refuses one)."""

from __future__ import annotations

from dash import Input, Output, html

from callbacks.live.outage import DataUnavailable, read
from callbacks.review_view import view_period
from callbacks.view import checked_search
from dashboard.identity.auth import require_role
from dashboard.usecases.alert_quality import detector_quality
from layouts import review_alert_quality as page


def register(app) -> None:
    app.callback(Output("review-alert-quality", "children"), Input("url", "search"),
                 Input("review-core-drawn", "data"))(show_quality)


def show_quality(search, _core_drawn=None):
    checked_search(search)  # a query no page sends: 400, as for every callback of the page
    require_role(*page.ROLES)
    try:
        view, period, at, _notices = view_period(search)
        end = min(period.end, at)
        rows = read(lambda conn: detector_quality(conn, view.scope, period.start, end))
    except DataUnavailable:
        return html.Div("数据库暂不可用", className="empty empty--bad")
    return page.quality_table(rows)
