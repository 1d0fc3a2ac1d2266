"""Writes of the synthetic county's seed and simulator (the only writers of platform tables).

Bulk loads take columns (lists or numpy arrays) and go in at driver speed: ``executemany`` with
pre-formatted timestamps on SQLite, ``COPY`` on PostgreSQL, a plain executemany elsewhere.
Timestamps arrive as integer epoch seconds (or numpy datetime64) and are stored as the contract
says: naive UTC text on SQLite in SQLAlchemy's own format (so comparisons with bound parameters
stay exact), ``timestamptz`` on PostgreSQL.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
from sqlalchemy import Engine, Table, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .models import Alert, Case, CaseAction, Category, Grid, Org, Region, Staff, StaffPing, StaffShift
from .types import UTCDateTime

UTC = timezone.utc
ID_TABLES = (Org, Staff, StaffShift, Case, CaseAction)

regions_t, grids_t, orgs_t, staff_t = Region.__table__, Grid.__table__, Org.__table__, Staff.__table__
shifts_t, pings_t, cats_t = StaffShift.__table__, StaffPing.__table__, Category.__table__
cases_t, actions_t, alerts_t = Case.__table__, CaseAction.__table__, Alert.__table__

TABLES: dict[str, Table] = {t.name: t for t in (regions_t, grids_t, orgs_t, staff_t, shifts_t, pings_t, cats_t,
                                               cases_t, actions_t, alerts_t)}


# --- replacing a county -----------------------------------------------------------------------

def delete_county(conn: Connection, county: str) -> None:
    """Remove every row of county ``county`` (its regions, grids, orgs, staff, their shifts and
    pings, cases and their actions, alerts in it); the city row too when no other county uses it."""
    like = f"{county}%"
    county_cases = select(cases_t.c.id).where(or_(cases_t.c.grid_code.like(like), cases_t.c.code.like(f"{county}-%")))
    county_orgs = select(orgs_t.c.id).where(orgs_t.c.region_code.like(like))
    county_staff = select(staff_t.c.id).where(staff_t.c.org_id.in_(county_orgs))
    # When the county is all there is, unconditional deletes (SQLite truncates them) save minutes.
    only_cases = not conn.execute(select(cases_t.c.id).where(cases_t.c.id.not_in(county_cases)).limit(1)).first()
    only_staff = not conn.execute(select(staff_t.c.id).where(
        or_(staff_t.c.org_id.is_(None), staff_t.c.org_id.not_in(county_orgs))).limit(1)).first()
    conn.execute(delete(actions_t) if only_cases else delete(actions_t).where(actions_t.c.case_id.in_(county_cases)))
    conn.execute(delete(cases_t).where(or_(cases_t.c.grid_code.like(like), cases_t.c.code.like(f"{county}-%"))))
    conn.execute(delete(pings_t) if only_staff else delete(pings_t).where(pings_t.c.staff_id.in_(county_staff)))
    conn.execute(delete(shifts_t) if only_staff else delete(shifts_t).where(shifts_t.c.staff_id.in_(county_staff)))
    conn.execute(delete(staff_t).where(staff_t.c.org_id.in_(county_orgs)))
    conn.execute(delete(orgs_t).where(orgs_t.c.region_code.like(like)))
    conn.execute(delete(grids_t).where(grids_t.c.code.like(like)))
    conn.execute(delete(alerts_t).where(alerts_t.c.region_code.like(like)))
    conn.execute(delete(regions_t).where(regions_t.c.code.like(like)))
    city = county[:4]
    others = conn.execute(select(func.count()).select_from(regions_t).where(regions_t.c.parent_code == city)).scalar()
    if not others:
        conn.execute(delete(regions_t).where(regions_t.c.code == city))


def upsert_categories(conn: Connection, rows: list[dict]) -> None:
    """Replace the categories with these codes by these rows (other codes stay)."""
    codes = [r["code"] for r in rows]
    conn.execute(delete(cats_t).where(cats_t.c.code.in_(codes)))
    if rows:
        conn.execute(insert(cats_t), rows)


def next_ids(conn: Connection) -> dict[str, int]:
    """The first free id of every table with an integer id."""
    return {m.__tablename__: int(conn.execute(select(func.coalesce(func.max(m.__table__.c.id), 0))).scalar()) + 1
            for m in ID_TABLES}


def sync_sequences(conn: Connection) -> None:
    """On PostgreSQL, move the id sequences past ids written explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for m in ID_TABLES:
        name = m.__tablename__
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false) "
            f"WHERE pg_get_serial_sequence('{name}', 'id') IS NOT NULL"))


# --- bulk loads -------------------------------------------------------------------------------

def _as_datetime64(values: Any) -> np.ndarray:
    """Epoch seconds (ints, None for NULL), datetimes or datetime64 -> datetime64[us] (NaT for NULL)."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[us]")
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.integer):
        return values.astype("datetime64[s]").astype("datetime64[us]")
    if not any(isinstance(v, datetime) for v in values):  # epoch seconds and NULLs: vectorised
        nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        secs = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
        out = secs.astype("datetime64[s]").astype("datetime64[us]")
        out[nulls] = np.datetime64("NaT")
        return out
    out = np.empty(len(values), dtype="datetime64[us]")
    for i, v in enumerate(values):
        if v is None:
            out[i] = np.datetime64("NaT")
        elif isinstance(v, datetime):
            v = v.astimezone(UTC) if v.tzinfo else v
            out[i] = np.datetime64(v.replace(tzinfo=None), "us")
        else:
            out[i] = np.datetime64(int(v), "s")
    return out


def _timestamp_texts(values: Any, suffix: str) -> list[str | None]:
    """'YYYY-MM-DD HH:MM:SS.ffffff' (+ suffix) per value; None for NULL."""
    secs, nulls = _epoch_seconds(values)
    if secs is not None:
        return _whole_second_texts(secs, nulls, suffix)
    dt = _as_datetime64(values)
    strings = np.datetime_as_string(dt, unit="us")  # '2026-11-26T10:00:00.000000'
    if len(strings):
        strings.view(np.uint32).reshape(len(strings), -1)[:, 10] = ord(" ")
    nat = np.isnat(dt)
    out = strings.tolist()
    if suffix:
        out = [s + suffix for s in out]
    if nat.any():
        for i in np.flatnonzero(nat):
            out[i] = None
    return out


def _epoch_seconds(values: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(int64 seconds, NULL mask) when ``values`` are integer epoch seconds (and None), else (None, None)."""
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.integer):
            return values.astype(np.int64, copy=False), None
        return None, None
    if any(not (v is None or isinstance(v, (int, np.integer))) or isinstance(v, bool) for v in values):
        return None, None
    nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    secs = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
    return secs, (nulls if nulls.any() else None)


_CLOCK_TEXTS: dict[str, list[str]] = {}


def _whole_second_texts(secs: np.ndarray, nulls: np.ndarray | None, suffix: str) -> list[str | None]:
    """_timestamp_texts for whole epoch seconds: a date text per day and a clock text per second of
    the day, joined (a bulk load formats millions of them; numpy's formatting takes twice as long)."""
    if len(secs) == 0:
        return []
    day, second = np.divmod(secs, 86400)
    first = int(day.min())
    dates = np.datetime_as_string(np.arange(first, int(day.max()) + 1).astype("datetime64[D]")).tolist()
    clock = _CLOCK_TEXTS.get(suffix)
    if clock is None:
        clock = _CLOCK_TEXTS[suffix] = [f" {h:02d}:{m:02d}:{s:02d}.000000{suffix}"
                                        for h in range(24) for m in range(60) for s in range(60)]
    out: list[str | None] = [dates[d] + clock[c] for d, c in zip((day - first).tolist(), second.tolist())]
    if nulls is not None:
        for i in np.flatnonzero(nulls).tolist():
            out[i] = None
    return out


def _plain(values: Any) -> list:
    if isinstance(values, np.ndarray):
        if np.issubdtype(values.dtype, np.floating):
            return [None if v != v else v for v in values.tolist()]
        return values.tolist()
    return list(values)


@contextmanager
def bulk_load(engine: Engine, cache_mb: int = 256) -> Iterator[Connection]:
    """A transaction for a big load (commits on success). On SQLite its connection gets a large page
    cache until after the commit: with the default 2 MB, the random index inserts of a million-row load
    spill and rewrite the same pages to the WAL over and over (the seed's inserts took twice as long)."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
        before = raw.execute("PRAGMA cache_size").fetchone()[0] if raw is not None else None
        if raw is not None:
            raw.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA cache_size={int(before)}")


class Prepared(NamedTuple):
    """Rows of a bulk load, formatted for the driver (prepare_rows), ready for insert_prepared."""

    table_name: str
    names: list[str]
    rows: list[tuple]


def prepare_rows(dialect: str, table_name: str, columns: dict[str, Sequence | np.ndarray]) -> Prepared:
    """The Python half of a bulk load (timestamps formatted, rows as tuples), which a caller can run
    while its connection is busy with something else."""
    table = TABLES[table_name]
    names = list(columns)
    if not names:
        return Prepared(table_name, names, [])
    n = len(columns[names[0]])
    cols = []
    for name in names:
        if isinstance(table.c[name].type, UTCDateTime):
            cols.append(_timestamp_texts(columns[name], "+00:00" if dialect == "postgresql" else ""))
        else:
            cols.append(_plain(columns[name]))
    if any(len(c) != n for c in cols):
        raise ValueError(f"columns of {table_name} differ in length")
    return Prepared(table_name, names, list(zip(*cols)))


def insert_prepared(conn: Connection, prepared: Prepared) -> int:
    """Insert rows from prepare_rows; returns the row count."""
    table_name, names, rows = prepared
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "sqlite":
        sql = f"INSERT INTO {table_name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        conn.exec_driver_sql(sql, rows)
    elif dialect == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {table_name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:  # any other backend: the portable, slower path
        table = TABLES[table_name]
        dicts = [dict(zip(names, row)) for row in rows]
        for name in names:
            if isinstance(table.c[name].type, UTCDateTime):
                for d in dicts:
                    d[name] = datetime.fromisoformat(d[name]).replace(tzinfo=UTC) if d[name] else None
        conn.execute(insert(table), dicts)
    return len(rows)


def bulk_insert(conn: Connection, table_name: str, columns: dict[str, Sequence | np.ndarray]) -> int:
    """Insert columns of equal length into ``table_name``; returns the row count."""
    return insert_prepared(conn, prepare_rows(conn.dialect.name, table_name, columns))


def drop_indexes(conn: Connection, table_name: str, incoming: int) -> list[str]:
    """Before a bulk load of ``incoming`` rows into ``table_name``: on SQLite, inside a transaction
    that has written already, and when the table holds no more rows than that, drop the table's
    secondary indexes and return the statements that make them again (create_indexes, in the same
    transaction). Building an index once, sorted, after the load is several times faster than
    inserting a million rows into it in random order; the transaction keeps readers from ever seeing
    the table without them. Otherwise nothing is dropped ([])."""
    if conn.dialect.name != "sqlite" or incoming <= 0 or not conn.connection.dbapi_connection.in_transaction:
        return []
    if conn.exec_driver_sql(f"SELECT count(*) FROM {table_name}").scalar() > incoming:
        return []
    found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                 "AND sql IS NOT NULL ORDER BY name", (table_name,)).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def create_indexes(conn: Connection, statements: list[str]) -> None:
    """Make again the indexes drop_indexes dropped."""
    for sql in statements:
        conn.exec_driver_sql(sql)


def insert_rows(conn: Connection, table_name: str, rows: list[dict]) -> int:
    """Insert row dicts through SQLAlchemy (small batches: the simulator)."""
    if rows:
        conn.execute(insert(TABLES[table_name]), rows)
    return len(rows)


def insert_pings(conn: Connection, rows: list[dict]) -> int:
    """Insert pings, skipping any (staff_id, ts) already there (another writer got there first)."""
    if not rows:
        return 0
    if conn.dialect.name in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        conn.execute(dialect_insert(pings_t).on_conflict_do_nothing(), rows)
    else:
        conn.execute(insert(pings_t), rows)
    return len(rows)


# --- the simulator's case writes --------------------------------------------------------------

def insert_cases_returning_ids(conn: Connection, rows: list[dict]) -> list[int]:
    """Insert new cases (no ids) and return the ids the database gave them, in order."""
    if not rows:
        return []
    stmt = insert(cases_t).returning(cases_t.c.id, sort_by_parameter_order=True)
    return [int(r[0]) for r in conn.execute(stmt, rows)]


CASE_STATE_COLUMNS = ("status", "level", "handler_org_id", "accepted_at", "dispatched_at", "closed_at",
                      "escalations", "returns", "reworks", "urges", "satisfaction", "merged_into", "resolve_due_at",
                      "updated_at")  # resolve_due_at: an extension (延期) moves it


def update_case_states(conn: Connection, rows: Iterable[dict]) -> int:
    """Set the lifecycle columns of existing cases; each row has ``id`` and every CASE_STATE_COLUMNS key."""
    rows = [{("b_" + k): v for k, v in r.items()} for r in rows]
    if not rows:
        return 0
    stmt = (update(cases_t).where(cases_t.c.id == bindparam("b_id"))
            .values({k: bindparam("b_" + k) for k in CASE_STATE_COLUMNS}))
    conn.execute(stmt, rows)
    return len(rows)
