"""The map: shapes once per region (cached by the browser), then only values and changed markers.

The shapes travel as a file (``/_wall/shapes/<region>.json?v=<digest>``) that the browser keeps in
its HTTP cache: a region seen before, or the same region after a reload, costs no transfer. The
callback sets only that URL; the values of the chosen figure (``map-shade``) travel in ``hideout``,
which the style function in assets/gridwall.js reads, and the marker layers only when they change.
"""

from __future__ import annotations

import html as html_text
from typing import Any

from dash import Input, Output, State, get_relative_path, no_update
from flask import abort, jsonify, request

from callbacks import reads
from callbacks.live import shared, versions
from callbacks.live.outage import DataUnavailable
from callbacks.view import read_scope, resolve_view
from data_access.scope import BadRegionCode, ScopeError
from layouts import i18n
from layouts.map import FILL_OPACITY, NO_DATA, PALETTE, breaks_for, legend

SHADE_KEYS = [value for value, _, _ in i18n.SHADES]
SHAPES_PATH = "/_wall/shapes/"
SHAPES_MAX_AGE = 7 * 86400  # the URL changes with the shapes, so the browser may keep them long
# The level of the regions the map shades for a view of each level (a grid shows itself).
SHADED_LEVEL = {"city": "county", "county": "street", "street": "community", "community": "grid", "grid": "grid"}


def register(app) -> None:
    app.server.add_url_rule(SHAPES_PATH + "<code>.json", "wall_shapes", shapes_file)
    app.callback(
        Output("map-regions", "data"),
        Output("map-regions", "url"),
        Output("map-regions", "hideout"),
        Output("map-legend", "children"),
        Output("map-cases", "data"),
        Output("map-alerts", "data"),
        Output("map-state", "data"),
        Input("live-slow", "data"),
        Input("map-shade", "value"),
        Input("url", "search"),
        State("map-state", "data"),
    )(update_map)


def shaded_breaks(shade: str, level: str) -> list[float]:
    """The class bounds for shading the children of a ``level`` view: fixed per figure and level
    (layouts/map.py BREAKS), never drawn from the values shown, so a colour keeps its meaning."""
    return breaks_for(shade, SHADED_LEVEL.get(level, "grid"))


def shade_values(row: dict[str, Any]) -> dict[str, float | None]:
    """Every shading figure of one child (None where it has no denominator)."""
    population = row.get("population") or 0
    on_duty = row.get("on_duty") or 0
    return {
        "open": row.get("open", 0),
        "overdue": row.get("overdue", 0),
        "per_1000": round(row.get("open", 0) * 1000 / population, 2) if population else None,
        "online_rate": round(100 * (row.get("online") or 0) / on_duty, 1) if on_duty else None,
    }


def _label(name: str, shade: str, value: float | None, overdue: int) -> str:
    """Label HTML for one region: Leaflet sets it as innerHTML, so every name is escaped here."""
    unit = next(u for v, _, u in i18n.SHADES if v == shade)
    if value is None:
        shown = i18n.NONE
    elif unit == "%":
        shown = f"{value:.0f}%"
    else:
        shown = f"{value:g}"
    sub = f"<div class='rl-sub'>超期 {overdue}</div>" if overdue and shade != "overdue" else ""
    # data-p: the label's priority when labels collide (assets/gridwall.js: declutter).
    priority = (value or 0) + overdue * 1000
    return (f"<div class='rl' data-p='{priority:g}'><div class='rl-name'>{html_text.escape(name)}</div>"
            f"<div class='rl-open'>{html_text.escape(shown)}</div>{sub}</div>")


def _rows_for_map(view, version, geo) -> list[dict[str, Any]]:
    if view.scope.level == "grid":
        found = reads.profile(view, version)["profile"] or {}
        cases = found.get("cases") or {}
        workers = [w for w in found.get("workers") or [] if w.get("role") == "grid_worker" and w.get("active")]
        return [{"code": view.scope.region, "name": found.get("name") or view.scope.region,
                 "open": cases.get("open", 0), "overdue": cases.get("overdue", 0),
                 "population": found.get("population") or 0,
                 "on_duty": sum(1 for w in workers if w["on_duty"]),
                 "online": sum(1 for w in workers if w["online"])}]
    return reads.children_rows(view, version)


def shapes_file(code: str):
    """The map shapes of a region in the user's scope, as a file the browser may cache (private)."""
    try:
        scope = read_scope().narrow(code)
        body = reads.shapes(scope)
    except BadRegionCode:
        abort(400)
    except ScopeError:
        abort(403)
    except DataUnavailable:
        abort(503)
    response = jsonify(body)
    response.headers["Cache-Control"] = f"private, max-age={SHAPES_MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)


def shapes_url(region: str, version: str) -> str:
    return get_relative_path(f"{SHAPES_PATH}{region}.json") + f"?v={version}"


def update_map(live, shade, search, state):
    shade = shade if shade in SHADE_KEYS else "open"
    state = state if isinstance(state, dict) else {}
    if isinstance(live, dict) and live.get("stale"):
        return (no_update,) * 7
    try:
        view = resolve_view(search)
        version = versions.accepted_version(view, live)
        geo = reads.boundaries(view)
        rows = {r["code"]: r for r in _rows_for_map(view, version, geo)}
        layers = reads.markers(view, version)
        shapes_version = reads.shapes_digest(view.scope)
    except DataUnavailable:
        return (no_update,) * 7
    values, labels, overdue, stale = {}, {}, {}, {}
    for feature in geo["features"]:
        code = feature["id"]
        row = rows.get(code) or {"open": 0, "overdue": 0}
        value = shade_values(row)[shade]
        values[code] = value
        overdue[code] = int(row.get("overdue", 0))
        name = i18n.place_name(code, feature["properties"].get("name"))
        if row.get("stale"):  # a roll-up's county whose feed stopped: its last data, marked
            stale[code] = True
            name = f"{name}（{i18n.stale_mark(row.get('data_as_of'), view.tz)}）"
        labels[code] = _label(name, shade, value, overdue[code])
    breaks = shaded_breaks(shade, view.scope.level)
    hideout = {"values": values, "labels": labels, "breaks": breaks, "palette": PALETTE, "overdue": overdue,
               "fillOpacity": FILL_OPACITY, "noData": NO_DATA, "stale": stale}
    url = shapes_url(view.scope.region, shapes_version)
    same_region = state.get("region") == view.scope.region and state.get("url") == url
    # The data prop wins over url in dash-leaflet: it is cleared so that the file is read.
    shapes_data, shapes_link = (no_update, no_update) if same_region else (None, url)
    missing = [s.get("name") or s.get("code") for s in geo.get("skipped", [])]
    case_digest, alert_digest = shared.digest(layers["cases"]), shared.digest(layers["alerts"])
    cases = no_update if same_region and state.get("cases") == case_digest else layers["cases"]
    alerts = no_update if same_region and state.get("alerts") == alert_digest else layers["alerts"]
    hideout_digest = shared.digest([shade, hideout, missing])
    if same_region and state.get("hideout") == hideout_digest:
        hideout_out = legend_out = no_update
    else:
        hideout_out, legend_out = hideout, legend(shade, breaks, missing)
    new_state = {"region": view.scope.region, "url": url, "cases": case_digest, "alerts": alert_digest,
                 "hideout": hideout_digest}
    return shapes_data, shapes_link, hideout_out, legend_out, cases, alerts, new_state
