"""Callbacks of the review page's sections: hot issues (热点问题) and the 26-week trend (趋势).

Both read the view and period of the URL as the page's header does (callbacks/review.py
``view_period``: the user's scope from the server session, narrowed by ``?region=``; a period that
cannot be reviewed falls back to the last complete week; the header says why), then one read each:
``data_access.review_trends`` and, for hot issues, the test of ``dashboard.analytics.hot_issues``.
"""

from __future__ import annotations

from dash import Input, Output, html

from callbacks.live.outage import DataUnavailable, read
from callbacks.review_view import view_period
from dashboard.analytics.hot_issues import coverage, find_hot_issues, window_lengths
from dashboard.usecases.review_bodies import mark_gaps
from data_access.feeds_cases import region_and_category_names
from data_access.regions import children
from data_access.review_trends import category_counts, weekly_figures
from layouts import review_trends as page

UNAVAILABLE = "数据库暂不可用"


def register(app) -> None:
    # After the core sections (review-core-drawn): the renderer holds these until it is drawn.
    app.callback(Output("review-hot-issues", "children"), Input("url", "search"),
                 Input("review-core-drawn", "data"))(show_hot_issues)
    app.callback(Output("review-trend", "children"), Input("url", "search"),
                 Input("review-core-drawn", "data"))(show_trend)


def place_names(conn, scope) -> dict[str, str]:
    """Names of the categories ("cat:<code>") and of the scope's regions and child grids."""
    names = region_and_category_names(conn, scope)
    names.update({row["code"]: row["name"] for row in children(conn, scope)})
    return names


def show_hot_issues(search, _core_drawn=None):
    try:
        view, period, at, _notices = view_period(search)
        data, names = read(lambda conn: (category_counts(conn, view.scope, period, at), place_names(conn, view.scope)))
    except DataUnavailable:
        return html.Div(UNAVAILABLE, className="empty empty--bad")
    found = find_hot_issues(data["counts"], data["places"], window_lengths(data["windows"]),
                            covered=coverage(data["windows"], data["since"], data["counts"]))
    return page.hot_issues_table([issue.to_dict() for issue in found.issues], names, found.tests)


def trend_rows(weeks: list[dict]) -> list[dict]:
    """``weekly_figures`` rows as the layout draws them."""
    return [{"start": row["week"].week.first, "partial": row["week"].partial, "in_period": row["week"].in_period,
             "figures": row["figures"]} for row in weeks]


def show_trend(search, _core_drawn=None):
    try:
        view, period, at, _notices = view_period(search)
        weeks = mark_gaps(read(lambda conn: weekly_figures(conn, view.scope, period, at)))
    except DataUnavailable:
        return html.Div(UNAVAILABLE, className="empty empty--bad")
    return page.trend_graph(trend_rows(weeks))
