"""Dash callbacks (thin: read inputs, resolve the scope, call data_access, shape the output)."""

from __future__ import annotations


def register_callbacks(app) -> None:
    from . import live, map_view, nav, panels, wall

    wall.register(app)
    live.register(app)
    panels.register(app)
    map_view.register(app)
    nav.register(app)
