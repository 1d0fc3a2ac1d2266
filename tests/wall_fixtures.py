"""A small hand-made county for the wall's tests: 4 streets, 8 communities, 16 grids, a few dozen cases.

It includes the bad rows a real platform has: a street without a boundary (drawn from its grids),
a street whose boundary is not GeoJSON and whose grids have none (skipped), a case without a grid,
a case with an unknown category, a NULL title and personal data in a title.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from data_access.models import Alert, Case, Category, Grid, Region, Staff, StaffPing, StaffShift

UTC = timezone.utc
COUNTY = "320585"
CATEGORIES_CSV = Path(__file__).resolve().parent.parent / "dashboard" / "resources" / "categories.csv"

STREETS = [
    # code, name, lon0, lat0, boundary kind
    ("320585100", "城厢镇", 121.05, 31.45, "polygon"),
    ("320585101", "沙溪镇", 121.17, 31.45, "from_grids"),
    ("320585102", "浏河镇", 121.05, 31.55, "invalid"),
    ("320585103", "璜泾镇", 121.17, 31.55, "polygon"),
]
STREET_W, STREET_H = 0.12, 0.10


def rect(lon0: float, lat0: float, w: float, h: float) -> str:
    ring = [[lon0, lat0], [lon0 + w, lat0], [lon0 + w, lat0 + h], [lon0, lat0 + h], [lon0, lat0]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def load_categories(conn) -> list[str]:
    with CATEGORIES_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))

    def num(v):
        return int(v) if v not in (None, "") else None

    conn.execute(insert(Category), [{
        "code": r["code"], "parent_code": r["parent_code"] or None, "name": r["name"], "tier": r["tier"] or None,
        "accept_minutes": num(r["accept_minutes"]), "dispatch_minutes": num(r["dispatch_minutes"]),
        "resolve_hours": num(r["resolve_hours"]), "dept_type": r["dept_type"] or None,
    } for r in rows])
    return [r["code"] for r in rows if len(r["code"]) == 4]


def grid_codes() -> list[str]:
    return [f"{street}{c:03d}{g:03d}" for street, *_ in STREETS for c in (1, 2) for g in (1, 2)]


def seed_small_county(engine, now: datetime | None = None, n_cases: int = 48, seed: int = 7) -> dict:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rnd = random.Random(seed)
    with engine.begin() as conn:
        minors = load_categories(conn)
        county_ring = rect(121.05, 31.45, 2 * STREET_W, 2 * STREET_H)
        regions = [{"code": COUNTY, "name": "太仓市", "level": "county", "parent_code": "3205",
                    "boundary": county_ring}]
        grids, staff = [], []
        for street, name, lon0, lat0, kind in STREETS:
            boundary = {"polygon": rect(lon0, lat0, STREET_W, STREET_H), "from_grids": None,
                        "invalid": "{not geojson"}[kind]
            regions.append({"code": street, "name": name, "level": "street", "parent_code": COUNTY,
                            "boundary": boundary})
            for ci in (1, 2):
                community = f"{street}{ci:03d}"
                regions.append({"code": community, "name": f"{name[:2]}第{ci}社区", "level": "community",
                                "parent_code": street, "boundary": None})
                for gi in (1, 2):
                    code = f"{community}{gi:03d}"
                    w, h = STREET_W / 2, STREET_H / 2
                    glon, glat = lon0 + (gi - 1) * w, lat0 + (ci - 1) * h
                    grids.append({"code": code, "community_code": community, "name": f"第{gi}网格",
                                  "kind": "basic", "households": 300, "population": 900,
                                  "boundary": None if kind == "invalid" else rect(glon, glat, w, h)})
                    staff.append({"id": len(staff) + 1, "name": f"网格员{len(staff) + 1}", "role": "grid_worker",
                                  "grid_code": code, "full_time": True, "active": True})
        conn.execute(insert(Region), regions)
        conn.execute(insert(Grid), grids)
        conn.execute(insert(Staff), staff)
        conn.execute(insert(StaffShift), [{"staff_id": s["id"], "starts_at": now - timedelta(hours=4),
                                           "ends_at": now + timedelta(hours=4)} for s in staff[::2]])
        conn.execute(insert(StaffPing), [{"staff_id": s["id"], "ts": now - timedelta(minutes=2),
                                          "lon": 121.1, "lat": 31.5} for s in staff[::4]])

        codes = grid_codes()
        titles = ["小区门口暴露垃圾", "人行道乱堆物料", "沿街商铺占道经营", "路灯不亮", "井盖缺失",
                  "河道漂浮物", "居民反映楼上噪声扰民", "居民张三丰反映电话13812345678无人接听"]
        sources = ["patrol", "patrol", "patrol", "hotline", "resident", "video", "sensor", "department"]
        cases = []
        for i in range(n_cases):
            reported = now - timedelta(minutes=rnd.randint(5, 47 * 60))
            cat = rnd.choice(minors)
            due = reported + timedelta(hours=rnd.choice([2, 4, 24, 120]))
            closed = None
            if rnd.random() < 0.5:
                closed = reported + timedelta(minutes=rnd.randint(20, 600))
                if closed > now:
                    closed = None
            cases.append({
                "code": f"{COUNTY}-{reported:%Y%m%d}-{i:05d}", "title": rnd.choice(titles),
                "category_code": cat, "source": rnd.choice(sources),
                "urgency": rnd.choice(["normal", "normal", "normal", "urgent", "critical"]),
                "reported_at": reported, "grid_code": rnd.choice(codes), "status": "closed" if closed else "handling",
                "level": "community", "accept_due_at": reported + timedelta(minutes=30),
                "dispatch_due_at": reported + timedelta(minutes=60), "resolve_due_at": due,
                "accepted_at": reported + timedelta(minutes=5), "closed_at": closed,
                "satisfaction": rnd.choice([None, 5, 4, 3, 2]) if closed else None,
                "escalations": 0, "returns": 0, "reworks": 0, "urges": 0,
                "updated_at": closed or reported,
            })
        # Bad rows: no grid, unknown category, NULL title, NULL source and urgency.
        odd = now - timedelta(minutes=3)
        conn.execute(insert(Case), cases)
        conn.execute(insert(Case).values(
            code=f"{COUNTY}-{odd:%Y%m%d}-90001", title=None, category_code="9999", source=None, urgency=None,
            reported_at=odd, grid_code=None, status="reported", level=None, updated_at=odd))
        conn.execute(insert(Alert), [
            {"created_at": now - timedelta(minutes=20), "kind": "spike", "severity": "warning",
             "region_code": "320585100", "category_code": "0101", "title": "城厢镇 暴露垃圾 事件骤增",
             "detail": "{}", "status": "new", "source": "gridwall", "dedup_key": "t-spike"},
            {"created_at": now - timedelta(minutes=50), "kind": "sla", "severity": "critical",
             "region_code": "320585101001", "category_code": None, "title": "沙溪第1社区 3件事件即将超期",
             "detail": "{}", "status": "acknowledged", "source": "gridwall", "dedup_key": "t-sla"},
            {"created_at": now - timedelta(hours=3), "kind": "repeat", "severity": "info",
             "region_code": "320585103", "category_code": None, "title": "已处理的旧预警",
             "detail": "{}", "status": "resolved", "source": "gridwall", "dedup_key": "t-old"},
        ])
    return {"now": now, "grid_codes": codes}


def insert_case(engine, code: str, reported_at: datetime, grid_code: str = "320585100001001",
                title: str = "新上报：道路积水") -> None:
    """A new open case, written with plain SQL as another system would."""
    with engine.begin() as conn:
        conn.execute(insert(Case).values(
            code=code, title=title, category_code="0101", source="resident", urgency="urgent",
            reported_at=reported_at, grid_code=grid_code, status="reported", level="grid",
            resolve_due_at=reported_at + timedelta(hours=4), escalations=0, returns=0, reworks=0, urges=0,
            updated_at=reported_at,
        ))
