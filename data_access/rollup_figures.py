"""A roll-up's figures as the sum of its counties' own (contract 1.1: "every figure at the city root
equals the sum of the counties' own").

Read through the roll-up's views, a city's summary costs about three times the same statements on
one plain table of all its cases: the views' mapped ids keep the staffing joins from using their
indexes (bench/rollup_city.py, docs/scale.md). Here each county's figures are computed on that
county's own schema, exactly as its own wall computes them (the same statements, the ids as the
county made them), the counties side by side on pooled connections, and then summed: counts add,
rates are summed numerators over summed denominators. A region inside one county reads that county's
schema alone. The roll-up's own alerts (its cross-county engine's) are counted through the view.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from .moment import Moment
from .rollup import county_schema, sources
from .scope import CHILD_LENGTH, COUNTY_LENGTH, Scope

T = TypeVar("T")
# Runs of counties read at once, one connection each: as many as the cores, 2 to 8 (on 2 cores 2 runs
# took 122 ms, 4 runs 112-129 ms, 10 runs 153 ms: the pool overflowed; docs/scale.md).
FANOUT = max(2, min(8, os.cpu_count() or 2))

_pool = ThreadPoolExecutor(max_workers=FANOUT, thread_name_prefix="gw-county")

# Each county's counts as the summary last read them, for the children of the same moment: the wall
# asks for both at once, and a city's children above the county are those very counts.
RECENT_SECONDS = 10.0
_recent: dict[tuple, tuple[float, dict]] = {}
_recent_lock = threading.Lock()


def _remember(key: tuple, counts: dict) -> None:
    now = time.monotonic()
    with _recent_lock:
        if len(_recent) > 512:
            for k in [k for k, (at, _) in _recent.items() if now - at > RECENT_SECONDS]:
                del _recent[k]
        _recent[key] = (now, counts)


def _recalled(key: tuple) -> dict | None:
    with _recent_lock:
        hit = _recent.get(key)
    return hit[1] if hit and time.monotonic() - hit[0] <= RECENT_SECONDS else None


def _key(engine: Engine, county: str, scope: Scope, m: Moment) -> tuple:
    return (engine.url.render_as_string(hide_password=False), county, scope.region, m.at)


def counties_in(conn: Connection, scope: Scope) -> list[str]:
    """The subscribed counties whose rows the scope covers."""
    region = scope.region
    return [s.county for s in sources(conn)
            if s.county.startswith(region) or region.startswith(s.county)]


@contextmanager
def county_connection(engine: Engine, county: str) -> Iterator[Connection]:
    """A connection that reads ``county``'s own schema by the contract's table names (one transaction)."""
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql(f'SET LOCAL search_path TO "{county_schema(county)}", public')
        yield conn


def county_scope(scope: Scope, county: str) -> Scope:
    """The scope as the county's own wall has it: rooted at the county (its unlocated cases at its
    root), narrowed to the scope's region when that lies inside the county."""
    region = scope.region if len(scope.region) >= COUNTY_LENGTH else county
    return Scope(region=region, root=county)


def per_county(engine: Engine, counties: list[str], scope: Scope,
               read: Callable[[Connection, Scope], T]) -> dict[str, T]:
    """``read(conn, county_scope)`` on each county's own schema: the counties split into FANOUT runs,
    each run on one connection (a checkout per county cost as much as a county's statements)."""
    return per_county_started(engine, counties, scope, read)()


def per_county_started(engine: Engine, counties: list[str], scope: Scope,
                       read: Callable[[Connection, Scope], T]) -> Callable[[], dict[str, T]]:
    """``per_county`` begun on the pool; the returned function waits for it. The caller's own
    thread may meanwhile read something else on its own connection."""
    def run(group: list[str]) -> list[tuple[str, T]]:
        out = []
        with engine.connect() as conn, conn.begin():
            for county in group:
                conn.exec_driver_sql(f'SET LOCAL search_path TO "{county_schema(county)}", public')
                out.append((county, read(conn, county_scope(scope, county))))
        return out

    groups = [counties[i::FANOUT] for i in range(min(FANOUT, len(counties)))]
    if len(groups) <= 1:
        return lambda: dict(run(counties)) if counties else {}
    futures = [_pool.submit(run, g) for g in groups]
    return lambda: {county: value for f in futures for county, value in f.result()}


def add(dicts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + (v or 0)
    return out


def summed(conn: Connection, scope: Scope, read: Callable[[Connection, Scope], dict[str, Any]]) -> dict[str, Any]:
    """``read`` on each county's own schema, summed (counts add)."""
    return add(list(per_county(conn.engine, counties_in(conn, scope), scope, read).values()))


def summary(conn: Connection, scope: Scope, m: Moment, counts_and_staffing, alerts) -> dict[str, Any]:
    """The summary of a roll-up scope: each county's raw counts and staffing (one statement a
    county), summed; the alerts through the view (the counties' replicated ones and the roll-up's own)."""
    counties = counties_in(conn, scope)

    def read(c: Connection, s: Scope):
        counts, staffing = counts_and_staffing(c, s, m)
        _remember(_key(conn.engine, s.root, s, m), counts)
        return counts, staffing

    wait = per_county_started(conn.engine, counties, scope, read)
    # The alerts (through the view) on this connection while the counties are read on theirs.
    alert_counts = alerts(conn, scope, m)
    parts = wait()
    counts = add([p[0] for p in parts.values()])
    staff = add([p[1] for p in parts.values()])
    return {"counts": counts, "staffing": staff, "alerts": alert_counts}


def by_child(conn: Connection, scope: Scope, m: Moment, county_by_child, keys, *,
             reuse: bool = True) -> dict[str, dict[str, int]]:
    """Each child's figures, from each county's own: ``county_by_child(conn, county_scope, m)`` gives the
    county's children (a scope inside the county) or the county's own counts as the summary reads
    them (a scope above it: they add up into the child holding the county; ``keys`` are the
    figures added)."""
    counties = counties_in(conn, scope)
    above = len(scope.region) < COUNTY_LENGTH
    known = ({c: _recalled(_key(conn.engine, c, county_scope(scope, c), m)) for c in counties}
             if above and reuse else {})
    parts = {c: v for c, v in known.items() if v is not None}
    missing = [c for c in counties if c not in parts]
    if missing:
        def read(c: Connection, s: Scope):
            rows = county_by_child(c, s, m)
            if above:  # the county's own counts: the next children of this moment reuse them
                _remember(_key(conn.engine, s.root, s, m), rows)
            return rows

        parts.update(per_county(conn.engine, missing, scope, read))
    if not above:
        return next(iter(parts.values()), {})
    n = CHILD_LENGTH[len(scope.region)]
    out: dict[str, dict[str, int]] = {}
    for county, rows in parts.items():
        key = county[:n]
        out[key] = add([out.get(key, {}), {k: rows.get(k, 0) for k in keys}])
    return out
