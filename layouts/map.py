"""The map: the shown region's children shaded by a chosen figure, open cases clustered, alerts marked.

No tile layer by default: the wall runs on a government intranet without map tiles. Geometry is
sent once per region; colours and labels follow ``hideout`` (style, label and marker functions
live in ``assets/gridwall.js``), so a refresh only ships a few numbers per child.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash import dcc, html

from . import i18n

# Taicang's centre; replaced by fitting to the boundaries as soon as they arrive.
DEFAULT_CENTER = [31.55, 121.15]

# Classes low to high: colours the JS style function picks by index.
PALETTE = ["#1d4f7a", "#21708f", "#2f9c8f", "#d6a229", "#e0672c", "#d7263d"]
# The online rate is good when high: the same ramp read the other way.
PALETTE_HIGH_GOOD = list(reversed(PALETTE))

EMPTY = {"type": "FeatureCollection", "features": []}


def shade_control() -> dcc.RadioItems:
    return dcc.RadioItems(
        id="map-shade",
        options=[{"label": label, "value": value} for value, label, _ in i18n.SHADES],
        value="open",
        persistence=True,
        persistence_type="local",
        inline=True,
        className="shade-control control",
        inputClassName="shade-input",
        labelClassName="shade-label",
    )


def street_map(tile_url: str | None = None) -> html.Div:
    layers = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url))
    layers.append(dl.GeoJSON(
        id="map-regions",
        data=EMPTY,
        zoomToBounds=True,
        style={"variable": "gridwall.map.style"},
        hoverStyle={"variable": "gridwall.map.hover"},
        onEachFeature={"variable": "gridwall.map.label"},
        hideout={"values": {}, "breaks": [], "palette": PALETTE, "labels": {}, "overdue": {}},
    ))
    layers.append(dl.GeoJSON(
        id="map-cases",
        data=EMPTY,
        cluster=True,
        zoomToBoundsOnClick=False,
        spiderfyOnMaxZoom=False,
        interactive=False,
        pointToLayer={"variable": "gridwall.map.casePoint"},
        clusterToLayer={"variable": "gridwall.map.cluster"},
        superClusterOptions={"radius": 80, "maxZoom": 16},
    ))
    layers.append(dl.GeoJSON(
        id="map-alerts",
        data=EMPTY,
        interactive=False,
        pointToLayer={"variable": "gridwall.map.alertPoint"},
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
            scrollWheelZoom=False,
            doubleClickZoom=False,
            className="map",
            style={"width": "100%", "height": "100%"},
        ),
        html.Div(id="map-legend", className="map-legend"),
        html.Div(className="map-key", children=[
            html.Span([html.I(className="key-dot key-dot--o"), "超期事件"]),
            html.Span([html.I(className="key-dot key-dot--w"), "临期"]),
            html.Span([html.I(className="key-dot key-dot--n"), "在办"]),
            html.Span([html.I(className="key-alert"), "预警"]),
        ]),
    ])


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:g}"


def legend(shade: str, breaks: list[float], missing: list[str] | None = None) -> list:
    """Legend rows for the classes given by ``breaks`` (upper bounds, ascending).

    ``missing`` names the regions the map cannot draw (no usable boundary in the database).
    """
    label, unit = next(((lab, u) for v, lab, u in i18n.SHADES if v == shade), ("在办", "件"))
    palette = PALETTE_HIGH_GOOD if shade == "online_rate" else PALETTE
    rows = [html.Div(f"{label}（{unit}）", className="legend-title")]
    counts = unit == "件"  # whole numbers: 0–2, 3–4, ...
    lower = None
    for i, upper in enumerate(list(breaks) + [None]):
        if upper is None:
            text = f"> {_fmt(lower, unit)}" if lower is not None else "全部"
        elif lower is None:
            text = f"0 – {_fmt(upper, unit)}" if counts and upper > 0 else f"≤ {_fmt(upper, unit)}"
        elif counts:
            text = f"{_fmt(lower + 1, unit)}" + (f" – {_fmt(upper, unit)}" if upper > lower + 1 else "")
        else:
            text = f"{_fmt(lower, unit)} – {_fmt(upper, unit)}"
        rows.append(html.Div(className="legend-row", children=[
            html.Span(className="legend-swatch", style={"background": palette[min(i, len(palette) - 1)]}),
            html.Span(text),
        ]))
        lower = upper
    rows.append(html.Div(className="legend-row", children=[
        html.Span(className="legend-swatch legend-swatch--none"), html.Span("无数据")]))
    if missing:
        shown = "、".join(missing[:3]) + (f" 等{len(missing)}个" if len(missing) > 3 else "")
        rows.append(html.Div(f"无边界：{shown}", className="legend-missing"))
    return rows
