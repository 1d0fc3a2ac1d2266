"""Navigation and the few things a person does at the wall.

- Drill-down: a click on a map region sets ``?region=`` (clientside); clicks on table rows and the
  breadcrumb are handled in assets/gridwall.js the same way (no page load).
- ``?kiosk=1`` hides every control; ``?rotate=SECONDS`` cycles through the root's streets and back to
  the root; a click or a key pauses it (assets/gridwall.js, ``gw.rotatePauseMs``).
- Acknowledging an alert (duty officers only), with 撤销 (undo) for a few seconds after. (The chime
  for a new critical alert is the browser's: assets/gridwall.js noticeAlerts.)

The region in the URL is only a wish: every data callback narrows the user's own scope with it on
the server (``callbacks.view.resolve_view``).
"""

from __future__ import annotations

import time

from dash import ALL, ClientsideFunction, Input, Output, State, ctx, html, no_update
from flask import current_app

from callbacks import reads
from callbacks.live.cache import shared_static
from callbacks.live.outage import DataUnavailable, read
from callbacks.view import checked_search, read_scope, resolve_view
from dashboard.core.outward import outward
from dashboard.identity.auth import RoleRequired, require_role
from layouts.alert_text import DISPOSITION
from dashboard.usecases.alerts import acknowledge_alert, undo_acknowledge
from data_access.dispositions import DISPOSITIONS, MAX_NOTE
from data_access.db import get_engine
from data_access.regions import rotation_streets
from layouts import tile_catalogue


def register(app) -> None:
    def client(name, *deps, **kw):
        app.clientside_callback(ClientsideFunction(namespace="gridwall", function_name=name), *deps, **kw)

    client("kiosk", Output("wall", "className"), Output("kiosk-flag", "data"), Input("url", "search"))
    client("rotateConfig", Output("rotate-tick", "interval"), Output("rotate-tick", "disabled"), Input("url", "search"))
    client("rotateStep", Output("url", "search", allow_duplicate=True), Input("rotate-tick", "n_intervals"),
           State("url", "search"), State("rotate-regions", "data"), prevent_initial_call=True)
    # Where the figures are of: "本页为 某街道 数据" drilled in, "轮播 3/9 · 某街道" while rotating.
    client("whereCaption", Output("scope-caption", "children"), Output("scope-caption", "className"),
           Input("breadcrumb", "children"), Input("url", "search"), Input("rotate-regions", "data"))
    client("mapClick", Output("url", "search", allow_duplicate=True), Input("map-regions", "clickData"),
           State("url", "search"), prevent_initial_call=True)
    client("mute", Output("mute-toggle", "children"), Output("mute-toggle", "className"),
           Input("mute-toggle", "n_clicks"))
    client("trend", Output("trend-graph", "figure"), Input("trend-data", "data"))
    # Each tile with a delta rule: its ▲/▼ against yesterday, in the order of the catalogue's rules
    # (the tile-catalogue store tells assets/gridwall.js the ids and tones).
    deltas = [t.id for t in tile_catalogue.delta_tiles()]
    client("deltas", *[Output(f"{t}-delta", p) for t in deltas for p in ("children", "className")],
           Input("tile-catalogue", "data"), Input("yesterday", "data"), *[Input(t, "children") for t in deltas])

    app.callback(Output("rotate-regions", "data"), Input("url", "search"))(rotation)
    # 确认 in the alerts list opens the evidence panel (callbacks/alert_detail.py); its 属实 / 误报 / 已知
    # buttons acknowledge with that disposition and the panel's note.
    client("openAlert", Output("url", "search", allow_duplicate=True),
           Input({"type": "alert-open", "id": ALL}, "n_clicks"), State("url", "search"), prevent_initial_call=True)
    app.callback(Output("ack-result", "children"),
                 Input({"type": "alert-ack", "id": ALL}, "n_clicks"), State("url", "search"),
                 State("alert-detail-note", "value"), prevent_initial_call=True)(acknowledge)
    app.callback(Output("ack-undone", "data"), Output("ack-result", "children", allow_duplicate=True),
                 Input({"type": "alert-undo", "id": ALL}, "n_clicks"), State("url", "search"),
                 prevent_initial_call=True)(undo)


def rotation(search):
    """The street codes ``?rotate=`` cycles through: the root's streets within the user's scope."""
    if "rotate=" not in checked_search(search):
        return no_update
    try:
        view = resolve_view(search)
        base = view.base
        streets = shared_static(f"rotation:{base.region}", lambda: read(lambda conn: rotation_streets(conn, base)),
                                timeout=reads.STATIC_TIMEOUT)
    except DataUnavailable:
        return no_update
    return {"base": base.region, "regions": streets}


MAX_ALERT_ID_DIGITS = 18  # as the API's /alerts/<id>/ack: a 64-bit integer column, never overflowed


def alert_id_of(value: object) -> int:
    """The alert id of an undo button (``layouts`` set it as a string of digits).

    Anything else is forged: ValueError, which answers that request 400 (``dashboard.web.security``)
    before it reaches the database (a 20-digit id overflowed the driver's integer).
    """
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ALERT_ID_DIGITS):
        raise ValueError(f"malformed alert id {text[:20]!r}")
    return int(text)


def ack_target_of(value: object) -> tuple[int, str | None]:
    """(alert id, disposition) of an ack button: ``"12:false_alarm"`` from the evidence panel; a bare
    ``"12"`` acknowledges without a judgement (as the API without a body). ValueError otherwise."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    number, sep, disposition = text.partition(":")
    if sep and disposition not in DISPOSITIONS:
        raise ValueError(f"malformed disposition {disposition[:20]!r}")
    return alert_id_of(number), (disposition if sep else None)


def _clicked_button() -> object:
    """The id value of the clicked ack or undo button; None when nothing was clicked (a button drawn)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return None
    return trigger.get("id")


def _clicked_alert() -> int | None:
    value = _clicked_button()
    return None if value is None else alert_id_of(value)


def _message(text: str, alert_id: int, bad: bool = False, extra=None) -> html.Span:
    # A new key each time: the message is a new element, and its CSS clears it again after a few seconds.
    return html.Span([html.Span(text), *([extra] if extra is not None else [])],
                     key=f"ack-{alert_id}-{time.monotonic_ns()}", className="ack-msg" + (" ack-msg--bad" if bad else ""))


def _title(outcome) -> str:
    """The alert's title as the wall shows it (masked: this leaves gridwall)."""
    alert = outward(outcome.alert or {})
    return (alert.get("title") or f"预警 {alert.get('id')}")[:60]


def acknowledge(clicks, search, note=None):
    """Acknowledge the clicked alert as the session user, with the disposition of the clicked button and
    the panel's note; only ``center`` users (any user with auth off).

    The answer names the alert by its title and offers 撤销 (undo) until it clears itself (5 s)."""
    value = _clicked_button()
    if value is None:
        return no_update
    alert_id, disposition = ack_target_of(value)
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ValueError(f"the note must be text of at most {MAX_NOTE} characters")
    try:
        user = require_role("center")
    except RoleRequired:
        return _message("仅值班人员可确认预警", alert_id, bad=True)
    engine = get_engine(current_app.config["GRIDWALL_DATABASE_URL"])
    try:
        scope = read_scope()
        outcome = read(lambda _conn: acknowledge_alert(engine, scope, user, alert_id, via="wall",
                                                       disposition=disposition, note=note if disposition else None),
                       connect=False)
    except DataUnavailable:
        return _message("数据库暂不可用，确认未保存", alert_id, bad=True)
    current_app.logger.info("wall alert ack %s by %s: %s", alert_id, user.username if user else "demo", outcome.status)
    if not outcome.ok:
        text = {"not_found": "预警不存在或不在权限范围内", "closed": "预警已解除，无需确认",
                "elsewhere": "该预警来自县（市、区）平台，请由该县指挥中心确认"}[outcome.status]
        return _message(text, alert_id, bad=True)
    undo_button = html.Button("撤销", id={"type": "alert-undo", "id": str(alert_id)}, n_clicks=0,
                              className="ack-undo control")
    judged = f"（{DISPOSITION[disposition]}）" if disposition else ""
    return _message(f"已确认{judged}：{_title(outcome)}", alert_id, extra=undo_button)


def undo(clicks, search):
    """Take back the session user's own acknowledgement just made (``undo_acknowledge``: the same user,
    within its short window); ``center`` users only, as acknowledging."""
    alert_id = _clicked_alert()
    if alert_id is None:
        return no_update, no_update
    try:
        user = require_role("center")
    except RoleRequired:
        return no_update, _message("仅值班人员可撤销确认", alert_id, bad=True)
    engine = get_engine(current_app.config["GRIDWALL_DATABASE_URL"])
    try:
        scope = read_scope()
        outcome = read(lambda _conn: undo_acknowledge(engine, scope, user, alert_id, via="wall"), connect=False)
    except DataUnavailable:
        return no_update, _message("数据库暂不可用，撤销未保存", alert_id, bad=True)
    current_app.logger.info("wall alert undo %s by %s: %s", alert_id, user.username if user else "demo",
                            outcome.status)
    if not outcome.ok:
        return no_update, _message("无法撤销：预警已由他人处理或已超过撤销时限", alert_id, bad=True)
    return str(alert_id), _message(f"已撤销确认：{_title(outcome)}", alert_id)
