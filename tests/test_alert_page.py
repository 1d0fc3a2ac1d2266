"""The link every pushed message carries, ``/?alert=ID``, opened on a phone (issue 16 §2): a small page
with what, where, since when, the evidence and the cases, 确认 for duty officers after login; the same
alert through ``GET /api/v1/alerts/<id>``; scope and masking as everywhere."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select

from dashboard.web.alert_page import init_alert_page
from data_access.db import dispose_all
from data_access.models import Alert, Case, GwAlertDisposition, GwAudit

from .api_seed import FAST_HASHER, PASSWORD, TOWN_A, TOWN_B, T, add_users, make_app, seed

WECOM = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
         "Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1")
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    add_users(engine)
    with engine.begin() as conn:
        ids = dict(conn.execute(select(Case.code, Case.id)).all())
        own = conn.execute(insert(Alert).values(
            created_at=T, kind="repeat", severity="critical", region_code=TOWN_A, title="东林村8组 噪音 重复投诉 · 城厢镇",
            detail=json.dumps({"observed": 3, "window": {"days": 7}, "case_ids": [ids["A-1"], ids["A-2"], ids["B-1"]]}),
            status="new", source="gridwall", dedup_key="phone-own").returning(Alert.id)).scalar_one()
        other = conn.execute(insert(Alert).values(
            created_at=T, kind="sla", severity="warning", region_code=TOWN_B, title="沙溪镇 机密预警",
            detail="{}", status="new", source="gridwall", dedup_key="phone-other").returning(Alert.id)).scalar_one()
    server = make_app(backend_url)
    init_alert_page(server)
    return server, own, other


def logged_in(server, username):
    client = server.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_a_phone_gets_the_alert_page_with_evidence_and_cases_masked(site):
    server, own, _ = site
    page = logged_in(server, "center1").get(f"/?alert={own}", headers={"User-Agent": WECOM})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="alert-phone"' in html
    assert f'data-alert-id="{own}"' in html and 'data-status="new"' in html
    for words in ("严重", "重复多发", "东林村8组 噪音 重复投诉", "城厢镇", "2026-11-26 10:00", "近7日 3 件",
                  "涉及事件（3 件）", "A-1", "A-2", 'id="alert-phone-ack"'):
        assert words in html, words
    assert "13812345678" not in html and "苏E12345" not in html  # masked like the wall
    assert "width=device-width" in html


def test_a_desktop_browser_gets_the_wall_and_view_overrides_the_guess(site):
    server, own, _ = site
    client = logged_in(server, "center1")
    assert client.get(f"/?alert={own}", headers={"User-Agent": DESKTOP}).get_data(as_text=True) == "wall"
    assert 'id="alert-phone"' in client.get(f"/?alert={own}&view=phone", headers={"User-Agent": DESKTOP}).get_data(as_text=True)
    assert client.get(f"/?alert={own}&view=wall", headers={"User-Agent": WECOM}).get_data(as_text=True) == "wall"


def test_without_a_session_the_phone_logs_in_and_comes_back(site):
    server, own, _ = site
    resp = server.test_client().get(f"/?alert={own}", headers={"User-Agent": WECOM, "Accept": "text/html"})
    assert resp.status_code == 302 and "/login" in resp.location and f"alert%3D{own}" in resp.location


def test_a_duty_officer_acknowledges_on_the_phone_with_a_disposition_and_it_is_audited(site, engine):
    server, own, _ = site
    client = logged_in(server, "center1")
    refused = client.post(f"/alert/{own}/ack", headers={**ORIGIN, "User-Agent": WECOM})  # no disposition
    assert refused.status_code == 400 and "请选择研判结论" in refused.get_data(as_text=True)
    resp = client.post(f"/alert/{own}/ack", data={"disposition": "false_alarm", "note": "现场核实为同一户重复报"},
                       headers={**ORIGIN, "User-Agent": WECOM})
    assert resp.status_code == 303 and f"alert={own}" in resp.location and "done=ok" in resp.location
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == own)).one() == ("acknowledged", "center1")
        judged = conn.execute(select(GwAlertDisposition.disposition, GwAlertDisposition.note, GwAlertDisposition.kind)
                              .where(GwAlertDisposition.alert_id == own)).one()
        detail = json.loads(conn.execute(select(GwAudit.detail).where(GwAudit.action == "alert_ack")).scalar_one())
    assert tuple(judged) == ("false_alarm", "现场核实为同一户重复报", "repeat")
    assert detail["via"] == "phone" and detail["disposition"] == "false_alarm"
    page = client.get(resp.location, headers={"User-Agent": WECOM}).get_data(as_text=True)
    assert "升级提醒已停止" in page and "研判结论：误报" in page and 'data-disposition="false_alarm"' in page
    assert "更改研判结论" in page  # the judgement can be changed later; the alert stays acknowledged
    client.post(f"/alert/{own}/ack", data={"disposition": "confirmed"}, headers=ORIGIN)
    with engine.connect() as conn:
        assert conn.execute(select(GwAlertDisposition.disposition)).scalars().all() == ["confirmed"]


def test_the_api_acknowledges_with_or_without_a_disposition_and_refuses_a_bad_one(site, engine):
    server, own, _ = site
    client = logged_in(server, "center1")
    for body in ({"disposition": "maybe"}, {"note": "只有说明"}, {"disposition": "known", "note": "x" * 501}):
        assert client.post(f"/api/v1/alerts/{own}/ack", json=body, headers=ORIGIN).status_code == 400, body
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status).where(Alert.id == own)).scalar_one() == "new"
    done = client.post(f"/api/v1/alerts/{own}/ack", json={"disposition": "known", "note": "已在处置"}, headers=ORIGIN)
    assert done.status_code == 200 and done.get_json()["disposition"]["disposition"] == "known"
    assert client.get(f"/api/v1/alerts/{own}").get_json()["disposition"]["label"] == "已知"
    bare = client.post(f"/api/v1/alerts/{own}/ack", headers=ORIGIN)  # version 1: no body
    assert bare.status_code == 200 and bare.get_json()["disposition"]["disposition"] == "known"


def test_a_street_sees_its_own_alert_read_only_and_never_another_streets(site, engine):
    server, own, other = site
    client = logged_in(server, "street_a")
    page = client.get(f"/?alert={own}", headers={"User-Agent": WECOM}).get_data(as_text=True)
    assert "东林村8组 噪音 重复投诉" in page and 'id="alert-phone-ack"' not in page
    assert "B-1" not in page  # the alert names a case of the other street: not listed
    refused = client.get(f"/?alert={other}", headers={"User-Agent": WECOM})
    assert refused.status_code == 404 and "机密" not in refused.get_data(as_text=True)
    assert client.post(f"/alert/{own}/ack", headers=ORIGIN).status_code == 403
    leader = logged_in(server, "leader1").get(f"/?alert={own}", headers={"User-Agent": WECOM}).get_data(as_text=True)
    assert 'id="alert-phone-ack"' not in leader
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status).where(Alert.id == own)).scalar_one() == "new"


def test_a_cross_site_post_cannot_acknowledge(site, engine):
    server, own, _ = site
    resp = logged_in(server, "center1").post(f"/alert/{own}/ack", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status).where(Alert.id == own)).scalar_one() == "new"


def test_malformed_ids_answer_400(site):
    server, _, _ = site
    client = logged_in(server, "center1")
    for bad in ("abc", "-1", "9" * 19, "%EF%BC%91"):
        assert client.get(f"/?alert={bad}", headers={"User-Agent": WECOM}).status_code == 400, bad
        assert client.get(f"/api/v1/alerts/{bad}").status_code in (400, 404), bad


def test_the_api_gives_the_same_alert_view(site):
    server, own, other = site
    client = logged_in(server, "center1")
    body = client.get(f"/api/v1/alerts/{own}").get_json()
    assert body["id"] == own and body["kind_label"] == "重复多发" and body["place"] == "城厢镇"
    assert body["evidence"] == "近7日 3 件 · 涉及 3 件事件" and body["case_count"] == 3
    assert [c["code"] for c in body["cases"]] == ["A-1", "B-1", "A-2"]  # newest report first
    assert "13812345678" not in json.dumps(body, ensure_ascii=False)
    street = logged_in(server, "street_a")
    assert street.get(f"/api/v1/alerts/{other}").status_code == 404
    assert [c["code"] for c in street.get(f"/api/v1/alerts/{own}").get_json()["cases"]] == ["A-1", "A-2"]
