"""Shared fixtures: one empty database per test on every backend (SQLite and PostgreSQL).

PostgreSQL and Redis are real services (127.0.0.1:5432 database ``test``; 127.0.0.1:6379). A test
that needs one fails when it is missing; nothing skips quietly. Override with
GRIDWALL_TEST_PG_URL / GRIDWALL_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from data_access.db import init_db, make_engine

PG_URL = os.environ.get("GRIDWALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One Redis database per pytest-xdist worker (gw0 -> 15, gw1 -> 14 ...): their caches never meet.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
REDIS_URL = os.environ.get("GRIDWALL_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER}")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_schema_url(schema: str, base: str = PG_URL) -> str:
    """A URL whose connections live in ``schema`` and carry its name, so teardown can find them."""
    return f"{base}?options=-csearch_path%3D{schema}&application_name={schema}"


def _pg_schema_engine(schema: str):
    """An engine whose connections live in their own schema, so parallel runs never collide."""
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(pg_schema_url(schema), connect_args={"connect_timeout": 5})


def _drop_pg_schema(schema: str, attempts: int = 5) -> None:
    """Drop ``schema`` once nothing uses it any more.

    A browser test's server can outlive the database fixtures (pytest tears fixtures down in reverse
    order, and ``dash_duo`` is usually set up first), so one of its threads may still be inside a
    query on the schema: DROP would deadlock with it. Its connections are ended first (found by
    their application_name), and a drop that still loses a deadlock is tried again.
    """
    admin = make_engine(PG_URL, pool_size=1, max_overflow=0)
    try:
        for attempt in range(attempts):
            try:
                with admin.begin() as conn:
                    conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # fail, never hang, if one survives
                    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE application_name = :name AND pid <> pg_backend_pid()"),
                                 {"name": schema})
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                return
            except OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
    finally:
        admin.dispose()


@pytest.fixture
def backend_url(request, tmp_path):
    """A URL to an empty database on the requested backend; cleaned up afterwards."""
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'gridwall.db'}"
        return
    schema = f"gwtest_{uuid.uuid4().hex[:12]}"
    _pg_schema_engine(schema).dispose()
    yield pg_schema_url(schema)
    _drop_pg_schema(schema)


@pytest.fixture
def engine(backend_url):
    """An engine on an empty database with every table created."""
    eng = make_engine(backend_url)
    init_db(eng)
    yield eng
    eng.dispose()


def pytest_generate_tests(metafunc):
    # Any test that uses `engine` or `backend_url` runs once per backend.
    # A browser test checks what the page does with the data, which the API and data tests prove equal
    # on both backends: it runs on the embedded default only (half the suite's browser time).
    if "backend_url" in metafunc.fixturenames:
        browser = metafunc.definition.get_closest_marker("browser") is not None
        metafunc.parametrize("backend_url", [b for b in BACKENDS if b == "sqlite"] if browser else BACKENDS,
                             indirect=True)


def pytest_setup_options():
    """Selenium options for dash_duo: headless Chromium, so browser tests need no command-line flags."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = os.environ.get("GRIDWALL_TEST_CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1920,1080"):
        options.add_argument(arg)
    return options
