"""PostgreSQL session advisory locks: the statements behind the warning engine's instance lock.

``dashboard.warning.lock`` holds the logic (which lock, the key, standby and takeover); these run on
the one autocommit connection it keeps for the life of the lock. No rows are read.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection


def lock_connection(engine: Engine) -> Connection:
    """A connection outside any transaction: a session lock lives as long as this session."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def database_and_schema(conn: Connection) -> tuple[str, str]:
    """The database and schema the connection works in (a deployment's lock key is derived from them)."""
    db, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
    return db, schema


def try_advisory_lock(conn: Connection, key: int) -> bool:
    """Take the session lock ``key`` without waiting; False when another session holds it."""
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())


def advisory_unlock(conn: Connection, key: int) -> None:
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def session_alive(conn: Connection) -> None:
    """A round trip; raises when the session (and with it every lock it held) is gone."""
    conn.execute(text("SELECT 1")).scalar()


def backend_pid(conn: Connection) -> int | None:
    return conn.execute(text("SELECT pg_backend_pid()")).scalar()
