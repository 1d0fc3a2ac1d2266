"""Callbacks of the operations page (``/ops``, duty officers only): the walls' health and the push
channels. A placeholder: both lists answer their empty states until the issue that fills them."""

from __future__ import annotations

from dash import Input, Output

from dashboard.identity.auth import require_role
from layouts import ops as page
from layouts.shell import OPS


def register(app) -> None:
    app.callback(
        Output("ops-walls", "children"),
        Output("ops-channels", "children"),
        Input("ops-tick", "n_intervals"),
    )(show_status)


def show_status(_n):
    require_role(*OPS.roles)
    return [page.empty(page.NO_WALLS)], [page.empty(page.NO_CHANNELS)]
