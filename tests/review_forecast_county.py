"""A hand-built county for the review page's forecast section and concealment watch (both backends).

太仓市 320585, T = Thu 2026-11-26 10:00 local. Streets S1 城厢镇 320585100 (communities C1 东林村 with
grids G11 第一网格 and G12 第二网格 (no usable boundary); C2 南郊社区 with G21) and S2 沙溪镇 320585101
(C3 印溪社区, grid G31). Categories 01 市容环境 (0101) and 02 宣传广告 (0201).

``load_history``: for each of the 70 complete days before T's date (09-17 .. 11-25), at 09:00, 11:00
and 15:00 local a 0101 case in G11, at 10:00 a 0201 case in G12 (S1: 4 a day), and at 09:30 and 14:00 a
0101 case in G31 (S2: 2 a day); nothing on T's date. So every complete week has 28 cases in S1 and 14
in S2, and the engine's stored forecast (``STORED``) covers S1 and S2 for T's date and 6 more days.

``load_edges``: cases around local midnight for the day buckets (on top of an empty history).

``load_alerts``: concealment alerts (kind ``underreport``) around the week Mon 11-16 .. Sun 11-22, and
``load_channels`` the reports per channel the watch reads for that week and the 12 before it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from data_access.forecasts import write_forecast
from data_access.models import Alert, Case, Category, Grid, Region

SH = ZoneInfo("Asia/Shanghai")
ROOT, S1, S2 = "320585", "320585100", "320585101"
C1, C2, C3 = "320585100001", "320585100002", "320585101001"
G11, G12, G21, G31 = "320585100001001", "320585100001002", "320585100002001", "320585101001001"
HISTORY_DAYS = 70


def L(text: str) -> datetime:
    """Local time in 2026: ``"11-16 09:00"``."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=SH)


T = L("11-26 10:00")


def _square(lon: float, lat: float, size: float = 0.01) -> str:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def load_geography(engine) -> None:
    regions = [(ROOT, "太仓市", "county", None), (S1, "城厢镇", "street", ROOT), (S2, "沙溪镇", "street", ROOT),
               (C1, "东林村", "community", S1), (C2, "南郊社区", "community", S1), (C3, "印溪社区", "community", S2)]
    grids = [(G11, C1, "第一网格", _square(121.10, 31.50)), (G12, C1, "第二网格", "not a polygon"),
             (G21, C2, "第一网格", _square(121.12, 31.50)), (G31, C3, "第一网格", _square(121.20, 31.60))]
    with engine.begin() as conn:
        conn.execute(insert(Region), [dict(zip(("code", "name", "level", "parent_code"), r)) for r in regions])
        conn.execute(insert(Grid), [dict(zip(("code", "community_code", "name", "boundary"), g)) for g in grids])
        conn.execute(insert(Category), [
            {"code": "01", "parent_code": None, "name": "市容环境", "tier": "C"},
            {"code": "0101", "parent_code": "01", "name": "暴露垃圾", "tier": "B", "resolve_hours": 24},
            {"code": "02", "parent_code": None, "name": "宣传广告", "tier": "C"},
            {"code": "0201", "parent_code": "02", "name": "非法小广告", "tier": "B", "resolve_hours": 24},
        ])


def _case(n: int, grid: str | None, category: str, at: datetime, source: str = "patrol") -> dict:
    return {"id": n, "code": f"F{n:05d}", "title": "巡查发现", "category_code": category, "source": source,
            "urgency": "normal", "reported_at": at, "grid_code": grid, "status": "closed", "level": "grid",
            "closed_at": at + timedelta(hours=2), "updated_at": at + timedelta(hours=2), "escalations": 0,
            "returns": 0, "reworks": 0, "urges": 0}


def history_rows(start_id: int = 1) -> list[dict]:
    rows = []
    n = start_id
    first = T.date() - timedelta(days=HISTORY_DAYS)
    for i in range(HISTORY_DAYS):
        day = first + timedelta(days=i)
        for grid, category, hh, mm in ((G11, "0101", 9, 0), (G11, "0101", 11, 0), (G11, "0101", 15, 0),
                                       (G12, "0201", 10, 0), (G31, "0101", 9, 30), (G31, "0101", 14, 0)):
            rows.append(_case(n, grid, category, datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH)))
            n += 1
    return rows


def stored_forecast() -> list[dict]:
    """The engine's forecast made at T - 1 h: per street x major category x day, mean 3.0/1.0/2.0 with
    daily intervals [1, 5] / [0, 2] / [0, 4] (and the county's own rows, which the page leaves out)."""
    made = T - timedelta(hours=1)
    rows = []
    for region, category, mean, lo, hi in ((S1, "01", 3.0, 1.0, 5.0), (S1, "02", 1.0, 0.0, 2.0),
                                           (S2, "01", 2.0, 0.0, 4.0), (ROOT, "01", 5.0, 2.0, 8.0)):
        for i in range(7):
            rows.append({"region_code": region, "category_code": category, "day": T.date() + timedelta(days=i),
                         "expected": mean, "median": mean, "lo80": lo, "hi80": hi, "made_at": made})
    return rows


def load_history(engine) -> None:
    load_geography(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case), history_rows())
        write_forecast(conn, stored_forecast())


def load_edges(engine) -> None:
    """Cases near local midnight (the day buckets), an unlocated one and one on T's date."""
    load_geography(engine)
    rows = [_case(1, G11, "0101", L("11-25 23:59")), _case(2, G11, "0101", L("11-26 00:01")),
            _case(3, G11, "0101", L("11-24 00:00")), _case(4, G12, "0201", L("11-20 12:00")),
            _case(5, G31, "0101", L("11-25 08:00")), _case(6, None, "0101", L("11-25 09:00")),
            _case(7, G11, "0101", L("11-18 23:59:59"))]   # before the 7-day window (11-19 .. 11-25)
    with engine.begin() as conn:
        conn.execute(insert(Case), rows)


# --- the concealment watch ------------------------------------------------------------------------------

WEEK_START, WEEK_END = date(2026, 11, 16), date(2026, 11, 22)


def _alert(key: str, region: str, created: datetime, resolved: datetime | None = None, status: str = "new",
           kind: str = "underreport", detail: dict | None = None, ack_at: datetime | None = None) -> dict:
    return {"created_at": created, "kind": kind, "severity": "warning", "region_code": region,
            "title": f"疑似瞒报漏报 {key}", "detail": json.dumps(detail or {}), "status": status,
            "ack_by": "duty" if ack_at else None, "ack_at": ack_at, "resolved_at": resolved, "source": "gridwall",
            "dedup_key": key, "category_code": None}


OWN_DETAIL = {"test": "own_history", "observed": 40, "expected": 80.0, "gap": 40.0, "ratio": 0.5,
              "uncontrolled_ratio": 1.05, "score": 9.1, "window": {"start": "2026-10-26", "end": "2026-11-15", "weeks": 3},
              "flagged_since_week": "2026-11-09"}
PEER_DETAIL = {"test": "peers", "observed": 30, "expected": 60.0, "gap": 30.0, "share": 0.2, "peer_share": 0.4,
               "p_value": 1e-7, "window": {"start": "2026-09-28", "end": "2026-11-22", "weeks": 8},
               "flagged_since_week": "2026-11-16"}

ALERTS = [
    _alert("u1", C1, L("11-10 01:00"), resolved=L("11-18 01:00"), status="resolved", detail=OWN_DETAIL),  # ran into the week
    _alert("u2", C1, L("11-12 01:00"), resolved=L("11-15 01:00"), status="resolved"),   # ended before the week
    _alert("u3", C2, L("11-20 01:00"), detail=PEER_DETAIL, ack_at=L("11-20 09:00")),    # in the week, acknowledged
    _alert("u4", C3, L("11-17 01:00"), detail=OWN_DETAIL),                              # S2's
    _alert("u5", C2, L("11-24 01:00")),                                                 # after the week
    _alert("u6", C1, L("11-17 01:00"), status="resolved"),                              # resolved without a time
    _alert("s1", C1, L("11-17 02:00"), kind="spike"),                                   # not concealment
    _alert("u7", C1, L("11-19 01:00"), resolved=L("11-21 01:00"), status="dismissed", detail=PEER_DETAIL),
]


def load_alerts(engine) -> None:
    with engine.begin() as conn:
        keys = {k for a in ALERTS for k in a}
        conn.execute(insert(Alert), [{k: a.get(k) for k in keys} for a in ALERTS])


# Reports per community and channel: (grid, source, local time, how many).
CHANNELS = [
    (G11, "patrol", "11-17 10:00", 5), (G11, "hotline", "11-18 10:00", 15),          # C1 in the week: 5 / 20
    (G11, "patrol", "10-20 10:00", 30), (G11, "resident", "10-21 10:00", 30),        # C1 before: 30 / 60
    (G11, "patrol", "08-20 10:00", 50),                                              # C1 before the 12 weeks: not read
    (G21, "patrol", "11-16 00:00", 12), (G21, "video", "11-22 23:59", 8),            # C2 in the week: 12 / 20
    (G21, "other", "11-19 10:00", 7),                                                # neither channel kind
    (G31, "patrol", "11-20 10:00", 9), (G31, "resident", "11-21 10:00", 1),          # C3 in the week: 9 / 10
    (G31, "patrol", "11-23 00:00", 40),                                              # after the week
]


def load_channels(engine) -> None:
    rows, n = [], 1
    for grid, source, at, count in CHANNELS:
        for _ in range(count):
            rows.append(_case(n, grid, "0101", L(at), source))
            n += 1
    with engine.begin() as conn:
        conn.execute(insert(Case), rows)
