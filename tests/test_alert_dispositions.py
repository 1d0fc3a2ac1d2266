"""Dispositions (研判结论, issue 17 §4): acknowledging stores 属实 / 误报 / 已知 with a note, audited; a
later judgement replaces it, taking the acknowledgement back deletes it; each detector's precision
counts them per kind within the scope, on the review API for duty officers and leaders only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from dashboard.usecases.alert_quality import detector_quality
from dashboard.usecases.alerts import acknowledge_alert, undo_acknowledge
from data_access.db import dispose_all
from data_access.models import Alert, GwAlertDisposition, GwAudit
from data_access.scope import Scope
from data_access.users import user_by_name

from .api_seed import FAST_HASHER, ROOT, TOWN_A, TOWN_B, T, add_users, make_app, seed


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def add_alerts(engine) -> dict[str, int]:
    """Spikes and clusters in both towns during the week of T (2026-11-23 .. 29)."""
    rows = [(f"{kind}-{town}-{i}", kind, town) for kind in ("spike", "cluster") for town in (TOWN_A, TOWN_B)
            for i in range(3)]
    with engine.begin() as conn:
        for key, kind, town in rows:
            conn.execute(insert(Alert).values(created_at=T - timedelta(hours=5), kind=kind, severity="warning",
                                              region_code=town, title=key, detail="{}", status="new",
                                              source="gridwall", dedup_key=key))
        return dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())


def get_user(engine, name):
    with engine.connect() as conn:
        return user_by_name(conn, name)


def test_judgements_are_stored_replaced_undone_and_counted_per_detector(engine):
    seed(engine)
    add_users(engine)
    ids = add_alerts(engine)
    county, center = Scope(ROOT, ROOT), get_user(engine, "center1")
    judged = {f"spike-{TOWN_A}-0": "confirmed", f"spike-{TOWN_A}-1": "false_alarm", f"spike-{TOWN_B}-0": "known",
              f"spike-{TOWN_B}-1": "confirmed", f"cluster-{TOWN_A}-0": "false_alarm"}
    for key, disposition in judged.items():
        assert acknowledge_alert(engine, county, center, ids[key], via="wall", now=T, disposition=disposition,
                                 note=f"{key} 核实").ok
    # a later judgement replaces the first; the alert stays acknowledged
    assert acknowledge_alert(engine, county, center, ids[f"cluster-{TOWN_A}-0"], via="api", now=T,
                             disposition="confirmed").ok
    # taking an acknowledgement back deletes its judgement
    assert acknowledge_alert(engine, county, center, ids[f"cluster-{TOWN_B}-0"], via="wall", now=T,
                             disposition="false_alarm").ok
    assert undo_acknowledge(engine, county, center, ids[f"cluster-{TOWN_B}-0"], via="wall", now=T).ok
    with pytest.raises(ValueError):
        acknowledge_alert(engine, county, center, ids[f"spike-{TOWN_A}-2"], via="wall", now=T, disposition="maybe")
    with engine.connect() as conn:
        stored = dict(conn.execute(select(GwAlertDisposition.alert_id, GwAlertDisposition.disposition)).all())
        audits = [json.loads(d) for d in conn.execute(select(GwAudit.detail).where(GwAudit.action == "alert_ack"))
                  .scalars()]
        week = (T - timedelta(days=3), T + timedelta(days=3))
        whole = {r["kind"]: r for r in detector_quality(conn, county, *week)}
        town_a = {r["kind"]: r for r in detector_quality(conn, Scope(TOWN_A, ROOT), *week)}
    assert stored[ids[f"cluster-{TOWN_A}-0"]] == "confirmed" and ids[f"cluster-{TOWN_B}-0"] not in stored
    assert {a.get("disposition") for a in audits} >= {"confirmed", "false_alarm", "known"}
    assert whole["spike"] == {"kind": "spike", "raised": 7, "judged": 4, "confirmed": 2, "false_alarm": 1,
                                   "known": 1, "precision": 0.75, "judged_share": 4 / 7}  # + the seed's spike
    assert whole["cluster"]["judged"] == 1 and whole["cluster"]["precision"] is None  # fewer than 3: no rate
    assert town_a["spike"]["raised"] == 4 and town_a["spike"]["judged"] == 2 and town_a["spike"]["precision"] is None
    assert "sla" in whole  # the seed's acknowledged sla alert (no judgement) is counted as raised


def test_the_review_api_gives_the_detectors_record_to_duty_officers_and_leaders_only(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    ids = add_alerts(engine)
    county = Scope(ROOT, ROOT)
    center = get_user(engine, "center1")
    for key in (f"spike-{TOWN_A}-0", f"spike-{TOWN_A}-1", f"spike-{TOWN_A}-2"):
        acknowledge_alert(engine, county, center, ids[key], via="api", now=T, disposition="confirmed")
    server = make_app(backend_url)
    client = server.test_client()
    query = "/api/v1/review/alert-quality?period=week&date=2026-11-23&at=2026-11-30T10:00"
    for name in ("center1", "leader1"):
        body = client.get(query, headers={"Authorization": f"Bearer {tokens[name]}"}).get_json()
        spike = next(d for d in body["detectors"] if d["kind"] == "spike")
        assert body["start"] == "2026-11-23" and spike["raised"] == 7 and spike["precision"] == 1.0
    refused = client.get(query, headers={"Authorization": f"Bearer {tokens['street_a']}"})
    assert refused.status_code == 403
