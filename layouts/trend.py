"""Today's trend: new and closed cases by hour against the same weekday of the last four weeks.

The server sends the numbers (``trend-data``); the browser draws the figure (assets/gridwall.js:
trend) with type sized to the screen, so a refresh ships two dozen numbers, not a figure.
"""

from __future__ import annotations

from dash import dcc, html


def trend_panel() -> html.Div:
    return html.Div(className="trend-frame", children=[
        dcc.Store(id="trend-data", data=None),
        dcc.Graph(
            id="trend-graph",
            figure={"data": [], "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                                           "xaxis": {"visible": False}, "yaxis": {"visible": False}}},
            config={"staticPlot": True, "displayModeBar": False, "responsive": True},
            className="trend-graph",
            style={"width": "100%", "height": "100%"},
        ),
        html.Div(id="trend-note", className="trend-note"),
    ])
