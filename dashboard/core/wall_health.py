"""A wall's heartbeat (``POST /live/heartbeat``): its body, checked, and the wall's state at a moment.

The body, as ``assets/heartbeat.js`` sends it every 30 s::

    {"wall": "3f9c0a...", "search": "?region=320585100&kiosk=1&rotate=30",
     "frame_age": 2.4, "heap": 52428800, "version": "93a6212aadd7"}

``wall``: the wall's random id (kept in the browser's localStorage); ``search``: the page's own URL
query, from which the server reads the region (clamped to the user's scope by the route) and the
display (kiosk, rotation, seams, scale, history); ``frame_age``: seconds since the wall last showed the
server's newest data (a frame applied, or the server saying nothing changed); ``heap``: JS heap in use,
bytes (null where the browser does not tell); ``version``: the code version the page was served with.

Who sends it (user, kiosk or not) comes from the session, never from the body.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from .config import SCALE_RANGE, SEAM_LAYOUTS

HEARTBEAT_SECONDS = 30  # how often a wall reports (assets/heartbeat.js; GRIDWALL_HEARTBEAT_MS in tests)
LIVE_WITHIN = timedelta(seconds=75)  # a heartbeat this recent: the wall is there
MAX_FRAME_AGE = 90.0  # seconds: a wall whose data is older lags
DARK_AFTER = timedelta(seconds=120)  # no heartbeat for longer: dark (a kiosk wall raises an alert)
SHOWN_FOR = timedelta(days=7)  # /ops lists the walls heard from within this
STATES = ("live", "lagging", "dark")

MAX_BODY_BYTES = 4096
MAX_SEARCH = 400  # callbacks.view.MAX_SEARCH: the longest query a wall asks with
MAX_FRAME_AGE_REPORTED = 10 * 365 * 86400.0
MAX_HEAP_BYTES = 64 * 1024 ** 3
MAX_ROTATE_SECONDS = 86400
WALL_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")
FIELDS = frozenset(("wall", "search", "frame_age", "heap", "version"))


class BadHeartbeat(ValueError):
    """A heartbeat body no wall sends: the message says what is wrong (answered with 400)."""


@dataclass(frozen=True)
class HeartbeatBody:
    wall_id: str
    region: str | None  # as the URL asks; the route clamps it to the user's scope
    layout: dict[str, Any]
    frame_age: float | None
    heap_mb: float | None
    version: str | None


def _number(body: dict, key: str, upper: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= upper:
        raise BadHeartbeat(f"{key}: a number from 0 to {upper:g} or null expected")
    return float(value)


def display_of(params: dict[str, str]) -> dict[str, Any]:
    """The display a wall's URL asks for, as the wall reads it (assets/gridwall.js): values it ignores
    (out of range, not understood) are left out."""
    layout: dict[str, Any] = {"kiosk": params.get("kiosk") == "1", "mode": "history" if params.get("at") else "live"}
    rotate = params.get("rotate", "")
    if rotate.isascii() and rotate.isdigit() and 0 < int(rotate) <= MAX_ROTATE_SECONDS:
        layout["rotate"] = int(rotate)
    seams = params.get("seams", "").lower()
    if seams in SEAM_LAYOUTS and seams != "1x1":
        layout["seams"] = seams
    try:
        scale = float(params.get("scale", ""))
    except ValueError:
        scale = float("nan")
    if SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] and scale != 1.0:
        layout["scale"] = scale
    return layout


def parse_heartbeat(body: Any) -> HeartbeatBody:
    """The heartbeat in ``body`` (the parsed JSON); BadHeartbeat naming the first bad field."""
    if not isinstance(body, dict):
        raise BadHeartbeat("a JSON object expected")
    unknown = sorted(str(k)[:20] for k in body if k not in FIELDS)
    if unknown:
        raise BadHeartbeat(f"unknown fields {unknown}; known: {', '.join(sorted(FIELDS))}")
    wall = body.get("wall")
    if not isinstance(wall, str) or not WALL_ID.fullmatch(wall):
        raise BadHeartbeat("wall: 8 to 64 characters of A-Z, a-z, 0-9, _ and - expected")
    search = body.get("search", "")
    if search is None:
        search = ""
    if not isinstance(search, str) or len(search) > MAX_SEARCH:
        raise BadHeartbeat(f"search: the page's URL query, a string of at most {MAX_SEARCH} characters")
    version = body.get("version")
    if version is not None and (not isinstance(version, str) or not VERSION.fullmatch(version)):
        raise BadHeartbeat("version: up to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', or null")
    frame_age = _number(body, "frame_age", MAX_FRAME_AGE_REPORTED)
    heap = _number(body, "heap", MAX_HEAP_BYTES)
    params = {k: v[0].strip() for k, v in parse_qs(search.lstrip("?"), keep_blank_values=False).items() if v}
    region = params.get("region") or None
    return HeartbeatBody(wall_id=wall, region=region[:20] if region else None, layout=display_of(params),
                         frame_age=round(frame_age, 1) if frame_age is not None else None,
                         heap_mb=round(heap / 1024 ** 2, 1) if heap is not None else None, version=version)


def wall_state(last_seen: datetime | None, frame_age: float | None, version: str | None, current_version: str,
               now: datetime) -> str:
    """``live``: heard within 75 s, its data at most 90 s old and the current code; ``dark``: not heard
    for more than 120 s; ``lagging``: anything between (heard, but old data, old code or a late beat)."""
    if last_seen is None or now - last_seen > DARK_AFTER:
        return "dark"
    if now - last_seen <= LIVE_WITHIN and frame_age is not None and frame_age <= MAX_FRAME_AGE \
            and version == current_version:
        return "live"
    return "lagging"
