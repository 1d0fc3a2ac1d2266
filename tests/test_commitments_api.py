"""``/api/v1/commitments`` (督办事项, issue 15 part 1) on both backends: duty officers and leaders record
and update a meeting's commitments; a street reads its own, read-only; every change is audited;
bad input answers 400 and writes nothing; another street's commitment is "not found"."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data_access.db import dispose_all
from data_access.models import GwAudit, GwCommitment

from .api_seed import FAST_HASHER, ROOT, TOWN_A, TOWN_B, add_users, make_app, seed


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def county(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    return make_app(backend_url).test_client(), tokens


def as_(tokens, who: str) -> dict:
    return {"Authorization": f"Bearer {tokens[who]}"}


NEW = {"text": "城厢镇：周五前清理12件超期违建", "region": TOWN_A, "meeting_date": "2026-11-23",
       "due_date": "2026-11-27", "period": {"kind": "week", "start": "2026-11-16", "end": "2026-11-22"},
       "case_codes": ["320585-20261118-00010"]}


def test_a_leader_records_a_commitment_and_a_duty_officer_closes_it_with_evidence(county, engine):
    client, tokens = county
    resp = client.post("/api/v1/commitments", json=NEW, headers=as_(tokens, "leader1"))
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert made["status"] == "open" and made["region"] == TOWN_A and made["created_by"] == "leader1"
    assert made["period"] == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22"}
    resp = client.patch(f"/api/v1/commitments/{made['id']}", json={"status": "done", "note": "12件全部办结"},
                        headers=as_(tokens, "center1"))
    assert resp.status_code == 200, resp.get_json()
    done = resp.get_json()
    assert done["status"] == "done" and [e["kind"] for e in done["events"]] == ["created", "status"]
    assert done["events"][-1]["note"] == "12件全部办结" and done["events"][-1]["actor"] == "center1"
    with engine.connect() as conn:
        actions = conn.execute(select(GwAudit.action).where(GwAudit.action.like("commitment_%"))
                               .order_by(GwAudit.id)).scalars().all()
    assert actions == ["commitment_create", "commitment_update"]


def test_a_street_reads_its_own_commitments_and_changes_none(county):
    client, tokens = county
    mine = client.post("/api/v1/commitments", json=NEW, headers=as_(tokens, "center1")).get_json()
    other = client.post("/api/v1/commitments", json={**NEW, "region": TOWN_B},
                        headers=as_(tokens, "center1")).get_json()
    seen = client.get("/api/v1/commitments", headers=as_(tokens, "street_a")).get_json()
    assert [c["id"] for c in seen] == [mine["id"]]
    assert client.get(f"/api/v1/commitments?region={TOWN_B}", headers=as_(tokens, "street_a")).status_code == 403
    assert [c["id"] for c in client.get(f"/api/v1/commitments?region={ROOT}&status=open",
                                        headers=as_(tokens, "leader1")).get_json()] == [mine["id"], other["id"]]
    for who in ("street_a", "wall_a"):
        assert client.post("/api/v1/commitments", json=NEW, headers=as_(tokens, who)).status_code == 403
        assert client.patch(f"/api/v1/commitments/{mine['id']}", json={"status": "dropped"},
                            headers=as_(tokens, who)).status_code == 403
    assert client.get("/api/v1/commitments").status_code == 401


def test_bad_input_answers_400_and_writes_nothing(county, engine):
    client, tokens = county
    leader = as_(tokens, "leader1")
    for body in ([1, 2], {**NEW, "text": ""}, {**NEW, "due_date": "2026-11-01"}, {**NEW, "region": "3205x"},
                 {**NEW, "case_codes": "x"}, {**NEW, "period": {"kind": "year"}}):
        resp = client.post("/api/v1/commitments", json=body, headers=leader)
        assert resp.status_code == 400 and "error" in resp.get_json(), (body, resp.get_json())
    made = client.post("/api/v1/commitments", json=NEW, headers=leader).get_json()
    for path, body, status in ((f"/api/v1/commitments/{made['id']}", {"status": "closed"}, 400),
                               (f"/api/v1/commitments/{made['id']}", {}, 400),
                               ("/api/v1/commitments/abc", {"status": "done"}, 400),
                               ("/api/v1/commitments/999999", {"status": "done"}, 404)):
        assert client.patch(path, json=body, headers=leader).status_code == status, (path, body)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(GwCommitment)).scalar_one() == 1
    assert client.get("/api/v1/commitments?status=closed", headers=leader).status_code == 400


def test_a_county_leader_adds_evidence_to_any_streets_commitment(county):
    """A county's leader works on every street's commitments. (Writers are county-wide roles; that an id
    outside a scope is "not found" is tested in tests/test_commitments_data.py.)"""
    client, tokens = county
    made = client.post("/api/v1/commitments", json={**NEW, "region": TOWN_B},
                       headers=as_(tokens, "leader1")).get_json()
    resp = client.patch(f"/api/v1/commitments/{made['id']}", json={"note": "已督办"},
                        headers=as_(tokens, "leader1"))
    assert resp.status_code == 200 and resp.get_json()["events"][-1]["kind"] == "note"
