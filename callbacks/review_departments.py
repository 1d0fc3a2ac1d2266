"""Callbacks of the review page's sections on departments: receipts and returns per org (部门退单), the
bounced cases (推诿扯皮) and a case's flow log (流转记录, opened by ``?case=<code>``).

The view is the URL's (``callbacks.review_view.view_period``: the user's scope from the server
session narrowed by ``?region=``, the period, T). The flow log reads only cases of that scope (a
case outside it is "not found", as one that does not exist) and only what was logged by T. Rows go
out through ``dashboard.core.outward`` (titles and notes masked) before they are laid out.
"""

from __future__ import annotations

import re

from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from callbacks.live.outage import DataUnavailable, read
from callbacks.live.shared import cached_static
from callbacks.review_view import view_period
from callbacks.view import checked_search, query_params, resolve_view
from dashboard.core.outward import outward
from dashboard.identity.auth import require_role
from data_access import review
from data_access.feeds_cases import region_and_category_names
from data_access.review_departments import case_flow_as_of, departments_compared
from layouts import review_departments as page
from layouts.shell import REVIEW

# A case code as a platform writes it (contract: 320585-20261126-00042); anything else is not looked up.
CASE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def register(app) -> None:
    app.callback(
        Output("review-departments", "children"),
        Output("review-bounced", "children"),
        Output("review-departments-view", "data"),
        Input("url", "search"),
        Input("review-core-drawn", "data"),  # after the core sections: the renderer holds this until then
        State("review-departments-view", "data"),
    )(show_departments)
    app.callback(
        Output("review-case-flow", "children"),
        Output("review-case-flow", "hidden"),
        Output("review-case-flow", "data-case-code"),
        Input("url", "search"),
    )(show_case_flow)


def view_key(search: str | None) -> str:
    """The view the departments' tables show: the URL without ``case`` (opening a case changes nothing there)."""
    return page.with_case(checked_search(search), None)


def names_of(scope) -> dict[str, str]:
    return cached_static(f"review-names:{scope.region}",
                         lambda: read(lambda conn: region_and_category_names(conn, scope)), timeout=60)


def show_departments(search, _core_drawn=None, shown=None):
    key = view_key(search)
    if shown == key:
        raise PreventUpdate
    try:
        view, period, at, _notices = view_period(search)
        rows, bounced, flow_log = read(lambda conn: (departments_compared(conn, view.scope, period, at),
                                                     review.bounced_cases(conn, view.scope, period, at),
                                                     review.flow_log_kept(conn, view.scope)))
        names = names_of(view.scope)
    except DataUnavailable:
        bad = html.Div("数据库暂不可用", className="empty empty--bad")
        return bad, bad, None
    data = outward({"departments": rows, "bounced": bounced})
    return (page.departments_table(page.sort_departments(data["departments"]), flow_log),
            page.bounced_table(data["bounced"], names, search, flow_log), key)


def show_case_flow(search):
    require_role(*REVIEW.roles)
    code = query_params(search).get("case")
    if not code:
        return page.flow_panel_closed(), True, ""
    if not CASE_CODE.fullmatch(code):
        return page.flow_invalid(search), False, ""
    try:
        view = resolve_view(search)
        at = view.moment().at
        flow = read(lambda conn: case_flow_as_of(conn, view.scope, code, at))
        names = names_of(view.scope) if flow is not None else {}
    except DataUnavailable:
        return page.flow_unavailable(search), False, ""
    if flow is None:
        return page.flow_not_found(search), False, ""
    flow = outward(flow)
    return page.flow_log(flow, names, search, at, view.tz), False, flow["code"]
