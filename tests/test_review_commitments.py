"""/review's commitments (督办事项): a meeting's decisions carried to the next period's page with what
changed since, linked cases' state as of T; created and closed on the page by duty officers and
leaders; a street user sees its own street's only and can change none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access import commitments as db
from data_access.models import GwAudit, GwCommitment, GwCommitmentEvent
from data_access.scope import Scope

from .api_seed import ROOT, TOWN_A, TOWN_B, T, add_users, seed
from .test_pages import call, client_for, page_app, text_of

UTC = timezone.utc
DAY = timedelta(days=1)
ROOT_SCOPE = Scope(region=ROOT, root=ROOT)
WEEK_47 = "&period=week&date=2026-11-16"   # 11-16 .. 11-22
WEEK_48 = "&period=week&date=2026-11-23"   # 11-23 .. 11-29: T (11-26 10:00) is in it


@pytest.fixture
def pages(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    with engine.begin() as conn:
        def make(text, region, meeting, due, at, cases=()):
            return db.create_commitment(conn, ROOT_SCOPE, {
                "text": text, "region_code": region, "meeting_date": meeting, "due_date": due,
                "period": {"kind": "week", "start": "2026-11-09", "end": "2026-11-15"},
                "case_codes": list(cases)}, "leader1", at)
        # Made at the meeting of 11-17 (reviewing week 46); due 11-20: overdue at T; a note on 11-24.
        late = make("城厢镇超期违建本周五前办结", TOWN_A, "2026-11-17", "2026-11-20", T - 9 * DAY, ["A-2", "A-4"])
        db.update_commitment(conn, ROOT_SCOPE, late, {"note": "已清理8件"}, "center1", T - 2 * DAY)
        # Made 11-17, done 11-19 (during week 47): on week 47's page, not on week 48's.
        done = make("沙溪镇退单问题约谈城管", TOWN_B, "2026-11-17", "2026-11-27", T - 9 * DAY)
        db.update_commitment(conn, ROOT_SCOPE, done, {"status": "done", "note": "已约谈"}, "leader1", T - 7 * DAY)
        # Made 11-24 (the meeting on week 47), due next week: open, new this period.
        fresh = make("沙溪镇网格补员", TOWN_B, "2026-11-24", "2026-12-04", T - 2 * DAY)
    app = create_app(Settings(database_url=backend_url, secret_key="commit-test"), auth=True)
    return {"app": app, "tokens": tokens, "engine": engine, "ids": {"late": late, "done": done, "fresh": fresh}}


def agenda(client, app, search: str) -> dict:
    status, values = call(client, app, "/review/", "review-commitments", {"url.search": search})
    assert status == 200, (search, status)
    return values


def entries(values: dict) -> list[dict]:
    """(id, status, overdue) of each commitment entry, in the page's order."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if "data-commitment-id" in props:
                found.append({"id": int(props["data-commitment-id"]), "status": props["data-status"],
                              "overdue": props["data-overdue"] == "true", "text": text_of(node)})
            for v in props.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(values["review-commitments"]["children"])
    return found


def test_the_next_meeting_opens_with_open_and_overdue_commitments_and_what_changed(pages):
    client = client_for(pages["app"], pages["tokens"], "leader1")
    ids = pages["ids"]
    week48 = entries(agenda(client, pages["app"], f"?at=2026-11-26T10:00:00{WEEK_48}"))
    # The overdue one first, then the open one; the one done in week 47 is not carried.
    assert [(e["id"], e["status"], e["overdue"]) for e in week48] == [
        (ids["late"], "open", True), (ids["fresh"], "open", False)]
    late = week48[0]["text"]
    assert "已超期 6 天" in late and "已清理8件" in late            # the note of 11-24: changed since 11-23
    assert "A-2" in late and "处置中·已超期" in late and "已办结" in late   # linked cases' state at T
    assert "新建" in week48[1]["text"]                              # made at the last meeting
    week47 = entries(agenda(client, pages["app"], f"?at=2026-11-26T10:00:00{WEEK_47}"))
    assert {(e["id"], e["status"]) for e in week47} >= {(ids["done"], "done"), (ids["late"], "open")}
    # As of 11-18 (history), the commitment done on 11-19 was still open, and the 11-24 one did not exist.
    before = entries(agenda(client, pages["app"], f"?at=2026-11-18T12:00:00{WEEK_47}"))
    assert {(e["id"], e["status"]) for e in before} == {(ids["late"], "open"), (ids["done"], "open")}


def test_a_street_user_sees_its_own_streets_commitments_only_and_no_form(pages):
    client = client_for(pages["app"], pages["tokens"], "street_a")
    values = agenda(client, pages["app"], f"?region={TOWN_B}&at=2026-11-26T10:00:00{WEEK_48}")
    assert [e["id"] for e in entries(values)] == [pages["ids"]["late"]]
    assert values["commitment-form"]["hidden"] is True
    assert "沙溪镇" not in text_of(values["review-commitments"])


def write_body(app, trigger, states: dict, search: str, note: str | None = None) -> tuple[str, dict]:
    dash_app = page_app(app, "/review/")
    key, cb = next((k, cb) for k, cb in dash_app.callback_map.items() if k.startswith("..commitment-result.children"))
    outs = [{"id": o.component_id, "property": o.component_property} for o in cb["output"]]
    acts = [] if isinstance(trigger, str) else [{"id": trigger, "property": "n_clicks", "value": 1}]
    notes = [] if isinstance(trigger, str) else [{"id": {"type": "commitment-note", "cid": trigger["cid"]},
                                                   "property": "value", "value": note}]
    changed = (f"{trigger}.n_clicks" if isinstance(trigger, str)
               else json.dumps(trigger, sort_keys=True, separators=(",", ":")) + ".n_clicks")
    body = {"output": key, "outputs": outs,
            "inputs": [{"id": "commitment-create", "property": "n_clicks", "value": 1 if trigger == "commitment-create" else 0},
                       acts],
            "state": [{"id": f"commitment-{k}", "property": "date" if k == "due" else "value", "value": states.get(k)}
                      for k in ("text", "region", "owner", "due", "cases")]
            + [notes, {"id": "url", "property": "search", "value": search}],
            "changedPropIds": [changed]}
    return "/review/_dash-update-component", body


def commitment_state(engine):
    with engine.connect() as conn:
        return (conn.execute(select(GwCommitment.id, GwCommitment.status, GwCommitment.due_date)
                             .order_by(GwCommitment.id)).all(),
                conn.execute(select(func.count()).select_from(GwCommitmentEvent)).scalar_one())


def test_a_duty_officer_records_a_commitment_and_a_leader_closes_it_on_the_page(pages):
    app, engine = pages["app"], pages["engine"]
    center = client_for(app, pages["tokens"], "center1")
    path, body = write_body(app, "commitment-create", {
        "text": "城厢镇 12 件违建超期事件周五前办结", "region": TOWN_A, "due": "2030-01-10", "cases": "A-2，A-3"}, WEEK_48)
    resp = center.post(path, json=body)
    assert resp.status_code == 200 and "已登记督办事项" in text_of(resp.get_json()), resp.data[:300]
    with engine.connect() as conn:
        row = conn.execute(select(GwCommitment.__table__).order_by(GwCommitment.id.desc())).first()
    assert (row.region_code, row.created_by, json.loads(row.case_codes)) == (TOWN_A, "center1", ["A-2", "A-3"])
    shown = entries(agenda(center, app, WEEK_48))
    assert (row.id, "open") in {(e["id"], e["status"]) for e in shown}

    leader = client_for(app, pages["tokens"], "leader1")
    trigger = {"type": "commitment-act", "cid": str(row.id), "act": "done"}
    path, body = write_body(app, trigger, {}, WEEK_48, note="现场复核已拆除")
    resp = leader.post(path, json=body)
    assert "已办结" in text_of(resp.get_json()), resp.data[:300]
    closed = {e["id"]: e for e in entries(agenda(leader, app, WEEK_48))}[row.id]
    assert closed["status"] == "done" and "现场复核已拆除" in closed["text"]
    with engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(GwAudit.action).order_by(GwAudit.id))]
    assert actions.count("commitment_create") == 1 and actions.count("commitment_update") == 1


def test_a_street_user_can_change_no_commitment_whatever_it_sends(pages):
    app, engine = pages["app"], pages["engine"]
    street = client_for(app, pages["tokens"], "street_a")
    before = commitment_state(engine)
    for cid in pages["ids"].values():
        for act in ("done", "dropped", "note"):
            path, body = write_body(app, {"type": "commitment-act", "cid": str(cid), "act": act}, {}, "", note="x")
            resp = street.post(path, json=body)
            assert resp.status_code in (200, 400), resp.status_code
            if resp.status_code == 200:
                assert "仅值班人员和领导" in text_of(resp.get_json())
    path, body = write_body(app, "commitment-create", {"text": "伪造", "region": TOWN_A, "due": "2030-01-01"}, "")
    assert "仅值班人员和领导" in text_of(street.post(path, json=body).get_json())
    assert commitment_state(engine) == before


def test_a_leader_cannot_record_a_commitment_outside_the_view_or_in_the_past(pages):
    app, engine = pages["app"], pages["engine"]
    leader = client_for(app, pages["tokens"], "leader1")
    before = commitment_state(engine)
    # drilled into 城厢镇, a forged region of 沙溪镇 is outside the view
    path, body = write_body(app, "commitment-create", {"text": "越权", "region": TOWN_B, "due": "2030-01-01"},
                            f"?region={TOWN_A}")
    assert "不在权限范围内" in text_of(leader.post(path, json=body).get_json())
    path, body = write_body(app, "commitment-create", {"text": "历史", "region": TOWN_A, "due": "2030-01-01"},
                            "?at=2026-11-20T10:00:00")
    assert "查看历史时不能修改" in text_of(leader.post(path, json=body).get_json())
    path, body = write_body(app, "commitment-create", {"text": "", "region": TOWN_A, "due": "2030-01-01"}, "")
    assert "未保存：text: required" in text_of(leader.post(path, json=body).get_json())
    assert commitment_state(engine) == before
