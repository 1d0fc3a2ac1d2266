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
from callbacks.panels import staffing_names_shown
from callbacks.view import checked_search, wall_tz
from dashboard.identity.auth import current_scope, has_role
from dashboard.usecases.alert_view import alert_view, parse_alert_id
from layouts import alert_detail as panel


def register(app) -> None:
    # Drawn again after an acknowledgement or its undo (ack-result changes), to show the judgement.
    app.callback(Output("alert-detail-body", "children"), Output("alert-detail", "hidden"),
                 Output("alert-detail-choices", "children"), Output("alert-detail-judge", "hidden"),
                 Input("url", "search"), Input("ack-result", "children"))(show_alert)
    app.clientside_callback(ClientsideFunction(namespace="gridwall", function_name="closeAlert"),
                            Output("url", "search", allow_duplicate=True), Input("alert-detail-close", "n_clicks"),
                            State("url", "search"), prevent_initial_call=True)


def show_alert(search, _ack=None):
    values = parse_qs(checked_search(search).lstrip("?")).get("alert")
    if not values:
        return [], True, [], True
    alert_id = parse_alert_id(values[0])
    if alert_id is None:
        return panel.missing("预警编号格式不正确"), False, [], True
    scope = current_scope()
    names = staffing_names_shown()
    try:
        view = read(lambda conn: alert_view(conn, scope, alert_id, wall_tz(), datetime.now(timezone.utc), names))
    except DataUnavailable:
        return panel.missing("数据库暂不可用，请稍后再试"), False, [], True
    if view is None:
        return panel.missing("预警不存在或不在本大屏的范围内"), False, [], True
    if view["status"] in ("new", "acknowledged") and has_role("center"):
        return panel.body(view), False, panel.choices(view), False
    return panel.body(view), False, [], True
