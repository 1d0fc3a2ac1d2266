"""The street map: region polygons on a dark background, coloured by open cases.

No tile layer by default: the wall runs on a government intranet without map tiles. Geometry is
sent once per region; colours and labels follow ``hideout`` (style and label functions live in
``assets/gridwall.js``), so a refresh only ships a few numbers per street.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash import html

# Taicang's centre; replaced by fitting to the boundaries as soon as they arrive.
DEFAULT_CENTER = [31.55, 121.15]

# Open-case classes, low to high: colours the JS style function picks by index.
PALETTE = ["#1d4f7a", "#21708f", "#2f9c8f", "#d6a229", "#e0672c", "#d7263d"]


def street_map(tile_url: str | None = None) -> html.Div:
    layers = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url))
    layers.append(dl.GeoJSON(
        id="map-regions",
        data={"type": "FeatureCollection", "features": []},
        zoomToBounds=True,
        style={"variable": "gridwall.map.style"},
        onEachFeature={"variable": "gridwall.map.label"},
        hideout={"figures": {}, "breaks": [], "palette": PALETTE},
    ))
    return html.Div(className="map-frame", children=[
        dl.Map(
            id="map",
            children=layers,
            center=DEFAULT_CENTER,
            zoom=10,
            zoomSnap=0.1,
            # Labels are placed once per redraw; an animated zoom would leave some mid-flight.
            zoomAnimation=False,
            markerZoomAnimation=False,
            zoomControl=False,
            attributionControl=False,
            className="map",
            style={"width": "100%", "height": "100%"},
        ),
        html.Div(id="map-legend", className="map-legend"),
    ])


def legend(breaks: list[int], missing: list[str] | None = None) -> list:
    """Legend rows for the open-case classes given by ``breaks`` (upper bounds, ascending).

    ``missing`` names the regions the map cannot draw (no usable boundary in the database).
    """
    rows = [html.Div("在办事件", className="legend-title")]
    lower = 0
    for i, upper in enumerate(breaks + [None]):
        text = f"{lower}+" if upper is None else (f"{lower}" if upper == lower else f"{lower}–{upper}")
        rows.append(html.Div(className="legend-row", children=[
            html.Span(className="legend-swatch", style={"background": PALETTE[min(i, len(PALETTE) - 1)]}),
            html.Span(text),
        ]))
        if upper is None:
            break
        lower = upper + 1
    if missing:
        shown = "、".join(missing[:3]) + (f" 等{len(missing)}个" if len(missing) > 3 else "")
        rows.append(html.Div(f"无边界：{shown}", className="legend-missing"))
    return rows
