"""Figure tiles, drawn from the tile catalogue (layouts/tile_catalogue.py): a label and a value
element; the callbacks fill the value by its id.

The value element holds the figure alone (plain digits or a percentage), so that a test or a
screen reader can read it; the label, the unit, the changes against yesterday and last week and a
rate's target live in sibling elements.
"""

from __future__ import annotations

from dash import html

from . import i18n
from . import tile_catalogue as catalogue
from .tile_catalogue import Tile


def tile(entry: Tile, size: str = "md") -> html.Div:
    figure = [html.Span(i18n.NONE, id=entry.id, className="tile-value")]
    if entry.unit:
        figure.append(html.Span(entry.unit, className="tile-unit"))
    if entry.delta:  # 较昨日 beside the figure (较上周同期 on the label's line, below)
        figure.append(html.Span("", id=f"{entry.id}-delta", className="tile-delta", title="较昨日同一时刻"))
    figure += [html.Span("", id=note.id, className=f"tile-note tile-note--{note.tone}")
               for note in catalogue.notes_of(entry.id)]
    head = html.Div(entry.label, className="tile-label")
    if entry.delta:  # the label's line: 在办事件 ... ▼3 较上周同期
        head = html.Div(className="tile-head", children=[head, html.Span(
            "", id=f"{entry.id}-week", className="tile-delta tile-delta--week", title="较上周同一时刻")])
    return html.Div(className=f"tile tile--{entry.tone} tile--{size}",
                    children=[head, html.Div(figure, className="tile-figure")])


def case_tiles() -> html.Div:
    tiles = [tile(entry, "lg") for entry in catalogue.tiles(catalogue.ROW)]
    tiles.append(rate_tiles())
    # Where the figures are of: empty at the user's own region; "本页为 某街道 数据" drilled in, and
    # "轮播 3/9 · 某街道" while rotating (assets/gridwall.js: whereCaption).
    tiles.append(html.Div("", id="scope-caption", className="scope-caption", **{"aria-live": "polite"}))
    return html.Div(tiles, id="case-tiles", className="tile-row")


def rate_target(entry: Tile) -> list:
    """The target beside a rate; the browser colours it good/warn/bad with a word (assets/gridwall.js:
    rateTargets)."""
    if entry.target is None:
        return []
    return [html.Span(f"目标{entry.target:g}%", id=f"{entry.id}-target", className="rate-target",
                      **{"data-target": f"{entry.target:g}", "data-margin": f"{catalogue.TARGET_MARGIN:g}"})]


def rate_tiles() -> html.Div:
    """The 7-day rates as one block of small figures at the end of the tile row."""
    return html.Div(id="rates", className="tile tile--rate tile--rates", children=[
        html.Div("近7日", className="tile-label rates-caption"),
        html.Div(className="rates-grid", children=[
            html.Div(className="rate", children=[
                html.Div(entry.label, className="rate-label"),
                html.Span(i18n.NONE, id=entry.id, className="rate-value"),
                *rate_target(entry),
            ]) for entry in catalogue.tiles(catalogue.RATES)
        ]),
    ])


def staffing_tiles() -> html.Div:
    return html.Div(
        [tile(entry, "sm") for entry in catalogue.tiles(catalogue.STAFFING)],
        className="tile-grid staffing-figures",
    )
