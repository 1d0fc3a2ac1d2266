"""The per-test PostgreSQL schema is dropped even while something still holds it.

A browser test's server outlives the database fixtures; its threads can be inside a query on the
schema when teardown drops it (CI once lost a DROP SCHEMA to a deadlock with such a thread).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from data_access.db import init_db, make_engine

from .conftest import PG_URL, _drop_pg_schema, _pg_schema_engine


@pytest.mark.postgres
def test_a_schema_held_by_an_open_transaction_is_still_dropped():
    schema = f"gwfix_{uuid.uuid4().hex[:12]}"
    engine = _pg_schema_engine(schema)
    init_db(engine)
    straggler = engine.connect()
    straggler.begin()
    straggler.execute(text("SELECT count(*) FROM cases")).scalar_one()  # holds a lock until it ends
    try:
        _drop_pg_schema(schema)
        admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
        with admin.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema})
            assert left.scalar_one() == 0
        admin.dispose()
    finally:
        straggler.invalidate()
        engine.dispose()
