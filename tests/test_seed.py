"""`gridwall seed`: the synthetic county's map, people and history (small history: fast)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from sqlalchemy import inspect, select, text

from dashboard.synth.catalog import load_categories
from dashboard.synth.profiles import TAICANG
from dashboard.synth.seed import county_exists, seed_county
from data_access import writes
from data_access.models import Case, CaseAction, Grid, Org, Region, Staff, StaffPing, StaffShift

from .test_synth_flow import check_flows

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)  # a Wednesday morning
SMALL = {"days": 2, "now": NOW, "full_ping_days": 1}
UTC = timezone.utc

CASE_CODE = re.compile(r"^320585-(\d{8})-(\d{5})$")
STATUS_OF = {"report": {"reported"}, "accept": {"accepted"}, "dispatch": {"dispatched"}, "sign": {"handling"},
             "handle": {"verifying"}, "rework": {"handling"}, "close": {"closed"}, "reject": {"rejected"},
             "merge": {"merged"}, "escalate": {"accepted", "dispatched"}, "return": {"accepted"}}
COUNTERS = {"escalate": "escalations", "return": "returns", "rework": "reworks", "urge": "urges"}


def _rows(conn, table, order):
    return [dict(r._mapping) for r in conn.execute(select(table.__table__).order_by(*order))]


def check_lifecycles(engine, until: datetime) -> dict:
    """Every case agrees with its flow log and its category's deadlines; returns status counts."""
    limits = {c.code: c for c in load_categories()}
    with engine.connect() as conn:
        cases = _rows(conn, Case, [Case.id])
        actions = defaultdict(list)
        for a in _rows(conn, CaseAction, [CaseAction.case_id, CaseAction.ts, CaseAction.id]):
            actions[a["case_id"]].append(a)
    by_id = {c["id"]: c for c in cases}
    assert len({c["code"] for c in cases}) == len(cases)
    for c in cases:
        acts = actions[c["id"]]
        where = f"case {c['code']}"
        m = CASE_CODE.match(c["code"])
        assert m and m.group(1) == c["reported_at"].astimezone(SHANGHAI).strftime("%Y%m%d"), where
        assert acts and acts[0]["action"] == "report" and acts[0]["ts"] == c["reported_at"], where
        assert all(a["ts"] <= b["ts"] for a, b in zip(acts, acts[1:])), where
        assert acts[-1]["ts"] <= until and c["updated_at"] == acts[-1]["ts"], where
        changes = [a for a in acts if a["action"] in STATUS_OF]
        assert c["status"] in STATUS_OF[changes[-1]["action"]], where
        first = {}
        for a in acts:
            first.setdefault(a["action"], a["ts"])
        assert c["accepted_at"] == first.get("accept") and c["dispatched_at"] == first.get("dispatch"), where
        ends = [a["ts"] for a in acts if a["action"] in ("close", "reject", "merge")]
        if c["status"] in ("closed", "rejected", "merged"):
            assert ends and c["closed_at"] == ends[-1] and c["closed_at"] >= c["reported_at"], where
        else:
            assert c["closed_at"] is None and not ends, where
        if c["status"] == "closed":
            assert any(a["action"] == "close" for a in acts) and c["level"] and c["handler_org_id"], where
        counts = Counter(a["action"] for a in acts)
        for action, column in COUNTERS.items():
            assert c[column] == counts[action], where
        assert c["satisfaction"] is None or (c["status"] == "closed" and 1 <= c["satisfaction"] <= 5), where
        if c["status"] == "merged":
            target = by_id[c["merged_into"]]
            assert (target["grid_code"], target["category_code"]) == (c["grid_code"], c["category_code"]), where
            assert target["reported_at"] < c["reported_at"], where
        else:
            assert c["merged_into"] is None, where
        cat = limits[c["category_code"]]
        assert c["accept_due_at"] == c["reported_at"] + timedelta(minutes=cat.accept_minutes), where
        assert c["dispatch_due_at"] == c["reported_at"] + timedelta(minutes=cat.dispatch_minutes), where
        resolve_due = c["reported_at"] + timedelta(hours=cat.resolve_hours)
        if counts["extend"]:  # 延期 moved the deadline later
            assert c["resolve_due_at"] > resolve_due, where
        else:
            assert c["resolve_due_at"] == resolve_due, where
        assert c["grid_code"] and len(c["grid_code"]) == 15 and c["lon"] and c["lat"] and c["title"], where
        if c["source"] == "patrol":
            assert c["reporter_staff_id"] is not None, where
        assert c["urgency"] in ("normal", "urgent", "critical"), where
    check_flows(engine)  # the orgs of every step chain up (test_synth_flow)
    return Counter(c["status"] for c in cases)


def test_seed_is_deterministic_and_replaces_the_county(engine):
    assert not county_exists(engine)
    first = seed_county(engine, seed=7, **SMALL)
    assert county_exists(engine)
    with engine.connect() as conn:
        cases1 = _rows(conn, Case, [Case.id])
        actions1 = _rows(conn, CaseAction, [CaseAction.id])
        grids1 = _rows(conn, Grid, [Grid.code])
    second = seed_county(engine, seed=7, **SMALL)  # replaces the first
    with engine.connect() as conn:
        assert _rows(conn, Case, [Case.id]) == cases1
        assert _rows(conn, CaseAction, [CaseAction.id]) == actions1
        assert _rows(conn, Grid, [Grid.code]) == grids1
        pings = conn.execute(text("SELECT count(*) FROM staff_pings")).scalar()
    drop = {"seconds"}
    assert {k: v for k, v in first.items() if k not in drop} == {k: v for k, v in second.items() if k not in drop}
    assert pings == second["pings"]
    other = seed_county(engine, seed=8, **SMALL)
    assert other["cases"] != first["cases"] or other["actions"] != first["actions"]


def _indexes(engine) -> dict:
    insp = inspect(engine)
    return {t: sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t))
            for t in insp.get_table_names()}


def test_seed_puts_back_every_index_it_drops_for_the_bulk_load(engine):
    before = _indexes(engine)
    seed_county(engine, seed=7, **SMALL)  # an empty database: the big tables' indexes are built after the load
    seed_county(engine, seed=7, **SMALL)  # replacing the county: the same again
    assert _indexes(engine) == before
    if engine.dialect.name == "sqlite":  # the rebuilt indexes hold every row
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_bulk_load_timestamp_texts_are_the_stored_format():
    # whole epoch seconds take a faster path than datetimes; both give SQLAlchemy's text, NULL as None
    moments = [datetime(1970, 1, 1, tzinfo=UTC), datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
               datetime(2026, 12, 31, 16, 0, 1, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, tzinfo=UTC)]
    secs = [int(m.timestamp()) for m in moments]
    expected = [m.strftime("%Y-%m-%d %H:%M:%S.%f") for m in moments]
    assert writes._timestamp_texts(np.array(secs), "") == expected
    assert writes._timestamp_texts(secs + [None], "+00:00") == [e + "+00:00" for e in expected] + [None]
    assert writes._timestamp_texts(moments + [None], "") == expected + [None]
    assert writes._timestamp_texts([], "") == []


def test_county_map_tiles_the_outline(engine):
    stats = seed_county(engine, seed=20261126, **SMALL)
    with engine.connect() as conn:
        regions = _rows(conn, Region, [Region.code])
        grids = _rows(conn, Grid, [Grid.code])
    assert 600 <= len(grids) <= 1000 and stats["grids"] == len(grids)
    by_code = {r["code"]: r for r in regions}
    assert by_code["3205"]["name"] == "苏州市" and by_code["3205"]["level"] == "city"
    assert by_code["320585"]["name"] == "太仓市" and by_code["320585"]["parent_code"] == "3205"
    streets = {r["name"]: r["code"] for r in regions if r["level"] == "street"}
    assert set(streets) == {"城厢镇", "沙溪镇", "浏河镇", "浮桥镇", "璜泾镇", "双凤镇", "娄东街道", "陆渡街道"}
    levels = {4: "city", 6: "county", 9: "street", 12: "community"}
    for r in regions:
        assert re.fullmatch(r"\d+", r["code"]) and r["level"] == levels[len(r["code"])]
        if r["level"] != "city":
            assert r["parent_code"] == r["code"][: {6: 4, 9: 6, 12: 9}[len(r["code"])]] and r["parent_code"] in by_code
    names = [r["name"] for r in regions if r["level"] == "community"]
    assert all(n.endswith(("社区", "村")) for n in names) and len(set(names)) == len(names)
    assert "新区社区" in names and "电站村" in names
    for g in grids:
        assert re.fullmatch(r"\d{15}", g["code"]) and g["community_code"] == g["code"][:12]
        assert by_code[g["community_code"]]["level"] == "community"
        assert g["kind"] in ("basic", "special") and 150 <= g["households"] <= 600 and g["population"] > 0
    assert Counter(g["kind"] for g in grids)["special"] >= 8

    polys = shapely.from_geojson([g["boundary"] for g in grids])
    assert shapely.is_valid(polys).all() and set(shapely.get_type_id(polys)) == {3}  # Polygon
    tree = shapely.STRtree(polys)
    left, right = tree.query(polys, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(polys[left[pairs]], polys[right[pairs]])).sum()
    total = shapely.area(polys).sum()
    assert overlap < 1e-9 * total
    county = shapely.from_geojson(by_code["320585"]["boundary"])
    outline = shapely.Polygon(TAICANG.outline)
    union = shapely.union_all(polys)
    assert union.symmetric_difference(outline).area < 1e-5 * outline.area
    assert county.symmetric_difference(outline).area < 1e-5 * outline.area
    centre = outline.centroid
    assert abs(centre.x - 121.13) < 0.1 and abs(centre.y - 31.5) < 0.1
    for code in list(streets.values()) + [r["code"] for r in regions if r["level"] == "community"]:
        boundary = shapely.from_geojson(by_code[code]["boundary"])
        mine = shapely.union_all(polys[[g["code"].startswith(code) for g in grids]])
        assert boundary.geom_type == "Polygon", f"{code} is not one piece"
        assert boundary.symmetric_difference(mine).area < 1e-6 * boundary.area


def test_people_and_duty(engine):
    seed_county(engine, seed=20261126, **SMALL)
    dept_types = {c.dept_type for c in load_categories() if c.dept_type}
    with engine.connect() as conn:
        orgs = _rows(conn, Org, [Org.id])
        staff = _rows(conn, Staff, [Staff.id])
        grids = {g["code"]: g for g in _rows(conn, Grid, [Grid.code])}
        shifts = _rows(conn, StaffShift, [StaffShift.id])
        pings = conn.execute(select(StaffPing.staff_id, StaffPing.ts, StaffPing.lon, StaffPing.lat)
                             .order_by(StaffPing.staff_id, StaffPing.ts)).all()
    kinds = Counter(o["kind"] for o in orgs)
    assert kinds["center"] == 9 and kinds["street"] == 8 and kinds["community"] >= 100
    depts = [o for o in orgs if o["kind"] == "department"]
    assert len(depts) >= 10 and {o["dept_type"] for o in depts} >= dept_types
    roles = Counter(s["role"] for s in staff)
    assert roles["grid_leader"] == kinds["community"] and roles["dispatcher"] >= 12 and roles["handler"] >= 50
    workers = [s for s in staff if s["role"] == "grid_worker" and s["active"]]
    per_grid = Counter(s["grid_code"] for s in workers)
    vacant = len(grids) - len(per_grid)
    assert 0 < vacant <= 0.05 * len(grids) and max(per_grid.values()) == 2
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", s["name"]) for s in staff)

    assert shifts and all(s["starts_at"] < s["ends_at"] for s in shifts)
    local_starts = Counter(s["starts_at"].astimezone(SHANGHAI).strftime("%H") for s in shifts)
    assert local_starts["08"] > 0.8 * len(workers)  # weekday shifts begin around 08:30
    shift_of = defaultdict(list)
    for s in shifts:
        shift_of[s["staff_id"]].append((s["starts_at"], s["ends_at"]))
    grid_of = {s["id"]: s["grid_code"] for s in workers}
    assert pings and all(p.ts <= NOW for p in pings)
    assert all(any(a <= p.ts < b for a, b in shift_of[p.staff_id]) for p in pings[::97])
    sample = pings[::211]
    shapes = shapely.from_geojson([grids[grid_of[p.staff_id]]["boundary"] for p in sample])
    assert shapely.contains_xy(shapes, [p.lon for p in sample], [p.lat for p in sample]).all()
    today = [p for p in pings if p.ts >= NOW.replace(hour=0, minute=0)]
    gaps = [(b.ts - a.ts).total_seconds() for a, b in zip(today, today[1:]) if a.staff_id == b.staff_id]
    assert Counter(gaps).most_common(1)[0][0] == 60  # about one ping a minute today


def test_history_rhythm_and_lifecycles(engine):
    stats = seed_county(engine, seed=20261126, days=3, now=NOW, full_ping_days=0)
    statuses = check_lifecycles(engine, NOW)
    assert statuses["closed"] > 0.6 * stats["cases"]
    assert statuses["rejected"] > 0 and statuses["merged"] > 0
    assert sum(statuses[s] for s in ("reported", "accepted", "dispatched", "handling", "verifying")) > 50
    assert statuses["handling"] > 0
    with engine.connect() as conn:
        cases = _rows(conn, Case, [Case.id])
        actions = Counter(a for (a,) in conn.execute(select(CaseAction.action)))
    # several hundred cases a weekday; the working day busier than the night
    by_day = Counter(c["reported_at"].astimezone(SHANGHAI).date() for c in cases)
    monday, tuesday = NOW.date() - timedelta(days=2), NOW.date() - timedelta(days=1)
    assert 250 <= by_day[monday] <= 650 and 250 <= by_day[tuesday] <= 650
    hours = Counter(c["reported_at"].astimezone(SHANGHAI).hour for c in cases)
    assert hours[10] > 4 * hours[3]
    sources = Counter(c["source"] for c in cases)
    assert sources.most_common(1)[0][0] == "patrol"
    assert {"hotline", "resident", "video", "sensor", "department", "superior"} <= set(sources)
    majors = Counter(c["category_code"][:2] for c in cases)
    assert majors["01"] + majors["03"] > 3 * majors["08"]
    assert {"accept", "dispatch", "sign", "handle", "verify", "close", "escalate", "urge", "comment"} <= set(actions)
    rated = [c["satisfaction"] for c in cases if c["satisfaction"]]
    assert rated and sum(r >= 4 for r in rated) > 0.8 * len(rated)
    open_now = [c for c in cases if c["closed_at"] is None]
    assert any(c["resolve_due_at"] < NOW for c in open_now)  # overdue cases on the wall now
    with_phone = [c for c in cases if c["description"] and re.search(r"1[3-9]\d{9}", c["description"])]
    assert with_phone
