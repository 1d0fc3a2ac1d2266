"""Navigation and the few things a person does at the wall.

- Drill-down: a click on a map region sets ``?region=`` (clientside); clicks on table rows and the
  breadcrumb are handled in assets/gridwall.js the same way (no page load).
- ``?kiosk=1`` hides every control; ``?rotate=SECONDS`` cycles through the root's streets.
- Acknowledging an alert (duty officers only) and the chime for a new critical alert.

The region in the URL is only a wish: every data callback narrows the user's own scope with it on
the server (``callbacks.view.resolve_view``).
"""

from __future__ import annotations

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, html, no_update

from callbacks import reads
from callbacks.live.outage import DataUnavailable
from callbacks.view import read_scope, resolve_view
from dashboard.identity.auth import auth_enabled, current_user
from data_access.scope import Scope


def register(app) -> None:
    def client(name, *deps, **kw):
        app.clientside_callback(ClientsideFunction(namespace="gridwall", function_name=name), *deps, **kw)

    client("kiosk", Output("wall", "className"), Output("kiosk-flag", "data"), Input("url", "search"))
    client("rotateConfig", Output("rotate-tick", "interval"), Output("rotate-tick", "disabled"), Input("url", "search"))
    client("rotateStep", Output("url", "search", allow_duplicate=True), Input("rotate-tick", "n_intervals"),
           State("url", "search"), State("rotate-regions", "data"), prevent_initial_call=True)
    client("mapClick", Output("url", "search", allow_duplicate=True), Input("map-regions", "clickData"),
           State("url", "search"), prevent_initial_call=True)
    client("mute", Output("mute-toggle", "children"), Output("mute-toggle", "className"),
           Input("mute-toggle", "n_clicks"))
    client("chime", Output("mute-toggle", "title"), Input("alert-chime", "data"))
    client("trend", Output("trend-graph", "figure"), Input("trend-data", "data"))
    client("deltas", *[Output(f"{t}-delta", p) for t in DELTA_TILES for p in ("children", "className")],
           Input("yesterday", "data"), *[Input(t, "children") for t in DELTA_TILES])

    app.callback(Output("rotate-regions", "data"), Input("url", "search"))(rotation)
    app.callback(Output("ack-result", "children"),
                 Input({"type": "alert-ack", "id": ALL}, "n_clicks"), State("url", "search"),
                 prevent_initial_call=True)(acknowledge)


DELTA_TILES = ("kpi-open", "kpi-overdue", "kpi-warning", "kpi-new-today", "kpi-closed-today")


def rotation(search):
    """The street codes ``?rotate=`` cycles through: the root's streets within the user's scope."""
    if "rotate=" not in (search or ""):
        return no_update
    try:
        view = resolve_view(search)
        base = view.base
        root = Scope(base.root, base.root)
        streets = [kid["code"] for kid in reads.child_names(root) if base.contains(kid["code"])]
    except DataUnavailable:
        return no_update
    return {"base": base.region, "regions": streets}


def acknowledge(clicks, search):
    """Acknowledge the clicked alert as the session user; only ``center`` users (any user with auth off)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    try:
        alert_id = int(str(trigger.get("id")))
    except ValueError:
        return no_update
    user = current_user()
    if auth_enabled() and (user is None or user.role != "center"):
        return html.Span("仅值班人员可确认预警", className="ack-msg ack-msg--bad")
    try:
        scope = read_scope()
        outcome = reads.acknowledge(scope, alert_id, user.username if user is not None else "demo")
    except DataUnavailable:
        return html.Span("数据库暂不可用，确认未保存", className="ack-msg ack-msg--bad")
    text = {"ok": f"预警 {alert_id} 已确认", "missing": "预警不存在或不在权限范围内",
            "closed": "预警已解除，无需确认"}[outcome]
    return html.Span(text, className="ack-msg" + ("" if outcome == "ok" else " ack-msg--bad"))
