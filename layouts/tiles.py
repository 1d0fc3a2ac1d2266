"""Figure tiles: a label and a value element; callbacks fill the value by its id.

The value element holds the figure alone (plain digits or a percentage), so that a test or a
screen reader can read it; the label lives in a sibling element.
"""

from __future__ import annotations

from dash import html

from . import i18n


def tile(tile_id: str, label: str, tone: str = "info", size: str = "md", unit: str | None = None) -> html.Div:
    value = [html.Span(i18n.NONE, id=tile_id, className="tile-value")]
    if unit:
        value.append(html.Span(unit, className="tile-unit"))
    return html.Div(
        className=f"tile tile--{tone} tile--{size}",
        children=[html.Div(label, className="tile-label"), html.Div(value, className="tile-figure")],
    )


def case_tiles() -> html.Div:
    tiles = [tile(tile_id, text, tone, "lg") for tile_id, text, tone in i18n.CASE_TILES]
    tiles.append(tile("kpi-alerts-new", "新预警", "alert", "lg"))
    return html.Div(tiles, id="case-tiles", className="tile-row")


def rate_tiles() -> html.Div:
    return html.Div(
        [tile(tile_id, text, "rate", "md") for tile_id, text, _ in i18n.RATE_TILES],
        id="rates", className="tile-grid",
    )


def staffing_tiles() -> html.Div:
    return html.Div(
        [tile(tile_id, text, "staff", "md") for tile_id, text, _ in i18n.STAFFING_TILES],
        id="staffing", className="tile-grid",
    )
