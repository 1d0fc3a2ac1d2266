"""Figure tiles, drawn from the tile catalogue (layouts/tile_catalogue.py): a label and a value
element; the callbacks fill the value by its id.

The value element holds the figure alone (plain digits or a percentage), so that a test or a
screen reader can read it; the label and the change against yesterday live in sibling elements.
"""

from __future__ import annotations

from dash import html

from . import i18n
from . import tile_catalogue as catalogue
from .tile_catalogue import Tile


def tile(entry: Tile, size: str = "md") -> html.Div:
    figure = [html.Span(i18n.NONE, id=entry.id, className="tile-value")]
    if entry.delta:
        figure.append(html.Span("", id=f"{entry.id}-delta", className="tile-delta", title="较昨日同一时刻"))
    return html.Div(
        className=f"tile tile--{entry.tone} tile--{size}",
        children=[html.Div(entry.label, className="tile-label"), html.Div(figure, className="tile-figure")],
    )


def case_tiles() -> html.Div:
    tiles = [tile(entry, "lg") for entry in catalogue.tiles(catalogue.ROW)]
    tiles.append(rate_tiles())
    return html.Div(tiles, id="case-tiles", className="tile-row")


def rate_tiles() -> html.Div:
    """The 7-day rates as one block of small figures at the end of the tile row."""
    return html.Div(id="rates", className="tile tile--rate tile--rates", children=[
        html.Div("近7日", className="tile-label rates-caption"),
        html.Div(className="rates-grid", children=[
            html.Div(className="rate", children=[
                html.Div(entry.label, className="rate-label"),
                html.Span(i18n.NONE, id=entry.id, className="rate-value"),
            ]) for entry in catalogue.tiles(catalogue.RATES)
        ]),
    ])


def staffing_tiles() -> html.Div:
    return html.Div(
        [tile(entry, "sm") for entry in catalogue.tiles(catalogue.STAFFING)],
        className="tile-grid staffing-figures",
    )
