"""The wall's tick: the data version of the view, and the data age in ``#freshness``.

Once a second the browser asks for the version of its view (``update_signal``). When nothing has
changed, the answer is a heartbeat only, ``live-version`` stays as it is, and no data callback runs.
When something has, the new version lands in ``live-version`` and the data callbacks (which take
it as their input) fetch the shared results of that version.

A tick that finds nothing new may wait up to ``LONG_POLL_SECONDS`` for news (long polling), so a
committed case reaches the wall within a poll of the change signal, not at the next tick.

``#freshness`` is drawn in the browser (``assets/live.js``) from ``live-version`` and the heartbeat:
the data age keeps counting between versions, and the wall says "数据中断 自 hh:mm:ss" as soon as
the server reports that the database cannot be read, or when the server itself stops answering.
"""

from __future__ import annotations

from datetime import datetime, timezone

from dash import ClientsideFunction, Input, Output, State, no_update

from layouts import i18n

from . import data
from .data import DataUnavailable
from .view import resolve_view, wall_tz

UTC = timezone.utc


def register(app) -> None:
    app.callback(
        Output("live-version", "data"),
        Output("live-beat", "data"),
        Input("tick", "n_intervals"),
        Input("url", "search"),
        State("live-version", "data"),
    )(update_signal)

    app.clientside_callback(
        ClientsideFunction(namespace="gridwall_live", function_name="freshness"),
        Output("freshness", "children"),
        Output("freshness", "data-stale"),
        Input("tick", "n_intervals"),
        Input("live-version", "data"),
        Input("live-beat", "data"),
    )


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _beat() -> dict:
    return {"t": _ms(datetime.now(UTC))}


def update_signal(_n, search, shown):
    """(``live-version``, heartbeat): the version of the view, ``no_update`` when the browser has it."""
    shown = shown if isinstance(shown, dict) else {}
    tz = wall_tz()
    try:
        view = resolve_view(search)
        known = shown.get("v") if shown.get("view") == view.key and not shown.get("stale") else None
        version = data.live_version(view, known=known, wait=data.LONG_POLL_SECONDS if known else 0.0)
        if version == known:
            return no_update, _beat()
        m = view.moment()
        as_of = data.data_age(view.scope, m, version)
    except DataUnavailable as exc:
        if shown.get("stale"):
            return no_update, _beat()
        since = exc.since or datetime.now(UTC)
        return {"stale": True, "since": _ms(since), "since_text": i18n.hhmmss(since, tz),
                "view": shown.get("view"), "tz": tz.key}, _beat()
    return {
        "v": version,
        "view": view.key,
        "as_of": _ms(as_of),
        "as_of_text": i18n.hhmmss(as_of, tz) if as_of else None,
        "ref": None if view.live else _ms(m.at),  # a past view's age is measured from its moment
        "tz": tz.key,
        "stale": False,
    }, _beat()
