"""The wall's push channel: each new data version of a view, sent as a Server-Sent Event.

With long polling (``callbacks.live.tick``) every wall asks again after each answer, and every answer
goes through Dash's callback dispatch and a session check: at 100 walls and several versions a
second that is most of two cores, and a case waits for the wall's next ask. Here each wall holds
one ``GET /live/events?search=...`` open; the request is authenticated once (and the session is
re-checked every ``RECHECK_SECONDS``), then the thread sleeps on the process's change signal
(``callbacks.live.signal``) and writes what changed when the version moves:

- a *frame* per (view, version) is built once per process and shared by every connection: the
  ``live-version`` data, the figure tiles (``callbacks.wall.figure_outputs``) and the case stream,
  each entry serialised once;
- per connection only what that wall does not have yet is written: the tiles (a few hundred
  bytes), the stream as its list of keys plus the entries it has not seen.

``assets/live.js`` applies an event's tiles with ``dash_clientside.set_props`` (the outputs the
tick callback fills), draws the stream into ``#case-stream`` itself (as it draws the tick's
``stream-feed``), highlights new entries, and sets ``live-slow`` when the slower panels' version
(``callbacks.live.tick.slow_version``, one per 10-second epoch) moves. When the channel is unavailable
(push off, no free slot, a proxy that buffers) the page falls back to the tick loop.

Events: ``frame`` (JSON as above), ``beat`` (server time, every second without a frame; the page
uses it to tell a live server from a dead one), ``end`` (the session ended: reload to log in
again) and ``off`` (no push here: use the tick loop).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from datetime import timezone

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from plotly.utils import PlotlyJSONEncoder

from callbacks import reads, wall
from callbacks.live import versions
from callbacks.live.outage import DataUnavailable
from callbacks.live.tick import known_version, slow_data, stale_data, version_data
from callbacks.view import BadSearch, checked_search, resolve_view
from dashboard.core.metrics import WALLS_CONNECTED
from dashboard.identity.addresses import client_ip
from dashboard.identity.auth import auth_enabled, current_user
from layouts import tile_catalogue
from layouts.stream import STREAM_LIMIT, case_entry, case_key

log = logging.getLogger(__name__)
UTC = timezone.utc
EVENTS_PATH = "/live/events"
BEAT_SECONDS = 1.0
RECHECK_SECONDS = 5.0  # a disabled user or a revoked kiosk token loses the channel within this
MIN_GAP_SECONDS = 0.2  # versions that come faster are coalesced (the poller itself runs every 0.1 s)
FRAMES_KEPT = 32
RETRY_MS = 1000
# One user (a kiosk link opened on many screens, a script) or one address must not take every slot
# of a process: other walls would get 503 and fall back to polling. Kiosk sessions of one wall user
# count as that user. Set by GRIDWALL_PUSH_SLOTS_PER_USER / _PER_ADDRESS (app config or environment).
SLOTS_PER_USER = 8
SLOTS_PER_ADDRESS = 16  # a control room behind one NAT address holds several walls

bp = Blueprint("gridwall_push", __name__)


def _slots() -> int:
    """Connections a process may hold open: all its threads but a few, kept for ordinary requests.

    ``GRIDWALL_PUSH_SLOTS`` (app config or environment) sets it; by default it follows
    ``GRIDWALL_THREADS`` (gunicorn's threads per worker, dashboard/gunicorn_conf.py).
    """
    configured = current_app.config.get("GRIDWALL_PUSH_SLOTS") or os.environ.get("GRIDWALL_PUSH_SLOTS")
    if configured:
        return int(configured)
    return max(1, versions.THREADS - max(4, versions.THREADS // 4))


def _cap(name: str, default: int) -> int:
    configured = current_app.config.get(name) or os.environ.get(name)
    return max(1, int(configured)) if configured else default


_slot_lock = threading.Lock()
_open = 0
_open_by_user: Counter[str] = Counter()
_open_by_address: Counter[str] = Counter()
_frames: OrderedDict[tuple[str, str], dict] = OrderedDict()
_frame_locks: dict[tuple[str, str], threading.Lock] = {}
_frames_lock = threading.Lock()


def _take_slot(user: str | None, address: str) -> tuple[str, int] | None:
    """A slot for a stream of ``user`` (None with auth off) from ``address``: None when taken, else
    the cap that is reached (``process``, ``user`` or ``address``) and its size."""
    global _open
    caps = (("process", _slots()),
            ("user", _cap("GRIDWALL_PUSH_SLOTS_PER_USER", SLOTS_PER_USER)),
            ("address", _cap("GRIDWALL_PUSH_SLOTS_PER_ADDRESS", SLOTS_PER_ADDRESS)))
    with _slot_lock:
        held = (_open, _open_by_user[user] if user is not None else 0, _open_by_address[address])
        for (what, cap), n in zip(caps, held, strict=True):
            if n >= cap:
                return what, cap
        _open += 1
        WALLS_CONNECTED.inc()
        if user is not None:
            _open_by_user[user] += 1
        _open_by_address[address] += 1
    return None


def _give_slot(user: str | None, address: str) -> None:
    global _open
    with _slot_lock:
        _open -= 1
        WALLS_CONNECTED.dec()
        for counts, key in ((_open_by_user, user), (_open_by_address, address)):
            if key is not None:
                counts[key] -= 1
                if counts[key] <= 0:
                    del counts[key]


def open_connections(*, user: str | None = None, address: str | None = None) -> int:
    """Streams open in this process: all, or those of ``user`` or of ``address``."""
    with _slot_lock:
        if user is not None:
            return _open_by_user[user]
        if address is not None:
            return _open_by_address[address]
        return _open


def _event(kind: str, payload: str) -> str:
    return f"event: {kind}\ndata: {payload}\n\n"


def _dumps(value) -> str:
    return json.dumps(value, cls=PlotlyJSONEncoder, ensure_ascii=False, separators=(",", ":"))


# --- frames: built once per (view, version) in a process -----------------------------------------

def _build_frame(view, version: str) -> dict:
    version_data_ = version_data(view, version)
    values, _digests = wall.figure_outputs(view, version)
    m = view.moment()
    cases = reads.stream_bundle(view.scope, m, version, STREAM_LIMIT)
    today = m.at.astimezone(view.tz).date()
    keys = [case_key(c) for c in cases]
    return {
        "data": version_data_,
        "live": _dumps(version_data_),
        "slow": _dumps(slow_data(view, version)),
        "tiles": _dumps(dict(zip(tile_catalogue.ids(), values))),
        "keys": keys,
        "keys_json": json.dumps(keys, ensure_ascii=False),
        "entries": {k: _dumps(case_entry(c, view.tz, today, at=m.at)) for k, c in zip(keys, cases)},
    }


def frame_for(view, version: str) -> dict:
    """The shared frame of ``version``; the first connection of a version builds it, the others wait."""
    key = (view.key, version)
    with _frames_lock:
        frame = _frames.get(key)
        if frame is not None:
            return frame
        lock = _frame_locks.setdefault(key, threading.Lock())
    with lock:
        with _frames_lock:
            frame = _frames.get(key)
        if frame is None:
            t0 = time.monotonic()
            try:
                frame = _build_frame(view, version)
            finally:  # a failed build (the database went down) leaves no lock behind
                with _frames_lock:
                    _frame_locks.pop(key, None)
            log.debug("frame %s built in %.3f s", version[:12], time.monotonic() - t0)
            with _frames_lock:
                _frames[key] = frame
                while len(_frames) > FRAMES_KEPT:
                    _frames.popitem(last=False)
    return frame


class Connection:
    """What one wall has been sent: a frame's message carries only the stream entries it lacks."""

    def __init__(self):
        self.entries: set[str] = set()

    def message(self, frame: dict) -> str:
        keys = frame["keys"]
        new = [k for k in keys if k not in self.entries]
        self.entries = set(keys)
        return "".join(['{"t":', str(_now_ms()), ',"live":', frame["live"], ',"slow":', frame["slow"],
                        ',"tiles":', frame["tiles"],
                        ',"keys":', frame["keys_json"], ',"entries":{',
                        ",".join(f"{json.dumps(k, ensure_ascii=False)}:{frame['entries'][k]}" for k in new), "}}"])


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- the stream ------------------------------------------------------------------------------------

def _session_holds() -> bool:
    """Re-check the session against the database (it may have been revoked since the last check)."""
    if not auth_enabled():
        return True
    g.pop("gw_user", None)
    try:
        return current_user() is not None
    except Exception:  # noqa: BLE001 - the database is down: the outage shows as stale, the session stands
        return True


def _beat_event() -> str:
    return _event("beat", '{"t":' + str(_now_ms()) + "}")


def _events(search: str):
    sent = Connection()
    shown: dict = {}
    view = None
    checked = time.monotonic()
    last_frame = 0.0
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        began = time.monotonic()
        if began - checked > RECHECK_SECONDS:
            checked = began
            view = None  # resolved again: the user's scope, and the region still known
            if not _session_holds():
                yield _event("end", "{}")
                return
        gap = MIN_GAP_SECONDS - (began - last_frame)
        if gap > 0:
            time.sleep(gap)
        try:
            view = view or resolve_view(search)
            known = known_version(view, shown)
            version = versions.live_version(view, known=known, wait=BEAT_SECONDS if known else 0.0, own_thread=True)
            if version != known:
                frame = frame_for(view, version)
                shown = frame["data"]
                yield _event("frame", sent.message(frame))
                last_frame = time.monotonic()
                continue
        except DataUnavailable as exc:
            if not shown.get("stale"):
                shown = stale_data(exc, shown)
                sent = Connection()  # after the outage the wall gets everything again
                yield _event("frame", '{"t":' + str(_now_ms()) + ',"live":' + _dumps(shown) + "}")
                last_frame = time.monotonic()
                continue
        yield _beat_event()
        rest = BEAT_SECONDS - (time.monotonic() - began)
        if rest > 0.05:
            time.sleep(rest)


@bp.get(EVENTS_PATH)
def events():
    if not versions.live_enabled() or current_app.config.get("GRIDWALL_PUSH", "on") == "off":
        return Response(_event("off", "{}"), mimetype="text/event-stream", headers={"Cache-Control": "no-store"})
    try:  # the page's own query (the same check as every wall callback's)
        search = checked_search(request.args.get("search", ""))
    except BadSearch as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    user = current_user() if auth_enabled() else None
    username = user.username if user is not None else None
    address = client_ip()
    refused = _take_slot(username, address)
    if refused is not None:
        log.warning("push channel refused for user %s at %s: the %s cap of %d streams is reached; "
                    "the wall polls instead", username or "-", address, *refused)
        return Response(f"no free push slot ({refused[0]}); poll instead", status=503, mimetype="text/plain",
                        headers={"Retry-After": "30"})

    def stream():
        try:
            yield from _events(search)
        except SystemExit:  # a test server stopping its threads
            return

    response = Response(stream_with_context(stream()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    # runs however the stream ends, even before its first byte
    response.call_on_close(lambda: _give_slot(username, address))
    return response


def register_push(server) -> None:
    server.config.setdefault("GRIDWALL_PUSH", os.environ.get("GRIDWALL_PUSH", "on"))
    server.register_blueprint(bp)
