"""Each child region's freshness on a roll-up database: ``stale`` and ``data_as_of`` (interfaces.md,
``GET /api/v1/regions/CODE/children``), from the counties' heartbeats (``data_access.rollup.freshness``)."""

from __future__ import annotations

from datetime import datetime

from data_access.rollup import Freshness


def region_freshness(fresh: dict[str, Freshness], code: str) -> tuple[bool, datetime | None]:
    """(stale, data_as_of) of a region: a county's own; for a city or the province, the oldest of its
    subscribed counties (stale when any is); for a street, community or grid, its county's. A region
    with no subscribed county is stale with no data_as_of (not connected)."""
    feeds = [f for county, f in fresh.items() if county.startswith(code) or code.startswith(county)]
    if not feeds:
        return True, None
    stale = any(f.stale for f in feeds)
    times = [f.data_as_of for f in feeds]
    return stale, (None if any(t is None for t in times) else min(times))
