"""Hand-built data for the review page's hot issues and 26-week trend (times local, Asia/Shanghai).

County 320585 太仓市: streets S1 320585100 城厢镇 (community C1, grid G1) and S2 320585101 沙溪镇
(community C2, grid G4); a grid G_OTHER of another county. Weeks: A = Mon 2026-11-09 .. Sun 11-15,
B = 11-16 .. 11-22 (B is "the week reviewed"); T = Thu 11-26 10:00, T_PARTIAL = Wed 11-18 12:00.

**Trend** (``load_trend``), counted by hand:

    X1 S1 patrol   rep A 11-10 09:00, disp 11-10 10:00, due 11-12 09:00, closed B 11-17 09:00 (late), sat 4
    X2 S1 hotline  rep A 11-11 09:00, disp 11-11 10:00, return 11-11 12:00, closed A 11-13 10:00,
                   due B 11-20 09:00 (early), sat 2
    X3 S2 video    rep B 11-16 08:00, disp 11-16 09:00, return 11-23 10:00 (after B), due 11-18 08:00, open
    X4 S1 hotline  rep 11-05 (week before A), due 11-14 09:00, closed 11-14 08:00 (on time), no rating
    X5 S1 patrol   rep A 11-12 10:00, rejected, due 11-13 (never due: rejected)
    X6 S2 patrol   rep B 11-17 10:00, open, no deadline
    X7 unlocated   hotline rep B 11-18 09:00, due 11-19 09:00, open (the county only)
    X8 other county: rep B, due in B, open (never counts)

    week A: reported X1 X2 X5 = 3 (patrol X1 X5: 2/3); closed X2 X4 = 2 (rated X2 sat 2: 0/1);
            due X1 (deadline) X2 (closed) X4 (both, once) = 3, on time X2 X4 (2/3), closed by E X2 X4 (2/3);
            dispatched X1 X2, returned X2 (1/2); overdue at 11-16 00:00: X1 = 1
    week B: reported X3 X6 X7 = 3 (patrol X6: 1/3); closed X1 = 1 (rated, sat 4: 1/1);
            due X1 (closed) X2 (deadline) X3 X7 (deadline) = 4, on time X2 (1/4), closed by E X1 X2 (2/4);
            dispatched X3, returned none (0/1); overdue at 11-23 00:00: X3 X7 = 2
    week B as of T_PARTIAL (E' = 11-18 12:00): reported X3 X6 X7 = 3; closed X1 = 1; due X1 X3 = 2
            (X2's and X7's deadlines are later), on time none (0/2), closed X1 (1/2); overdue: X3 = 1
            (X7 not yet due)

**Hot issues** (``load_hot``), week B against A (环比) and 2025-11-16 .. 11-22 (同比):

    0101 (市容环境 > 暴露垃圾): B 20 (S1 14, S2 6), A 2, last year 3
    0102 (市容环境 > 道路不洁): B 3 (S2), A 3, last year 0
    0201 (宣传广告 > 非法小广告): B 1 (unlocated: the county only), A 0, last year 0
    a case without a category in B (left out); 0101 cases of another county in B (never count);
    one 0201 case in each street on 2024-06-03 (outside every window: the history starts before
    last year's week, so 同比 is a fair comparison)
    -> major 01: B 23 (S1 14, S2 9), A 5, last year 3; major 02: 1, 0, 0
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from data_access.models import Case, CaseAction, Category, Grid, Region
from data_access.period import Period
from data_access.scope import Scope

SH = ZoneInfo("Asia/Shanghai")


def L(text: str) -> datetime:
    """Local time; ``"11-16 09:00"`` is in 2026, or give the year: ``"2025-11-18 09:00"``."""
    if len(text.split("-")[0]) != 4:
        text = f"2026-{text}"
    return datetime.fromisoformat(text).replace(tzinfo=SH)


T = L("11-26 10:00")
T_PARTIAL = L("11-18 12:00")
COUNTY, S1, S2 = "320585", "320585100", "320585101"
C1, C2 = "320585100001", "320585101001"
G1, G4, G_OTHER = "320585100001001", "320585101001001", "320587100001001"
WEEK_A = Period.week(L("11-09 00:00").date(), SH)
WEEK_B = Period.week(L("11-16 00:00").date(), SH)


def scope(region: str = COUNTY) -> Scope:
    return Scope(region=region, root=COUNTY)


REGIONS = [
    dict(code=COUNTY, name="太仓市", level="county", parent_code=None),
    dict(code=S1, name="城厢镇", level="street", parent_code=COUNTY),
    dict(code=S2, name="沙溪镇", level="street", parent_code=COUNTY),
    dict(code=C1, name="东林村", level="community", parent_code=S1),
    dict(code=C2, name="印溪社区", level="community", parent_code=S2),
]
GRIDS = [dict(code=G1, community_code=C1, name="第一网格"), dict(code=G4, community_code=C2, name="第四网格"),
         dict(code=G_OTHER, community_code="320587100001", name="外县网格")]
CATEGORIES = [
    dict(code="01", parent_code=None, name="市容环境"), dict(code="0101", parent_code="01", name="暴露垃圾"),
    dict(code="0102", parent_code="01", name="道路不洁"), dict(code="02", parent_code=None, name="宣传广告"),
    dict(code="0201", parent_code="02", name="非法小广告"),
]


def _case(id_, code, grid, source, reported, status="handling", **kw):
    row = dict(id=id_, code=code, title=f"事件{code}", category_code=kw.pop("category", "0101"), source=source,
               urgency="normal", reported_at=reported, grid_code=grid, status=status, level="grid", escalations=0,
               returns=0, reworks=0, urges=0, accepted_at=None, dispatched_at=None, closed_at=None,
               resolve_due_at=None, satisfaction=None)
    row.update(kw)
    row["updated_at"] = row["closed_at"] or reported
    return row


def _act(case_id, ts, action, frm=None, to=None):
    return dict(case_id=case_id, ts=ts, action=action, from_org_id=frm, to_org_id=to, note=None)


def load_places(engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Region), REGIONS)
        conn.execute(insert(Grid), GRIDS)
        conn.execute(insert(Category), CATEGORIES)


# --- the trend ------------------------------------------------------------------------------------

TREND_CASES = [
    _case(1, "X1", G1, "patrol", L("11-10 09:00"), "closed", dispatched_at=L("11-10 10:00"),
          resolve_due_at=L("11-12 09:00"), closed_at=L("11-17 09:00"), satisfaction=4),
    _case(2, "X2", G1, "hotline", L("11-11 09:00"), "closed", dispatched_at=L("11-11 10:00"),
          closed_at=L("11-13 10:00"), resolve_due_at=L("11-20 09:00"), satisfaction=2),
    _case(3, "X3", G4, "video", L("11-16 08:00"), dispatched_at=L("11-16 09:00"), resolve_due_at=L("11-18 08:00")),
    _case(4, "X4", G1, "hotline", L("11-05 09:00"), "closed", resolve_due_at=L("11-14 09:00"),
          closed_at=L("11-14 08:00")),
    _case(5, "X5", G1, "patrol", L("11-12 10:00"), "rejected", resolve_due_at=L("11-13 10:00"),
          closed_at=L("11-12 11:00")),
    _case(6, "X6", G4, "patrol", L("11-17 10:00")),
    _case(7, "X7", None, "hotline", L("11-18 09:00"), resolve_due_at=L("11-19 09:00")),
    _case(8, "X8", G_OTHER, "hotline", L("11-17 09:00"), dispatched_at=L("11-17 10:00"),
          resolve_due_at=L("11-18 09:00")),
]
TREND_ACTIONS = [
    _act(1, L("11-10 10:00"), "dispatch", to=1), _act(2, L("11-11 10:00"), "dispatch", to=1),
    _act(2, L("11-11 12:00"), "return", frm=1), _act(3, L("11-16 09:00"), "dispatch", to=2),
    _act(3, L("11-23 10:00"), "return", frm=2), _act(8, L("11-17 10:00"), "dispatch", to=2),
    _act(8, L("11-17 11:00"), "return", frm=2),
]


def load_trend(engine) -> None:
    load_places(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case), TREND_CASES)
        conn.execute(insert(CaseAction), [dict(id=i, **row) for i, row in enumerate(TREND_ACTIONS, start=1)])


def load_random(engine, seed: int = 14, n: int = 400) -> None:
    """``n`` cases of random lifecycles over the 30 weeks before T, times often on a week's boundary
    (Monday 00:00) or on T itself; every status, NULL deadlines and ratings, returns before and after
    the weeks they are counted in, unlocated cases and another county's."""
    rng = random.Random(seed)
    start = L("2026-04-27 00:00")  # a Monday, 30 weeks before T's week
    span = (T - start).total_seconds()
    boundaries = [start + timedelta(days=7 * k) for k in range(31)] + [T]

    def moment():
        if rng.random() < 0.15:
            return rng.choice(boundaries) + rng.choice((timedelta(0), -timedelta(seconds=1), timedelta(seconds=1)))
        return start + timedelta(seconds=rng.uniform(0, span))

    cases, actions = [], []
    for i in range(1, n + 1):
        reported = moment()
        grid = rng.choice((G1, G4, G4, None, G_OTHER)) if rng.random() < 0.2 else rng.choice((G1, G4))
        status = rng.choice(("closed", "closed", "closed", "handling", "rejected", "merged", "reported"))
        due = None if rng.random() < 0.1 else (reported + timedelta(hours=rng.choice((4, 24, 72, 168, 400))))
        if rng.random() < 0.1:
            due = rng.choice(boundaries)
        closed = None
        if status in ("closed", "rejected", "merged") or rng.random() < 0.05:
            closed = reported + timedelta(hours=rng.uniform(0.5, 500))
            if rng.random() < 0.1:
                closed = rng.choice(boundaries)
        dispatched = reported + timedelta(hours=rng.uniform(0.1, 30)) if rng.random() < 0.7 else None
        if dispatched is not None and rng.random() < 0.1:
            dispatched = rng.choice(boundaries)
        cases.append(_case(i, f"R{i}", grid, rng.choice(("patrol", "hotline", "video", None)), reported, status,
                           dispatched_at=dispatched, resolve_due_at=due, closed_at=closed,
                           satisfaction=rng.choice((None, None, 1, 2, 3, 4, 5)) if status == "closed" else None))
        if dispatched is not None and rng.random() < 0.35:
            for _ in range(rng.choice((1, 1, 2))):
                ts = dispatched + timedelta(hours=rng.uniform(0.5, 300))
                if rng.random() < 0.15:
                    ts = rng.choice(boundaries)
                actions.append(_act(i, ts, "return", frm=1))
        if rng.random() < 0.1:
            actions.append(_act(i, reported + timedelta(hours=1), "urge"))
    load_places(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case), cases)
        if actions:
            conn.execute(insert(CaseAction), [dict(id=k, **row) for k, row in enumerate(actions, start=1)])


# --- hot issues -----------------------------------------------------------------------------------

def _many(first_id: int, n: int, grid, category: str, day: str) -> list[dict]:
    """``n`` cases of a category reported an hour apart from ``day`` 08:00."""
    return [_case(first_id + k, f"H{first_id + k}", grid, "hotline", L(f"{day} 08:00") + timedelta(hours=k),
                  category=category) for k in range(n)]


HOT_CASES = (
    _many(100, 14, G1, "0101", "11-17") + _many(200, 6, G4, "0101", "11-18")   # 0101 in B: S1 14, S2 6
    + _many(300, 2, G1, "0101", "11-10")                                     # 0101 in A
    + _many(400, 3, G4, "0101", "2025-11-19")                                # 0101 last year
    + _many(500, 3, G4, "0102", "11-20") + _many(600, 3, G1, "0102", "11-12")  # 0102: B 3 (S2), A 3
    + _many(700, 1, None, "0201", "11-21")                                   # 0201 unlocated, B
    + [_case(800, "H800", G1, "hotline", L("11-19 09:00"), category=None)]   # no category
    + _many(900, 5, G_OTHER, "0101", "11-19")                                # another county
    + _many(950, 1, G1, "0201", "2024-06-03") + _many(960, 1, G4, "0201", "2024-06-03")  # the history's start
)


def load_hot(engine) -> None:
    load_places(engine)
    with engine.begin() as conn:
        conn.execute(insert(Case), HOT_CASES)
