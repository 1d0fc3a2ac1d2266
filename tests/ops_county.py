"""A hand-built county for the early-warning tests: every row placed so the answer is known.

Street 城厢镇 (320585100): community 城东社区 (6 grids, workers 1-6), community 城西社区 (3 grids,
workers 7-9, nobody rostered). Street 浏河镇 (320585101): community 浏河社区 (5 grids, workers
10-14). Orgs: 1 the county center, 2 城市管理局 (a county department), 3 城厢镇人民政府,
4 城东社区网格工作站. T is a Wednesday, 10:30 Shanghai time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from data_access.models import Case, CaseAction, Grid, Org, Region, Staff, StaffPing, StaffShift

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = "320585"
T = datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)
DAY = T.replace(hour=0, minute=0)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)

STREETS = {"320585100": "城厢镇", "320585101": "浏河镇"}
COMMUNITIES = {"320585100001": ("城东社区", 6), "320585100002": ("城西社区", 3), "320585101001": ("浏河社区", 5)}
ORGS = [(1, "太仓市社会治理联动指挥中心", "center", ROOT, None), (2, "太仓市城市管理局", "department", ROOT, "urban_management"),
        (3, "城厢镇人民政府", "street", "320585100", None), (4, "城东社区网格工作站", "community", "320585100001", None)]


def grid_codes() -> list[str]:
    return [f"{community}{i:03d}" for community, (_, n) in COMMUNITIES.items() for i in range(1, n + 1)]


def worker_grid() -> dict[int, str]:
    return {i + 1: code for i, code in enumerate(grid_codes())}


def build_map(conn) -> None:
    regions = [{"code": ROOT, "name": "太仓市", "level": "county", "parent_code": "3205"}]
    regions += [{"code": c, "name": n, "level": "street", "parent_code": ROOT} for c, n in STREETS.items()]
    regions += [{"code": c, "name": n, "level": "community", "parent_code": c[:9]} for c, (n, _) in COMMUNITIES.items()]
    conn.execute(insert(Region), regions)
    conn.execute(insert(Grid), [{"code": g, "community_code": g[:12], "name": f"第{g[-3:]}网格", "kind": "basic"}
                                for g in grid_codes()])
    conn.execute(insert(Org), [{"id": i, "name": n, "kind": k, "region_code": r, "dept_type": d} for i, n, k, r, d in ORGS])
    conn.execute(insert(Staff), [{"id": sid, "name": f"网格员{sid}", "role": "grid_worker", "org_id": 4, "grid_code": g,
                                  "full_time": True, "active": True} for sid, g in worker_grid().items()])


def shifts(conn, staff_ids, day: datetime = DAY) -> None:
    conn.execute(insert(StaffShift), [{"staff_id": s, "starts_at": day + timedelta(hours=8, minutes=30),
                                       "ends_at": day + timedelta(hours=17, minutes=30)} for s in staff_ids])


def pings(conn, staff_id: int, start: datetime, end: datetime) -> None:
    """A ping a minute in [start, end)."""
    rows, t = [], start
    while t < end:
        rows.append({"staff_id": staff_id, "ts": t, "lon": 121.1, "lat": 31.45})
        t += MIN
    if rows:
        conn.execute(insert(StaffPing), rows)


def roster(conn, until: datetime) -> None:
    """Workers 1-6 and 10-14 on duty today; 5 and 6 never ping; 12-14 stop pinging at 09:30."""
    shifts(conn, [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14])
    start = DAY + timedelta(hours=8, minutes=30)
    for sid in (1, 2, 3, 4, 10, 11):
        pings(conn, sid, start, until)
    for sid in (12, 13, 14):
        pings(conn, sid, start, DAY + timedelta(hours=9, minutes=30))


def case(conn, case_id: int, *, reported: datetime, resolve_hours: float, holder: int, last: datetime | None = None,
         grid: str = "320585100001001") -> None:
    """An open case dispatched to ``holder`` five minutes after its report; signed at ``last``."""
    conn.execute(insert(Case).values(
        id=case_id, code=f"320585-T-{case_id:05d}", title="占道经营", category_code="0101", source="patrol",
        urgency="normal", reported_at=reported, grid_code=grid, status="handling", level="county",
        handler_org_id=holder, accept_due_at=reported + 30 * MIN, dispatch_due_at=reported + H,
        resolve_due_at=reported + timedelta(hours=resolve_hours), accepted_at=reported + MIN,
        dispatched_at=reported + 5 * MIN, escalations=0, returns=0, reworks=0, urges=0,
        updated_at=last or reported + 5 * MIN))
    acts = [("report", reported, 1), ("accept", reported + MIN, 1), ("dispatch", reported + 5 * MIN, holder)]
    if last is not None:
        acts.append(("sign", last, holder))
    conn.execute(insert(CaseAction), [{"case_id": case_id, "ts": ts, "action": a, "to_org_id": to} for a, ts, to in acts])


def action(conn, case_id: int, ts: datetime, kind: str = "handle", to_org: int | None = None) -> None:
    conn.execute(insert(CaseAction).values(case_id=case_id, ts=ts, action=kind, to_org_id=to_org))
