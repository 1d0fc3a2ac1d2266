"""tests/pg_clusters.py works: two extra clusters replicate logically, and survive a publisher crash."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.pg_clusters import PgCluster, drop_subscription, free_port, pg_clusters  # noqa: F401

pytestmark = pytest.mark.postgres


def _ids(uri: str) -> list[int]:
    with psycopg.connect(uri, connect_timeout=5) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM t ORDER BY id")]


def _wait_for(uri: str, expected: list[int], timeout: float = 30) -> float:
    start = time.monotonic()
    while True:
        got = _ids(uri)
        if got == expected:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"after {timeout}s the subscriber has {got}, expected {expected}")
        time.sleep(0.1)


def _insert(uri: str, ids: range) -> None:
    with psycopg.connect(uri, connect_timeout=5) as conn:
        conn.cursor().executemany("INSERT INTO t (id, v) VALUES (%s, %s)", [(i, f"row {i}") for i in ids])


def test_free_port_is_bindable():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_logical_replication_between_two_clusters_survives_a_publisher_crash(pg_clusters):
    county, city = pg_clusters("county"), pg_clusters("city")
    assert isinstance(county, PgCluster) and county.is_running() and city.is_running()
    assert county.port != city.port and 5432 not in (county.port, city.port)

    county_url = county.create_database("county_db")
    city_url = city.create_database("city_db")
    assert county_url == f"postgresql+psycopg://postgres@127.0.0.1:{county.port}/county_db"
    assert city.url("city_db") == city_url
    pub, sub = county.libpq_uri("county_db"), city.libpq_uri("city_db")

    with psycopg.connect(pub) as conn:
        assert conn.execute("SHOW wal_level").fetchone()[0] == "logical"
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)")
        conn.execute("CREATE PUBLICATION p FOR TABLE t")
    with psycopg.connect(sub, autocommit=True) as conn:  # CREATE SUBSCRIPTION cannot run in a transaction
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)")
        conn.execute(f"CREATE SUBSCRIPTION s CONNECTION '{pub}' PUBLICATION p")
    try:
        _insert(pub, range(1, 4))
        _wait_for(sub, [1, 2, 3])

        county.stop("immediate")  # the publisher crashes
        assert not county.is_running()
        county.start()
        assert county.is_running()

        _insert(pub, range(4, 7))
        _wait_for(sub, [1, 2, 3, 4, 5, 6])
    finally:
        drop_subscription(city_url, "s")
    with psycopg.connect(sub) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription").fetchone()[0] == 0
    with psycopg.connect(pub) as conn:  # the publisher was up: its slot went with the subscription
        assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone()[0] == 0


def test_drop_subscription_while_the_publisher_is_down(pg_clusters):
    county, city = pg_clusters("county"), pg_clusters("city")
    pub = county.libpq_uri(county.create_database("c").rsplit("/", 1)[1])
    city_url = city.create_database("city")
    with psycopg.connect(pub) as conn:
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)")
        conn.execute("CREATE PUBLICATION p FOR TABLE t")
    with psycopg.connect(city.libpq_uri("city"), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id integer PRIMARY KEY, v text NOT NULL)")
        conn.execute(f"CREATE SUBSCRIPTION s CONNECTION '{pub}' PUBLICATION p")
    county.stop("immediate")
    start = time.monotonic()
    drop_subscription(city_url, "s")
    assert time.monotonic() - start < 15
    drop_subscription(city_url, "s")  # gone already: nothing happens
    with psycopg.connect(city.libpq_uri("city")) as conn:
        assert conn.execute("SELECT count(*) FROM pg_subscription").fetchone()[0] == 0
    county.destroy()
    assert not county.data_dir.exists()
