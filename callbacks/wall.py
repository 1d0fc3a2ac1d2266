"""Callbacks of the wall: header, figures and the live case stream.

The other panels have their own modules: ``callbacks.panels`` (SLA board, staffing detail, region
table or grid profile, alerts, trend, yesterday's figures), ``callbacks.map_view`` (the map) and
``callbacks.nav`` (drill-down, kiosk, rotation, alert acknowledgement).

Each one resolves the view from the URL and the server-side scope, reads through
``callbacks.live.data`` and shapes the result. The figures and the stream are answered by the wall's
tick itself (``callbacks.live.tick``: one request instead of three) when the data version of the view
changes, not on every tick, and send only what changed. When the database cannot be read, they keep their last good values; ``#freshness``
(``callbacks.live.tick``) says since when the data stopped.
"""

from __future__ import annotations

import time
from datetime import timezone

from dash import ClientsideFunction, Input, Output, html, no_update

from callbacks.live.outage import DataUnavailable
from callbacks.live.shared import only_changed, shared_outputs
from callbacks.live.versions import accepted_version
from callbacks.reads import figures_bundle, header_names, stream_bundle
from callbacks.view import View, resolve_view, with_params
from layouts import i18n, tile_catalogue
from layouts.stream import STREAM_LIMIT, case_entry, case_key

UTC = timezone.utc

# Every so many seconds the stream is rendered whole, so that any drift between the browser's list
# and the server's idea of it (a lost response, a corrected row) heals by itself.
FULL_STREAM_EVERY = 60


def figure_output_list() -> list[Output]:
    """The tiles' values (one per tile catalogue entry, in its order) and their digests: answered by
    the tick (``callbacks.live.tick``)."""
    return [*(Output(tile_id, "children") for tile_id in tile_catalogue.ids()), Output("figures-state", "data")]


# The stream travels as data (keys and the entries the page lacks); assets/live.js draws it.
STREAM_OUTPUTS = [Output("stream-feed", "data"), Output("stream-state", "data")]


def register(app) -> None:
    app.callback(
        Output("wall-title", "children"),
        Output("breadcrumb", "children"),
        Output("region-notice", "children"),
        Output("view-mode", "children"),
        Output("wall-clock", "data"),
        Input("url", "search"),
        Input("header-tick", "n_intervals"),
    )(update_header)

    app.clientside_callback(
        ClientsideFunction(namespace="gridwall", function_name="clock"),
        Output("clock", "children"),
        Input("wall-clock", "data"),
    )


# --- header ------------------------------------------------------------------------------------

def update_header(search, _n):
    try:
        view = resolve_view(search)
        names = header_names(view.base, view.scope)
    except DataUnavailable:
        return i18n.CENTER_TITLE, no_update, no_update, no_update, no_update
    title = i18n.CENTER_TITLE  # the region's name is the breadcrumb's first link, not repeated here
    crumbs = []
    for i, (code, name) in enumerate(names["path"]):
        if i:
            crumbs.append(html.Span("›", className="crumb-sep"))
        current = code == view.scope.region
        crumbs.append(html.A(i18n.place_name(code, name),
                             href=with_params(search, region=None if code == view.base.region else code),
                             className="crumb crumb--current" if current else "crumb",
                             **{"data-region": code}))
    notice = [html.Span(text, className="notice-item") for text in view.notices]
    # A past view says so in #freshness ("历史数据 · ...", assets/live.js); here the way back.
    mode = [] if view.live else [html.A("返回实时", href=with_params(search, at=None), id="back-live",
                                        className="back-live control", title="离开历史数据，回到实时")]
    clock = {"tz": str(view.tz.key), "at": view.at.isoformat() if view.at else None}
    return title, crumbs, notice, mode, clock


# --- figures -----------------------------------------------------------------------------------

def update_figures(live, search, shown):
    """The figure outputs of the view's data version, ``no_update`` where the browser has them already.

    Rendered once per (region, version) for every viewer; the last output holds their digests.
    """
    nothing = (no_update,) * (len(tile_catalogue.TILES) + 1)
    if isinstance(live, dict) and live.get("stale"):
        return nothing
    try:
        view = resolve_view(search)
        values, digests = figure_outputs(view, accepted_version(view, live))
    except DataUnavailable:
        return nothing
    return (*only_changed(values, digests, shown), digests)


def figure_outputs(view: View, version: str) -> tuple[list, list[str]]:
    """The tiles' values of a version and their digests, rendered once for every viewer."""
    # Read before rendering: the shared compute locks must not nest (a thread would wait for itself).
    data = figures_bundle(view.scope, view.moment(), version)
    return shared_outputs("figures-out", view.scope, version, lambda: tile_catalogue.values(data))


# --- case stream -------------------------------------------------------------------------------

def update_stream(live, search, state):
    if isinstance(live, dict) and live.get("stale"):
        return no_update, no_update
    try:
        view = resolve_view(search)
        m = view.moment()
        cases = stream_bundle(view.scope, m, accepted_version(view, live), STREAM_LIMIT)
    except DataUnavailable:
        return no_update, no_update
    today = m.at.astimezone(view.tz).date()
    keys = [case_key(c) for c in cases]
    state = state or {}
    same_view = state.get("view") == view.key
    shown = (state.get("keys") or []) if same_view else []
    known = set(shown)
    now = time.time()
    new_state = {"view": view.key, "keys": keys, "full": state.get("full") if shown else now}

    def feed(rows, full: bool) -> dict:
        return {"view": view.key, "keys": keys, "full": full,
                "entries": {case_key(c): case_entry(c, view.tz, today, at=m.at) for c in rows}}

    if not shown or now - (state.get("full") or 0) > FULL_STREAM_EVERY:
        return feed(cases, True), {**new_state, "full": now}
    if keys == shown:
        return no_update, no_update
    return feed([c for c in cases if case_key(c) not in known], False), new_state
