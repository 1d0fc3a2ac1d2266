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

# Classes low to high, one sequential hue for every shading figure: more is brighter. Not the SLA's
# yellow and red, which mean 临期 and 超期 everywhere on the wall. The JS style function picks by index.
PALETTE = ["#0f2a4d", "#153f70", "#1c5794", "#2b73b8", "#4a94d6", "#7ab6ee"]
FILL_OPACITY = 0.55  # the regions' fill over the dark map; the legend's swatches are drawn alike
OUTLINE = "#9fc6ff"  # a region's edge (assets/gridwall.js map.style)
NO_DATA = "#3a3f47"  # grey, apart from the blues (assets/wall.css .legend-swatch--none)

# Class upper bounds per shading figure and the level of the regions shaded, fixed so that a colour
# means the same figure from one refresh, one moment and one region of that level to the next.
# Counts are open cases (or overdue ones) per region; per_1000 per thousand residents; online_rate %.
BREAKS: dict[str, dict[str, list[float]]] = {
    "open": {"county": [50, 100, 250, 500, 1000], "street": [10, 25, 50, 100, 200],
             "community": [2, 5, 10, 20, 40], "grid": [1, 2, 4, 8, 16]},
    "overdue": {"county": [10, 25, 50, 100, 250], "street": [2, 5, 10, 25, 50],
                "community": [1, 2, 5, 10, 20], "grid": [1, 2, 3, 5, 10]},
    "per_1000": {"county": [0.25, 0.5, 1, 2, 4], "street": [0.25, 0.5, 1, 2, 4],
                 "community": [0.5, 1, 2, 4, 8], "grid": [0.5, 1, 2, 4, 8]},
    "online_rate": {level: [50, 70, 80, 90, 95] for level in ("county", "street", "community", "grid")},
}


def breaks_for(shade: str, level: str) -> list[float]:
    """The fixed class bounds of a shading figure for regions of ``level`` (grid's for anything finer)."""
    by_level = BREAKS.get(shade, BREAKS["open"])
    return list(by_level.get(level, by_level["grid"]))


def swatch_colour(colour: str) -> str:
    """A palette colour as the map shows it: at the fill's opacity (over the legend's dark ground)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {FILL_OPACITY})"

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
        hideout={"values": {}, "breaks": [], "palette": PALETTE, "labels": {}, "overdue": {},
                 "fillOpacity": FILL_OPACITY, "noData": NO_DATA},
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
        # The key draws what the map draws: the case points' colours, outline and sizes, and the
        # alert markers' own markup (assets/gridwall.js casePoint, alertPoint).
        html.Div(className="map-key", children=[
            html.Span([html.I(className="key-dot key-dot--o"), "超期事件"]),
            html.Span([html.I(className="key-dot key-dot--w"), "临期"]),
            html.Span([html.I(className="key-dot key-dot--n"), "在办"]),
            html.Span([alert_symbol("critical"), "严重预警"]),
            html.Span([alert_symbol("warning"), "预警"]),
        ]),
    ])


def alert_symbol(severity: str) -> html.Span:
    return html.Span(className="alert-marker", children=html.Div(html.B("!"), className=f"am am--{severity}"))


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:g}"


def legend(shade: str, breaks: list[float], missing: list[str] | None = None) -> list:
    """Legend rows for the classes given by ``breaks`` (upper bounds, ascending).

    ``missing`` names the regions the map cannot draw (no usable boundary in the database).
    """
    label, unit = next(((lab, u) for v, lab, u in i18n.SHADES if v == shade), ("在办", "件"))
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
            html.Span(className="legend-swatch",
                      style={"background": swatch_colour(PALETTE[min(i, len(PALETTE) - 1)])}),
            html.Span(text),
        ]))
        lower = upper
    rows.append(html.Div(className="legend-row", children=[
        html.Span(className="legend-swatch legend-swatch--none"), html.Span("无数据")]))
    if missing:
        shown = "、".join(missing[:3]) + (f" 等{len(missing)}个" if len(missing) > 3 else "")
        rows.append(html.Div(f"无边界：{shown}", className="legend-missing"))
    return rows
