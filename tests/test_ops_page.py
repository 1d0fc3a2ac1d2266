"""/ops (callbacks/ops.py, layouts/ops.py): each wall's state from its stored heartbeat at a set moment
(live, lagging, dark; the week's walls only, the user's scope only), the push channels' states and the
outbox depth, each duty's holder, standby instances and last success; duty officers only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import flask
import pytest
from plotly.utils import PlotlyJSONEncoder

from callbacks import ops
from dashboard.app import create_app
from dashboard.core.config import PushChannel, PushSettings, Settings
from dashboard.core.wall_health import DARK_AFTER
from data_access import duties as duties_db
from data_access import push as push_db
from data_access import walls as walls_db
from data_access.db import dispose_all
from data_access.users import User

from .api_seed import COMM_A, FAST_HASHER, PASSWORD, TOWN_A, TOWN_B, T, add_users, seed

UTC = timezone.utc
S = timedelta(seconds=1)
CURRENT = "v-current"
CHANNELS = [{"name": "county-duty", "kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"},
            {"name": "leaders", "kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send"},
            {"name": "spare", "kind": "webhook", "url": "https://hooks.example.org/gw"}]


@pytest.fixture
def site(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="ops-test"), auth=True)
    app.server.config["GRIDWALL_CODE_VERSION"] = CURRENT
    app.server.config["GRIDWALL_OPS_CHANNELS"] = CHANNELS
    yield {"app": app, "engine": engine, "tokens": tokens}
    dispose_all()


def heartbeat(engine, wall_id: str, at: datetime, *, region: str = TOWN_A, frame_age: float | None = 5.0,
              version: str | None = CURRENT, kiosk: bool = True, username: str | None = "wall_a") -> None:
    beat = walls_db.Heartbeat(wall_id=wall_id, username=username, kiosk=kiosk, region_code=region,
                              layout={"kiosk": kiosk, "mode": "live"}, frame_age=frame_age, heap_mb=80.0,
                              version=version, remote_addr="10.0.0.9")
    with engine.begin() as conn:
        walls_db.record_heartbeat(conn, beat, at, DARK_AFTER)


def status(site, now: datetime, user: User | None = None):
    """The callback's three outputs at ``now`` for ``user`` (default: the county's duty officer), as JSON."""
    user = user or User(id=1, username="center1", role="center", region_code=None, active=True)
    with site["app"].server.test_request_context("/ops/_dash-update-component"):
        flask.g.gw_user = user
        out = ops.status_at(now)
    return json.loads(json.dumps(out, cls=PlotlyJSONEncoder))


def nodes(value) -> list[dict]:
    """Every component's props in a serialised tree."""
    if isinstance(value, list):
        return [n for item in value for n in nodes(item)]
    if not isinstance(value, dict) or "props" not in value:
        return []
    props = value["props"]
    return [props] + nodes(props.get("children"))


def attr_rows(value, attr: str) -> dict[str, dict]:
    """Rows carrying ``attr``, keyed by their own id attribute (data-wall, data-channel, data-duty)."""
    key = {"data-wall-state": "data-wall", "data-state": "data-channel", "data-duty-state": "data-duty"}[attr]
    return {p[key]: p for p in nodes(value) if attr in p}


def text_of(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_each_wall_state_from_its_heartbeat_at_a_set_moment(site):
    engine = site["engine"]
    heartbeat(engine, "wall-live-001", T - 30 * S)
    heartbeat(engine, "wall-live-075", T - 75 * S, frame_age=90.0)          # both limits, included
    heartbeat(engine, "wall-frame-old", T - 30 * S, frame_age=91.0)         # data too old
    heartbeat(engine, "wall-frame-none", T - 30 * S, frame_age=None)
    heartbeat(engine, "wall-old-code", T - 30 * S, version="v-before")      # served before a deployment
    heartbeat(engine, "wall-late-beat", T - 100 * S)                        # heard 100 s ago: not dark yet
    heartbeat(engine, "wall-edge-120", T - 120 * S)
    heartbeat(engine, "wall-dark-121", T - 121 * S)
    heartbeat(engine, "wall-dark-6days", T - timedelta(days=6))
    heartbeat(engine, "wall-gone-8days", T - timedelta(days=8))             # older than a week: not listed
    walls, _channels, _duties = status(site, T)
    states = {wall: row["data-wall-state"] for wall, row in attr_rows(walls, "data-wall-state").items()}
    assert states == {
        "wall-live-001": "live", "wall-live-075": "live",
        "wall-frame-old": "lagging", "wall-frame-none": "lagging", "wall-old-code": "lagging",
        "wall-late-beat": "lagging", "wall-edge-120": "lagging",
        "wall-dark-121": "dark", "wall-dark-6days": "dark",
    }
    text = text_of(walls)
    assert "离线 2" in text and "滞后 5" in text and "在线 2" in text
    assert "旧版本" in text and "城厢镇" in text and "wall_a" in text and "大屏账号" in text
    # problems first: the dark walls lead the table
    order = [p["data-wall"] for p in nodes(walls) if "data-wall-state" in p]
    assert set(order[:2]) == {"wall-dark-121", "wall-dark-6days"}
    # later, the same rows read differently: a minute on, the live wall has gone quiet
    later = attr_rows(status(site, T + 60 * S)[0], "data-wall-state")
    assert later["wall-live-001"]["data-wall-state"] == "lagging"
    assert later["wall-late-beat"]["data-wall-state"] == "dark"


def test_walls_are_those_of_the_users_scope(site):
    heartbeat(site["engine"], "wall-town-a-1", T - 10 * S, region=COMM_A)
    heartbeat(site["engine"], "wall-town-b-1", T - 10 * S, region=TOWN_B)
    heartbeat(site["engine"], "wall-noauth-1", T - 10 * S, region=None, kiosk=False, username=None)
    county = attr_rows(status(site, T)[0], "data-wall-state")
    assert set(county) == {"wall-town-a-1", "wall-town-b-1", "wall-noauth-1"}
    street_officer = User(id=9, username="center_a", role="center", region_code=TOWN_A, active=True)
    assert set(attr_rows(status(site, T, street_officer)[0], "data-wall-state")) == {"wall-town-a-1"}


def test_no_walls_shows_the_empty_state(site):
    walls, channels, duties = status(site, T)
    assert "尚无大屏心跳" in text_of(walls)
    assert attr_rows(walls, "data-wall-state") == {}


def test_each_channel_state_and_the_outbox_depth(site):
    engine = site["engine"]
    with engine.begin() as conn:
        push_db.log_send(conn, "county-duty", T - 10 * 60 * S, ok=True, alerts=2)
        push_db.log_send(conn, "leaders", T - 5 * 60 * S, ok=True, alerts=1)
        push_db.log_send(conn, "leaders", T - 60 * S, ok=False, alerts=1, error="HTTP 502 from oapi.dingtalk.com")
        push_db.enqueue(conn, [(1, "leaders", 0), (2, "leaders", 0), (1, "county-duty", 1)], T - 30 * S)
    _walls, channels, _duties = status(site, T)
    rows = attr_rows(channels, "data-state")
    assert {name: row["data-state"] for name, row in rows.items()} == {
        "county-duty": "ok", "leaders": "failing", "spare": "idle"}
    outbox = next(p for p in nodes(channels) if p.get("id") == "ops-outbox")
    assert outbox["data-depth"] == "3" and "待发送 3 条" in outbox["children"]
    assert "HTTP 502" in text_of(rows["leaders"]) and "发送失败" in text_of(rows["leaders"])


def test_configured_channels_come_from_the_push_settings_without_their_keys(engine, backend_url):
    push = PushSettings(channel=[PushChannel(name="county-duty", kind="wecom",
                                             url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY")])
    app = create_app(Settings(database_url=backend_url, secret_key="ops-test", push=push), auth=False)
    listed = app.server.config["GRIDWALL_OPS_CHANNELS"]
    assert [c["name"] for c in listed] == ["county-duty"] and "SECRET-KEY" not in text_of(listed)
    dispose_all()


def test_no_channels_configured_shows_the_empty_state(site):
    site["app"].server.config["GRIDWALL_OPS_CHANNELS"] = []
    _walls, channels, _duties = status(site, T)
    assert "未配置推送通道" in text_of(channels) and attr_rows(channels, "data-state") == {}


def test_each_duty_holder_standby_and_last_success(site):
    with site["engine"].begin() as conn:
        duties_db.record_duty(conn, duty="warning", instance="host-a:101:aaaa1111", state="active", now=T - 20 * S,
                              succeeded=True, lock_kind="lease", interval_s=60)
        duties_db.record_duty(conn, duty="warning", instance="host-b:202:bbbb2222", state="standby", now=T - 10 * S,
                              lock_kind="lease", interval_s=60)
        duties_db.record_duty(conn, duty="warning", instance="host-c:303:cccc3333", state="standby",
                              now=T - 30 * 60 * S, lock_kind="lease", interval_s=60)  # long gone
        duties_db.record_duty(conn, duty="packs", instance="host-a:101:dddd4444", state="active", now=T - 10 * 60 * S,
                              succeeded=True, lock_kind="lease", interval_s=60)
    _walls, _channels, duties = status(site, T)
    rows = attr_rows(duties, "data-duty-state")
    assert {d: r["data-duty-state"] for d, r in rows.items()} == {
        "warning": "ok", "packs": "late", "walls": "none", "push": "none", "rollup": "none"}
    warning = text_of(rows["warning"])
    assert "host-a:101" in warning and "host-b:202" in warning and "host-c:303" not in warning
    assert "aaaa1111" not in warning  # host:pid, not the instance's nonce
    assert "预警引擎" in warning


@pytest.mark.parametrize("who", ["leader1", "street_a", "wall_a"])
def test_only_duty_officers_open_ops(site, who):
    client = site["app"].server.test_client()
    if who == "wall_a":
        assert client.get(f"/kiosk/{site['tokens']['wall_a']}").status_code == 302
    else:
        assert client.post("/login", data={"username": who, "password": PASSWORD}).status_code == 302
    assert client.get("/ops", headers={"Accept": "text/html"}).status_code == 403
    assert client.post("/ops/_dash-update-component", json={}).status_code == 403


def test_the_page_callback_answers_a_duty_officer(site):
    heartbeat(site["engine"], "wall-now-0001", datetime.now(UTC) - 5 * S)
    client = site["app"].server.test_client()
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    from .test_pages import call

    status_code, values = call(client, site["app"], "/ops/", "ops-walls", {"ops-tick.n_intervals": 1})
    assert status_code == 200
    assert set(attr_rows(values["ops-walls"]["children"], "data-wall-state")) == {"wall-now-0001"}
    assert "data-duty-state" in text_of(values["ops-duties"])


def test_every_duty_the_worker_knows_has_a_chinese_name():
    from dashboard.core.duty_status import KNOWN_DUTIES
    from layouts.ops import DUTY_NAMES

    assert set(DUTY_NAMES) == set(KNOWN_DUTIES)
