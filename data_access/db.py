"""The one module that owns the database lifecycle: engines, schema creation, connections.

Engines are created once per URL and process. SQLite (the embedded default) runs in WAL mode so
that the demo's simulator can write while the wall reads.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, inspect, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .models import CONTRACT_TABLES, GW_TABLES, Base

log = logging.getLogger("gridwall.db")

# A long write (seeding, an import) grows SQLite's WAL file to the size of everything it wrote, and
# SQLite keeps the file at that size for good unless told a limit: the demo's 400 days left a 686 MB
# WAL beside a 686 MB database. Past a checkpoint the next write cuts the file back to this.
WAL_SIZE_LIMIT = 64 * 1024 * 1024

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def make_engine(url: str, **kwargs) -> Engine:
    """A new engine for ``url`` with gridwall's connection settings (not cached)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA journal_size_limit={int(WAL_SIZE_LIMIT)}")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    # Up to 20 per process: a worker's threads (32-64 with open walls) check a session per request.
    kwargs.setdefault("max_overflow", 15)
    # JIT compiles a plan whose estimated cost is high, as a roll-up's views are: 300-400 ms of
    # compiling for statements that run in tens of ms (bench/rollup_city.py, docs/scale.md).
    # (Added to the URL's own ``options``, which connect_args would otherwise replace.)
    options = " ".join(filter(None, [make_url(url).query.get("options"), "-c jit=off"]))
    connect_args = {"connect_timeout": 3, "options": options}
    if make_url(url).get_driver_name() == "psycopg":
        # psycopg prepares a statement on its 5th run and PostgreSQL then may switch to a generic
        # plan, blind to how narrow the time windows are: rate_figures at the root went from 3 ms
        # to 65 ms on 1M cases (docs/benchmarks.md). Plan every run with its values instead.
        connect_args["prepare_threshold"] = None
    kwargs["connect_args"] = {**connect_args, **kwargs.get("connect_args", {})}
    return create_engine(url, **kwargs)


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def init_db(engine: Engine, *, contract: bool = True) -> list[str]:
    """Create the contract tables (when ``contract``) and the ``gw_*`` tables; idempotent.

    A ``gw_*`` table made by an older gridwall gains the nullable columns added since
    (``_add_missing_columns``). Returns the names of tables that were created.
    """
    before = set(inspect(engine).get_table_names())
    models = (CONTRACT_TABLES if contract else ()) + GW_TABLES
    tables = [m.__table__ for m in models]
    Base.metadata.create_all(engine, tables=tables, checkfirst=True)
    _add_missing_columns(engine, [m.__table__ for m in GW_TABLES if m.__tablename__ in before])
    after = set(inspect(engine).get_table_names())
    return sorted(after - before)


def _add_missing_columns(engine: Engine, tables) -> list[str]:
    """Add the model's nullable columns a table lacks (gridwall's own tables only ever gain columns:
    nothing is renamed or dropped, so this is the whole migration story for now).

    A role that may not alter the table (the least-privilege role of ``grant-db``) leaves it as it
    is, with a warning: the code that writes these tables skips columns they do not have."""
    added = []
    existing = inspect(engine)
    for table in tables:
        have = {col["name"] for col in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in have or not column.nullable:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
            except SQLAlchemyError as exc:
                log.warning("%s has no column %s and this role cannot add it (%s); run `gridwall init-db` "
                            "as the table's owner", table.name, column.name, str(exc.orig or exc).splitlines()[0])
                continue
            added.append(f"{table.name}.{column.name}")
    return added


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that commits on success."""
    with engine.begin() as conn:
        yield conn
