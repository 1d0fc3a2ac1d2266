"""What the case detectors (dashboard.analytics) read: case facts as data frames, for a scope and a moment.

Each function reads cases inside ``scope`` reported at or before ``m.at`` (a future timestamp is a
bad row and is left out) and hands back plain pandas frames; the analytics never see SQL.

Reporting facts (when, where, which category, which channel) do not change once written, so the
part of a window before today's local midnight is cached per process, keyed by database, scope
and window; only today's rows are read on every run. Lifecycle columns (status, closed_at) do
change and are always read fresh.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from .geo import parse_boundary
from .models import Case, Grid
from .moment import Moment
from .scope import Scope
from .scoped import in_scope, select_in
from .sqlfuncs import epoch_seconds

c = Case.__table__.c
g = Grid.__table__.c

GRID_CODE = re.compile(r"[0-9]{15}")
MINOR_CODE = re.compile(r"[0-9]{4}")
STREET_CODE = re.compile(r"[0-9]{9}")
MAJOR_CODE = re.compile(r"[0-9]{2}")

FACT_COLUMNS = ("id", "reported_at", "grid_code", "category_code", "source")
_CACHE_SIZE = 16
_lock = threading.Lock()
_history_cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_centroid_cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()


def _cache_get(cache: OrderedDict, key):
    with _lock:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _cache_put(cache: OrderedDict, key, value) -> None:
    with _lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def clear_caches() -> None:
    with _lock:
        _history_cache.clear()
        _centroid_cache.clear()


def database_key(conn: Connection) -> str:
    """Names the database a connection reads (for per-process caches of derived results)."""
    return conn.engine.url.render_as_string(hide_password=True)


_db_key = database_key


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=list(columns))


def _read_facts(conn: Connection, scope: Scope, start: datetime, end: datetime, *, end_inclusive: bool) -> pd.DataFrame:
    upper = c.reported_at <= end if end_inclusive else c.reported_at < end
    # epoch seconds, not datetimes: building a Python datetime per row is most of the read's cost
    cols = [c.id, epoch_seconds(c.reported_at).label("reported_epoch"), c.grid_code, c.category_code, c.source]
    stmt = (select(*cols).where(c.reported_at >= start, upper, in_scope(scope, Case))
            .order_by(c.reported_at, c.id))
    frame = _frame(conn.execute(stmt), ["id", "reported_epoch", "grid_code", "category_code", "source"])
    frame["reported_at"] = pd.to_datetime(frame.pop("reported_epoch").astype(float).round(3), unit="s", utc=True)
    return frame[list(FACT_COLUMNS)]


def add_calendar(frame: pd.DataFrame, m: Moment) -> pd.DataFrame:
    """Local day (``day``, datetime64[D]) and local hour of ``reported_at``; street, community and
    major category derived from the codes (None where a code is malformed)."""
    out = frame.copy()
    when = pd.to_datetime(out["reported_at"], utc=True)
    local = when.dt.tz_convert(m.tz).dt.tz_localize(None)
    out["day"] = local.values.astype("datetime64[D]")
    out["hour"] = local.dt.hour.astype(np.int16) if len(out) else pd.Series([], dtype=np.int16)
    out["minute_of_day"] = (local.dt.hour * 60 + local.dt.minute).astype(np.int16) if len(out) else pd.Series([], dtype=np.int16)
    grid = out["grid_code"].where(out["grid_code"].map(lambda v: isinstance(v, str) and bool(GRID_CODE.fullmatch(v))))
    out["grid_code"] = grid
    out["street"] = grid.str[:9]
    out["community"] = grid.str[:12]
    cat = out["category_code"].where(out["category_code"].map(lambda v: isinstance(v, str) and bool(MINOR_CODE.fullmatch(v))))
    out["category_code"] = cat
    out["major"] = cat.str[:2]
    out["source"] = out["source"].fillna("other").astype(str)
    return out


def case_facts(conn: Connection, scope: Scope, m: Moment, days: int) -> pd.DataFrame:
    """Cases reported from local midnight ``days`` days before T's date up to T, any status.

    Columns: id, reported_at (aware UTC), grid_code, category_code, source, day (local date),
    hour, minute_of_day, street, community, major. ``attrs["history_key"]`` identifies the
    complete days' rows (it changes when rows before today are added or replaced).
    """
    midnight = m.midnight
    start = (pd.Timestamp(midnight).tz_convert(m.tz) - pd.Timedelta(days=days)).tz_convert("UTC").to_pydatetime()
    fingerprint = facts_fingerprint(conn, scope, start, midnight)
    key = (_db_key(conn), scope.region, scope.root, start, midnight, str(m.tz), fingerprint)
    history = _cache_get(_history_cache, key)
    if history is None:
        history = add_calendar(_read_facts(conn, scope, start, midnight, end_inclusive=False), m)
        _cache_put(_history_cache, key, history)
    today = add_calendar(_read_facts(conn, scope, midnight, m.at, end_inclusive=True), m)
    if not len(today):
        out = history.copy(deep=False)
    elif not len(history):
        out = today
    else:
        out = pd.concat([history, today], ignore_index=True)
    # Lets callers cache what they derive from the complete days.
    out.attrs["history_key"] = key
    return out


def grid_centroids(conn: Connection, scope: Scope) -> pd.DataFrame:
    """Grid code, community and centroid (lon, lat) of every grid in scope with a usable boundary.

    Cached per process: grids are the map, which changes rarely.
    """
    key = (_db_key(conn), scope.region)
    cached = _cache_get(_centroid_cache, key)
    if cached is not None:
        return cached
    rows = []
    for code, boundary in conn.execute(select_in(scope, Grid, g.code, g.boundary)):
        if not (isinstance(code, str) and GRID_CODE.fullmatch(code)):
            continue
        geom = parse_boundary(boundary)
        if geom is None:
            continue
        point = geom.centroid
        rows.append((code, code[:12], float(point.x), float(point.y)))
    out = pd.DataFrame(rows, columns=["grid_code", "community", "lon", "lat"])
    _cache_put(_centroid_cache, key, out)
    return out


REPEAT_COLUMNS = ("id", "code", "reported_at", "grid_code", "category_code", "address", "status", "closed_at")


def repeat_cases(conn: Connection, scope: Scope, m: Moment, days: int) -> pd.DataFrame:
    """Cases reported, or closed, in (T - days, T], with address and their state as of T.

    ``closed_at`` later than T is blanked (as of T the case was open); ``status`` is then
    reported as ``open``.
    """
    since = m.at - timedelta(days=days)
    stmt = (select(*(c[k] for k in REPEAT_COLUMNS))
            .where(c.reported_at <= m.at, in_scope(scope, Case),
                   or_(c.reported_at > since, and_(c.closed_at > since, c.closed_at <= m.at)))
            .order_by(c.reported_at, c.id))
    out = _frame(conn.execute(stmt), REPEAT_COLUMNS)
    if len(out):
        closed = pd.to_datetime(out["closed_at"], utc=True)
        later = closed > pd.Timestamp(m.at)
        out["closed_at"] = closed.where(~later)
        out.loc[later, "status"] = "open"
        out["reported_at"] = pd.to_datetime(out["reported_at"], utc=True)
    return out


TEXT_COLUMNS = ("id", "code", "reported_at", "grid_code", "category_code", "title", "description", "status", "closed_at")


def recent_case_texts(conn: Connection, scope: Scope, m: Moment, days: int, fresh_hours: float = 24.0) -> pd.DataFrame:
    """Title and description of cases reported in (T - days, T] that were still open at T or were
    reported in the last ``fresh_hours`` (a case closed within the hour is still news)."""
    since = m.at - timedelta(days=days)
    fresh = m.at - timedelta(hours=fresh_hours)
    stmt = (select(*(c[k] for k in TEXT_COLUMNS))
            .where(c.reported_at > since, c.reported_at <= m.at, in_scope(scope, Case),
                   or_(c.closed_at.is_(None), c.closed_at > m.at, c.reported_at > fresh))
            .order_by(c.reported_at, c.id))
    out = _frame(conn.execute(stmt), TEXT_COLUMNS)
    if len(out):
        out["reported_at"] = pd.to_datetime(out["reported_at"], utc=True)
    return out


def _mondays(days: np.ndarray) -> np.ndarray:
    """The Monday of each local day's week (datetime64[D])."""
    days = np.asarray(days, dtype="datetime64[D]")
    return days - ((days.astype(np.int64) - 4) % 7).astype("timedelta64[D]")  # 1970-01-05 was a Monday


def channel_week_counts(facts: pd.DataFrame, week_starts: np.ndarray) -> pd.DataFrame:
    """Cases per community, local week (Monday) and source from ``case_facts`` rows.

    Columns: community, week (datetime64[D], a Monday), source, n. Only weeks in ``week_starts``.
    """
    located = facts.dropna(subset=["community"])
    if not len(located):
        return pd.DataFrame(columns=["community", "week", "source", "n"])
    week = _mondays(located["day"].values)
    frame = pd.DataFrame({"community": located["community"].values, "week": week, "source": located["source"].values})
    frame = frame[np.isin(frame["week"].values, week_starts)]
    return frame.groupby(["community", "week", "source"], as_index=False).size().rename(columns={"size": "n"})


def _utc_starts(local_days: np.ndarray, m: Moment) -> list[datetime]:
    """The UTC instant each local day (datetime64[D]) begins at in ``m.tz``."""
    return [pd.Timestamp(d).tz_localize(m.tz).tz_convert("UTC").to_pydatetime() for d in local_days]


def _bucket(column, bounds: list, lo: int, hi: int):
    """The index i of the bucket [bounds[i], bounds[i + 1]) holding ``column``, for lo <= i < hi, as a
    balanced tree of CASEs: about log2(buckets) comparisons a row instead of one per bucket."""
    from sqlalchemy import case as sql_case, literal_column

    if hi - lo <= 1:
        return literal_column(str(int(lo)))   # inline: a year of bound parameters twice would pass SQLite's old 999
    mid = (lo + hi) // 2
    return sql_case((column < bounds[mid], _bucket(column, bounds, lo, mid)), else_=_bucket(column, bounds, mid, hi))


def _digits(column, positions) -> list:
    """Conditions: the characters of ``column`` at these (1-based) positions are ASCII digits."""
    from sqlalchemy import func

    return [func.substr(column, i, 1).between("0", "9") for i in positions]


def community_channel_weeks(conn: Connection, scope: Scope, m: Moment, weeks: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Cases per community, local week and source over the ``weeks`` complete local weeks before
    the week of T, counted in the database.

    Returns (Mondays of the complete weeks from the first week with a case on, oldest first; a frame
    of community, week, source, n like ``channel_week_counts``). The concealment tests read a year of
    weeks: as rows (``case_facts``) that is every case of the year in memory; grouped here it is at
    most communities x weeks x sources rows. Week buckets are a tree of CASEs over the weeks' UTC
    starts (``_bucket``), so the grouping is the same SQL on every backend and follows ``m.tz`` exactly.
    """
    from sqlalchemy import func

    this_monday = _mondays([m.at.astimezone(m.tz).date()])[0]
    mondays = this_monday - np.timedelta64(7, "D") * np.arange(weeks, -1, -1)   # weeks + 1 bounds
    bounds = _utc_starts(mondays, m)
    first = conn.execute(select(func.min(c.reported_at)).where(
        c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case))).scalar()
    if first is None:
        return np.array([], dtype="datetime64[D]"), pd.DataFrame(columns=["community", "week", "source", "n"])
    first = pd.Timestamp(first)
    first = first.tz_localize("UTC") if first.tzinfo is None else first
    first_day = np.datetime64(first.tz_convert(m.tz).date(), "D")
    # a week counts only from its Monday on: a first case mid-week means that week is incomplete
    keep = mondays[:-1] >= first_day
    week = _bucket(c.reported_at, bounds, 0, weeks)
    community = func.substr(c.grid_code, 1, 12)
    source = func.coalesce(c.source, "other")
    stmt = (select(community, source, week.label("w"), func.count())
            .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case),
                   func.length(c.grid_code) == 15,
                   # the grid's own three digits; the community's twelve are checked on the grouped rows
                   *_digits(c.grid_code, (13, 14, 15)))
            .group_by(community, source, week))
    rows = [(comm, src, int(w), int(n)) for comm, src, w, n in conn.execute(stmt)
            if isinstance(comm, str) and comm.isdigit() and keep[int(w)]]
    frame = pd.DataFrame(rows, columns=["community", "source", "w", "n"])
    frame["week"] = mondays[:-1][frame["w"].to_numpy(dtype=np.int64)] if len(frame) else np.array([], dtype="datetime64[D]")
    return mondays[:-1][keep], frame[["community", "week", "source", "n"]].reset_index(drop=True)


def category_day_counts(conn: Connection, scope: Scope, m: Moment, days: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Cases per street, major category and local day over the ``days`` complete local days before
    T's date, counted in the database (the forecast reads a year of them once a day).

    Returns (the local days from the first day with a case on, oldest first; a frame of street,
    major, day, n). ``street`` is None for a case without a well-formed grid code (it still counts
    for the whole scope); cases without a well-formed category are left out, as ``add_calendar``
    and ``count_cube`` leave them out of the row path. Day buckets are a tree of CASEs over the
    days' UTC starts, so the SQL is the same on every backend and follows ``m.tz`` exactly.
    """
    from sqlalchemy import and_, case as sql_case, func

    today = np.datetime64(m.at.astimezone(m.tz).date(), "D")
    local_days = today - np.arange(days, -1, -1).astype("timedelta64[D]")     # days + 1 bounds, today last
    bounds = _utc_starts(local_days, m)
    day = _bucket(c.reported_at, bounds, 0, days)
    grid_ok = sql_case((and_(func.length(c.grid_code) == 15, *_digits(c.grid_code, range(10, 16))), 1), else_=0)
    cat_ok = sql_case((and_(func.length(c.category_code) == 4, *_digits(c.category_code, (3, 4))), 1), else_=0)
    street, major = func.substr(c.grid_code, 1, 9), func.substr(c.category_code, 1, 2)
    stmt = (select(street, grid_ok, major, cat_ok, day, func.count())
            .where(c.reported_at >= bounds[0], c.reported_at < bounds[-1], in_scope(scope, Case))
            .group_by(street, grid_ok, major, cat_ok, day))
    rows = []
    for st, g_ok, mj, c_ok, d, n in conn.execute(stmt):
        if not (c_ok and isinstance(mj, str) and MAJOR_CODE.fullmatch(mj)):
            continue
        located = g_ok and isinstance(st, str) and STREET_CODE.fullmatch(st)
        rows.append((st if located else None, mj, int(d), int(n)))
    frame = pd.DataFrame(rows, columns=["street", "major", "d", "n"])
    if not len(frame):
        return np.array([], dtype="datetime64[D]"), pd.DataFrame(columns=["street", "major", "day", "n"])
    # equal keys can arrive in two groups (a malformed grid and no grid are both "no street")
    frame = frame.groupby(["street", "major", "d"], dropna=False, as_index=False)["n"].sum()
    first = int(frame["d"].min())
    frame["day"] = local_days[:-1][frame["d"].to_numpy(dtype=np.int64)]
    return local_days[first:-1], frame[["street", "major", "day", "n"]]


def community_codes(conn: Connection, scope: Scope) -> list[str]:
    """Communities in scope that have at least one grid."""
    codes = {code[:12] for (code,) in conn.execute(select_in(scope, Grid, g.code))
             if isinstance(code, str) and GRID_CODE.fullmatch(code)}
    return sorted(codes)


def facts_fingerprint(conn: Connection, scope: Scope, start: datetime, end: datetime) -> tuple:
    """(count, min id, max id) of cases reported in [start, end): cheap, changes when rows are added or replaced."""
    from sqlalchemy import func

    row = conn.execute(select(func.count(), func.min(c.id), func.max(c.id))
                       .where(c.reported_at >= start, c.reported_at < end, in_scope(scope, Case))).first()
    return tuple(row) if row else (0, None, None)


def region_and_category_names(conn: Connection, scope: Scope) -> dict[str, str]:
    """Names of the regions and grids in scope (a grid by its 15-digit code, from the grids table),
    and of every category (``cat:`` + its code), by code. A grid without a name is left out: the
    layouts name it 第N网格 (``layouts.i18n.grid_name``)."""
    from .models import Category, Region

    r = Region.__table__.c
    g = Grid.__table__.c
    k = Category.__table__.c
    names = {code: name for code, name in conn.execute(select_in(scope, Region, r.code, r.name))
             if isinstance(code, str) and name}
    names.update({code: name for code, name in conn.execute(select_in(scope, Grid, g.code, g.name))
                  if isinstance(code, str) and len(code) == 15 and name})
    names.update({f"cat:{code}": name for code, name in conn.execute(select(k.code, k.name))
                  if isinstance(code, str) and name})
    return names
