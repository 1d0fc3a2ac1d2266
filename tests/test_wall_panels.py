"""The wall's panels without a browser: their queries on both backends, and their callbacks.

SLA board, trend, staffing detail and map layers are checked against the contract's figures (or
against each other where the figures say the same thing); the callbacks against what they render.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dash import no_update
from sqlalchemy import insert, select, update

from callbacks import map_view, nav, panels
from callbacks.live import outage
from callbacks.live import signal as live_signal
from callbacks.live.cache import cache
from dashboard.app import create_app
from dashboard.core.config import Settings
from dashboard.identity import auth
from data_access.figures import case_figures, staffing_figures
from data_access.map_layers import alert_points, anchor_points, case_points, own_outline
from data_access.models import Alert, Case, GwAudit, Org, Region, StaffPing
from data_access.moment import Moment
from data_access.scope import Scope
from data_access.sla import age_group, sla_board, stage_state
from data_access.staffing_detail import (
    grid_profile,
    offline_on_duty,
    staffing_by_child,
    vacant_grids,
)
from data_access.trend import band, hourly_trend
from layouts import tile_catalogue
from layouts.alerts import alert_entry, critical_banner, evidence
from layouts.sla import place, sla_span

from . import handbuilt
from .wall_fixtures import COUNTY, grid_codes, seed_small_county

UTC = timezone.utc
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
ROOT = Scope(COUNTY, COUNTY)


def moment(at=NOW) -> Moment:
    return Moment(at, SH)


@pytest.fixture
def county(engine):
    seed_small_county(engine, now=NOW)
    with engine.begin() as conn:
        conn.execute(insert(Org), [
            {"id": 1, "name": "太仓市城市管理局", "kind": "department", "region_code": COUNTY},
            {"id": 2, "name": "城厢镇人民政府", "kind": "street", "region_code": "320585100"},
        ])
        ids = [i for i, in conn.execute(select(Case.id).order_by(Case.id))]
        conn.execute(update(Case).where(Case.id.in_(ids[::2])).values(handler_org_id=1, urges=2, returns=1))
        conn.execute(update(Case).where(Case.id.in_(ids[1::3])).values(handler_org_id=2))
    return engine


# --- SLA board -----------------------------------------------------------------------------------

def test_sla_board_totals_are_the_contract_figures(county):
    for region in (COUNTY, "320585100", "320585101001"):
        scope = ROOT.narrow(region)
        for at in (NOW, NOW - timedelta(hours=5)):
            with county.connect() as conn:
                board = sla_board(conn, scope, moment(at), cases=1000)
                figures = case_figures(conn, scope, moment(at))
            totals = board["totals"]
            assert totals["accept"]["overdue"] == figures["accept_overdue"]
            assert totals["dispatch"]["overdue"] == figures["dispatch_overdue"]
            assert (totals["resolve"]["overdue"], totals["resolve"]["warning"]) == (figures["overdue"], figures["warning"])
            assert totals["open"] == figures["open"]
            # Every org row adds up to the totals, and every listed case is late in the stage it shows.
            for stage in ("accept", "dispatch", "resolve"):
                for state in ("overdue", "warning"):
                    assert sum(o[f"{stage}_{state}"] for o in board["orgs"]) == totals[stage][state]
            for case in board["cases"]:
                assert (case["stage"], case["sla_state"], case["due_at"]) in [
                    (s, st, d) for s, st, d in stage_state(_raw(county, case["id"]), at)]
            assert totals["late"] == _late_counts(county, region, at)


def _late_counts(engine, region, at):
    """Late cases counted once each from their rows: overdue in any stage (by the age of the earliest
    overdue stage), else warning in any."""
    late = {"overdue": 0, "warning": 0, "day": 0, "days": 0, "long": 0}
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(Case.__table__)).mappings()]
    for row in rows:
        inside = (row["grid_code"] or "").startswith(region) or (region == COUNTY and not row["grid_code"])
        if not inside or row["reported_at"] > at or (row["closed_at"] is not None and row["closed_at"] <= at):
            continue
        states = stage_state(row, at)
        overdue = [due for _, state, due in states if state == "overdue"]
        if overdue:
            late["overdue"] += 1
            late[age_group(overdue[0], at)] += 1
        elif states:
            late["warning"] += 1
    return late


def _raw(engine, case_id):
    with engine.connect() as conn:
        return dict(conn.execute(select(Case.__table__).where(Case.id == case_id)).mappings().one())


def test_sla_board_groups_by_org_most_overdue_first(county):
    with county.connect() as conn:
        board = sla_board(conn, ROOT, moment())
    names = [o["name"] for o in board["orgs"]]
    assert "太仓市城市管理局" in names and "城厢镇人民政府" in names
    late = [sum(o[f"{s}_overdue"] for s in ("accept", "dispatch", "resolve")) for o in board["orgs"]]
    assert late == sorted(late, reverse=True)
    bureau = next(o for o in board["orgs"] if o["org_id"] == 1)
    assert bureau["urges"] == 2 * bureau["open"] and bureau["returns"] == bureau["open"]
    # The savable ones first, soonest due first; then the overdue ones, the longest overrun first.
    states = [c["sla_state"] for c in board["cases"]]
    assert states == sorted(states, key=lambda s: s != "warning") and "overdue" in states
    for state in ("warning", "overdue"):
        dues = [c["due_at"] for c in board["cases"] if c["sla_state"] == state]
        assert dues == sorted(dues)
    assert all(c["org_name"] in (None, "太仓市城市管理局", "城厢镇人民政府") for c in board["cases"])


def test_a_backlog_of_overdue_cases_beyond_the_row_cap_still_lists_the_warnings(county, monkeypatch):
    """The rows read for the list are capped per state: a backlog of overdue cases (a real city's
    3,801) filling the cap left 即将超期 empty beside its count."""
    with county.begin() as conn:
        grid = conn.execute(select(Case.grid_code).where(Case.grid_code.is_not(None)).limit(1)).scalar()
        conn.execute(insert(Case), [
            {"code": f"GW-SAVABLE-{i}", "title": "积水点排涝", "category_code": None, "source": "patrol",
             "urgency": "normal", "status": "processing", "grid_code": grid, "lon": None, "lat": None,
             "reported_at": NOW - timedelta(hours=10), "accepted_at": NOW - timedelta(hours=9, minutes=50),
             "dispatched_at": NOW - timedelta(hours=9), "accept_due_at": NOW - timedelta(hours=9),
             "dispatch_due_at": NOW - timedelta(hours=8), "resolve_due_at": NOW + timedelta(minutes=30 + i)}
            for i in range(3)])
    with county.connect() as conn:
        full = sla_board(conn, ROOT, moment(), cases=1000)
    overdue = sum(c["sla_state"] == "overdue" for c in full["cases"])
    warning = sum(c["sla_state"] == "warning" for c in full["cases"])
    assert overdue > 2 and warning > 0, (overdue, warning)
    monkeypatch.setattr("data_access.sla.CASE_ROW_CAP", 2)
    with county.connect() as conn:
        capped = sla_board(conn, ROOT, moment(), cases=1000)
    states = [c["sla_state"] for c in capped["cases"]]
    assert states.count("warning") == min(2, warning) and states.count("overdue") == 2, states
    assert capped["totals"] == full["totals"]


def test_stage_state_picks_each_late_stage():
    t = NOW
    case = {"reported_at": t - timedelta(hours=10), "accepted_at": None, "accept_due_at": t - timedelta(hours=9),
            "dispatched_at": None, "dispatch_due_at": t + timedelta(hours=1),
            "resolve_due_at": t + timedelta(hours=2)}
    # accept overdue; dispatch: 10 of 11 hours used (warning); resolve: 10 of 12 hours (warning).
    assert stage_state(case, t) == [("accept", "overdue", t - timedelta(hours=9)),
                                    ("dispatch", "warning", t + timedelta(hours=1)),
                                    ("resolve", "warning", t + timedelta(hours=2))]
    case.update(accepted_at=t - timedelta(hours=1), dispatched_at=t, resolve_due_at=None)
    assert stage_state(case, t) == []  # done stages and a NULL deadline are never late


# --- trend ---------------------------------------------------------------------------------------

def test_trend_today_is_new_today_and_closed_today_by_hour(county):
    with county.connect() as conn:
        trend = hourly_trend(conn, ROOT, moment())
        figures = case_figures(conn, ROOT, moment())
    assert sum(trend["today"]["new"]) == figures["new_today"]
    assert sum(trend["today"]["closed"]) == figures["closed_today"]
    assert trend["hour"] == 10 and not any(trend["today"]["new"][11:])
    # The seeded cases span two days: no baseline weeks.
    assert trend["baseline"]["days"] == 0


def test_trend_band_leaves_out_empty_days():
    days = [{"new": [2] * 24, "closed": [1] * 24}, {"new": [4] * 24, "closed": [3] * 24},
            {"new": [0] * 24, "closed": [0] * 24}]
    out = band(days)
    assert out["days"] == 2
    assert out["new"]["mean"][5] == 3.0 and out["new"]["min"][5] == 2 and out["new"]["max"][5] == 4
    assert out["closed"]["mean"][0] == 2.0


# --- staffing ------------------------------------------------------------------------------------

def test_staffing_by_child_adds_up_to_the_figures(engine):
    handbuilt.build(engine)
    m = handbuilt.moment()
    with engine.connect() as conn:
        whole = staffing_figures(conn, handbuilt.scope(), m)
        by_child = staffing_by_child(conn, handbuilt.scope(), m)
        s1 = staffing_figures(conn, handbuilt.scope(handbuilt.S1), m)
    assert set(by_child) == {handbuilt.S1, handbuilt.S2}
    for key in ("grids", "grids_staffed", "workers", "on_duty", "online"):
        assert sum(row[key] for row in by_child.values()) == whole[key], key
        assert by_child[handbuilt.S1][key] == s1[key], key


def test_offline_vacant_and_grid_profile(county):
    with county.connect() as conn:
        offline = offline_on_duty(conn, ROOT, moment())
        vacant = vacant_grids(conn, ROOT)
        figures = staffing_figures(conn, ROOT, moment())
    # 8 workers on duty (every other one), 4 of them pinged 2 minutes ago: 4 silent, none pinged today.
    silent = [w for row in offline for w in row["workers"]]
    assert len(silent) == figures["on_duty"] - figures["online"] == 4
    assert all(w["last_ping"] is None for w in silent) and all(row["since"] is None for row in offline)
    assert all(row["grid_name"] and row["community_name"] for row in offline)
    assert vacant == []

    # A ping 40 minutes ago is still offline (> 30 min); 20 minutes ago is not.
    quiet = offline[0]["workers"][0]["id"]
    with county.begin() as conn:
        conn.execute(insert(StaffPing).values(staff_id=quiet, ts=NOW - timedelta(minutes=40), lon=121.1, lat=31.5))
    with county.connect() as conn:
        again = {w["id"]: w for row in offline_on_duty(conn, ROOT, moment()) for w in row["workers"]}
    assert again[quiet]["last_ping"] == NOW - timedelta(minutes=40)
    with county.begin() as conn:
        conn.execute(insert(StaffPing).values(staff_id=quiet, ts=NOW - timedelta(minutes=20), lon=121.1, lat=31.5))
    with county.connect() as conn:
        again = {w["id"] for row in offline_on_duty(conn, ROOT, moment()) for w in row["workers"]}
        grid = grid_codes()[0]
        profile = grid_profile(conn, ROOT.narrow(grid), moment())
        grid_figures = case_figures(conn, ROOT.narrow(grid), moment())
        assert grid_profile(conn, ROOT.narrow("320585100"), moment()) is None
    assert quiet not in again
    assert profile["name"] == "第1网格" and profile["population"] == 900 and profile["street_name"] == "城厢镇"
    assert [w["on_duty"] for w in profile["workers"]] == [True]
    assert profile["cases"] == grid_figures


# --- map layers ----------------------------------------------------------------------------------

def test_case_points_are_the_open_cases_with_a_place(county):
    with county.begin() as conn:
        conn.execute(update(Case).values(lon=121.1, lat=31.5))
        first = conn.execute(select(Case.id).order_by(Case.id)).scalar()
        conn.execute(update(Case).where(Case.id == first).values(lon=999.0))  # nonsense: left off
    with county.connect() as conn:
        points = case_points(conn, ROOT, moment())
        figures = case_figures(conn, ROOT, moment())
        first_open = conn.execute(select(Case.closed_at, Case.reported_at).where(Case.id == first)).one()
    open_first = first_open.reported_at <= NOW and (first_open.closed_at is None or first_open.closed_at > NOW)
    assert len(points["features"]) == figures["open"] - int(open_first)
    states = [f["properties"]["s"] for f in points["features"]]
    assert states.count("o") == figures["overdue"] and states.count("w") == figures["warning"]


def test_alert_points_and_outline(county):
    with county.connect() as conn:
        anchors = anchor_points(conn, ROOT, ["320585100", "320585101001", "320585102", "320599", ""])
        outline = own_outline(conn, ROOT.narrow(grid_codes()[0]), "第1网格")
        broken = own_outline(conn, ROOT.narrow("320585102001001"), "x")  # its grids have no boundary
    # A street with a boundary and a community drawn from its grids; not the street without any shape.
    assert set(anchors) == {"320585100", "320585101001"}
    lon, lat = anchors["320585100"]
    assert 121.05 < lon < 121.17 and 31.45 < lat < 31.55
    rows = [{"region_code": "320585100", "severity": "warning", "status": "acknowledged"},
            {"region_code": "320585100", "severity": "critical", "status": "new"},
            {"region_code": "320585102", "severity": "info", "status": "new"}]
    fc = alert_points(rows, anchors)
    assert [f["properties"] for f in fc["features"]] == [{"sev": "critical", "n": 2, "new": True}]
    assert outline["features"][0]["id"] == grid_codes()[0] and outline["bbox"]
    assert broken["features"] == [] and broken["skipped"]


# --- callbacks -------------------------------------------------------------------------------------

@pytest.fixture
def wall_app(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'panels.db'}"
    from data_access.db import init_db, make_engine

    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(
            created_at=datetime.now(UTC) - timedelta(minutes=1), kind="spike", severity="critical",
            region_code="320585100001", title="居民张三丰反映电话13812345678 骤增",
            detail=json.dumps({"observed": 9, "expected": 2.5, "score": 4.1, "case_ids": [1, 2]}),
            status="new", source="gridwall", dedup_key="t-critical"))
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    app = create_app(Settings(database_url=url, secret_key="panels-test"), auth=False)
    with app.server.test_request_context("/"):
        yield app, engine
    engine.dispose()


def props(component) -> dict:
    return component.to_plotly_json()["props"]


def test_sla_timers_show_seconds_only_under_an_hour_and_days_alone_from_three_days_overdue():
    assert sla_span(59 * 60 + 7, overdue=False) == "剩 59分07秒"
    assert sla_span(3600 + 23 * 60 + 40, overdue=False) == "剩 1时23分"
    assert sla_span(2 * 86400 + 5 * 3600, overdue=False) == "剩 2天5时"
    assert sla_span(5 * 60 + 3, overdue=True) == "超5分03秒"
    assert sla_span(26 * 3600, overdue=True) == "超1天2时"
    assert sla_span(19 * 86400 + 22 * 3600, overdue=True) == "超19天"
    assert sla_span(123 * 86400, overdue=True) == "超123天"
    assert sla_span(-5, overdue=False) == "剩 0分00秒"


def test_sla_rows_name_the_place_grid_first_and_grids_one_way():
    case = {"grid_code": "320585100001004", "grid_name": "第四网格", "community_name": "某社区", "street_name": "某街道"}
    assert place(case) == "第四网格 · 某社区 · 某街道"
    assert place({**case, "grid_name": None}) == "第四网格 · 某社区 · 某街道"  # never "网格004"
    assert place({**case, "grid_name": None, "grid_code": "320585100001012"}).startswith("第十二网格 · ")
    assert place({"grid_code": None}) == "未定位"


def walk(component):
    """Every component in a rendered tree."""
    if isinstance(component, (list, tuple)):
        for c in component:
            yield from walk(c)
        return
    if not hasattr(component, "to_plotly_json"):
        return
    yield component
    yield from walk(getattr(component, "children", None))


def test_panels_render_once_per_version(wall_app):
    app, engine = wall_app
    board, total, digests = panels.update_sla(None, "", None)
    timers = [props(c) for c in walk(board) if "data-due" in props(c)]
    assert timers and all(int(t["data-due"]) > 10 ** 12 for t in timers)
    assert {t["data-dir"] for t in timers} <= {"up", "down"}
    # The board's total is every late case once: the two lists' totals.
    lists = [props(c) for c in walk(board) if "sla-list" in (props(c).get("className") or "")]
    assert int(total) == sum(int(p["data-total"]) for p in lists) > 0
    # The browser has it now: the same version sends nothing.
    assert panels.update_sla(None, "", digests) == (no_update, no_update, digests)

    title, table, _ = panels.update_region(None, "", None)
    assert title == "镇街排行"
    rows = [props(c) for c in walk(table) if "data-region" in props(c)]
    assert [r["data-region"] for r in rows][:1] and all(r["data-region"].startswith("320585") for r in rows)
    title, profile, _ = panels.update_region(None, f"?region={grid_codes()[0]}", None)
    assert title == "网格档案"
    assert any(getattr(c, "children", None) == "第1网格" for c in walk(profile))

    children, _ = panels.update_staffing(None, "", None)
    assert any("offline-row" in (props(c).get("className") or "") for c in walk(children))


def test_the_four_slower_panels_answer_in_one_request_and_send_only_what_changed(wall_app):
    first = panels.update_panels(None, "", None, None, None, None)
    assert len(first) == len(panels.PANEL_OUTPUTS)
    out = {f"{o.component_id}.{o.component_property}": v for o, v in zip(panels.PANEL_OUTPUTS, first)}
    sla_state, staff_state, region_state, alerts_state = (out[f"{s}.data"] for s in panels.PANEL_STATES)
    assert out["region-title.children"] == "镇街排行" and out["alerts.data-view"] == f"{COUNTY}|live"
    again = panels.update_panels(None, "", sla_state, staff_state, region_state, alerts_state)
    assert [v for v in again if v is not no_update] == [sla_state, staff_state, region_state, alerts_state]


def test_alerts_new_first_most_severe_first_with_true_totals_banner_and_the_view_they_are_of(wall_app):
    entries, total, banner, view, _ = panels.update_alerts(None, "", None)
    shown = [props(e) for e in entries if "data-alert-id" in props(e)]
    # New only, the critical one first (the seeded warning is newer); the acknowledged one is a line.
    assert [(e["data-severity"], e["data-status"]) for e in shown] == [("critical", "new"), ("warning", "new")]
    assert total == "2"
    assert [props(e)["children"] for e in entries if "alert-acked-line" in props(e)["className"]] == ["已确认 1 条"]
    text = " ".join(str(getattr(c, "children", "")) for c in walk(entries))
    assert "13812345678" not in text and "张三丰" not in text and "138****5678" in text
    banner_text = " ".join(str(getattr(c, "children", "")) for c in walk(banner))
    assert "严重预警" in banner_text and "138****5678" in banner_text and "13812345678" not in banner_text
    # The view the list is of: the browser chimes for a critical entry new to that view's list.
    assert view == f"{COUNTY}|live"
    assert "实际 9 件，以往同期约 2 件 · 涉及 2 件事件" in text  # plain words: no 得分, no p
    assert evidence({"observed": 7, "expected": 0.4, "window": {"weeks": 1}}) == "近1周 7 件，以往同期约 0 件"
    assert evidence({"observed": 3, "window": {"days": 7}}, "staffing") == ""  # workers, not cases: the title says
    assert evidence("not json") == "" and evidence({"observed": True}) == ""


def words(component) -> str:
    return " ".join(c for c in (getattr(x, "children", None) for x in walk(component)) if isinstance(c, str))


def click(monkeypatch, kind: str, alert_id: str) -> None:
    monkeypatch.setattr(nav, "ctx", type("Ctx", (), {"triggered_id": {"type": kind, "id": alert_id},
                                                     "triggered": [{"value": 1}]})())


def test_acknowledge_from_the_wall_names_the_alert_and_offers_undo(wall_app, monkeypatch):
    app, engine = wall_app
    entries, *_ = panels.update_alerts(None, "", None)
    new_id = next(props(e)["data-alert-id"] for e in entries if props(e).get("data-severity") == "critical")
    click(monkeypatch, "alert-ack", new_id)
    result = nav.acknowledge([1], "")
    # By its (masked) title, with 撤销; the message is a new element each time (its CSS clears it).
    assert "已确认：" in words(result) and "138****5678" in words(result) and "13812345678" not in words(result)
    assert [props(c)["id"] for c in walk(result) if props(c).get("id")] == [{"type": "alert-undo", "id": new_id}]
    assert props(result)["key"] != props(nav.acknowledge([1], ""))["key"]
    with engine.connect() as conn:
        row = conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == int(new_id))).one()
    assert tuple(row) == ("acknowledged", "demo")

    click(monkeypatch, "alert-undo", new_id)
    undone, result = nav.undo([1], "")
    assert undone == new_id and "已撤销确认" in words(result)
    with engine.connect() as conn:
        row = conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == int(new_id))).one()
        audit = conn.execute(select(GwAudit.action, GwAudit.username, GwAudit.detail)).all()
    assert tuple(row) == ("new", None)
    assert [(a, json.loads(d)["via"]) for a, u, d in audit if u == "demo"] == [
        ("alert_ack", "wall"), ("alert_ack", "wall"), ("alert_unack", "wall")]
    # Nothing to take back twice.
    assert nav.undo([1], "")[0] is no_update

    # With authentication on, only duty officers may: anyone else is told so and nothing is written.
    app.server.config["GRIDWALL_AUTH_ENABLED"] = True
    monkeypatch.setattr(auth, "current_user", lambda: type("U", (), {"role": "leader", "username": "boss"})())
    click(monkeypatch, "alert-ack", new_id)
    assert "仅值班人员" in words(nav.acknowledge([1], ""))
    click(monkeypatch, "alert-undo", new_id)
    assert "仅值班人员" in words(nav.undo([1], "")[1])
    assert panels.can_acknowledge() is False


def test_map_shades_escapes_and_sends_shapes_once(wall_app):
    app, engine = wall_app
    with engine.begin() as conn:
        conn.execute(update(Region).where(Region.code == "320585100").values(name="<b>城厢</b>"))
    cache.clear()
    shapes, url, hideout, legend, cases, alerts, state = map_view.update_map(None, "open", "", None)
    # The shapes travel as a file the browser keeps: data cleared, a URL that names their version.
    assert shapes is None and url.startswith(f"/_wall/shapes/{COUNTY}.json?v=")
    client = app.server.test_client()
    got = client.get(url)
    assert got.status_code == 200 and "private" in got.headers["Cache-Control"] and got.headers["ETag"]
    assert {f["id"] for f in got.get_json()["features"]} == {"320585100", "320585101", "320585103"}
    assert client.get(url, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    assert client.get("/_wall/shapes/320586.json").status_code == 403  # another county
    assert client.get("/_wall/shapes/32058x.json").status_code == 400
    assert "&lt;b&gt;城厢&lt;/b&gt;" in hideout["labels"]["320585100"] and "<b>" not in hideout["labels"]["320585100"]
    assert set(hideout["values"]) == {"320585100", "320585101", "320585103"}
    assert cases["type"] == "FeatureCollection" and alerts["features"]  # the critical alert's community
    # Nothing new: nothing is sent; another figure changes only the values.
    assert map_view.update_map(None, "open", "", state)[:6] == (no_update,) * 6
    again = map_view.update_map(None, "online_rate", "", state)
    assert again[:2] == (no_update, no_update) and again[2]["values"] != hideout["values"]
    assert all(v is None or 0 <= v <= 100 for v in again[2]["values"].values())
    per_1000 = map_view.update_map(None, "per_1000", "", state)[2]["values"]
    assert per_1000["320585100"] == pytest.approx(hideout["values"]["320585100"] * 1000 / 3600, abs=0.01)
    # A grid: its own outline.
    grid = grid_codes()[0]
    _, url, *_ = map_view.update_map(None, "open", f"?region={grid}", state)
    assert [f["id"] for f in client.get(url).get_json()["features"]] == [grid]


def test_rotation_and_yesterday(wall_app):
    assert nav.rotation("?kiosk=1") is no_update
    assert nav.rotation("?rotate=30")["regions"] == ["320585100", "320585101", "320585102", "320585103"]
    out = panels.update_yesterday(0, "")
    assert set(out["figures"]) == {"kpi-open", "kpi-overdue", "kpi-warning", "kpi-new-today", "kpi-closed-today"}
    assert {r["id"]: r["tone"] for r in tile_catalogue.browser_rules()["deltas"]}["kpi-overdue"] == "bad"
    trend = panels.update_trend(0, "")
    assert len(trend["today"]["new"]) == 24 and trend["live"] is True


def test_panels_keep_their_content_while_the_data_is_stale(wall_app):
    stale = {"stale": True}
    assert panels.update_sla(stale, "", None) == (no_update,) * 3
    assert panels.update_alerts(stale, "", None) == (no_update,) * 5
    assert map_view.update_map(stale, "open", "", None) == (no_update,) * 7
    live_signal.refresh_all()


def test_the_critical_banner_names_the_place_before_the_problem():
    alerts = [{"severity": "warning", "title": "噪音 · 城厢镇"},
              {"severity": "critical", "title": "乱堆物堆料骤增：今日截至10:00共9件，通常约1件 · 城东社区第四网格"}]
    tag, place, problem, more = critical_banner(alerts, 2)
    assert (tag.children, place.children) == ("严重预警", "城东社区第四网格")
    assert problem.children.startswith("乱堆物堆料骤增") and more.children == " 等 2 条"
    assert [s.children for s in critical_banner([{"severity": "critical", "title": "无地点"}], 1)][1:] == ["无地点", ""]
    assert critical_banner(alerts, 0) == []


def test_an_alert_whose_title_opens_with_its_kind_does_not_say_the_kind_twice():
    tz = ZoneInfo("Asia/Shanghai")

    def classes(title: str) -> list[str]:
        head = alert_entry({"id": 1, "kind": "sensitive", "severity": "critical", "title": title}, tz).children[0]
        return [span.className.split()[0] for span in head.children]

    assert "alert-kind" not in classes("重大风险苗头：杨漕村7组重点人员异常活动")
    assert "alert-kind" in classes("杨漕村7组重点人员异常活动")
