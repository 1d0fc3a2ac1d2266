"""With authentication off (the loopback demo) only loopback Host names are served: a web page whose
name an attacker rebinds to 127.0.0.1 (DNS rebinding) reads nothing and acknowledges nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dashboard.app import create_app
from dashboard.core.config import Settings
from dashboard.web.security import loopback_host
from data_access.db import dispose_all, init_db, make_engine
from data_access.models import Alert

from .api_seed import FAST_HASHER, PASSWORD, add_users, seed

REBOUND = ["evil.example", "evil.example:8050", "127.0.0.1.evil.example", "localhost.evil.example:8050",
           "evil.example@127.0.0.1", "0x7f000001", "[::ffff:7f00:1]x", "", "localhost:80:80"]
LOOPBACK = ["localhost", "localhost:8050", "LOCALHOST:8050", "127.0.0.1", "127.0.0.1:8050", "127.1.2.3:80",
            "[::1]", "[::1]:8050"]


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def make_site(tmp_path, auth: bool):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    add_users(engine)
    return create_app(Settings(database_url=url, secret_key="host-test"), auth=auth), engine


def ack_body(app, alert_id: int) -> dict:
    key = next(k for k in app.callback_map if k.startswith("ack-result.children"))
    trigger = {"id": str(alert_id), "type": "alert-ack"}
    return {"output": key, "outputs": {"id": "ack-result", "property": "children"},
            "inputs": [[{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "url", "property": "search", "value": ""},
                      {"id": "alert-detail-note", "property": "value", "value": None}],
            "changedPropIds": [json.dumps(trigger, separators=(",", ":")) + ".n_clicks"]}


def new_alert(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Alert.id).where(Alert.status == "new").order_by(Alert.id)).scalars().first()


def test_loopback_host_names():
    assert all(loopback_host(h) for h in LOOPBACK), [h for h in LOOPBACK if not loopback_host(h)]
    assert not any(loopback_host(h) for h in REBOUND), [h for h in REBOUND if loopback_host(h)]
    assert not loopback_host(None)


def test_with_auth_off_another_host_name_is_refused(tmp_path):
    app, engine = make_site(tmp_path, auth=False)
    client = app.server.test_client()
    alert_id = new_alert(engine)
    for host in ("evil.example", "evil.example:8050", "192.168.1.20:8050"):
        base = f"http://{host}"
        assert client.get("/", base_url=base).status_code == 403, host
        assert client.get("/api/v1/summary", base_url=base).status_code == 403, host
        assert client.get("/live/events", base_url=base).status_code == 403, host
        resp = client.post("/_dash-update-component", json=ack_body(app, alert_id), base_url=base)
        assert resp.status_code == 403, host
        assert client.post(f"/api/v1/alerts/{alert_id}/ack", base_url=base).status_code == 403, host
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status).where(Alert.id == alert_id)).scalar() == "new"
    # the same requests by a loopback name work
    for host in ("127.0.0.1:8050", "localhost", "localhost:8050", "[::1]:8050"):
        base = f"http://{host}"
        assert client.get("/", base_url=base).status_code == 200, host
        resp = client.get("/api/v1/summary", base_url=base)
        assert resp.status_code == 200 and "cases" in resp.get_json(), host
    resp = client.post("/_dash-update-component", json=ack_body(app, alert_id), base_url="http://127.0.0.1:8050")
    assert resp.status_code == 200 and "已确认" in str(resp.get_json())
    engine.dispose()


def test_with_auth_on_any_host_name_is_served(tmp_path):
    """Deployments with authentication behind their own names are not affected."""
    app, engine = make_site(tmp_path, auth=True)
    client = app.server.test_client()
    base = "http://gridwall.county.gov.cn"
    assert client.get("/login", base_url=base).status_code == 200
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}, base_url=base).status_code == 302
    assert client.get("/api/v1/summary", base_url=base).status_code == 200
    engine.dispose()
