"""What ``gridwall backtest`` reads: daily case counts of a scope over a span of local days, and its grids.

The backtest replays the forecast and the hotspots week by week over the database's own history
(``dashboard.warning.backtest``), so it reads the whole span once, grouped in the database, and
slices it per week in memory:

* ``street_major_day_counts``: cases per street, major category and local day, exactly the counts
  the engine's daily forecast reads (``feeds_cases.category_day_counts``, the same SQL), read in
  spans of at most ``CHUNK_DAYS`` days (each day's bounds are bound parameters);
* ``grid_day_counts``: cases per grid (a well-formed 15-digit code, as ``feeds_cases.add_calendar``
  keeps them for the hotspots) and local day, any category;
* ``grid_areas``: every grid in scope with its area in km² (None without a usable boundary).

Days are local days in ``tz``; the bounds of each day are its local midnights converted to UTC, so
the counts follow daylight saving exactly. Every read takes an explicit scope.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from . import feeds_cases as feeds
from .geo import parse_boundary
from .models import Case, Grid
from .moment import Moment
from .scope import Scope
from .scoped import in_scope, select_in

c = Case.__table__.c
g = Grid.__table__.c

CHUNK_DAYS = 364
KM_PER_DEGREE = 111.32


def _days(first: date, last: date) -> np.ndarray:
    return np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + np.timedelta64(1, "D"), dtype="datetime64[D]")


def _chunks(first: date, last: date):
    """(first, last) local days of consecutive spans of at most CHUNK_DAYS days covering [first, last]."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=CHUNK_DAYS - 1))
        yield start, end
        start = end + timedelta(days=1)


def street_major_day_counts(conn: Connection, scope: Scope, tz: ZoneInfo, first: date,
                            last: date) -> tuple[np.ndarray, pd.DataFrame]:
    """Cases per street, major category and local day for the days ``first``..``last`` (inclusive).

    Returns (every local day of the span, oldest first; a frame of street, major, day, n).
    ``street`` is None for a case without a well-formed grid code (it counts for the whole scope);
    cases without a well-formed category are left out, as the engine's forecast leaves them out.
    """
    frames = []
    for lo, hi in _chunks(first, last):
        after = hi + timedelta(days=1)
        m = Moment(datetime(after.year, after.month, after.day, tzinfo=tz), tz)   # local midnight after hi
        _, frame = feeds.category_day_counts(conn, scope, m, (after - lo).days)
        if len(frame):
            frames.append(frame)
    days = _days(first, last)
    if not frames:
        return days, pd.DataFrame(columns=["street", "major", "day", "n"])
    out = pd.concat(frames, ignore_index=True)
    out["day"] = out["day"].values.astype("datetime64[D]")
    return days, out[["street", "major", "day", "n"]].reset_index(drop=True)


def grid_day_counts(conn: Connection, scope: Scope, tz: ZoneInfo, first: date, last: date) -> tuple[np.ndarray, pd.DataFrame]:
    """Cases per grid and local day for the days ``first``..``last`` (inclusive), any category.

    Returns (every local day of the span, oldest first; a frame of grid_code, day, n). Only cases
    with a well-formed 15-digit grid code count (the hotspots rank grids).
    """
    frames = []
    for lo, hi in _chunks(first, last):
        local_days = _days(lo, hi + timedelta(days=1))            # n + 1 bounds
        bounds = [datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(timezone.utc) for d in local_days.astype(object)]
        n = len(local_days) - 1
        day = feeds._bucket(c.reported_at, bounds, 0, n)
        ok = func.length(c.grid_code) == 15          # the digits are checked on the grouped rows
        stmt = (select(c.grid_code, day.label("d"), func.count())
                .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case), ok)
                .group_by(c.grid_code, day))
        rows = [(code, int(d), int(k)) for code, d, k in conn.execute(stmt)
                if isinstance(code, str) and feeds.GRID_CODE.fullmatch(code)]
        if rows:
            frame = pd.DataFrame(rows, columns=["grid_code", "d", "n"])
            frame["day"] = local_days[:-1][frame["d"].to_numpy(dtype=np.int64)]
            frames.append(frame[["grid_code", "day", "n"]])
    days = _days(first, last)
    if not frames:
        return days, pd.DataFrame(columns=["grid_code", "day", "n"])
    out = pd.concat(frames, ignore_index=True)
    return days, out.groupby(["grid_code", "day"], as_index=False)["n"].sum()


def grid_areas(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Every grid in scope (a well-formed 15-digit code): grid_code and area_km2 (None when its
    boundary is missing or unusable). The area is the polygon's area in degrees scaled to km² at
    its own latitude (exact enough for cells of a few hundred metres to a few km)."""
    rows = []
    for code, boundary in conn.execute(select_in(scope, Grid, g.code, g.boundary).order_by(g.code)):
        if not (isinstance(code, str) and feeds.GRID_CODE.fullmatch(code)):
            continue
        geom = parse_boundary(boundary)
        area = None
        if geom is not None:
            lat = geom.centroid.y
            area = float(geom.area) * KM_PER_DEGREE ** 2 * math.cos(math.radians(lat))
        rows.append((code, area))
    return pd.DataFrame(rows, columns=["grid_code", "area_km2"])


def case_span(conn: Connection, scope: Scope) -> tuple[datetime | None, datetime | None]:
    """(first, last) ``reported_at`` of the cases in scope (aware UTC), or (None, None)."""
    lo, hi = conn.execute(select(func.min(c.reported_at), func.max(c.reported_at)).where(in_scope(scope, Case))).first()

    def aware(v):
        if v is None:
            return None
        v = pd.Timestamp(v)
        return (v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC")).to_pydatetime()

    return aware(lo), aware(hi)
