"""Callbacks of the panels beyond the tiles and the stream: SLA board, staffing detail, the region
table or grid profile, alerts, the trend and the change against yesterday.

The data-driven panels run, in one request, when the slower panels' version changes (``live-slow``:
one version per 10-second epoch, passed on by each wall within 8 s; see ``callbacks.live.tick`` and
assets/live.js) and send only what differs from what the browser shows. The trend and yesterday's figures run once a
minute. Timers and "minutes ago" tick in the browser.
"""

from __future__ import annotations

from typing import Any

from dash import ClientsideFunction, Input, Output, State, no_update
from flask import current_app

from callbacks import reads
from callbacks.live import shared, versions
from callbacks.live.outage import DataUnavailable
from callbacks.view import View, resolve_view
from dashboard.core.config import get_settings
from dashboard.identity.auth import has_role
from data_access.sla import CENTER_STAGES
from layouts import i18n, tile_catalogue
from layouts.alerts import alert_entries, critical_banner
from layouts.regions import children_table, grid_profile
from layouts.sla import late_total, sla_board
from layouts.staffing import staffing_detail

# The four slower panels answer in one request: one per wall and 10-second epoch instead of four
# (100 walls' panel requests were most of the server's work on the push channel).
PANEL_OUTPUTS = [
    Output("sla-board", "children"), Output("sla-board", "data-total"), Output("sla-state", "data"),
    Output("staffing-detail", "children"), Output("staff-state", "data"),
    Output("region-title", "children"), Output("region-table", "children"), Output("region-state", "data"),
    Output("alerts", "children"), Output("alerts", "data-total"), Output("alert-banner", "children"),
    Output("alerts", "data-view"), Output("alerts-state", "data"),
]
PANEL_STATES = ["sla-state", "staff-state", "region-state", "alerts-state"]


def register(app) -> None:
    app.callback(*PANEL_OUTPUTS, Input("live-slow", "data"), Input("url", "search"),
                 *(State(state_id, "data") for state_id in PANEL_STATES))(update_panels)
    app.callback(Output("trend-data", "data"),
                 Input("slow-tick", "n_intervals"), Input("url", "search"))(update_trend)
    app.callback(Output("yesterday", "data"),
                 Input("slow-tick", "n_intervals"), Input("url", "search"))(update_yesterday)
    # 较上周同期: each delta tile's change against last week (assets/gridwall.js weekDeltas).
    weekly = [t.id for t in tile_catalogue.delta_tiles()]
    app.clientside_callback(ClientsideFunction(namespace="gridwall", function_name="weekDeltas"),
                            *[Output(f"{t}-week", p) for t in weekly for p in ("children", "className")],
                            Input("tile-catalogue", "data"), Input("yesterday", "data"),
                            *[Input(t, "children") for t in weekly])


def _changed(kind: str, view: View, version: str, render, shown) -> tuple[list[Any], list[str]]:
    """The rendered outputs shared per version, with ``no_update`` where the browser already has them.

    What is rendered depends on the view (region, moment) and on the user's own region (which
    rows may drill down), so both are part of the key. ``render`` must not read through another
    shared result itself (its data is fetched before): the compute locks do not nest.
    """
    values, digests = shared.shared_outputs(f"{kind}:{view.key}:{view.base.region}", view.scope, version, render)
    return shared.only_changed(values, digests, shown), digests


def _view_version(search, live):
    """The view and its data version; DataUnavailable while the change signal says the data is down."""
    if isinstance(live, dict) and live.get("stale"):
        raise DataUnavailable("the data is stale")
    view = resolve_view(search)
    return view, versions.accepted_version(view, live)


def update_panels(live, search, sla_shown, staff_shown, region_shown, alerts_shown):
    """SLA board, staffing detail, region table and alerts; each sends only what changed."""
    return (*update_sla(live, search, sla_shown), *update_staffing(live, search, staff_shown),
            *update_region(live, search, region_shown), *update_alerts(live, search, alerts_shown))


# --- SLA board ---------------------------------------------------------------------------------

def own_stages() -> tuple[str, ...]:
    """The stages the viewer's own desk answers for, listed first: the center accepts and dispatches."""
    return CENTER_STAGES if has_role("center") else ()


def update_sla(live, search, shown):
    """The board and its true number of late cases (``data-total``: "另有 N 项" = total - shown)."""
    try:
        view, version = _view_version(search, live)
        board, root_name = reads.sla(view, version), reads.root_name(view)
        own = own_stages()

        def render():
            return [sla_board(board, board["at"], view.base.region, root_name, own), str(late_total(board))]

        (children, total), digests = _changed(f"sla-view-{'-'.join(own) or 'all'}", view, version, render, shown)
    except DataUnavailable:
        return no_update, no_update, no_update
    return children, total, digests


# --- staffing ----------------------------------------------------------------------------------

def staffing_names_shown() -> bool:
    """Offline workers by name: only where the deployment chose ``[staffing] detail = "names"``, and
    then to ``center`` users only (docs/security.md, "Staffing without surveillance")."""
    detail = current_app.config.get("GRIDWALL_STAFFING_DETAIL") or get_settings().staffing.detail
    return detail == "names" and has_role("center")


def update_staffing(live, search, shown):
    try:
        view, version = _view_version(search, live)
        names = staffing_names_shown()
        detail = reads.staffing_detail(view, version)
        figures = reads.figures_bundle(view.scope, view.moment(), version)["staffing"]
        on_duty = figures.get("on_duty")
        # Pings are not kept for long: a past moment where nobody on duty pinged has no record, not
        # everyone offline.
        history_gap = not view.live and bool(on_duty) and not figures.get("online")

        def render():
            return [staffing_detail(detail["offline"], detail["vacant"], detail["at"], view.base.region, on_duty,
                                    names=names, history_gap=history_gap)]

        (children,), digests = _changed(f"staff-view-{'names' if names else 'counts'}", view, version, render,
                                        shown)
    except DataUnavailable:
        return no_update, no_update
    return children, digests


# --- region table or grid profile --------------------------------------------------------------

def _ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["overdue"], -r["open"], r["code"]))


def update_region(live, search, shown):
    try:
        view, version = _view_version(search, live)
        level = view.scope.level
        statuses = level == "grid" and staffing_names_shown()
        if level == "grid":
            found = reads.profile(view, version)
        else:
            rows = reads.children_rows(view, version)

        def render():
            if level == "grid":
                return ["网格档案", grid_profile(found["profile"], found["at"], view.tz, statuses=statuses)]
            child = i18n.CHILD_LEVEL.get(level, "下级")
            return [f"{child}排行", children_table(_ranked(rows), view.base.region, child, view.tz)]

        (title, body), digests = _changed(f"region-view-{'names' if statuses else 'counts'}", view, version, render,
                                          shown)
    except DataUnavailable:
        return no_update, no_update, no_update
    return title, body, digests


# --- alerts ------------------------------------------------------------------------------------

def can_acknowledge() -> bool:
    """Duty officers (``center``) acknowledge; with auth off (demo) anyone at the wall may."""
    return has_role("center")


def update_alerts(live, search, shown):
    """The new alerts in the data layer's order (most severe first; never re-sorted here), the
    acknowledged ones as one line, ``data-total`` (every new alert in scope: "另有 N 项" is total -
    shown), the header's banner while a critical alert is new, and ``data-view``: the view the list
    is of. The chime is decided in the browser from the list as shown (assets/gridwall.js
    noticeAlerts): a critical entry the list did not show before in the same view."""
    try:
        view, version = _view_version(search, live)
        ack = can_acknowledge()
        bundle = reads.figures_bundle(view.scope, view.moment(), version)

        def render():
            found = bundle.get("alert_list") or {}
            alerts = found.get("rows") or []
            return [alert_entries(alerts, view.tz, can_ack=ack, acknowledged=found.get("acknowledged") or 0),
                    str(found.get("new") or 0), critical_banner(alerts, found.get("new_critical") or 0),
                    view.key]

        values, digests = _changed(f"alerts-view-{int(ack)}", view, version, render, shown)
    except DataUnavailable:
        return no_update, no_update, no_update, no_update, no_update
    return (*values, digests)


# --- trend and yesterday -----------------------------------------------------------------------

def update_trend(_n, search):
    try:
        view = resolve_view(search)
        return reads.trend(view)
    except DataUnavailable:
        return no_update


def update_yesterday(_n, search):
    """The case figures 24 hours and 7 days before, by tile id (the catalogue's tiles with a delta
    rule); the browser shows each tile's ▲/▼ against yesterday and against the same time last week."""
    try:
        view = resolve_view(search)
        before = reads.yesterday(view)
        week = reads.yesterday(view, days=7)
    except DataUnavailable:
        return no_update
    return {"view": view.key, "figures": tile_catalogue.yesterday_figures(before),
            "week": tile_catalogue.yesterday_figures(week)}
