"""Dash callbacks (thin: read inputs, resolve the scope, call data_access, shape the output)."""

from __future__ import annotations


def register_callbacks(app) -> None:
    from callbacks import alert_detail, map_view, nav, panels, wall
    from callbacks.live import tick as live

    wall.register(app)
    alert_detail.register(app)
    live.register(app)
    panels.register(app)
    map_view.register(app)
    nav.register(app)


def register_review(app) -> None:
    """The review page's callbacks (its own Dash app at /review)."""
    from callbacks import review

    review.register(app)


def register_ops(app) -> None:
    """The operations page's callbacks (its own Dash app at /ops)."""
    from callbacks import ops

    ops.register(app)


def register_push(server) -> None:
    """The wall's push channel (a Flask route: Server-Sent Events, not a Dash callback)."""
    from callbacks.live.push import register_push as register

    register(server)
