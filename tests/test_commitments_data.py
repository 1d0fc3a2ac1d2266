"""Commitments (督办事项, issue 15 part 1): stored in gridwall's own tables with a dated history, read and
changed only inside the user's scope, bad input refused before anything is written. Both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from data_access.commitments import CommitmentError, create_commitment, list_commitments, update_commitment
from data_access.db import init_db
from data_access.models import GwCommitment, GwCommitmentEvent
from data_access.scope import Scope, ScopeError

UTC = timezone.utc
ROOT, STREET, OTHER = "320585", "320585100", "320585101"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COUNTY, OWN, FOREIGN = Scope(ROOT, ROOT), Scope(STREET, ROOT), Scope(OTHER, ROOT)


def decision(**extra) -> dict:
    return {"text": "清理本周12件违建超期事件", "region_code": STREET, "meeting_date": "2026-11-23",
            "due_date": "2026-11-27", "period": {"kind": "week", "start": "2026-11-16", "end": "2026-11-22"},
            "owner_org_id": 7, "case_codes": ["320585-20261118-00010", "320585-20261118-00010"],
            "alert_ids": [3], **extra}


@pytest.fixture
def db(engine):
    init_db(engine)
    return engine


def test_a_commitment_is_stored_open_with_its_links_and_a_created_event(db):
    with db.begin() as conn:
        cid = create_commitment(conn, COUNTY, decision(), "leader1", T0)
    with db.connect() as conn:
        (got,) = list_commitments(conn, OWN)
    assert got["id"] == cid and got["status"] == "open" and got["region_code"] == STREET
    assert got["due_date"] == date(2026, 11, 27) and got["period_kind"] == "week"
    assert got["case_codes"] == ["320585-20261118-00010"] and got["alert_ids"] == [3]  # repeats once
    assert [(e["kind"], e["status"], e["actor"]) for e in got["events"]] == [("created", "open", "leader1")]


def test_status_due_date_and_notes_are_dated_events_and_the_past_is_read_as_it_stood(db):
    with db.begin() as conn:
        cid = create_commitment(conn, COUNTY, decision(), "leader1", T0)
        assert update_commitment(conn, COUNTY, cid, {"note": "已清理5件"}, "center1", T0 + timedelta(days=1))
        assert update_commitment(conn, COUNTY, cid, {"due_date": "2026-12-04", "note": "延期一周"}, "leader1",
                                 T0 + timedelta(days=2))
        assert update_commitment(conn, COUNTY, cid, {"status": "done", "note": "12件全部办结"}, "center1",
                                 T0 + timedelta(days=5))
    with db.connect() as conn:
        (now,) = list_commitments(conn, COUNTY)
        (then,) = list_commitments(conn, COUNTY, until=T0 + timedelta(days=3))
        assert list_commitments(conn, COUNTY, statuses=["open"]) == []
    assert now["status"] == "done" and now["due_date"] == date(2026, 12, 4)
    assert [e["kind"] for e in now["events"]] == ["created", "note", "due", "status"]
    assert now["events"][-1]["note"] == "12件全部办结" and now["events"][2]["note"] == "延期一周"
    # At the meeting of day 3 it was still open, due on 4 December.
    assert then["status"] == "open" and then["due_date"] == date(2026, 12, 4) and len(then["events"]) == 3


def test_another_streets_commitments_are_neither_seen_nor_changed(db):
    with db.begin() as conn:
        cid = create_commitment(conn, COUNTY, decision(), "leader1", T0)
        with pytest.raises(ScopeError):
            create_commitment(conn, FOREIGN, decision(), "street_b", T0)
    with db.begin() as conn:
        assert list_commitments(conn, FOREIGN) == []
        assert update_commitment(conn, FOREIGN, cid, {"status": "dropped"}, "street_b", T0) is False
    with db.connect() as conn:
        assert list_commitments(conn, OWN)[0]["status"] == "open"
        assert conn.execute(select(func.count()).select_from(GwCommitmentEvent)).scalar_one() == 1


@pytest.mark.parametrize("bad, field", [
    ({"text": "  "}, "text"), ({"text": "长" * 501}, "text"), ({"due_date": "2026-11-20"}, "due_date"),
    ({"meeting_date": "23/11/2026"}, "meeting_date"), ({"period": {"kind": "year"}}, "period.kind"),
    ({"owner_org_id": "城管局"}, "owner_org_id"), ({"case_codes": "320585-1"}, "case_codes"),
    ({"alert_ids": [0]}, "alert_ids"), ({"region_code": "32058510x"}, None),
])
def test_bad_input_is_refused_with_its_field_and_nothing_is_written(db, bad, field):
    with db.begin() as conn:
        with pytest.raises(ValueError) as err:
            create_commitment(conn, COUNTY, decision(**bad), "leader1", T0)
        if field:
            assert isinstance(err.value, CommitmentError) and str(err.value).startswith(field)
    with db.begin() as conn:
        cid = create_commitment(conn, COUNTY, decision(), "leader1", T0)
        for change in ({"status": "closed"}, {}, {"due_date": "2026-11-01"}, {"note": 5}):
            with pytest.raises(CommitmentError):
                update_commitment(conn, COUNTY, cid, change, "leader1", T0)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(GwCommitment)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(GwCommitmentEvent)).scalar_one() == 1
