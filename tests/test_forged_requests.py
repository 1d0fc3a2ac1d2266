"""Forged requests: a logged-in street user (城厢镇) asks every callback and every route for another street,
the county, a grid or community outside its street, and malformed codes. It must get 400/403 or its own
data — never another street's.

The registries below name every server callback (by its outputs) and every Flask route. A callback or
route that exists in the app but not here FAILS the coverage tests: whoever adds one adds its entry
(usually one line: the generic forgery covers `url.search`, stores, clicks and dropdowns).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import quote

import pytest
from sqlalchemy import insert, select

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.commitments import create_commitment
from data_access.db import dispose_all
from data_access.figures import case_figures
from data_access.models import Alert, Case, GwAudit, GwCommitment, GwCommitmentEvent
from data_access.moment import Moment
from data_access.scope import Scope

from .api_seed import FAST_HASHER
from .wall_fixtures import COUNTY, STREETS, seed_small_county

UTC = timezone.utc
TZ = Settings(database_url="sqlite://", secret_key="x").tz
# The wall shows a fixed past moment, so that the figures compared below cannot drift between calls.
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
AT = "2026-11-20T10:00:00"
OWN = "320585100"  # 城厢镇, the street user's street
OTHER = "320585101"  # 沙溪镇
FOREIGN = [OTHER, COUNTY, "320585101001", "320585101001002", "320585103", "3205"]
MALFORMED = ["' OR '1'='1", "320585100%", "３２０５８５１０１", "320585101;DROP TABLE cases", "-1", ""]
PASSWORD = "pw-城厢"


# --- the county and the users ------------------------------------------------------------------

@pytest.fixture
def county(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed_small_county(engine, now=T0)
    markers = []
    with engine.begin() as conn:
        for i, (street, name, *_rest) in enumerate(STREETS):
            grid = f"{street}001001"
            title = "本街标记事件" if street == OWN else f"外街机密事件{i}"
            conn.execute(insert(Case).values(
                code=f"SECRET-{street}", title=title, address=f"{name}外街地址{i}" if street != OWN else "本街地址",
                category_code="0101", source="patrol", urgency="urgent", reported_at=T0 - timedelta(hours=30),
                grid_code=grid, status="handling", level="community", resolve_due_at=T0 - timedelta(hours=1),
                escalations=0, returns=0, reworks=0, urges=0, updated_at=T0 - timedelta(hours=30)))
            conn.execute(insert(Alert).values(
                created_at=T0 - timedelta(minutes=5), kind="sla", severity="critical", region_code=grid,
                title="本街标记预警" if street == OWN else f"外街机密预警{i}", detail='{"case_ids": [1]}',
                status="new", source="gridwall", dedup_key=f"secret-{street}"))
            if street != OWN:
                markers += [name, f"{name[:2]}第1社区", f"{name[:2]}第2社区", f"SECRET-{street}",
                            f"外街机密事件{i}", f"外街机密预警{i}", f"外街地址{i}"]
        conn.execute(insert(Case).values(
            code="SECRET-UNLOCATED", title="未定位机密", category_code="0101", source="hotline", urgency="normal",
            reported_at=T0 - timedelta(hours=2), grid_code=None, status="reported", level="county",
            updated_at=T0 - timedelta(hours=2)))
        markers += ["SECRET-UNLOCATED", "未定位机密"]
        for street, text in ((OWN, "本街督办标记"), (OTHER, "外街机密督办")):
            create_commitment(conn, Scope(region=COUNTY, root=COUNTY), {
                "text": text, "region_code": street, "meeting_date": "2026-11-16", "due_date": "2026-11-18",
                "case_codes": [f"SECRET-{street}"]}, "center1", T0 - timedelta(days=4))
        markers += ["外街机密督办"]

    from dashboard.identity.users import create_token
    from dashboard.usecases.users import save_user as add_user

    add_user(engine, "street_cx", role="street", region=OWN, password=PASSWORD)
    add_user(engine, "center1", role="center", password=PASSWORD)
    add_user(engine, "wall_cx", role="wall", region=OWN)
    tokens = {name: create_token(engine, name) for name in ("street_cx", "wall_cx", "center1")}
    app = create_app(Settings(database_url=backend_url, secret_key="forged-test"), auth=True)
    client = app.server.test_client()
    resp = client.post("/login", data={"username": "street_cx", "password": PASSWORD})
    assert resp.status_code == 302
    yield {"app": app, "client": client, "engine": engine, "markers": markers, "tokens": tokens}
    dispose_all()


def reset_outage_marks(monkeypatch=None) -> None:
    """A failed read marks the database down for a few seconds and later callbacks answer "no data":
    that would make every later forgery pass vacuously. Clear the mark before each request."""
    from callbacks.live import outage as wall_data

    for name in ("_down", "_down_until"):
        marks = getattr(wall_data, name, None)
        if isinstance(marks, dict):
            marks.clear()


def own_figures(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return case_figures(conn, Scope(OWN, COUNTY), Moment(T0, TZ))


def text_of(resp) -> str:
    """The body with JSON unicode escapes decoded, so that markers in Chinese are found."""
    body = resp.get_data(as_text=True)
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return body


def assert_no_foreign_data(resp, markers, what):
    text = text_of(resp)
    leaked = [m for m in markers if m in text]
    assert not leaked, f"{what}: another street's data in the response: {leaked}"


# --- callbacks ---------------------------------------------------------------------------------

def callback_name(key: str) -> str:
    """The registry name of a callback: its output key without Dash's duplicate-output hash."""
    return re.sub(r"@[0-9a-f]+", "", key)


def _outputs(cb: dict) -> list[dict]:
    outs = cb["output"] if isinstance(cb["output"], (list, tuple)) else [cb["output"]]
    return [{"id": o.component_id, "property": o.component_property} for o in outs]


def _forge_value(dep: dict, region: str, form: int) -> Any:
    prop = dep["property"]
    if prop == "search":
        return f"?region={quote(region)}&at={AT}" if form != 2 else f"?region={quote(region)}"
    if prop == "href":
        return f"http://localhost/?region={quote(region)}"
    if prop == "pathname":
        return "/"
    if prop in ("n_intervals", "n_clicks"):
        return [1, 60, 0][form]
    if prop in ("clickData", "hoverData"):
        return [{"type": "Feature", "id": region, "properties": {"code": region}},
                {"points": [{"customdata": region, "location": region}]}, None][form]
    if prop == "data":
        return [{"region": region, "view": f"{region}|live", "keys": [], "code": region, "version": 1},
                region, None][form]
    return [region, {"region": region}, None][form]


def _dependency(dep: dict, region: str, form: int):
    value = _forge_value(dep, region, form)
    if isinstance(dep["id"], dict):  # pattern-matching: one concrete component
        concrete = {k: (region if isinstance(v, list) else v) for k, v in dep["id"].items()}
        item = {"id": concrete, "property": dep["property"], "value": value}
        wildcard = any(v == ["ALL"] or v == ["ALLSMALLER"] for v in dep["id"].values())
        return [item] if wildcard else item
    return {"id": dep["id"], "property": dep["property"], "value": value}


def forged_body(key: str, cb: dict, region: str, form: int, overrides: dict | None = None) -> dict:
    inputs = [_dependency(d, region, form) for d in cb["inputs"]]
    state = [_dependency(d, region, form) for d in cb["state"]]
    for item in inputs + state:
        for one in (item if isinstance(item, list) else [item]):
            name = f"{one['id']}.{one['property']}" if isinstance(one["id"], str) else None
            if overrides and name in overrides:
                one["value"] = overrides[name](region, form)
    outputs = _outputs(cb)
    changed = []
    for d in cb["inputs"]:
        changed.append(f"{d['id']}.{d['property']}" if isinstance(d["id"], str)
                       else json.dumps(d["id"], separators=(",", ":")) + "." + d["property"])
    return {"output": key, "outputs": outputs if len(outputs) > 1 or isinstance(cb["output"], (list, tuple))
            else outputs[0], "inputs": inputs, "state": state, "changedPropIds": changed[:1]}


def add_search(body: dict, extra: str) -> None:
    """Append ``extra`` to every forged ``url.search`` of the body."""
    for item in body["inputs"] + body["state"]:
        for one in (item if isinstance(item, list) else [item]):
            if extra and one.get("property") == "search" and isinstance(one.get("value"), str):
                one["value"] += extra


def response_values(resp) -> dict[str, dict[str, Any]]:
    body = resp.get_json(silent=True) or {}
    return body.get("response", {})


def check_figures(ctx, resp, region, form):
    """The KPI tiles show the user's own street's figures, whatever region was forged."""
    values = response_values(resp)
    assert "kpi-open" in values, (region, form, values)
    if form == 2:  # live (no ?at=): not comparable to a fixed moment
        return
    mine = own_figures(ctx["engine"])
    assert values["kpi-open"]["children"] == str(mine["open"]), (region, values["kpi-open"])
    assert values["kpi-overdue"]["children"] == str(mine["overdue"]), region


def check_map(ctx, resp, region, form):
    values = response_values(resp)
    hideout = values.get("map-regions", {}).get("hideout") or {}
    assert all(code.startswith(OWN) for code in hideout.get("values", {})), (region, list(hideout["values"]))
    data = values.get("map-regions", {}).get("data") or {}
    assert all(str(f.get("id", OWN)).startswith(OWN) for f in data.get("features", [])), region
    url = values.get("map-regions", {}).get("url")
    assert url is None or url.startswith(f"/_wall/shapes/{OWN}"), (region, url)


def check_codes_in_own_street(ctx, resp, region, form):
    """Every region/grid code the response names lies in the user's street (or is the root above it)."""
    text = text_of(resp)
    for code in set(re.findall(r"(?<!\d)3205\d{5}(?:\d{3}){0,2}(?!\d)", text)):
        if code in region:  # the forged code itself, echoed in a notice, is not data
            continue
        assert code.startswith(OWN), (region, code)


def check_rotation(ctx, resp, region, form):
    regions = response_values(resp).get("rotate-regions", {}).get("data") or {}
    assert all(code.startswith(OWN) for code in regions.get("regions", [])), (region, regions)


def _ack_body(key: str, alert_id, search: str, kind: str = "alert-ack", outputs: Any = None) -> dict:
    trigger = {"id": alert_id, "type": kind}
    return {"output": key, "outputs": outputs or {"id": "ack-result", "property": "children"},
            "inputs": [[{"id": trigger, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "url", "property": "search", "value": search},
                      *([{"id": "alert-detail-note", "property": "value", "value": "伪造说明"}]
                        if kind == "alert-ack" else [])],
            "changedPropIds": [json.dumps(trigger, sort_keys=True, separators=(",", ":")) + ".n_clicks"]}


def forge_ack(ctx):
    """Acknowledging from the wall: a street user is refused for any alert; nothing changes."""
    key = next(k for k in server_callbacks(ctx["app"]) if callback_name(k) == "ack-result.children")
    def alert_states():
        with ctx["engine"].connect() as conn:
            return conn.execute(select(Alert.id, Alert.status, Alert.ack_by).order_by(Alert.id)).all()

    before = alert_states()
    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())
    targets = [ids[f"secret-{OWN}"], ids[f"secret-{OTHER}"], ids["t-spike"], 99999999, "abc", -1, None]
    for alert_id in targets:
        for search in (f"?region={OTHER}", f"?region={OWN}", ""):
            reset_outage_marks()
            resp = ctx["client"].post("/_dash-update-component", json=_ack_body(key, alert_id, search))
            assert resp.status_code in (200, 204, 400), (alert_id, resp.status_code, resp.data[:200])
            if resp.status_code == 200 and isinstance(alert_id, int) and alert_id > 0:
                assert "仅值班人员" in text_of(resp), (alert_id, text_of(resp))
    assert alert_states() == before
    # the same request from a duty officer goes through: the forgery above did reach the callback
    center = ctx["app"].server.test_client()
    center.post("/login", data={"username": "center1", "password": PASSWORD})
    resp = center.post("/_dash-update-component", json=_ack_body(key, ids[f"secret-{OTHER}"], f"?region={OWN}"))
    assert "已确认" in text_of(resp)


def forge_undo(ctx):
    """撤销 after acknowledging: a street user is refused for any alert; a duty officer takes back only
    an acknowledgement of their own."""
    key = next(k for k in server_callbacks(ctx["app"]) if "ack-undone.data" in k)
    outs = [{"id": "ack-undone", "property": "data"}, {"id": "ack-result", "property": "children"}]

    def alert_states():
        with ctx["engine"].connect() as conn:
            return conn.execute(select(Alert.id, Alert.status, Alert.ack_by).order_by(Alert.id)).all()

    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())
    center = ctx["app"].server.test_client()
    center.post("/login", data={"username": "center1", "password": PASSWORD})
    ack_key = next(k for k in server_callbacks(ctx["app"]) if callback_name(k) == "ack-result.children")
    center.post("/_dash-update-component", json=_ack_body(ack_key, ids[f"secret-{OWN}"], ""))
    before = alert_states()
    for alert_id in (ids[f"secret-{OWN}"], ids[f"secret-{OTHER}"], 99999999, "abc", -1, None):
        for search in (f"?region={OTHER}", ""):
            reset_outage_marks()
            body = _ack_body(key, alert_id, search, "alert-undo", outs)
            resp = ctx["client"].post("/_dash-update-component", json=body)
            assert resp.status_code in (200, 204, 400), (alert_id, resp.status_code, resp.data[:200])
            if resp.status_code == 200 and isinstance(alert_id, int) and alert_id > 0:
                assert "仅值班人员" in text_of(resp), (alert_id, text_of(resp))
    assert alert_states() == before
    # The duty officer's own acknowledgement is taken back (the forgery above reached the callback).
    resp = center.post("/_dash-update-component",
                       json=_ack_body(key, ids[f"secret-{OWN}"], "", "alert-undo", outs))
    assert "已撤销确认" in text_of(resp)


def check_review(ctx, resp, region, form):
    """The review page shows the user's own street (or a region inside it), whatever was forged."""
    values = response_values(resp)
    if "review-region" in values:
        assert values["review-region"]["data-region"].startswith(OWN), (region, values["review-region"])


def check_review_core(ctx, resp, region, form):
    """The review page's children table lists communities of the user's own street only."""
    rows = re.findall(r'"data-region": "(\d+)"', text_of(resp))
    assert all(code.startswith(OWN) for code in rows), (region, rows)


def check_case_flow_refused(ctx, resp, region, form):
    """Another street's case never opens: the panel says "not found" and names no case."""
    values = response_values(resp).get("review-case-flow", {})
    assert values.get("data-case-code") == "", (region, form, values.get("data-case-code"))
    assert "未找到该事件" in text_of(resp), (region, form)


def forge_ops(ctx):
    """The operations page is for duty officers: a street user's forgeries answer 403, a duty officer's 200."""
    app = ctx["app"]
    key = next(k for k in server_callbacks(app) if callback_name(k).startswith("..ops-walls.children"))
    cb = server_callbacks(app)[key]
    for region in FOREIGN + MALFORMED:
        for form in (0, 1, 2):
            resp = ctx["client"].post(update_path(app, key), json=forged_body(key, cb, region, form))
            assert resp.status_code == 403, (region, form, resp.status_code)
    center = app.server.test_client()
    center.post("/login", data={"username": "center1", "password": PASSWORD})
    resp = center.post(update_path(app, key), json=forged_body(key, cb, OTHER, 0))
    assert resp.status_code == 200 and "尚无大屏心跳" in text_of(resp)


def forge_ops_alert_quality(ctx):
    """/ops 预警研判质量: a street user's forgeries answer 403; a duty officer's the county's table."""
    app = ctx["app"]
    key = next(k for k in server_callbacks(app) if callback_name(k) == "ops-alert-quality.children")
    cb = server_callbacks(app)[key]
    for region in FOREIGN + MALFORMED:
        resp = ctx["client"].post(update_path(app, key), json=forged_body(key, cb, region, 0))
        assert resp.status_code == 403, (region, resp.status_code)
    resp = center_client(ctx).post(update_path(app, key), json=forged_body(key, cb, OTHER, 0))
    assert resp.status_code == 200 and "预警类型" in text_of(resp)


def forge_alert_quality(ctx):
    """预警研判质量 is for duty officers and leaders: every forgery of a street user answers 403 (its own
    street included); a duty officer's request answers with the county's table."""
    app = ctx["app"]
    key = next(k for k in server_callbacks(app) if callback_name(k) == "review-alert-quality.children")
    cb = server_callbacks(app)[key]
    for region in FOREIGN + MALFORMED + [OWN]:
        for form in (0, 1, 2):
            reset_outage_marks()
            body = forged_body(key, cb, region, form)
            resp = ctx["client"].post(update_path(app, key), json=body)
            assert resp.status_code in (400, 403), (region, form, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "review-alert-quality")
    center = center_client(ctx)
    body = forged_body(key, cb, COUNTY, 0)
    add_search(body, "&period=week&date=2026-11-16")
    assert "预警类型" in text_of(center.post(update_path(app, key), json=body))


def route_review_alert_quality(ctx):
    for query in ("", f"?region={OWN}&at={AT}", f"?region={OTHER}", "?region=' OR '1'='1"):
        for resp in _api(ctx, f"/api/v1/review/alert-quality{query}"):
            assert resp.status_code == 403 and set(resp.get_json()) == {"error"}, (query, resp.status_code)
    resp = ctx["app"].server.test_client().get(f"/api/v1/review/alert-quality?at={AT}",
                                               headers={"Authorization": f"Bearer {ctx['tokens']['center1']}"})
    assert resp.status_code == 200 and resp.get_json()["region"] == COUNTY


def forge_concealment(ctx):
    """The concealment watch is for duty officers and leaders: every forgery of a street user answers 403
    (its own street included) and reads nothing; a duty officer's request answers with the flagged
    community of another street (the forgery above did reach the callback)."""
    app = ctx["app"]
    key = next(k for k in server_callbacks(app) if callback_name(k) == "review-concealment.children")
    cb = server_callbacks(app)[key]
    with ctx["engine"].begin() as conn:
        conn.execute(insert(Alert).values(
            created_at=T0 - timedelta(days=1), kind="underreport", severity="warning", region_code=f"{OTHER}001",
            title="外街疑似瞒报", detail='{"test": "peers", "share": 0.1, "peer_share": 0.5, "observed": 3, '
                                       '"expected": 15.0, "window": {"weeks": 8}}',
            status="new", source="gridwall", dedup_key="t-underreport"))
    for region in FOREIGN + MALFORMED + [OWN]:
        for form in (0, 1, 2):
            reset_outage_marks()
            body = forged_body(key, cb, region, form)
            add_search(body, "&period=week&date=2026-11-16")
            resp = ctx["client"].post(update_path(app, key), json=body)
            assert resp.status_code == 403, (region, form, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "review-concealment")
    center = app.server.test_client()
    center.post("/login", data={"username": "center1", "password": PASSWORD})
    body = forged_body(key, cb, COUNTY, 0)
    add_search(body, "&period=week&date=2026-11-16")
    resp = center.post(update_path(app, key), json=body)
    assert resp.status_code == 200 and "疑似瞒报漏报 · 建议核实" in text_of(resp), text_of(resp)[:300]


def forge_commitment_write(ctx):
    """督办事项 on /review: a street user's forged create, close, drop or note is refused for any id
    (its own street's included) and writes nothing; a duty officer's same request goes through."""
    app = ctx["app"]
    key = next(k for k in server_callbacks(app) if callback_name(k).startswith("..commitment-result.children"))
    cb = server_callbacks(app)[key]

    def state():
        with ctx["engine"].connect() as conn:
            return (conn.execute(select(GwCommitment.id, GwCommitment.status).order_by(GwCommitment.id)).all(),
                    conn.execute(select(GwCommitmentEvent.id)).all())

    with ctx["engine"].connect() as conn:
        ids = [i for (i,) in conn.execute(select(GwCommitment.id))]
    before = state()
    for cid in ids + [99999999]:
        for act in ("done", "dropped", "note"):
            for search in (f"?region={OTHER}", f"?region={OWN}", ""):
                reset_outage_marks()
                trigger = {"act": act, "cid": str(cid), "type": "commitment-act"}
                body = forged_body(key, cb, OWN, 2)
                body["inputs"][1] = [{"id": trigger, "property": "n_clicks", "value": 1}]
                body["changedPropIds"] = [json.dumps(trigger, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
                add_search(body, "")
                for item in body["state"]:
                    if isinstance(item, dict) and item["id"] == "url":
                        item["value"] = search
                resp = ctx["client"].post(update_path(app, key), json=body)
                assert resp.status_code in (200, 204, 400), (cid, act, resp.status_code, resp.data[:200])
                if resp.status_code == 200:
                    assert "仅值班人员和领导" in text_of(resp), text_of(resp)[:200]
    for region in FOREIGN + MALFORMED + [OWN]:
        body = forged_body(key, cb, region, 0)
        resp = ctx["client"].post(update_path(app, key), json=body)
        assert resp.status_code in (200, 204, 400), (region, resp.status_code)
    assert state() == before
    center = app.server.test_client()
    center.post("/login", data={"username": "center1", "password": PASSWORD})
    trigger = {"act": "done", "cid": str(ids[-1]), "type": "commitment-act"}
    body = forged_body(key, cb, OWN, 2)
    body["inputs"][1] = [{"id": trigger, "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [json.dumps(trigger, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    for item in body["state"]:
        if isinstance(item, dict) and item["id"] == "url":
            item["value"] = ""   # the duty officer's own scope: the county, the other street's commitment in it
    resp = center.post(update_path(app, key), json=body)
    assert "已办结" in text_of(resp), text_of(resp)[:300]


def forge_packs(ctx):
    """周报归档 on /review: whatever region is forged, a street user's list names its own street's pack
    only (never another street's nor the county's leaders' pack); a duty officer's names all three."""
    app = ctx["app"]
    ids = _packs(ctx)
    key = next(k for k in server_callbacks(app) if callback_name(k) == "review-packs.children")
    cb = server_callbacks(app)[key]
    answered = 0
    for region in FOREIGN + MALFORMED + [OWN]:
        for form in (0, 1, 2):
            reset_outage_marks()
            body = forged_body(key, cb, region, form)
            add_search(body, "&at=2026-11-20T10:00:00" if form == 2 else "")
            resp = ctx["client"].post(update_path(app, key), json=body)
            assert resp.status_code in (200, 204, 400, 403), (region, form, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "review-packs")
            if resp.status_code == 200:
                named = {int(x) for x in re.findall(r"/api/v1/packs/(\d+)", text_of(resp))}
                assert named <= {ids[OWN]}, (region, form, named)
                answered += named == {ids[OWN]}
    assert answered  # not vacuous: the own pack was listed
    center = center_client(ctx)
    resp = center.post(update_path(app, key), json=forged_body(key, cb, COUNTY, 0))
    assert {int(x) for x in re.findall(r"/api/v1/packs/(\d+)", text_of(resp))} == set(ids.values())


def forge_alert_detail(ctx):
    """The wall's evidence panel (?alert=ID): every other street's alert reads as missing for a street
    user, whatever region is forged beside it; its own alert opens (not vacuous)."""
    app, client = ctx["app"], ctx["client"]
    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id).where(Alert.dedup_key.like("secret-%"))).all())
    key = next(k for k in server_callbacks(app) if callback_name(k).startswith("..alert-detail-body.children"))
    cb = server_callbacks(app)[key]
    for dedup, alert_id in ids.items():
        own = dedup == f"secret-{OWN}"
        for region in FOREIGN[:2] + MALFORMED[:2] + [OWN]:
            reset_outage_marks()
            body = forged_body(key, cb, region, 0)
            add_search(body, f"&alert={alert_id}")
            resp = client.post(update_path(app, key), json=body)
            assert resp.status_code in (200, 204, 400, 403), (region, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "alert-detail")
            if resp.status_code == 200 and region == OWN:
                assert ("本街标记预警" in text_of(resp)) == own, (dedup, text_of(resp)[:300])
    # issue 17: the evidence of an own-street alert whose detail names another street's grids, cases,
    # workers and series shows none of them (every evidence read takes the viewer's scope)
    foreign_grid = f"{OTHER}001001"
    with ctx["engine"].begin() as conn:
        secret = conn.execute(select(Case.id).where(Case.code == f"SECRET-{OTHER}")).scalar_one()
        details = {
            "cluster": {"center": {"lon": 121.1, "lat": 31.5}, "radius_km": 3, "grids": [foreign_grid], "case_ids": [secret]},
            "staffing": {"observed": 1, "workers": [{"staff_id": 5, "grid_code": foreign_grid}], "vacant": [foreign_grid]},
            "spike": {"series": {"region_code": f"{OTHER}001", "category_code": "0101"},
                      "window": {"start": "2026-11-18", "end": "2026-11-18", "days": 1}},
            "repeat": {"observed": 3, "place_kind": "address", "case_ids": [secret]},
            "underreport": {"test": "peers", "window": {"start": "2026-10-26", "end": "2026-11-15", "weeks": 3}},
        }
        forged = [conn.execute(insert(Alert).values(
            created_at=T0 - timedelta(minutes=4), kind=kind, severity="warning",
            region_code=f"{OWN}001" if kind == "underreport" else OWN, title=f"本街伪造证据{kind}",
            detail=json.dumps(d), status="new", source="gridwall", dedup_key=f"forged-evidence-{kind}")
            .returning(Alert.id)).scalar_one() for kind, d in details.items()]
    for alert_id in forged:
        reset_outage_marks()
        body = forged_body(key, cb, OWN, 0)
        add_search(body, f"&alert={alert_id}")
        resp = client.post(update_path(app, key), json=body)
        assert resp.status_code == 200 and "本街伪造证据" in text_of(resp)
        assert_no_foreign_data(resp, ctx["markers"] + [foreign_grid], "alert-evidence")


def outputs(*names: str) -> str:
    """The callback_map key of a multi-output callback."""
    return ".." + "...".join(names) + ".."


# Every server callback, by name. Value: extra checks on a 200 answer (the marker check always runs),
# a dict {"checks": (...), "search": "&extra=1"} when the callback needs more in the URL to answer, or
# a function that replaces the generic forgery entirely.
Check = Callable[[dict, Any, str, int], None]
CALLBACKS: dict[str, Any] = {
    outputs("wall-title.children", "breadcrumb.children", "region-notice.children", "view-mode.children",
            "wall-clock.data"): (),
    # The wall tick answers the live signal, the tiles and the case stream in one request.
    outputs("live-version.data", "live-slow.data", "live-beat.data",
            "kpi-open.children", "kpi-overdue.children", "kpi-warning.children", "kpi-new-today.children",
            "kpi-closed-today.children", "kpi-alerts-new.children", "rate-on-time.children",
            "rate-closed.children", "rate-satisfied.children", "rate-self-resolved.children",
            "staff-grids.children", "staff-vacant.children", "staff-patrolled.children",
            "staff-workers.children", "staff-on-duty.children", "staff-online.children",
            "kpi-alerts-critical.children", "figures-state.data", "stream-feed.data", "stream-state.data"): (check_figures,),
    # The four slower panels answer in one request.
    outputs("sla-board.children", "sla-board.data-total", "sla-state.data",
            "staffing-detail.children", "staff-state.data",
            "region-title.children", "region-table.children", "region-state.data",
            "alerts.children", "alerts.data-total", "alert-banner.children", "alerts.data-view",
            "alerts-state.data"): (),
    "trend-data.data": (),
    "yesterday.data": (),
    outputs("map-regions.data", "map-regions.url", "map-regions.hideout", "map-legend.children",
            "map-cases.data", "map-alerts.data", "map-state.data"): (check_map,),
    "rotate-regions.data": {"checks": (check_rotation,), "search": "&rotate=30"},
    "ack-result.children": forge_ack,
    # The evidence panel of ?alert=ID (the link of a pushed message): another street's alert is missing.
    outputs("alert-detail-body.children", "alert-detail.hidden", "alert-detail-choices.children",
            "alert-detail-judge.hidden"): forge_alert_detail,
    # 撤销 after acknowledging: a street user is refused like for acknowledging (generic forgery).
    outputs("ack-undone.data", "ack-result.children"): forge_undo,
    # /review (its own Dash app): the period and the stored forecast of the URL's view.
    outputs("review-region.children", "review-region.data-region", "review-period.children",
            "review-period.data-start", "review-period.data-end", "review-period.data-partial",
            "review-notice.children", "review-kind.value", "review-date.date", "review-end.date"): (check_review,),
    # /review, the core (callbacks/review_core.py): comparisons, headline figures, children, 红黑榜, rules.
    outputs("review-compare.children", "review-headline.children", "review-children.children",
            "review-rolls.children", "review-rules.children", "review-core-drawn.data"): (check_review_core,),
    # /review, the coming week (预测研判): the stored forecast, the hotspot grids, the forecasts' record.
    outputs("review-forecast.children", "review-hotspots.children", "review-forecast-record.children"): (),
    # /review, the concealment watch (疑似瞒报漏报): duty officers and leaders only.
    "review-concealment.children": forge_concealment,
    # /review, 预警研判质量: duty officers and leaders only, as the concealment watch.
    "review-alert-quality.children": forge_alert_quality,
    # /review, hot issues (热点问题) and the 26-week trend (趋势) of the URL's view.
    "review-hot-issues.children": (),
    "review-trend.children": (),
    # /review, the archive of weekly packs (周报归档): a street never sees another street's nor the county's.
    "review-packs.children": forge_packs,
    # /review, departments (部门退单) and bounced cases (推诿扯皮) of the URL's view.
    outputs("review-departments.children", "review-bounced.children", "review-departments-view.data"): (),
    # /review, a case's flow log (?case=): another street's case is "not found", like an unknown one.
    outputs("review-case-flow.children", "review-case-flow.hidden", "review-case-flow.data-case-code"):
        {"checks": (check_case_flow_refused,), "search": f"&case=SECRET-{OTHER}"},
    # /review, commitments (督办事项): the agenda of the user's own street, and the one write callback.
    outputs("review-commitments.children", "commitment-form.hidden", "commitment-region.options",
            "commitment-region.value", "commitment-owner.options"): (),
    outputs("commitment-result.children", "commitments-version.data", "commitment-text.value",
            "commitment-cases.value"): forge_commitment_write,
    # /review, 导出 PDF / 导出 Excel: links to /api/v1/review/pack built from the URL alone (no read).
    outputs("review-pack-pdf.href", "review-pack-xlsx.href"): (),
    # /ops (its own Dash app): duty officers only.
    outputs("ops-walls.children", "ops-channels.children", "ops-duties.children"): forge_ops,
    "ops-alert-quality.children": forge_ops_alert_quality,
}


def page_apps(app) -> list:
    """Every Dash app on the wall's server: the wall and the other pages (dashboard.app.dash_apps)."""
    from dashboard.app import dash_apps

    return dash_apps(app.server) or [app]


def all_callbacks(app) -> dict[str, dict]:
    return {k: cb for one in page_apps(app) for k, cb in one.callback_map.items()}


def server_callbacks(app) -> dict[str, dict]:
    return {k: cb for k, cb in all_callbacks(app).items() if callable(cb.get("callback"))}


def update_path(app, key: str) -> str:
    """Where the browser posts callback ``key``: its own app's ``<prefix>_dash-update-component``."""
    owner = next(one for one in page_apps(app) if key in one.callback_map)
    return owner.config.routes_pathname_prefix + "_dash-update-component"


def test_every_server_callback_is_covered(county):
    names = {callback_name(k) for k in server_callbacks(county["app"])}
    missing = sorted(names - set(CALLBACKS))
    assert not missing, ("server callbacks without a forged-request entry in tests/test_forged_requests.py "
                         f"CALLBACKS: {missing}")


def test_clientside_callbacks_cannot_be_posted(county):
    client = county["client"]
    for key, cb in all_callbacks(county["app"]).items():
        if callable(cb.get("callback")):
            continue
        resp = client.post(update_path(county["app"], key), json=forged_body(key, cb, OTHER, 0))
        assert resp.status_code == 400, key


def test_forged_callback_requests_never_leak(county):
    app, client, markers = county["app"], county["client"], county["markers"]
    answered = {}
    for key, cb in server_callbacks(app).items():
        entry = CALLBACKS.get(callback_name(key))
        if entry is None:
            continue  # reported by test_every_server_callback_is_covered
        if callable(entry):
            entry(county)
            continue
        checks, extra = (entry.get("checks", ()), entry.get("search", "")) if isinstance(entry, dict) else (entry, "")
        answered[key] = 0
        for region in FOREIGN + MALFORMED:
            for form in (0, 1, 2):
                reset_outage_marks()
                body = forged_body(key, cb, region, form)
                add_search(body, extra)
                resp = client.post(update_path(app, key), json=body)
                what = f"{callback_name(key)[:60]} region={region!r} form={form}"
                assert resp.status_code in (200, 204, 400, 403), (what, resp.status_code, resp.data[:300])
                if resp.status_code == 200:
                    answered[key] += bool(response_values(resp))
                    assert_no_foreign_data(resp, markers, what)
                    check_codes_in_own_street(county, resp, region, form)
                    for check in checks:
                        check(county, resp, region, form)
    # Not vacuous: each callback answered the forgeries with (its own street's) data at least once.
    assert all(answered.values()), [k for k, n in answered.items() if not n]


def test_own_street_is_shown_to_the_street_user(county):
    """The generic forgery is not vacuous: asked for its own street, the user sees its own markers."""
    app, client = county["app"], county["client"]
    seen = ""
    for key, cb in server_callbacks(app).items():
        entry = CALLBACKS.get(callback_name(key))
        if callable(entry):
            continue
        reset_outage_marks()
        body = forged_body(key, cb, OWN, 0)
        add_search(body, entry.get("search", "") if isinstance(entry, dict) else "")
        resp = client.post(update_path(app, key), json=body)
        assert resp.status_code in (200, 204), (key, resp.status_code, resp.data[:300])
        if resp.status_code == 200:
            seen += text_of(resp)
    assert "本街标记预警" in seen and "城厢镇" in seen and "第1社区" in seen


# --- inputs bounded at the edge: a bad request gets its own error, nobody else notices ----------

def callback_key(app, output: str) -> str:
    return next(k for k in server_callbacks(app) if output in k.split("@")[0])


def with_search(body: dict, search: Any) -> dict:
    """``body`` with every ``url.search`` value replaced (by anything: forged types too)."""
    for item in body["inputs"] + body["state"]:
        for one in (item if isinstance(item, list) else [item]):
            if one.get("property") == "search":
                one["value"] = search
    return body


def tick(app, client, search: str):
    """The wall's tick for ``search`` (no version held yet: it answers the current one)."""
    key = callback_key(app, "live-version.data")
    return client.post(update_path(app, key), json=with_search(forged_body(key, server_callbacks(app)[key], OWN, 2),
                                                                 search))


def center_client(ctx):
    client = ctx["app"].server.test_client()
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    return client


def outage_marked() -> bool:
    from callbacks.live import outage

    return bool(outage._down)


def assert_others_see_live_data(ctx, other):
    """Another user's wall: live data, not "数据中断", and no outage mark in the process."""
    assert not outage_marked()
    resp = tick(ctx["app"], other, "")
    assert resp.status_code == 200, resp.data[:300]
    live = response_values(resp)["live-version"]["data"]
    assert live["stale"] is False and live["mode"] == "live" and live["view"] == f"{COUNTY}|live", live
    assert response_values(resp)["kpi-open"]["children"].isdigit()


# Moments the wall cannot show: out of MIN_YEAR..MAX_YEAR (0001-01-02 overflowed the date arithmetic of
# the case queries, which marked the database down for every wall), out of datetime's range, junk.
BAD_MOMENTS = ["0001-01-02", "0001-01-01T00:00:00+14:00", "1969-12-31T12:00", "9999-12-31T23:59:59",
               "2201-01-01", "99999-01-01", "2026-13-45", "now", "2026-11-20T10:00:00+99:00"]


def test_a_moment_out_of_range_is_that_walls_notice_and_no_outage(county):
    """A forged tick with ``?at=0001-01-02`` (or any moment out of range) answers that wall alone: live
    data with its own notice; the database is not marked down and another user's wall stays live."""
    app, street = county["app"], county["client"]
    other = center_client(county)
    reset_outage_marks()
    assert_others_see_live_data(county, other)
    header = callback_key(app, "wall-title.children")
    for at in BAD_MOMENTS:
        for search in (f"?at={quote(at)}", f"?region={OWN}&at={quote(at)}"):
            resp = tick(app, street, search)
            assert resp.status_code == 200, (search, resp.status_code, resp.data[:300])
            live = response_values(resp)["live-version"]["data"]
            assert live["stale"] is False and live["mode"] == "live", (search, live)
            body = with_search(forged_body(header, server_callbacks(app)[header], OWN, 0), search)
            resp = street.post(update_path(app, header), json=body)
            notice = response_values(resp)["region-notice"]["children"]
            assert resp.status_code == 200 and ("时间参数无效" in str(notice) or "时间在未来" in str(notice)), \
                (search, notice)
            assert_others_see_live_data(county, other)


def test_a_review_period_out_of_range_is_that_pages_notice_and_no_outage(county):
    """The review page's period (``period/date/end``) is read by data_access.period's parser and held to
    the years of a moment: anything else falls back to the last complete week and says so."""
    app, street = county["app"], county["client"]
    other = center_client(county)
    reset_outage_marks()
    key = callback_key(app, "review-region.children")
    for query in ("period=week&date=0001-01-01", "period=week&date=0001-01-03", "period=month&date=1000-06-01",
                  "period=quarter&date=9999-12-31", "period=custom&date=0001-01-01&end=0001-12-31",
                  "period=custom&date=1969-12-01&end=1970-01-02", "period=week&date=2026-02-30",
                  "period=year&date=2026-01-01", "period=custom&date=2025-01-01&end=2026-11-01"):
        body = with_search(forged_body(key, server_callbacks(app)[key], OWN, 0), f"?{query}&at={AT}")
        resp = street.post(update_path(app, key), json=body)
        assert resp.status_code == 200, (query, resp.status_code, resp.data[:300])
        values = response_values(resp)
        assert "显示上一个完整周" in str(values["review-notice"]["children"]), (query, values["review-notice"])
        assert values["review-kind"]["value"] == "week" and values["review-region"]["data-region"] == OWN
        assert_others_see_live_data(county, other)


def test_a_forged_alert_id_answers_400_and_no_outage(county):
    """The ack callback takes the id of an ack button: ASCII digits, at most 18 (as the API). A 20-digit
    id overflowed the driver's integer; any other id answers 400 before the database is asked."""
    app = county["app"]
    center = center_client(county)
    key = callback_key(app, "ack-result.children")
    reset_outage_marks()
    with county["engine"].connect() as conn:
        before = conn.execute(select(Alert.id, Alert.status, Alert.ack_by).order_by(Alert.id)).all()
    for alert_id in ("12345678901234567890", 10 ** 19, "9" * 19, "１２", "1_000", " 12", "12 ", "-1", "+1", "0x10",
                     "", 12.5, True, {"id": 1}, [1], None):
        resp = center.post("/_dash-update-component", json=_ack_body(key, alert_id, ""))
        if isinstance(alert_id, (dict, list)) or alert_id is None:  # Dash itself finds no button clicked
            assert resp.status_code in (204, 400) or response_values(resp) == {}, (alert_id, resp.status_code)
        else:
            assert resp.status_code == 400, (alert_id, resp.status_code, resp.data[:300])
        assert_others_see_live_data(county, center)
    with county["engine"].connect() as conn:
        assert conn.execute(select(Alert.id, Alert.status, Alert.ack_by).order_by(Alert.id)).all() == before
    # the longest id that can be one still reaches the database: "not found", an answer of its own
    resp = center.post("/_dash-update-component", json=_ack_body(key, "9" * 18, ""))
    assert resp.status_code == 200 and "预警不存在" in text_of(resp)
    assert_others_see_live_data(county, center)


# Values of the wrong type for the properties whose type every page knows: the callback guard
# answers 400 before any callback runs.
WRONG_TYPES = {
    "search": [{"region": OTHER}, [f"?region={OTHER}"], 5, True, "?region=" + "3" * 500],
    "n_intervals": ["1", [1], {"n": 1}, True, 1.5],
    "n_clicks": ["1", [1], {"n": 1}, True],
}


def test_inputs_of_the_wrong_type_answer_400(county):
    app, client = county["app"], county["client"]
    other = center_client(county)
    reset_outage_marks()
    tried = set()
    for key, cb in server_callbacks(app).items():
        for dep in cb["inputs"] + cb["state"]:
            for value in WRONG_TYPES.get(dep["property"], []):
                body = forged_body(key, cb, OWN, 0)
                for item in body["inputs"] + body["state"]:
                    for one in (item if isinstance(item, list) else [item]):
                        if one["property"] == dep["property"] and str(one["id"]) == str(
                                {k: (OWN if isinstance(v, list) else v) for k, v in dep["id"].items()}
                                if isinstance(dep["id"], dict) else dep["id"]):
                            one["value"] = value
                resp = client.post(update_path(app, key), json=body)
                refused = 403 if update_path(app, key).startswith("/ops/") else 400  # the page's role gate first
                assert resp.status_code == refused, (callback_name(key)[:60], dep, value, resp.status_code)
                tried.add(dep["property"])
    assert tried == set(WRONG_TYPES)
    assert_others_see_live_data(county, other)


# Stores the browser sends back: any JSON (a forged one included) answers 200/204 with the user's own
# data, or 400; never 500, never an outage.
STORE_FORGERIES = [[], [1, "x", None], "abc", 10 ** 30, -1, 1.5, True,
                   {"v": [1], "view": {"x": 1}, "keys": {"a": 1}, "full": "x", "stale": "yes", "region": [1],
                    "url": 5, "cases": [], "alerts": {}, "hideout": None}]


def test_forged_store_values_answer_200_or_400_never_500(county):
    app, client, markers = county["app"], county["client"], county["markers"]
    other = center_client(county)
    reset_outage_marks()
    for key, cb in server_callbacks(app).items():
        stores = [d for d in cb["inputs"] + cb["state"] if d["property"] in ("data", "value")]
        for value in STORE_FORGERIES:
            body = forged_body(key, cb, OWN, 0)
            for item in body["inputs"] + body["state"]:
                for one in (item if isinstance(item, list) else [item]):
                    if one["property"] in ("data", "value"):
                        one["value"] = value
            resp = client.post(update_path(app, key), json=body)
            what = (callback_name(key)[:60], [d["id"] for d in stores], value)
            assert resp.status_code in (200, 204, 400, 403), (what, resp.status_code, resp.data[:300])
            assert_no_foreign_data(resp, markers, str(what))
    assert_others_see_live_data(county, other)


def test_a_real_outage_still_marks_the_walls_stale(county, monkeypatch):
    """Only a failure to reach the database marks it down: the walls then answer stale, as before."""
    from sqlalchemy.exc import OperationalError

    from callbacks.live import outage
    from callbacks.live import signal as live_signal

    app = county["app"]
    other = center_client(county)
    reset_outage_marks()
    assert_others_see_live_data(county, other)

    def down(url):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    real = outage.get_engine
    monkeypatch.setattr(outage, "get_engine", down)
    monkeypatch.setattr(live_signal, "get_engine", down)
    for _ in range(50):  # the poller's thread may finish a poll it began before the cut
        live_signal.refresh_all()
        resp = tick(app, other, "")
        if response_values(resp)["live-version"]["data"]["stale"]:
            break
        time.sleep(0.1)
    assert resp.status_code == 200 and response_values(resp)["live-version"]["data"]["stale"] is True
    with app.server.test_request_context("/"), pytest.raises(outage.DataUnavailable):
        outage.read(lambda conn: 1)
    assert outage_marked()
    monkeypatch.setattr(outage, "get_engine", real)
    monkeypatch.setattr(live_signal, "get_engine", real)
    live_signal.refresh_all()
    reset_outage_marks()
    assert_others_see_live_data(county, other)


# --- routes ------------------------------------------------------------------------------------

def _api(ctx, path, **kw):
    """The same request with the session and with the street user's bearer token."""
    bearer = {"Authorization": f"Bearer {ctx['tokens']['street_cx']}"}
    return [ctx["client"].open(path, **kw), ctx["app"].server.test_client().open(path, headers=bearer, **kw)]


def _regions_refused(ctx, template):
    for region in FOREIGN:
        for resp in _api(ctx, template.format(quote(region))):
            assert resp.status_code == 403, (template, region, resp.status_code)
            assert set(resp.get_json()) == {"error"}
    for region in MALFORMED[:-1]:
        for resp in _api(ctx, template.format(quote(region, safe=""))):
            assert resp.status_code in (400, 404), (template, region, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], template)


def route_summary(ctx):
    _regions_refused(ctx, "/api/v1/summary?region={}")
    for resp in _api(ctx, f"/api/v1/summary?at={AT}"):
        body = resp.get_json()
        assert body["region"] == OWN and body["cases"]["open"] == own_figures(ctx["engine"])["open"]


def route_review(ctx):
    _regions_refused(ctx, "/api/v1/review?region={}")
    for resp in _api(ctx, f"/api/v1/review?at={AT}") + _api(ctx, f"/api/v1/review?period=quarter&date=2026-10-01&at={AT}"):
        body = resp.get_json()
        assert resp.status_code == 200 and body["region"] == OWN, resp.status_code
        assert all(child["code"].startswith(OWN) for child in body["children"])
        assert_no_foreign_data(resp, ctx["markers"], "review")


def route_review_section(path: str):
    """A review section's route (hot issues, trend): other regions 403, malformed codes 400, a bad or
    future period 400; the user's own street otherwise, naming no code outside it."""
    def run(ctx):
        _regions_refused(ctx, path + "?region={}")
        for resp in _api(ctx, f"{path}?at={AT}") + _api(ctx, f"{path}?period=quarter&date=2026-10-01&at={AT}"):
            assert resp.status_code == 200 and resp.get_json()["region"] == OWN, (path, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], path)
            check_codes_in_own_street(ctx, resp, "", 0)
        for query in ("period=week&date=2026-12-01", "period=fortnight", "period=week&date=0001-01-08",
                      "period=custom&date=2026-01-01"):
            for resp in _api(ctx, f"{path}?{query}&at={AT}"):
                assert resp.status_code == 400 and set(resp.get_json()) == {"error"}, (path, query, resp.status_code)
    return run


def route_review_forecast(ctx):
    """The coming week's forecast: other regions 403, malformed codes 400; the user's own street otherwise,
    naming no code outside it (its hotspot grids included)."""
    _regions_refused(ctx, "/api/v1/review/forecast?region={}")
    for resp in _api(ctx, f"/api/v1/review/forecast?at={AT}") + _api(ctx, "/api/v1/review/forecast"):
        assert resp.status_code == 200 and resp.get_json()["region"] == OWN, resp.status_code
        assert {r["region_code"] for r in resp.get_json()["forecast"]["rows"]} <= {OWN}
        assert_no_foreign_data(resp, ctx["markers"], "review/forecast")
        check_codes_in_own_street(ctx, resp, "", 0)
    for resp in _api(ctx, "/api/v1/review/forecast?at=0001-01-02"):
        assert resp.status_code == 400


def route_review_concealment(ctx):
    """The concealment watch is for duty officers and leaders: a street user is refused whatever it asks."""
    for query in ("", f"?region={OWN}&at={AT}", f"?region={OTHER}", f"?period=week&date=2026-11-16&at={AT}",
                  "?region=' OR '1'='1"):
        for resp in _api(ctx, f"/api/v1/review/concealment{query}"):
            assert resp.status_code == 403 and set(resp.get_json()) == {"error"}, (query, resp.status_code)
    center = ctx["app"].server.test_client()
    resp = center.get(f"/api/v1/review/concealment?at={AT}",
                      headers={"Authorization": f"Bearer {ctx['tokens']['center1']}"})
    assert resp.status_code == 200 and resp.get_json()["region"] == COUNTY


def route_review_pack(ctx):
    """The meeting pack: another street's (or the county's) answers 403 and no file, a malformed code or
    period 400; the user's own street's workbook has no concealment sheet (a street is not its reader)."""
    import io

    from openpyxl import load_workbook

    for fmt in ("pdf", "xlsx"):
        _regions_refused(ctx, f"/api/v1/review/pack?format={fmt}&at={AT}&region={{}}")
        for region in FOREIGN:
            for resp in _api(ctx, f"/api/v1/review/pack?format={fmt}&region={quote(region)}"):
                assert resp.status_code == 403 and resp.mimetype == "application/json", (region, resp.status_code)
                assert not resp.get_data().startswith((b"%PDF", b"PK")), region
    for query in ("period=fortnight", "period=week&date=2026-12-01", "format=docx"):
        for resp in _api(ctx, f"/api/v1/review/pack?{query}&at={AT}"):
            assert resp.status_code == 400 and set(resp.get_json()) == {"error"}, (query, resp.status_code)
    for resp in _api(ctx, f"/api/v1/review/pack?format=xlsx&at={AT}"):
        assert resp.status_code == 200 and resp.get_data().startswith(b"PK"), resp.status_code
        assert f"gridwall-{OWN}-week-" in resp.headers["Content-Disposition"]
        book = load_workbook(io.BytesIO(resp.get_data()))
        assert "疑似瞒报漏报" not in book.sheetnames and "下级区域排名" in book.sheetnames
        assert book["说明"]["B3"].value == OWN


def route_children(ctx):
    _regions_refused(ctx, "/api/v1/regions/{}/children")
    for resp in _api(ctx, f"/api/v1/regions/{OWN}/children"):
        assert all(row["code"].startswith(OWN) for row in resp.get_json())


def route_cases(ctx):
    _regions_refused(ctx, "/api/v1/cases?region={}")
    _regions_refused(ctx, "/api/v1/cases?format=csv&region={}")
    for resp in _api(ctx, f"/api/v1/cases?at={AT}&limit=1000") + _api(ctx, f"/api/v1/cases?format=csv&at={AT}"):
        assert resp.status_code == 200
        assert_no_foreign_data(resp, ctx["markers"], "cases")
        assert "本街标记事件" in resp.get_data(as_text=True)


def route_case_flow(ctx):
    """A case's flow log: another street's case (or an unlocated one) answers 404 like an unknown code,
    a malformed code 400; the user's own case answers 200."""
    for code in [f"SECRET-{street}" for street, *_ in STREETS if street != OWN] + ["SECRET-UNLOCATED", "NO-SUCH-CASE"]:
        for resp in _api(ctx, f"/api/v1/cases/{code}/flow?at={AT}") + _api(ctx, f"/api/v1/cases/{code}/flow"):
            assert resp.status_code == 404 and set(resp.get_json()) == {"error"}, (code, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "case flow")
    for code in MALFORMED[:-1] + [".x", "SECRET-%", "A" * 65]:
        for resp in _api(ctx, f"/api/v1/cases/{quote(code, safe='')}/flow"):
            assert resp.status_code == 400, (code, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], "case flow")
    for resp in _api(ctx, f"/api/v1/cases/SECRET-{OWN}/flow?at={AT}"):
        assert resp.status_code == 200 and resp.get_json()["title"] == "本街标记事件"


def route_alerts(ctx):
    _regions_refused(ctx, "/api/v1/alerts?region={}")
    for resp in _api(ctx, "/api/v1/alerts?limit=1000"):
        assert resp.status_code == 200 and all(a["region_code"].startswith(OWN) for a in resp.get_json())
        assert_no_foreign_data(resp, ctx["markers"], "alerts")


def route_ack(ctx):
    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())
    for key in (f"secret-{OWN}", f"secret-{OTHER}", "t-spike"):
        for resp in _api(ctx, f"/api/v1/alerts/{ids[key]}/ack", method="POST"):
            assert resp.status_code == 403, key  # a street user is read-only
    with ctx["engine"].connect() as conn:
        assert set(conn.execute(select(Alert.ack_by).where(Alert.dedup_key.like("secret-%"))).scalars()) == {None}


def route_alert_one(ctx):
    """One alert (API and the phone page of ?alert=ID): another street's reads as missing (404), the
    street's own opens; malformed ids answer 400."""
    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id).where(Alert.dedup_key.like("secret-%"))).all())
    for dedup, alert_id in ids.items():
        own = dedup == f"secret-{OWN}"
        # the API with the session and the bearer token; the phone page with the session (a page)
        answers = [*_api(ctx, f"/api/v1/alerts/{alert_id}"),
                   ctx["client"].get(f"/?alert={alert_id}&view=phone&region={OTHER}")]
        for resp in answers:
            assert resp.status_code == (200 if own else 404), (alert_id, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], f"alert {alert_id}")
    for bad in ("-1", "1%27", "9" * 19, "%EF%BC%91"):
        for resp in [*_api(ctx, f"/api/v1/alerts/{bad}"), ctx["client"].get(f"/?alert={bad}&view=phone")]:
            assert resp.status_code in (400, 404), (bad, resp.status_code)


def route_phone_ack(ctx):
    """确认 on the phone page: a street user is read-only (403), for its own alert and another's."""
    with ctx["engine"].connect() as conn:
        ids = dict(conn.execute(select(Alert.dedup_key, Alert.id)).all())
    for key in (f"secret-{OWN}", f"secret-{OTHER}"):
        resp = ctx["client"].post(f"/alert/{ids[key]}/ack", headers={"Origin": "http://localhost"})
        assert resp.status_code == 403, (key, resp.status_code)
    with ctx["engine"].connect() as conn:
        assert set(conn.execute(select(Alert.ack_by).where(Alert.dedup_key.like("secret-%"))).scalars()) == {None}


def _commitments(ctx) -> dict[str, int]:
    """One commitment in the user's street and one in another (recorded once, by the county)."""
    from data_access.commitments import create_commitment, list_commitments

    county = Scope(COUNTY, COUNTY)
    with ctx["engine"].begin() as conn:
        have = {r["region_code"]: r["id"] for r in list_commitments(conn, county)}
        for region in (OWN, OTHER):
            if region not in have:
                have[region] = create_commitment(conn, county, {
                    "text": f"督办 {region}", "region_code": region, "meeting_date": "2026-11-23",
                    "due_date": "2026-11-27"}, "center1", T0)
    return have


def route_commitments(ctx):
    """A street reads its own commitments only, and records none, whatever region it names."""
    ids = _commitments(ctx)
    _regions_refused(ctx, "/api/v1/commitments?region={}")
    for resp in _api(ctx, "/api/v1/commitments"):
        assert resp.status_code == 200 and [c["id"] for c in resp.get_json()] == [ids[OWN]], resp.get_json()
    for region in FOREIGN + [OWN] + MALFORMED:
        body = {"text": "伪造", "region": region, "meeting_date": "2026-11-23", "due_date": "2026-11-27"}
        for resp in _api(ctx, "/api/v1/commitments", method="POST", json=body):
            assert resp.status_code == 403, (region, resp.status_code)
    assert len(_commitments(ctx)) == 2


def route_commitment_update(ctx):
    """A street changes no commitment, its own included; another's id reads nothing."""
    from data_access.commitments import list_commitments

    ids = _commitments(ctx)
    for cid in (ids[OWN], ids[OTHER], 999999):
        for resp in _api(ctx, f"/api/v1/commitments/{cid}", method="PATCH", json={"status": "dropped"}):
            assert resp.status_code == 403, (cid, resp.status_code)
    with ctx["engine"].connect() as conn:
        assert {r["status"] for r in list_commitments(conn, Scope(COUNTY, COUNTY))} == {"open"}


def _packs(ctx) -> dict[str, int]:
    """An archived pack (周报归档) of the user's street, of another street, and the county's (the
    leaders' pack, with the concealment watch); stored once."""
    from data_access.packs import claim_pack, finish_pack, list_packs

    county, week = Scope(COUNTY, COUNTY), date(2026, 11, 9)
    with ctx["engine"].begin() as conn:
        have = {r["region_code"]: r["id"] for r in list_packs(conn, county, audiences=("leader", "street"))}
        for region in (OWN, OTHER, COUNTY):
            if region not in have:
                have[region] = claim_pack(conn, region_code=region, period_kind="week", period_start=week,
                                          period_end=week + timedelta(days=6), fmt="pdf",
                                          audience="leader" if region == COUNTY else "street", worker="t:1",
                                          now=T0, stale_after=timedelta(minutes=15))
                finish_pack(conn, have[region], "t:1", f"secret pack {region}".encode(), f"{region}.pdf", T0)
    return have


def route_packs(ctx):
    """The archive's list: a street sees its own street's pack only, whatever region it names."""
    ids = _packs(ctx)
    _regions_refused(ctx, "/api/v1/packs?region={}")
    for resp in _api(ctx, f"/api/v1/packs?at={AT}") + _api(ctx, f"/api/v1/packs?region={OWN}&at={AT}&weeks=520"):
        assert resp.status_code == 200 and [p["id"] for p in resp.get_json()] == [ids[OWN]], resp.get_json()


def route_pack_download(ctx):
    """A pack's file: another street's and the county's answer 404 like an unknown id; the own 200."""
    ids = _packs(ctx)
    for pack_id in (ids[OTHER], ids[COUNTY], 99999999):
        for resp in _api(ctx, f"/api/v1/packs/{pack_id}"):
            assert resp.status_code == 404 and set(resp.get_json()) == {"error"}, (pack_id, resp.status_code)
            assert b"secret pack" not in resp.data
    for bad in MALFORMED[:-1]:
        for resp in _api(ctx, f"/api/v1/packs/{quote(bad, safe='')}"):
            assert resp.status_code in (400, 404), (bad, resp.status_code)
    for resp in _api(ctx, f"/api/v1/packs/{ids[OWN]}"):
        assert resp.status_code == 200 and resp.data == f"secret pack {OWN}".encode()


def route_audit_api(ctx):
    for resp in _api(ctx, "/api/v1/audit"):
        assert resp.status_code == 403


def route_audit_page(ctx):
    assert ctx["client"].get("/audit").status_code == 403


def route_no_data(path: str, *, status=(200,)):
    def run(ctx):
        for region in FOREIGN:
            resp = ctx["client"].get(path.replace("{region}", quote(region)), headers={"Accept": "text/html"})
            assert resp.status_code in status, (path, resp.status_code)
            assert_no_foreign_data(resp, ctx["markers"], path)

    return run


def route_kiosk(ctx):
    tokens = ctx["tokens"]
    for token in (tokens["street_cx"], tokens["center1"], "forged-token"):
        assert ctx["app"].server.test_client().get(f"/kiosk/{token}").status_code == 403
    wall = ctx["app"].server.test_client()
    for region in FOREIGN:
        resp = wall.get(f"/kiosk/{tokens['wall_cx']}?region={region}&kiosk=1")
        assert resp.status_code == 302 and resp.location.startswith(f"/?region={OWN}&")


def route_login(ctx):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "/\t/evil.example",
                   "javascript:alert(1)"):
        resp = ctx["app"].server.test_client().post(
            "/login", data={"username": "street_cx", "password": PASSWORD, "next": target})
        assert resp.status_code == 302 and resp.location == "/", target


def route_logout(ctx):
    client = ctx["app"].server.test_client()
    client.post("/login", data={"username": "street_cx", "password": PASSWORD})
    assert client.post("/logout").status_code == 302
    assert client.get("/api/v1/summary").status_code == 401


def route_oidc(ctx):
    client = ctx["app"].server.test_client()
    assert client.get("/login/oidc").status_code == 302
    assert client.get("/login/oidc/callback?code=x&state=y").location == "/login"  # not configured here
    assert client.get("/api/v1/summary").status_code == 401


def route_static_files(ctx):
    """No path out of the asset folders (the signing key lives under var/)."""
    client = ctx["client"]
    for path in ("/assets/../var/secret_key", "/assets/..%2f..%2fvar%2fsecret_key", "/static/../dashboard/config.py",
                 "/assets/%2e%2e/dashboard/config.py",
                 "/_dash-component-suites/dash/../../dashboard/config.py",
                 "/_dash-component-suites/..%2f..%2fdashboard/config.py"):
        resp = client.get(path)
        assert resp.status_code in (308, 400, 404) or "BaseSettings" not in resp.get_data(as_text=True), path
    assert client.get("/_favicon.ico").status_code == 200


def route_wall_shapes(ctx):
    """The map's shapes file: the user's own region and below only."""
    client = ctx["client"]
    for region in FOREIGN + MALFORMED[:-1]:
        resp = client.get(f"/_wall/shapes/{quote(region, safe='')}.json")
        assert resp.status_code in (400, 403, 404), (region, resp.status_code)
        assert_no_foreign_data(resp, ctx["markers"], "/_wall/shapes")
    resp = client.get(f"/_wall/shapes/{OWN}.json")
    assert resp.status_code == 200 and "private" in resp.headers["Cache-Control"]
    assert all(f["id"].startswith(OWN) for f in resp.get_json()["features"])


def route_push(ctx):
    """The push channel: the street user's own street, whatever region the page asks for; a query no
    page sends answers 400, a moment out of range is that wall's own (live) view."""
    resp = ctx["client"].get("/live/events", query_string={"search": "?region=" + "3" * 500})
    assert resp.status_code == 400
    for region in FOREIGN + [f"{OWN}&at=0001-01-02"]:
        resp = ctx["client"].get("/live/events", query_string={"search": f"?region={region}&at={AT}"},
                                 buffered=False)
        assert resp.status_code == 200
        text = ""
        for chunk in resp.response:
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
            if "event: frame" in text and text.endswith("\n\n"):
                break
        resp.close()
        assert f'"view":"{OWN}|' in text, text[:300]
        leaked = [m for m in ctx["markers"] if m in text]
        assert not leaked, f"/live/events: another street's data in the stream: {leaked}"
    assert ctx["app"].server.test_client().get("/live/events").status_code == 401


def route_heartbeat(ctx):
    """A wall's heartbeat: recorded at the user's own street whatever region it names; a body no wall
    sends answers 400 and writes nothing; no session, 401; the answer names no other street."""
    from data_access.models import GwWall

    client = ctx["client"]
    for i, region in enumerate(FOREIGN + MALFORMED):
        resp = client.post("/live/heartbeat", json={"wall": f"forged-wall-{i:04d}", "search": f"?region={region}"})
        assert resp.status_code == 200 and resp.get_json()["region"] == OWN, (region, resp.status_code)
        assert_no_foreign_data(resp, ctx["markers"], "/live/heartbeat")
    for body in ({"wall": "x"}, {"wall": "forged-wall-9999", "region": OTHER}, ["forged-wall-9999"],
                 {"wall": "forged-wall-9999", "search": "?region=" + "3" * 500}):
        assert client.post("/live/heartbeat", json=body).status_code == 400, body
    assert ctx["app"].server.test_client().post("/live/heartbeat", json={"wall": "forged-wall-9999"}).status_code == 401
    with ctx["engine"].connect() as conn:
        regions = {r for (r,) in conn.execute(select(GwWall.region_code))}
    assert regions == {OWN}


def route_metrics(ctx):
    """/metrics: no login needed, but from another host not even a session gets it (no token set
    here); from loopback its labels are url rules, never another street's codes or names."""
    for region in FOREIGN:
        resp = ctx["client"].get(f"/metrics?region={quote(region)}", environ_base={"REMOTE_ADDR": "10.0.0.5"})
        assert resp.status_code == 403
        assert_no_foreign_data(resp, ctx["markers"], "/metrics")
    resp = ctx["client"].get(f"/metrics?region={OTHER}")
    assert resp.status_code == 200
    assert_no_foreign_data(resp, ctx["markers"], "/metrics")


def route_dash_update(ctx):
    pass  # every callback: test_forged_callback_requests_never_leak


def route_page_files(prefix: str, status: int):
    """A page's own static routes: no path out of the asset folders; the street user may open /review only."""
    def run(ctx):
        client = ctx["client"]
        for path in ("assets/../var/secret_key", "assets/..%2f..%2fvar%2fsecret_key",
                     "_dash-component-suites/dash/../../dashboard/config.py",
                     "_dash-component-suites/..%2f..%2fdashboard/config.py"):
            resp = client.get(prefix + path)
            assert resp.status_code in (308, 400, 403, 404) or "BaseSettings" not in resp.get_data(as_text=True), path
        assert client.get(prefix + "_favicon.ico").status_code == status
        assert client.get(prefix + "assets/wall.css").status_code == status

    return run


def page_routes(prefix: str, status: int) -> dict[str, Callable[[dict], None]]:
    """Every route of a page's Dash app (the street user: 200 on /review, 403 on /ops)."""
    return {
        prefix.rstrip("/"): route_no_data(prefix.rstrip("/") + "?region={region}&at=" + AT, status=(status,)),
        prefix: route_no_data(prefix + "?region={region}&period=month&date=2026-11-01", status=(status,)),
        prefix + "<path:path>": route_no_data(prefix + "anything/{region}", status=(status,)),
        prefix + "_dash-layout": route_no_data(prefix + "_dash-layout?region={region}", status=(status,)),
        prefix + "_dash-dependencies": route_no_data(prefix + "_dash-dependencies", status=(status,)),
        prefix + "_reload-hash": route_no_data(prefix + "_reload-hash?region={region}", status=(status,)),
        prefix + "_dash-update-component": route_dash_update,
        prefix + "_favicon.ico": route_page_files(prefix, status),
        prefix + "assets/<path:filename>": route_page_files(prefix, status),
        prefix + "_dash-component-suites/<string:package_name>/<path:fingerprinted_path>":
            route_page_files(prefix, status),
    }


ROUTES: dict[str, Callable[[dict], None]] = {
    "/static/<path:filename>": route_static_files,
    "/assets/<path:filename>": route_static_files,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": route_static_files,
    "/_favicon.ico": route_static_files,
    "/_reload-hash": route_no_data("/_reload-hash?region={region}"),
    "/_dash-layout": route_no_data("/_dash-layout?region={region}"),
    "/_dash-dependencies": route_no_data("/_dash-dependencies"),
    "/_dash-update-component": route_dash_update,
    "/_wall/shapes/<code>.json": route_wall_shapes,
    "/live/events": route_push,
    "/live/heartbeat": route_heartbeat,
    "/": route_no_data("/?region={region}&at=" + AT),
    "/<path:path>": route_no_data("/anything/{region}"),
    "/login": route_login,
    "/logout": route_logout,
    "/kiosk/<token>": route_kiosk,
    "/audit": route_audit_page,
    "/login/oidc": route_oidc,
    "/login/oidc/callback": route_oidc,
    "/healthz": route_no_data("/healthz?region={region}"),
    "/metrics": route_metrics,
    "/api/v1/openapi.json": route_no_data("/api/v1/openapi.json?region={region}"),
    "/api/v1/summary": route_summary,
    "/api/v1/review": route_review,
    "/api/v1/review/hot-issues": route_review_section("/api/v1/review/hot-issues"),
    "/api/v1/review/trend": route_review_section("/api/v1/review/trend"),
    "/api/v1/review/forecast": route_review_forecast,
    "/api/v1/review/concealment": route_review_concealment,
    "/api/v1/review/alert-quality": route_review_alert_quality,
    "/api/v1/review/pack": route_review_pack,
    "/api/v1/regions/<code>/children": route_children,
    "/api/v1/cases": route_cases,
    "/api/v1/cases/<code>/flow": route_case_flow,
    "/api/v1/alerts": route_alerts,
    "/api/v1/alerts/<alert_id>": route_alert_one,
    "/api/v1/alerts/<alert_id>/ack": route_ack,
    "/alert/<alert_id>/ack": route_phone_ack,
    "/api/v1/audit": route_audit_api,
    "/api/v1/commitments": route_commitments,
    "/api/v1/commitments/<commitment_id>": route_commitment_update,
    "/api/v1/packs": route_packs,
    "/api/v1/packs/<pack_id>": route_pack_download,
    "/api/v1/": route_no_data("/api/v1/?region={region}", status=(404,)),
    "/api/v1/<path:rest>": route_no_data("/api/v1/regions/{region}", status=(404,)),
    **page_routes("/review/", 200),
    **page_routes("/ops/", 403),
}


def test_every_route_is_covered(county):
    rules = {rule.rule for rule in county["app"].server.url_map.iter_rules()}
    missing = sorted(rules - set(ROUTES))
    assert not missing, f"routes without a forged-request entry in tests/test_forged_requests.py ROUTES: {missing}"


def test_forged_route_requests_never_leak(county):
    rules = {rule.rule for rule in county["app"].server.url_map.iter_rules()}
    for rule in sorted(rules & set(ROUTES)):
        ROUTES[rule](county)
    with county["engine"].connect() as conn:
        assert conn.execute(select(GwAudit.id).where(GwAudit.action == "alert_ack")).first() is None


def test_every_data_access_read_takes_a_required_scope():
    """No data_access function has a default scope (a default would mean "everything")."""
    import importlib
    import inspect as pyinspect
    import pkgutil

    import data_access

    offenders, checked = [], 0
    for info in pkgutil.iter_modules(data_access.__path__):
        module = importlib.import_module(f"data_access.{info.name}")
        for name, fn in pyinspect.getmembers(module, pyinspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            param = pyinspect.signature(fn).parameters.get("scope")
            if param is not None:
                checked += 1
                if param.default is not pyinspect.Parameter.empty:
                    offenders.append(f"{module.__name__}.{name}")
    assert checked >= 10 and offenders == []
