"""The wall's evidence panel: ``?alert=ID`` in the URL opens it (the link of a pushed message on a
desktop browser; a phone gets ``dashboard/web/alert_page.py``), 关闭 drops the parameter again.

The alert is read in the session user's scope (never the URL's region: a drilled-in wall still opens
an alert of its whole scope); one outside it reads as missing, like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qs

from dash import ClientsideFunction, Input, Output, State

from callbacks.live.outage import DataUnavailable, read
from callbacks.view import checked_search, wall_tz
from dashboard.identity.auth import current_scope
from dashboard.usecases.alert_view import alert_view
from dashboard.web.alert_page import alert_id_arg
from layouts import alert_detail as panel


def register(app) -> None:
    app.callback(Output("alert-detail-body", "children"), Output("alert-detail", "hidden"),
                 Input("url", "search"))(show_alert)
    app.clientside_callback(ClientsideFunction(namespace="gridwall", function_name="closeAlert"),
                            Output("url", "search", allow_duplicate=True), Input("alert-detail-close", "n_clicks"),
                            State("url", "search"), prevent_initial_call=True)


def show_alert(search):
    values = parse_qs(checked_search(search).lstrip("?")).get("alert")
    if not values:
        return [], True
    alert_id = alert_id_arg(values[0])
    if alert_id is None:
        return panel.missing("预警编号格式不正确"), False
    scope = current_scope()
    try:
        view = read(lambda conn: alert_view(conn, scope, alert_id, wall_tz(), datetime.now(timezone.utc)))
    except DataUnavailable:
        return panel.missing("数据库暂不可用，请稍后再试"), False
    if view is None:
        return panel.missing("预警不存在或不在本大屏的范围内"), False
    return panel.body(view), False
