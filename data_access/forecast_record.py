"""What the review page's forecast section (预测研判) reads besides the engine's stored forecast
(``data_access.forecasts``): the daily counts its record and its hotspots are computed from, and the
hotspot grids' names and shapes. Every read takes the view's scope and its moment.

* ``street_category_days``: cases per street x major category x local day over the complete days
  before T's date (``feeds_cases.category_day_counts``, the engine's own read), kept per process
  while the cases of those days do not change (count, first and last id of the window).
* ``grid_days``: cases per grid x local day over the complete days before T's date, grouped in the
  database like the engine's reads (a tree of CASEs over the days' UTC starts).
* ``grid_places``: the grids' names (community + grid: "城东社区第四网格") and polygons.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from . import feeds_cases as feeds
from .feeds_cases import GRID_CODE, _bucket, _digits, _utc_starts
from .geo import SIMPLIFY_DEGREES, _rounded, parse_boundary
from .models import Case, Grid, Region
from .moment import Moment
from .scope import Scope
from .scoped import in_scope, in_scope_or_above, select_in

c = Case.__table__.c
g = Grid.__table__.c
r = Region.__table__.c

_CACHE_SIZE = 32
_lock = threading.Lock()
_cache: OrderedDict[tuple, Any] = OrderedDict()


def clear_caches() -> None:
    with _lock:
        _cache.clear()


def _cached(key: tuple, read):
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = read()
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _window(m: Moment, days: int) -> tuple[np.ndarray, list]:
    """The ``days`` complete local days before T's date (+ T's date as the last bound) and their UTC starts."""
    today = np.datetime64(m.at.astimezone(m.tz).date(), "D")
    local_days = today - np.arange(days, -1, -1).astype("timedelta64[D]")
    return local_days, _utc_starts(local_days, m)


def street_category_days(conn: Connection, scope: Scope, m: Moment, days: int) -> tuple[np.ndarray, pd.DataFrame]:
    """``feeds_cases.category_day_counts`` (days from the first with a case; frame of street, major,
    day, n), kept per process while the window's cases are the same."""
    _, bounds = _window(m, days)
    key = ("street_category", feeds.database_key(conn), scope.region, scope.root, str(m.tz), bounds[0], days,
           feeds.facts_fingerprint(conn, scope, bounds[0], bounds[-1]))
    return _cached(key, lambda: feeds.category_day_counts(conn, scope, m, days))


def grid_days(conn: Connection, scope: Scope, m: Moment, days: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Cases per grid (well-formed 15-digit codes in scope) and local day over the ``days`` complete
    days before T's date: (the days, oldest first; the grids with a case, by code; counts (G, days))."""
    local_days, bounds = _window(m, days)

    def read():
        day = _bucket(c.reported_at, bounds, 0, days)
        stmt = (select(c.grid_code, day.label("d"), func.count())
                .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case),
                       and_(func.length(c.grid_code) == 15, *_digits(c.grid_code, range(1, 16))))
                .group_by(c.grid_code, day))
        rows = [(code, int(d), int(n)) for code, d, n in conn.execute(stmt)
                if isinstance(code, str) and GRID_CODE.fullmatch(code)]
        grids = sorted({code for code, _, _ in rows})
        index = {code: i for i, code in enumerate(grids)}
        y = np.zeros((len(grids), days))
        for code, d, n in rows:
            y[index[code], d] += n
        return local_days[:-1], grids, y

    key = ("grid_days", feeds.database_key(conn), scope.region, scope.root, str(m.tz), bounds[0], days,
           feeds.facts_fingerprint(conn, scope, bounds[0], bounds[-1]))
    return _cached(key, read)


def grid_places(conn: Connection, scope: Scope, codes: list[str]) -> dict[str, dict[str, Any]]:
    """Name and shape of each grid of ``codes`` inside the scope: {code: {"name", "geometry" (GeoJSON,
    simplified; None when the boundary is unusable), "point" ([lat, lon] inside it, or None)}}."""
    codes = [code for code in codes if isinstance(code, str) and GRID_CODE.fullmatch(code)]
    if not codes:
        return {}
    rows = conn.execute(select_in(scope, Grid, g.code, g.name, g.boundary).where(g.code.in_(codes)))
    grids = {code: (name, boundary) for code, name, boundary in rows}
    communities = {code[:12] for code in grids}
    names = {code: name for code, name in conn.execute(
        select(r.code, r.name).where(r.code.in_(sorted(communities)), in_scope_or_above(scope, Region)))}
    out = {}
    for code in codes:
        if code not in grids:
            continue
        name, boundary = grids[code]
        geom = parse_boundary(boundary)
        geometry = point = None
        if geom is not None:
            simple = geom.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
            geometry = _rounded(simple if not simple.is_empty else geom)
            inner = geom.representative_point()
            point = [round(inner.y, 6), round(inner.x, 6)]
        out[code] = {"name": f"{names.get(code[:12]) or ''}{name or code}", "geometry": geometry, "point": point}
    return out


def section_inputs(conn: Connection, scope: Scope, m: Moment, record_days: int, hotspot_days: int) -> dict[str, Any]:
    """Everything the forecast section reads, in one go (the page and the API):
    the engine's stored forecast from T's date on (7 days), daily counts per street x major category
    (``record_days``; 0: none) and per grid (``hotspot_days``), and the names of regions and categories."""
    from .forecasts import read_forecast

    if record_days > 0:
        street_days, street_counts = street_category_days(conn, scope, m, record_days)
    else:   # no record for this view: nothing to read
        street_days, street_counts = np.array([], dtype="datetime64[D]"), pd.DataFrame(columns=["street", "major", "day", "n"])
    grid_day_list, grid_codes, grid_y = grid_days(conn, scope, m, hotspot_days)
    return {"stored_rows": read_forecast(conn, scope, m, 7), "street_days": street_days,
            "street_counts": street_counts, "grid_day_list": grid_day_list, "grid_codes": grid_codes,
            "grid_y": grid_y, "names": feeds.region_and_category_names(conn, scope)}
