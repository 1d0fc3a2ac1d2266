"""Hand-built flow logs for the review meeting's period figures, counted by hand.

County 320585 (太仓市) with streets S1 320585100 (grid G1) and S2 320585101 (grid G4), one grid of
another county, orgs A..E. The week reviewed is Mon 2026-11-16 .. Sun 11-22 (S = 11-16 00:00,
E = 11-23 00:00 local); previous 11-09 .. 11-15; last year 2025-11-16 .. 11-22. Times are local.

    K01 S1 patrol    rep 11-16 09:00 acc 09:10 disp 10:00, closed 11-17 09:00 (24 h), due 11-18 09:00,
                     sat 5, grid level; flow: ->A 11-16 10:00, A returns 12:00, ->B 13:00, B returns
                     20:00, ->C 21:00 (bounced: 2 returns in P; chain A B C; 11 h lost)
    K02 S1 hotline   rep 11-17 08:00 acc 08:30 disp 09:00 (->B), closed 11-20 08:00 (72 h, late: due
                     11-19 08:00), sat 2; extend 11-18 10:00, urge 11-19 09:00, rework 11-19 12:00
    K03 S1 patrol    rep 11-18 10:00, rejected 11-18 11:00
    K04 S1 patrol    rep 11-19 10:00 acc 10:05 disp 11:00 (->A), handling, due 11-21 10:00 (overdue
                     at E); A returns 11-22 23:00 (one return only: not bounced)
    K05 S1 resident  rep 11-20 10:00 acc, closed 11-22 22:00 (60 h), due NULL, no rating, street level
    K06 S1 patrol    rep 11-15 23:59 (previous week) acc 11-16 00:10, closed 11-16 01:00 (61 min),
                     due 11-16 12:00, sat 4, street level (not self-resolved)
    K07 S1 patrol    rep 11-21 10:00 acc 10:10, merged 11-21 11:00
    K08 unlocated    hotline rep 11-18 12:00, reported (open, no deadline): the root only
    K10 S2 video     rep 11-10 09:00 acc 09:30 disp 10:00, handling, due 11-12 09:00 (overdue);
                     ->A 11-10 10:00, A returns 12:00, ->D 13:00, urge 11-14 09:00, D returns
                     11-16 08:00 (bounced in P: 2 returns, one in P; chain A D; 5 d 22 h lost)
    K11 S1 patrol    2025: rep 11-18 09:00 acc 09:05, closed 11-18 20:00 (11 h), due 11-19 09:00,
                     sat 3, community level
    K12 S2 hotline   rep 11-12 09:00 acc 09:10, closed 11-13 09:00 (24 h), due 11-14 09:00, sat 1
    K09 other county: dispatched to C and returned twice in P; never counts.

Calendar edges (no deadline, so they touch only `reported`):
    M1 2025-12-31 23:30, M2 2026-01-01 00:00, M3 2025-01-31 23:59:59, M4 2025-02-01 00:00 (S2);
    L1 2028-02-29 12:00, L2 2028-02-28 23:00, L3 2027-02-28 12:00, L4 2027-03-01 00:00 (S2).

Workers: S1 G1 two active grid workers (plus an inactive one and a leader); S2 G4 one; one on a
grid missing from `grids` (does not count). 3 in all.

The ranking county 320586 (streets R1..R4, week 11-16 .. 11-22) is built by ``ranking_county``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from data_access.models import Case, CaseAction, Grid, Org, Region, Staff
from data_access.period import Period
from data_access.scope import Scope

SH = ZoneInfo("Asia/Shanghai")


def L(text: str) -> datetime:
    """Local time; ``"11-16 09:00"`` is in 2026, or give the year: ``"2025-11-18 09:00"``."""
    if len(text.split("-")[0]) != 4:
        text = f"2026-{text}"
    return datetime.fromisoformat(text).replace(tzinfo=SH)


T = L("11-26 10:00")
T_PARTIAL = L("11-18 12:00")  # Wednesday of the week: E' = T, comparisons cut at 2 d 12 h
COUNTY, S1, S2 = "320585", "320585100", "320585101"
C1, C2 = "320585100001", "320585101001"
G1, G4, GX = "320585100001001", "320585101001001", "320585100001009"
G_OTHER = "320587100001001"
A, B, C, D, E = 1, 2, 3, 4, 5
WEEK = Period.week(L("11-16 00:00").date(), SH)


def scope(region: str = COUNTY, root: str = COUNTY) -> Scope:
    return Scope(region=region, root=root)


REGIONS = [
    dict(code=COUNTY, name="太仓市", level="county", parent_code=None),
    dict(code=S1, name="城厢镇", level="street", parent_code=COUNTY),
    dict(code=S2, name="沙溪镇", level="street", parent_code=COUNTY),
    dict(code=C1, name="东林村", level="community", parent_code=S1),
    dict(code=C2, name="印溪社区", level="community", parent_code=S2),
]
GRIDS = [dict(code=G1, community_code=C1, name="第一网格"), dict(code=G4, community_code=C2, name="第一网格"),
         dict(code=G_OTHER, community_code="320587100001", name="外县网格")]
ORGS = [dict(id=A, name="城市管理局", kind="department", region_code=COUNTY),
        dict(id=B, name="生态环境局", kind="department", region_code=COUNTY),
        dict(id=C, name="住房和城乡建设局", kind="department", region_code=COUNTY),
        dict(id=D, name="水务局", kind="department", region_code=COUNTY),
        dict(id=E, name="交通运输局", kind="department", region_code=COUNTY)]
STAFF = [
    dict(id=1, name="w1", role="grid_worker", grid_code=G1, active=True),
    dict(id=2, name="w2", role="grid_worker", grid_code=G1, active=True),
    dict(id=3, name="w3", role="grid_worker", grid_code=G1, active=False),
    dict(id=4, name="l1", role="grid_leader", grid_code=G1, active=True),
    dict(id=5, name="w5", role="grid_worker", grid_code=G4, active=True),
    dict(id=6, name="w6", role="grid_worker", grid_code=GX, active=True),
]


def _case(id_, code, grid, source, reported, status, **kw):
    row = dict(id=id_, code=code, title=f"事件{code}", category_code="0101", source=source, urgency="normal",
               reported_at=reported, grid_code=grid, status=status, level=kw.pop("level", "grid"),
               escalations=kw.pop("escalations", 0), returns=0, reworks=0, urges=0,
               accepted_at=None, dispatched_at=None, closed_at=None, resolve_due_at=None, satisfaction=None)
    row.update(kw)
    row["updated_at"] = row["closed_at"] or reported
    return row


CASES = [
    _case(1, "K01", G1, "patrol", L("11-16 09:00"), "closed", accepted_at=L("11-16 09:10"),
          dispatched_at=L("11-16 10:00"), closed_at=L("11-17 09:00"), resolve_due_at=L("11-18 09:00"), satisfaction=5),
    _case(2, "K02", G1, "hotline", L("11-17 08:00"), "closed", accepted_at=L("11-17 08:30"),
          dispatched_at=L("11-17 09:00"), closed_at=L("11-20 08:00"), resolve_due_at=L("11-19 08:00"),
          satisfaction=2, level="community"),
    _case(3, "K03", G1, "patrol", L("11-18 10:00"), "rejected", closed_at=L("11-18 11:00")),
    _case(4, "K04", G1, "patrol", L("11-19 10:00"), "handling", accepted_at=L("11-19 10:05"),
          dispatched_at=L("11-19 11:00"), resolve_due_at=L("11-21 10:00")),
    _case(5, "K05", G1, "resident", L("11-20 10:00"), "closed", accepted_at=L("11-20 10:10"),
          closed_at=L("11-22 22:00"), level="street", escalations=1),
    _case(6, "K06", G1, "patrol", L("11-15 23:59"), "closed", accepted_at=L("11-16 00:10"),
          closed_at=L("11-16 01:00"), resolve_due_at=L("11-16 12:00"), satisfaction=4, level="street"),
    _case(7, "K07", G1, "patrol", L("11-21 10:00"), "merged", accepted_at=L("11-21 10:10"),
          closed_at=L("11-21 11:00")),
    _case(8, "K08", None, "hotline", L("11-18 12:00"), "reported"),
    _case(9, "K09", G_OTHER, "patrol", L("11-17 10:00"), "handling", accepted_at=L("11-17 10:05"),
          dispatched_at=L("11-17 11:00"), resolve_due_at=L("11-18 10:00")),
    _case(10, "K10", G4, "video", L("11-10 09:00"), "handling", accepted_at=L("11-10 09:30"),
          dispatched_at=L("11-10 10:00"), resolve_due_at=L("11-12 09:00")),
    _case(11, "K11", G1, "patrol", L("2025-11-18 09:00"), "closed", accepted_at=L("2025-11-18 09:05"),
          closed_at=L("2025-11-18 20:00"), resolve_due_at=L("2025-11-19 09:00"), satisfaction=3, level="community"),
    _case(12, "K12", G4, "hotline", L("11-12 09:00"), "closed", accepted_at=L("11-12 09:10"),
          closed_at=L("11-13 09:00"), resolve_due_at=L("11-14 09:00"), satisfaction=1),
    _case(21, "M1", G4, "hotline", L("2025-12-31 23:30"), "reported"),
    _case(22, "M2", G4, "hotline", L("2026-01-01 00:00"), "reported"),
    _case(23, "M3", G4, "hotline", L("2025-01-31 23:59:59"), "reported"),
    _case(24, "M4", G4, "hotline", L("2025-02-01 00:00"), "reported"),
    _case(31, "L1", G4, "hotline", L("2028-02-29 12:00"), "reported"),
    _case(32, "L2", G4, "hotline", L("2028-02-28 23:00"), "reported"),
    _case(33, "L3", G4, "hotline", L("2027-02-28 12:00"), "reported"),
    _case(34, "L4", G4, "hotline", L("2027-03-01 00:00"), "reported"),
]


def _act(case_id, ts, action, frm=None, to=None):
    return dict(case_id=case_id, ts=L(ts), action=action, from_org_id=frm, to_org_id=to, note=f"{action} 备注")


ACTIONS = [
    _act(1, "11-16 09:00", "report"),
    _act(1, "11-16 10:00", "dispatch", to=A), _act(1, "11-16 12:00", "return", frm=A),
    _act(1, "11-16 13:00", "dispatch", to=B), _act(1, "11-16 20:00", "return", frm=B),
    _act(1, "11-16 21:00", "dispatch", to=C), _act(1, "11-17 09:00", "close", frm=C),
    _act(2, "11-17 09:00", "dispatch", to=B), _act(2, "11-18 10:00", "extend", frm=B),
    _act(2, "11-19 09:00", "urge"), _act(2, "11-19 12:00", "rework", to=B), _act(2, "11-20 08:00", "close", frm=B),
    _act(4, "11-19 11:00", "dispatch", to=A), _act(4, "11-22 23:00", "return", frm=A),
    _act(9, "11-17 11:00", "dispatch", to=C), _act(9, "11-17 12:00", "return", frm=C),
    _act(9, "11-17 13:00", "dispatch", to=C), _act(9, "11-17 14:00", "return", frm=C),
    _act(10, "11-10 10:00", "dispatch", to=A), _act(10, "11-10 12:00", "return", frm=A),
    _act(10, "11-10 13:00", "dispatch", to=D), _act(10, "11-14 09:00", "urge"),
    _act(10, "11-16 08:00", "return", frm=D),
]


def load(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Region), REGIONS)
        conn.execute(insert(Grid), GRIDS)
        conn.execute(insert(Org), ORGS)
        conn.execute(insert(Staff), STAFF)
        conn.execute(insert(Case), CASES)
        conn.execute(insert(CaseAction), [dict(id=i, **row) for i, row in enumerate(ACTIONS, start=1)])


@pytest.fixture
def county(engine):
    load(engine)
    return engine


# --- the ranking county 320586: four streets scored on the week 11-16 .. 11-22 -------------------------

RANK_ROOT = "320586"
R1, R2, R3, R4 = "320586100", "320586101", "320586102", "320586103"


def ranking_cases() -> list[dict]:
    """R1 and R2: 10 due cases each, closed on time, rated 5 (the same score: rank 1 twice);
    R3: 10 due, 5 closed on time (rated 5), 5 open and overdue (rank 3); R4: 9 due (unranked)."""
    rows, n = [], 1000
    plan = {R1: (10, 0), R2: (10, 0), R3: (5, 5), R4: (9, 0)}
    for street, (closed, open_) in plan.items():
        grid = street + "001001"
        for k in range(closed + open_):
            n += 1
            reported = L("11-17 09:00") + timedelta(minutes=k)
            if k < closed:
                rows.append(_case(n, f"R{n}", grid, "hotline", reported, "closed", accepted_at=reported,
                                  closed_at=reported + timedelta(hours=5), resolve_due_at=reported + timedelta(hours=24),
                                  satisfaction=5))
            else:
                rows.append(_case(n, f"R{n}", grid, "hotline", reported, "handling", accepted_at=reported,
                                  resolve_due_at=reported + timedelta(hours=24)))
    return rows


def load_ranking(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Region), [dict(code=RANK_ROOT, name="外县", level="county", parent_code=None)]
                     + [dict(code=s, name=f"街道{s[-1]}", level="street", parent_code=RANK_ROOT)
                        for s in (R1, R2, R3, R4)])
        cases = ranking_cases()
        conn.execute(insert(Case), cases)
        # A platform logs every case's report (its flow log): the returns and reworks are then known 0s.
        conn.execute(insert(CaseAction), [dict(id=5000 + row["id"], case_id=row["id"], ts=row["reported_at"],
                                               action="report", from_org_id=None, to_org_id=None, note=None)
                                          for row in cases])


def sqlite_county(path, *extra) -> str:
    """The hand-built county in a new SQLite file at ``path`` (then each of ``extra``(engine)), as a URL:
    for browser tests whose point is the page, not the backend."""
    from data_access.db import init_db, make_engine

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_db(engine)
    load(engine)
    for more in extra:
        more(engine)
    engine.dispose()
    return url
