"""One alert of each kind, with the detail its detector writes and the data its evidence needs, in the
hand-made county (tests/wall_fixtures.py): a rise over 11 weeks of a community's daily counts, a
cluster's cases with coordinates, four reports at one address, a community whose patrol reports fell
while its residents' held, cases at risk held by a street org, offline workers with older pings, a
stale feed and a dark wall. Used by tests/test_alert_evidence.py (both backends) and the browser test.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from data_access.models import Alert, Case, Org, StaffPing

from .wall_fixtures import COUNTY, seed_small_county

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")
SPIKE_REGION, SPIKE_CATEGORY = "320585100001", "0103"     # 城厢第1社区 x 乱堆物堆料
CLUSTER_GRIDS = ["320585100001001", "320585100001002"]
CLUSTER_CENTER = {"lon": 121.08, "lat": 31.475}
ADDRESS = "沙溪镇东林村8组12号"
REPEAT_GRID = "320585101002001"
CONCEALED, PEER = "320585100002", "320585100001"
ORG_ID, ORG_NAME = 77, "城厢镇综合执法中队"


def _local_noon(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


def _case(code: str, at: datetime, grid: str, category: str, source: str = "patrol", **extra) -> dict:
    row = {"code": code, "title": extra.pop("title", "测试事件"), "category_code": category, "source": source,
           "urgency": "normal", "reported_at": at, "grid_code": grid, "status": "handling", "level": "community",
           "escalations": 0, "returns": 0, "reworks": 0, "urges": 0, "updated_at": at,
           # every row the same keys: one executemany takes its columns from the first row
           "lon": None, "lat": None, "address": None, "handler_org_id": None, "resolve_due_at": None}
    row.update(extra)
    return row


def seed_evidence(engine, now: datetime | None = None, seed_county: bool = True) -> dict:
    """The small county (unless already seeded) and one alert per kind; returns {kind: alert id, ...}
    with the facts the tests check (window days, case codes, org name ...)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if seed_county:
        seed_small_county(engine, now=now)
    rnd = random.Random(11)
    today = now.astimezone(TZ).date()
    out: dict = {"now": now, "today": today}
    rows = []

    # The small county's own cases lie in the last 47 hours (random grids, categories and channels):
    # every window below ends before that, and the cases written here for one kind stay out of the
    # others' counts (channel "sensor" is neither patrol nor a resident's channel).

    # --- a rise: 11 weeks of about 1.5 a day, then 3 days of 9-11 (three to five days ago)
    window = [today - timedelta(days=5), today - timedelta(days=3)]
    for i in range(80, 0, -1):
        day = today - timedelta(days=i)
        n = {5: 9, 4: 11, 3: 10}.get(i, rnd.choice([0, 1, 1, 2, 2, 3]))
        for j in range(n):
            rows.append(_case(f"EV-S-{i:02d}-{j:02d}", _local_noon(day, 8 + j % 10), f"{SPIKE_REGION}00{1 + j % 2}",
                              SPIKE_CATEGORY, source="sensor", title="楼道乱堆物料"))
        for j in range(rnd.choice([1, 2, 3])):  # the category elsewhere in the county: its day-of-week profile
            rows.append(_case(f"EV-SO-{i:02d}-{j}", _local_noon(day, 9 + j), "320585103001001", SPIKE_CATEGORY,
                              source="sensor"))

    # --- a cluster: five cases around the centre of 城厢第1社区第1网格
    for j in range(5):
        rows.append(_case(f"EV-C-{j}", now - timedelta(hours=30 + j), CLUSTER_GRIDS[j % 2], "0101", source="sensor",
                          lon=CLUSTER_CENTER["lon"] + 0.004 * (j - 2), lat=CLUSTER_CENTER["lat"] + 0.003 * (j % 3 - 1),
                          title="小区门口暴露垃圾"))

    # --- a repeat: four reports at one address in 沙溪第2社区第1网格
    for j in range(4):
        rows.append(_case(f"EV-R-{j}", now - timedelta(days=9 - 2 * j, hours=j), REPEAT_GRID, "0102",
                          source="resident", address=ADDRESS, title="门口道路不洁"))

    # --- concealment: 城厢第2社区's patrol reports fell for 4 weeks, its residents' did not (the 4 complete
    # weeks that end at least 3 days ago)
    back = today - timedelta(days=3)
    monday = back - timedelta(days=back.weekday())
    for w in range(16, 0, -1):
        week = monday - timedelta(weeks=w)
        flagged = w <= 4
        for community, patrol in ((CONCEALED, 2 if flagged else 10), (PEER, 10)):
            for j in range(patrol):
                rows.append(_case(f"EV-U-{community[-1]}-{w:02d}-P{j}", _local_noon(week + timedelta(days=j % 5), 14),
                                  f"{community}002", "0601", source="patrol"))
            for j in range(5):
                rows.append(_case(f"EV-U-{community[-1]}-{w:02d}-H{j}", _local_noon(week + timedelta(days=j % 5), 15),
                                  f"{community}002", "0601", source="hotline"))

    # --- SLA: three cases held by a street org, one overdue
    for j, due in enumerate((-2, 1, 1)):
        rows.append(_case(f"EV-L-{j}", now - timedelta(hours=20), "320585100001002", "0103", source="sensor",
                          handler_org_id=ORG_ID,
                          resolve_due_at=now + timedelta(hours=due), title=f"占道堆放{j}"))

    with engine.begin() as conn:
        conn.execute(insert(Case), rows)
        conn.execute(insert(Org).values(id=ORG_ID, name=ORG_NAME, kind="street", region_code="320585100"))
        # worker 3 (城厢第2社区第1网格) is on duty and silent since 50 minutes ago
        conn.execute(insert(StaffPing).values(staff_id=3, ts=now - timedelta(minutes=50), lon=121.11, lat=31.49))
        ids = dict(conn.execute(select(Case.code, Case.id).where(Case.code.like("EV-%"))).all())

    def alert(kind: str, region: str, title: str, detail: dict, severity: str = "warning", category=None) -> int:
        with engine.begin() as conn:
            return conn.execute(insert(Alert).values(
                created_at=now - timedelta(minutes=10), kind=kind, severity=severity, region_code=region,
                category_code=category, title=title, detail=json.dumps(detail, ensure_ascii=False), status="new",
                source="gridwall", dedup_key=f"ev-{kind}-{region}").returning(Alert.id)).scalar_one()

    spike_ids = [i for code, i in ids.items() if code.startswith("EV-S-0") and code[5:7] in ("05", "04", "03")]
    out["spike"] = alert("spike", SPIKE_REGION, "乱堆物堆料骤增：近3日共30件，通常约5件 · 城厢镇城厢第1社区", {
        "observed": 30, "expected": 4.6, "p_value": 2e-9, "method": "negative_binomial", "intraday": False,
        "window": {"start": window[0].isoformat(), "end": window[1].isoformat(), "days": 3},
        "series": {"region_code": SPIKE_REGION, "category_code": SPIKE_CATEGORY},
        "family": {"street": SPIKE_REGION[:9], "major": SPIKE_CATEGORY[:2]}, "run_start": window[0].isoformat(),
        "alpha": 2.5e-05, "also": [], "case_ids": sorted(spike_ids)[-50:]}, severity="critical", category=SPIKE_CATEGORY)
    out["spike_window"] = [d.isoformat() for d in (window[0], window[0] + timedelta(days=1), window[1])]

    out["cluster"] = alert("cluster", CLUSTER_GRIDS[0], "事件时空聚集：近3日5件，通常约1件 · 城厢镇城厢第1社区周边", {
        "observed": 5, "expected": 0.8, "p_value": 0.003, "recurrence_days": 333.0, "llr": 9.1,
        "window": {"start": (today - timedelta(days=3)).isoformat(), "end": (today - timedelta(days=1)).isoformat(),
                   "days": 3},
        "center_grid": CLUSTER_GRIDS[0], "grids": CLUSTER_GRIDS, "radius_km": 2.4, "center": CLUSTER_CENTER,
        "top_categories": {"0101": 5}, "replications": 999, "adjusted_for": "source channel", "left_out": [],
        "case_ids": [ids[f"EV-C-{j}"] for j in range(5)]})
    out["cluster_codes"] = [f"EV-C-{j}" for j in range(5)]

    repeat_ids = [ids[f"EV-R-{j}"] for j in range(4)]
    out["repeat"] = alert("repeat", REPEAT_GRID, f"道路不洁重复多发：30日内上报4次 · {ADDRESS}", {
        "observed": 4, "threshold": 3, "place_kind": "address", "window": {"days": 30, "end": now.isoformat()},
        "episode_start": (now - timedelta(days=9)).isoformat(), "first_case_id": repeat_ids[0], "case_ids": repeat_ids},
        category="0102")

    start = monday - timedelta(weeks=4)
    out["underreport"] = alert("underreport", CONCEALED, "疑似瞒报漏报：近4周网格员上报占比29%，同类社区67% · 城厢镇城厢第2社区", {
        "test": "peers", "observed": 8, "expected": 40.0, "gap": 32.0, "share": 0.286, "peer_share": 0.667,
        "p_value": 1e-6, "window": {"start": start.isoformat(), "end": (monday - timedelta(days=1)).isoformat(),
                                    "weeks": 4},
        "channels": {"controlled": ["patrol"], "uncontrolled": ["hotline", "resident", "video"]},
        "flagged_since_week": start.isoformat(), "case_ids": []})

    sla_cases = [{"id": ids[f"EV-L-{j}"], "code": f"EV-L-{j}", "phase": "resolve",
                  "due_at": (now + timedelta(hours=due)).isoformat(), "used": 0.9, "idle_hours": 6.0}
                 for j, due in enumerate((-2, 1, 1))]
    out["sla"] = alert("sla", "320585100", f"3件事件临期无进展，其中1件已超期 · {ORG_NAME}", {
        "observed": 3, "overdue": 1, "expected": 0, "threshold": 3, "score": 3, "window": {"to": now.isoformat()},
        "org": {"id": ORG_ID, "name": ORG_NAME, "kind": "street"}, "phases": {"resolve": 3},
        "case_ids": [c["id"] for c in sla_cases], "cases": sla_cases}, severity="critical")

    out["staffing"] = alert("staffing", "320585100", "2名在岗网格员离线超过30分钟 · 城厢镇", {
        "observed": 2, "on_duty": 2, "share": 1.0, "threshold": 3, "score": 1.0, "window": {"to": now.isoformat()},
        "case_ids": [], "workers": [
            {"staff_id": 3, "grid_code": "320585100002001", "community": "城厢第2社区", "offline_minutes": 50,
             "last_ping": (now - timedelta(minutes=50)).isoformat()},
            {"staff_id": 1, "grid_code": "320585100001001", "community": "城厢第1社区", "offline_minutes": 35,
             "last_ping": None}]})

    out["stale"] = alert("stale", COUNTY, "数据中断：新事件上报已95分钟无更新", {
        "observed": {"cases": 95.0}, "expected": {"cases": 20.0}, "threshold": {"cases": 60.0}, "score": 1.6,
        "window": {"to": now.isoformat()}, "feeds": ["cases"], "case_ids": []})

    out["wall"] = alert("wall", "320585100", "大屏离线：wall-cx（城厢镇）超过 2 分钟无心跳", {
        "wall_id": "w-1", "username": "wall-cx", "region": "320585100",
        "last_seen_at": (now - timedelta(minutes=4)).isoformat(), "remote_addr": "10.0.0.9", "layout": "standard",
        "version": "1.4.0"})
    return out
