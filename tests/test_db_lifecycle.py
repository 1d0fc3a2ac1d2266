"""The schema is created on every backend, idempotently, and timestamps come back aware UTC."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, insert, select

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
