"""The schema is created on every backend, idempotently, and timestamps come back aware UTC; SQLite's
WAL file does not stay at the size of the longest write."""

import os
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, insert, select

from data_access import db
from data_access.db import init_db
from data_access.models import Case


def test_init_db_is_idempotent_and_creates_every_contract_table(engine):
    assert init_db(engine) == []
    names = set(inspect(engine).get_table_names())
    for table in ("regions", "grids", "orgs", "staff", "staff_shifts", "staff_pings", "categories",
                  "cases", "case_actions", "alerts", "gw_users", "gw_tokens", "gw_audit"):
        assert table in names


def test_timestamps_leave_data_access_aware_in_utc(engine):
    shanghai = timezone(timedelta(hours=8))
    written = datetime(2026, 11, 26, 10, 0, tzinfo=shanghai)
    with engine.begin() as conn:
        conn.execute(insert(Case), [{"code": "x", "reported_at": written}])
    with engine.connect() as conn:
        read = conn.execute(select(Case.reported_at)).scalar_one()
    assert read.tzinfo is not None and read.utcoffset() == timedelta(0)
    assert read == datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)


def test_init_db_adds_the_columns_an_older_gridwall_table_lacks(backend_url):
    """gw_forecasts from before the median column: init_db adds it in place and keeps the rows."""
    from datetime import date

    from sqlalchemy import Column, MetaData, Table

    from data_access.db import make_engine
    from data_access.forecasts import read_forecast, write_forecast
    from data_access.models import GwForecast
    from data_access.moment import Moment
    from data_access.scope import Scope

    engine = make_engine(backend_url)
    try:
        old = Table("gw_forecasts", MetaData(), *[Column(col.name, col.type, primary_key=col.primary_key)
                                                   for col in GwForecast.__table__.columns if col.name != "median"])
        old.create(engine)
        made = datetime(2026, 11, 25, 0, 10, tzinfo=timezone.utc)
        with engine.begin() as conn:
            conn.execute(insert(old), [{"region_code": "320585", "category_code": "01", "day": date(2026, 11, 25),
                                        "expected": 2.0, "lo80": 0.0, "hi80": 4.0, "made_at": made}])
        init_db(engine)
        assert "median" in {c["name"] for c in inspect(engine).get_columns("gw_forecasts")}
        init_db(engine)   # and again: nothing to add
        at = Moment(made + timedelta(hours=1), timezone.utc)
        with engine.connect() as conn:
            (kept,) = read_forecast(conn, Scope("320585", "320585"), at)
        assert kept["expected"] == 2.0 and kept["median"] is None
        with engine.begin() as conn:
            write_forecast(conn, [{"region_code": "320585", "category_code": "01", "day": date(2026, 11, 25),
                                   "expected": 2.4, "median": 2.0, "lo80": 0.0, "hi80": 5.0, "made_at": made}])
        with engine.connect() as conn:
            (row,) = read_forecast(conn, Scope("320585", "320585"), at)
        assert (row["expected"], row["median"]) == (2.4, 2.0)
    finally:
        engine.dispose()


def test_a_long_sqlite_write_leaves_no_wal_file_of_its_size(tmp_path, monkeypatch):
    """The WAL a long write grew is cut back to the limit by the next write after a checkpoint."""
    monkeypatch.setattr(db, "WAL_SIZE_LIMIT", 1024 * 1024)
    path = tmp_path / "w.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (b BLOB)")
        for _ in range(400):
            conn.exec_driver_sql("INSERT INTO t VALUES (randomblob(10000))")
    grown = os.path.getsize(f"{path}-wal")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    after = os.path.getsize(f"{path}-wal")  # (measured before dispose: the last close removes the file)
    engine.dispose()
    assert grown > 3 * 1024 * 1024 and after <= 1024 * 1024, (grown, after)
