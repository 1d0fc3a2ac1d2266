"""The SQL of ``gridwall import`` (dashboard/importer): the writes into a standalone database's contract tables.

``gridwall import`` is the one writer of platform tables besides the synthetic county's seed and
simulator, and only for a standalone database (a real platform's tables are the vendor's).

- regions and grids: upserted by code (``ON CONFLICT (code) DO UPDATE``), so a re-import refreshes
  names and boundaries and keeps the codes;
- categories: inserted where the code is missing (``DO NOTHING``): rows already there are never
  changed (a DBA may have tuned the limits);
- cases: upserted by case code in batches (``executemany`` of ``INSERT ... ON CONFLICT (code) DO
  UPDATE``). The importer first reads the batch's existing rows (``existing_cases``), so it writes
  only the new and the changed rows and can report imported / updated / unchanged exactly; a
  re-import of the same file writes nothing. Ids of new cases come from the table (autoincrement).

No ``case_actions`` are written: no figure of the contract needs them for an imported case (closed,
accepted and dispatched are the cases' own columns; returns, reworks, extensions and urges are 0
and the export has no flow log).
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Engine, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .models import Case, Category, Grid, Region
from .writes import bulk_load, sync_sequences

cases_t, cats_t, regions_t, grids_t = Case.__table__, Category.__table__, Region.__table__, Grid.__table__

IN_BATCH = 500  # codes per IN (...) list


def _insert(conn: Connection, table):
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


def has_contract_tables(conn: Connection) -> bool:
    names = set(inspect(conn).get_table_names())
    return {"regions", "grids", "categories", "cases"} <= names


def existing_categories(conn: Connection) -> list[dict]:
    """Every row of ``categories`` ([] when the table is missing)."""
    if not inspect(conn).has_table("categories"):
        return []
    return [dict(r) for r in conn.execute(select(cats_t)).mappings()]


def existing_places(conn: Connection, root: str) -> tuple[list[dict], list[dict]]:
    """The regions (code, name, level, parent_code) and grids (code, community_code, name) under
    ``root`` (([], []) when the tables are missing): the codes earlier imports gave to names."""
    if not inspect(conn).has_table("regions"):
        return [], []
    regions = [dict(r) for r in conn.execute(
        select(regions_t.c.code, regions_t.c.name, regions_t.c.level, regions_t.c.parent_code)
        .where(regions_t.c.code.like(f"{root}%"))).mappings()]
    grids = [dict(r) for r in conn.execute(
        select(grids_t.c.code, grids_t.c.community_code, grids_t.c.name)
        .where(grids_t.c.code.like(f"{root}%"))).mappings()]
    return regions, grids


def insert_missing_categories(conn: Connection, rows: Sequence[dict]) -> int:
    """Insert the rows whose code is not in ``categories`` yet; returns how many were new."""
    if not rows:
        return 0
    codes = [r["code"] for r in rows]
    have = {c for (c,) in conn.execute(select(cats_t.c.code).where(cats_t.c.code.in_(codes)))}
    new = [r for r in rows if r["code"] not in have]
    if new:
        ins = _insert(conn, cats_t)
        conn.execute(ins.on_conflict_do_nothing(index_elements=[cats_t.c.code]), new)
    return len(new)


def upsert_by_code(conn: Connection, table_name: str, rows: Sequence[dict]) -> None:
    """Insert or update ``regions`` / ``grids`` rows by their code."""
    if not rows:
        return
    table = {"regions": regions_t, "grids": grids_t}[table_name]
    ins = _insert(conn, table)
    names = [c for c in rows[0] if c != "code"]
    conn.execute(ins.on_conflict_do_update(index_elements=[table.c.code],
                                           set_={n: ins.excluded[n] for n in names}), list(rows))


def existing_cases(conn: Connection, codes: Sequence[str], columns: Sequence[str]) -> dict[str, tuple]:
    """code -> the values of ``columns`` of the cases with these codes."""
    cols = [cases_t.c[n] for n in columns]
    out: dict[str, tuple] = {}
    for i in range(0, len(codes), IN_BATCH):
        batch = list(codes[i:i + IN_BATCH])
        for row in conn.execute(select(*cols).where(cases_t.c.code.in_(batch))):
            out[row[0]] = tuple(row)
    return out


def upsert_cases(conn: Connection, rows: Sequence[dict]) -> None:
    """``INSERT ... ON CONFLICT (code) DO UPDATE`` every given column, as one executemany."""
    if not rows:
        return
    ins = _insert(conn, cases_t)
    names = [c for c in rows[0] if c not in ("code", "id")]
    stmt = ins.on_conflict_do_update(index_elements=[cases_t.c.code], set_={n: ins.excluded[n] for n in names})
    conn.execute(stmt, list(rows))


def import_transaction(engine: Engine, cache_mb: int = 128):
    """One transaction of the import (committed on success): ``writes.bulk_load`` with a smaller SQLite
    page cache (the cases' nine indexes take random inserts)."""
    return bulk_load(engine, cache_mb=cache_mb)


def prepare_ids(conn: Connection) -> None:
    """On PostgreSQL, move the id sequences past ids written explicitly (a seeded county beside)."""
    sync_sequences(conn)
