"""The wall's alert read (data_access.alerts.wall_alerts) and taking an acknowledgement back
(dashboard.usecases.alerts.undo_acknowledge), on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from dashboard.usecases.alerts import UNDO_WINDOW, acknowledge_alert, undo_acknowledge
from data_access.alerts import wall_alerts
from data_access.db import init_db
from data_access.models import Alert, GwAudit
from data_access.moment import Moment
from data_access.scope import Scope
from data_access.users import User

TZ = ZoneInfo("Asia/Shanghai")
COUNTY = "320585"
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def alert(id_, severity, status, minutes_ago, region=f"{COUNTY}100"):
    return {"id": id_, "kind": "sla", "severity": severity, "status": status, "region_code": region,
            "title": f"alert {id_}", "detail": "{}", "source": "gridwall",
            "created_at": NOW - timedelta(minutes=minutes_ago)}


def seeded(engine):
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(insert(Alert), [
            alert(1, "info", "new", 1),
            alert(2, "warning", "new", 2),
            alert(3, "critical", "acknowledged", 3),  # acknowledged: counted, not listed
            alert(4, "critical", "new", 40),          # the oldest new one, and the only new critical
            alert(5, "warning", "new", 5),
            alert(6, "critical", "resolved", 1),
            alert(7, "critical", "new", 1, region="320586100"),  # another county
            alert(8, "warning", "new", -5),           # after the moment
        ])
    return engine


def read(engine, limit=10, region=COUNTY):
    with engine.connect() as conn:
        return wall_alerts(conn, Scope(region, COUNTY), Moment(NOW, TZ), limit=limit)


def test_new_before_acknowledged_then_severity_then_time_with_true_totals(engine):
    got = read(seeded(engine), limit=2)
    assert [r["id"] for r in got["rows"]] == [4, 2]  # cut to 2; 5 and 1 left out
    assert (got["new"], got["new_critical"], got["acknowledged"]) == (4, 1, 1)
    assert [r["id"] for r in read(engine)["rows"]] == [4, 2, 5, 1]
    assert read(engine, region="320585101")["new"] == 0


def test_undo_takes_back_only_ones_own_acknowledgement_within_the_window(engine):
    seeded(engine)
    scope = Scope(COUNTY, COUNTY)
    me, other = (User(id=i, username=f"duty{i}", role="center", region_code=None, active=True) for i in (1, 2))
    assert acknowledge_alert(engine, scope, me, 4, via="wall", now=NOW).ok
    assert undo_acknowledge(engine, scope, other, 4, via="wall", now=NOW).status == "closed"
    late = NOW + UNDO_WINDOW + timedelta(seconds=1)
    assert undo_acknowledge(engine, scope, me, 4, via="wall", now=late).status == "closed"
    assert undo_acknowledge(engine, Scope("320585101", COUNTY), me, 4, via="wall", now=NOW).status == "not_found"
    done = undo_acknowledge(engine, scope, me, 4, via="wall", now=NOW + timedelta(seconds=5))
    assert done.ok and done.alert["status"] == "new" and done.alert["ack_by"] is None
    assert read(engine)["new_critical"] == 1
    with engine.connect() as conn:
        actions = conn.execute(select(GwAudit.action, GwAudit.username).order_by(GwAudit.id)).all()
    assert [tuple(a) for a in actions] == [("alert_ack", "duty1"), ("alert_unack", "duty1")]
    # Someone else's acknowledgement (id 3, by nobody here) is never taken back.
    assert undo_acknowledge(engine, scope, me, 3, via="wall", now=NOW).status == "closed"
