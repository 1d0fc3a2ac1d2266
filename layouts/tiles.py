"""Figure tiles: a label and a value element; callbacks fill the value by its id.

The value element holds the figure alone (plain digits or a percentage), so that a test or a
screen reader can read it; the label and the change against yesterday live in sibling elements.
"""

from __future__ import annotations

from dash import html

from . import i18n


def tile(tile_id: str, label: str, tone: str = "info", size: str = "md", delta: bool = False) -> html.Div:
    figure = [html.Span(i18n.NONE, id=tile_id, className="tile-value")]
    if delta:
        figure.append(html.Span("", id=f"{tile_id}-delta", className="tile-delta",
                                title="较昨日同一时刻"))
    return html.Div(
        className=f"tile tile--{tone} tile--{size}",
        children=[html.Div(label, className="tile-label"), html.Div(figure, className="tile-figure")],
    )


def case_tiles() -> html.Div:
    tiles = [tile(tile_id, text, tone, "lg", delta=True) for tile_id, text, tone in i18n.CASE_TILES]
    tiles.append(tile("kpi-alerts-new", "新预警", "alert", "lg"))
    tiles.append(rate_tiles())
    return html.Div(tiles, id="case-tiles", className="tile-row")


def rate_tiles() -> html.Div:
    """The 7-day rates as one block of four small figures at the end of the tile row."""
    return html.Div(id="rates", className="tile tile--rate tile--rates", children=[
        html.Div("近7日", className="tile-label rates-caption"),
        html.Div(className="rates-grid", children=[
            html.Div(className="rate", children=[
                html.Div(text, className="rate-label"),
                html.Span(i18n.NONE, id=tile_id, className="rate-value"),
            ]) for tile_id, text, _ in i18n.RATE_TILES
        ]),
    ])


def staffing_tiles() -> html.Div:
    return html.Div(
        [tile(tile_id, text, "staff", "sm") for tile_id, text, _ in i18n.STAFFING_TILES],
        className="tile-grid staffing-figures",
    )
