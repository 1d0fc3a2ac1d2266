"""Forecasts (预测研判) in gridwall's own tables: written once a day by the engine, read by the wall.

``gw_forecasts``: expected cases per region (each street, and the root) x major category x
future local day, with an 80 % interval. ``gw_hotspots``: next week's top grids. Reads take the
latest forecast made at or before the moment, so ``?at=`` shows what was forecast then.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable

from sqlalchemy import delete, func, insert, inspect, select
from sqlalchemy.engine import Connection

from .models import GwForecast, GwHotspot
from .moment import Moment
from .scope import Scope
from .scoped import in_scope

fc = GwForecast.__table__.c
hs = GwHotspot.__table__.c

FORECAST_KEYS = ("region_code", "category_code", "day", "expected", "median", "lo80", "hi80", "made_at")
HOTSPOT_KEYS = ("grid_code", "week_start", "rank", "expected", "made_at")
READ_DAYS = 14


def write_forecast(conn: Connection, rows, hotspot_rows: Iterable[dict] | None = None) -> dict[str, int]:
    """Store a day's forecast, replacing what an earlier run forecast for the same regions and days.

    ``rows`` is either the forecast rows or the pair ``(forecast_rows, hotspot_rows)`` that
    ``dashboard.warning.case_detectors.forecast_outputs`` returns. Returns rows written per table.
    """
    if isinstance(rows, tuple) and len(rows) == 2 and hotspot_rows is None:
        rows, hotspot_rows = rows
    keys = _present(conn, FORECAST_KEYS)
    rows = [{k: r.get(k) for k in keys} for r in (rows or [])]
    hotspots = [{k: r[k] for k in HOTSPOT_KEYS} for r in (hotspot_rows or [])]
    if rows:
        first = min(r["day"] for r in rows)
        regions = sorted({r["region_code"] for r in rows})
        conn.execute(delete(GwForecast).where(fc.day >= first, fc.region_code.in_(regions)))
        conn.execute(insert(GwForecast), rows)
    if hotspots:
        weeks = sorted({r["week_start"] for r in hotspots})
        conn.execute(delete(GwHotspot).where(hs.week_start.in_(weeks)))
        conn.execute(insert(GwHotspot), hotspots)
    return {"gw_forecasts": len(rows), "gw_hotspots": len(hotspots)}


def _present(conn: Connection, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys that are columns of gw_forecasts here: a table made by an older gridwall, under a
    role that may not add columns, lacks the newer ones (``median``) until its owner runs init-db."""
    have = {col["name"] for col in inspect(conn).get_columns(GwForecast.__tablename__)}
    return tuple(k for k in keys if k in have)


def _local_today(m: Moment) -> date:
    return m.at.astimezone(m.tz).date()


def read_forecast(conn: Connection, scope: Scope, m: Moment, days: int = READ_DAYS) -> list[dict[str, Any]]:
    """Forecast rows of the regions in scope for today onward, as last forecast at or before T.

    Rows: region_code, category_code, day (date), expected (mean), median, lo80, hi80, made_at; ordered by region,
    category, day. Forecasts exist per street and for the root; a community scope has none.
    """
    today = _local_today(m)
    keys = _present(conn, FORECAST_KEYS)
    stmt = (select(*(fc[k] for k in keys))
            .where(in_scope(scope, GwForecast), fc.day >= today, fc.day < today + timedelta(days=days),
                   fc.made_at <= m.at)
            .order_by(fc.made_at, fc.id))
    latest: dict[tuple, dict] = {}
    for row in conn.execute(stmt):
        r = {k: None for k in FORECAST_KEYS} | dict(row._mapping)
        latest[(r["region_code"], r["category_code"], r["day"])] = r
    return [latest[k] for k in sorted(latest)]


def read_hotspots(conn: Connection, scope: Scope, m: Moment) -> list[dict[str, Any]]:
    """The latest hotspot list made at or before T, restricted to the grids in scope, best first.

    Rows: grid_code, week_start, rank (county-wide), expected (cases over the week), made_at.
    """
    made = conn.execute(select(func.max(hs.made_at)).where(hs.made_at <= m.at, in_scope(scope, GwHotspot))).scalar()
    if made is None:
        return []
    stmt = (select(*(hs[k] for k in HOTSPOT_KEYS))
            .where(hs.made_at == made, in_scope(scope, GwHotspot)).order_by(hs.rank))
    return [dict(r._mapping) for r in conn.execute(stmt)]
