"""The wall's tick: the data version of the view, and the data age in ``#freshness``.

The browser asks for the version of its view (``update_signal``) in a loop (assets/live.js pokes
``live-poke`` when the previous answer is in, at most every ``MIN_GAP`` of that script). A tick
that finds nothing new waits up to ``LONG_POLL_SECONDS`` for news (long polling), so a committed
case reaches the wall within a poll of the change signal; when nothing has changed the answer is a
heartbeat only, and no data callback runs. When something has, the new version lands in
``live-version`` and the same answer carries what changed in the tiles and the case stream
(``callbacks.wall.update_figures`` / ``update_stream``, read from the shared results of that
version): one request per version and viewer, not three. The slower panels (SLA board, staffing
detail, region table, alerts, map) follow ``live-slow``: the first version of each ``SLOW_SECONDS``
epoch, the same for every viewer (``slow_version``), so that a busy database does not make every
panel of every wall redraw, and the server recompute them, several times a second.

The loop is driven from the page rather than by the 1-second ``dcc.Interval``: the renderer drops
an answer still on its way when the interval asks again, which under load would starve the wall.

``#freshness`` is drawn in the browser (``assets/live.js``) from ``live-version`` and the heartbeat:
it shows the link's state only: "实时", "历史数据 · 2026-11-20 10:00" under ``?at=``, and "数据中断 自
hh:mm:ss" as soon as the server reports that the database cannot be read, or when the server itself
stops answering; and "数据停滞 · 最新变更 11-24 10:56" when the link is up but the platform's last case
change anywhere is older than ``feed_stall_hours`` (a broken sync, or an import served live). The
view's own last case time is shown apart from it (``#region-last-case``): a quiet grid is not a stale feed; it turns amber only when the view is quieter than usual for the hour
(``usual_pace``: the trend panel's baseline).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from dash import ClientsideFunction, Input, Output, State, no_update
from flask import current_app

from callbacks import reads, wall
from callbacks.live import versions
from callbacks.live.cache import shared_versioned
from callbacks.live.outage import DataUnavailable
from callbacks.view import resolve_view, wall_tz
from dashboard.core.config import feed_stall_seconds
from data_access.scope import Scope
from layouts import i18n

UTC = timezone.utc
SLOW_SECONDS = 10.0


def register(app) -> None:
    app.callback(
        Output("live-version", "data"),
        Output("live-slow", "data"),
        Output("live-beat", "data"),
        *wall.figure_output_list(),
        *wall.STREAM_OUTPUTS,
        Input("live-poke", "data"),
        Input("url", "search"),
        State("live-version", "data"),
        State("live-slow", "data"),
        State("figures-state", "data"),
        State("stream-state", "data"),
    )(update_tick)

    app.clientside_callback(
        ClientsideFunction(namespace="gridwall_live", function_name="freshness"),
        Output("freshness", "children"),
        Output("freshness", "data-stale"),
        Input("live-version", "data"),
        Input("live-beat", "data"),
    )
    app.clientside_callback(  # draws #case-stream from the tick's feed (assets/live.js showStream)
        ClientsideFunction(namespace="gridwall_live", function_name="stream"),
        Output("case-stream", "data-drawn"),
        Input("stream-feed", "data"),
    )


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _beat() -> dict:
    return {"t": _ms(datetime.now(UTC))}


def update_tick(poke, search, shown, shown_slow, figures_state, stream_state):
    """The tick: the signal and, when the version moved, what changed in the tiles and the stream."""
    version, slow, beat = update_signal(poke, search, shown, shown_slow)
    if isinstance(version, dict) and not version.get("stale"):
        figures = wall.update_figures(version, search, figures_state)
        stream = wall.update_stream(version, search, stream_state)
    else:
        figures = (no_update,) * len(wall.figure_output_list())
        stream = (no_update,) * len(wall.STREAM_OUTPUTS)
    return (version, slow, beat, *figures, *stream)


def update_signal(_poke, search, shown, shown_slow=None):
    """(``live-version``, ``live-slow``, heartbeat); ``no_update`` for what the browser has already."""
    shown = shown if isinstance(shown, dict) else {}
    shown_slow = shown_slow if isinstance(shown_slow, dict) else {}
    try:
        view = resolve_view(search)
        known = known_version(view, shown)
        version = versions.live_version(view, known=known, wait=versions.LONG_POLL_SECONDS if known else 0.0)
        if version == known:
            return no_update, _slow(view, version, shown_slow), _beat()
        current = version_data(view, version)
    except DataUnavailable as exc:
        if shown.get("stale"):
            return no_update, no_update, _beat()
        stale = stale_data(exc, shown)
        return stale, stale, _beat()
    return current, _slow(view, version, shown_slow), _beat()


def known_version(view, shown: dict) -> str | None:
    """The version the browser holds for ``view`` (None after a view change or an outage)."""
    return shown.get("v") if shown.get("view") == view.key and not shown.get("stale") else None


def version_data(view, version: str) -> dict:
    """What ``live-version`` holds for a version: the version, the view, the feed's age (``as_of``:
    the platform's last case change anywhere in the deployment, ``#freshness``'s tooltip), the view's
    own last case change (``region_as_of``, for ``#region-last-case``) with the usual pace of changes
    (``usual``), and for a past view its moment (``at_text``)."""
    tz = wall_tz()
    m = view.moment()
    as_of = feed_age(view, m, version)
    region_as_of = reads.data_age(view.scope, m, version)
    return {
        "v": version,
        "view": view.key,
        "mode": "live" if view.live else "history",
        "as_of": _ms(as_of),
        "as_of_text": i18n.hhmmss(as_of, tz) if as_of else None,
        "as_of_day_text": case_time_text(as_of, m) if as_of else None,
        "stall_ms": stall_ms(),
        "region_as_of": _ms(region_as_of),
        "region_as_of_text": case_time_text(region_as_of, m) if region_as_of else None,
        "ref": None if view.live else _ms(m.at),  # a past view's age is measured from its moment
        "at_text": None if view.live else f"{m.at.astimezone(tz):%Y-%m-%d %H:%M}",
        "usual": usual_pace(view),
        "tz": tz.key,
        "stale": False,
    }


USUAL_PACE_SECONDS = 3600


def stall_ms() -> int:
    """How old the feed's last change may be before the live badge says 数据停滞 (``feed_stall_hours``)."""
    return int(feed_stall_seconds(current_app.config) * 1000)


def usual_pace(view) -> list[float]:
    """The case changes (new + closed) each local hour of T's weekday usually brings in the view's
    region: the trend panel's baseline (``reads.trend``, the same weekday of the last four weeks),
    for assets/live.js to tell a quiet hour from a quieter-than-usual one. Empty without a baseline.
    Kept per region and day in each process's memory tier: one lookup per day, not per version."""
    m = view.moment()
    day = m.at.astimezone(m.tz).date()

    def compute() -> list[float]:
        base = reads.trend(view)["baseline"]
        if not base.get("days"):
            return []
        return [round(n + c, 2) for n, c in zip(base["new"]["mean"], base["closed"]["mean"])]

    return shared_versioned(f"usual-pace:{view.scope.region}:{day.isoformat()}", compute,
                            timeout=USUAL_PACE_SECONDS)


def feed_age(view, m, version: str) -> datetime | None:
    """The deployment's last case change at T. Versions are the deployment-wide poll's
    (callbacks/live/signal.py), so this is one read per version for every view and viewer (none
    extra at the root: the same entry as the root's own)."""
    root = view.base.root
    return reads.data_age(Scope.whole_deployment(root), m, version)


def case_time_text(value: datetime, m) -> str:
    """``15:09`` on T's local day, ``11-24 10:56`` before it, ``2020-08-03 00:00`` in an earlier year
    (a feed that stopped long ago must not read as this summer's)."""
    local = value.astimezone(m.tz)
    today = m.at.astimezone(m.tz).date()
    if local.date() == today:
        return i18n.hhmm(value, m.tz)
    day = local.strftime("%m-%d" if local.year == today.year else "%Y-%m-%d")
    return f"{day} {i18n.hhmm(value, m.tz)}"


def stale_data(exc: DataUnavailable, shown: dict) -> dict:
    """What ``live-version`` holds while the database cannot be read."""
    tz = wall_tz()
    since = exc.since or datetime.now(UTC)
    return {"stale": True, "since": _ms(since), "since_text": i18n.hhmmss(since, tz),
            "view": shown.get("view"), "mode": shown.get("mode"), "tz": tz.key}


def _epoch() -> int:
    return int(time.time() // SLOW_SECONDS)


def slow_version(view, version: str, alerts: str) -> str:
    """The version the slower panels show: the first one seen in each ``SLOW_SECONDS`` epoch, the
    same for every viewer and worker. (Each viewer passing on whatever version it held at its own
    10-second mark made the server compute the heavy panels for nearly every version.) A change in
    the alerts (``alerts``: the token of ``version``) starts a new one at once: a critical alert
    must not wait for the next epoch."""
    if not view.live or not versions.live_enabled():
        return version
    key = f"slow:{view.key}:{_epoch()}:{alerts}"
    return shared_versioned(key, lambda: version, timeout=int(SLOW_SECONDS * 3))


def slow_data(view, version: str) -> dict:
    """What ``live-slow`` holds: the panels' version, and the alerts token (assets/live.js passes a
    new version on at once when the alerts moved, else within its jitter)."""
    alerts = versions.alerts_token(view, version)
    return {"v": slow_version(view, version, alerts), "view": view.key, "stale": False, "alerts": alerts}


def _slow(view, version: str, shown: dict):
    """``live-slow`` for ``version``: ``no_update`` while the slower panels' version stands."""
    current = slow_data(view, version)
    if shown.get("v") == current["v"] and shown.get("view") == view.key and not shown.get("stale"):
        return no_update
    return current
