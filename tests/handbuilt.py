"""A small county built by hand, for proving the contract's figures with numbers counted by hand.

County 320585 (太仓市) at T = 2026-11-26 10:00 Asia/Shanghai (02:00 UTC):

    320585100 城厢镇 (street S1)                        320585101 沙溪镇 (street S2)
      320585100001 C1: grids G1 ...001001, G2 ...001002   320585101001 C3: G4 ...001001, G5 ...001002,
                        (+ GX ...001009, not in `grids`)                      G6 ...001003 (vacant)
      320585100002 C2: grid G3 ...002001

plus one grid of another county (320586) that must never count. Every case, staff member, ping
and alert below exists to hit, or narrowly miss, one condition of a figure; the test files hold
the expected figures, counted by hand from the comments here. Times are written in local time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from data_access.models import Alert, Case, Category, Grid, Region, Staff, StaffPing, StaffShift
from data_access.moment import Moment
from data_access.scope import Scope
from data_access.scoped import in_scope

SH = ZoneInfo("Asia/Shanghai")


def L(text: str) -> datetime:
    """A local (Asia/Shanghai) time in 2026, e.g. ``L("11-26 10:00")``; seconds optional."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=SH)


T = L("11-26 10:00")          # the moment of the wall: midnight(T) = 11-26 00:00, W7 = (11-19 10:00, T]
T_PAST = L("11-26 08:00")     # the same database seen two hours earlier: W7 = (11-19 08:00, 11-26 08:00]

COUNTY = "320585"
S1, S2 = "320585100", "320585101"
C1, C2, C3 = "320585100001", "320585100002", "320585101001"
G1, G2, G3 = "320585100001001", "320585100001002", "320585100002001"
G4, G5, G6 = "320585101001001", "320585101001002", "320585101001003"
GX = "320585100001009"          # a grid code used by rows but missing from table grids
OTHER_COUNTY = "320586"
G_OTHER = "320586100001001"


def moment(at: datetime = T) -> Moment:
    return Moment(at, SH)


def scope(region: str = COUNTY) -> Scope:
    return Scope(region=region, root=COUNTY)


REGIONS = [
    dict(code="3205", name="苏州市", level="city", parent_code=None),
    dict(code=COUNTY, name="太仓市", level="county", parent_code="3205"),
    dict(code=S1, name="城厢镇", level="street", parent_code=COUNTY),
    dict(code=S2, name="沙溪镇", level="street", parent_code=COUNTY),
    dict(code=C1, name="东林村", level="community", parent_code=S1),
    dict(code=C2, name="电站村", level="community", parent_code=S1),
    dict(code=C3, name="印溪社区", level="community", parent_code=S2),
    dict(code=OTHER_COUNTY, name="外县", level="county", parent_code="3205"),
]

GRIDS = [
    dict(code=G1, community_code=C1, name="第一网格", kind="basic"),
    dict(code=G2, community_code=C1, name="第二网格", kind="basic"),
    dict(code=G3, community_code=C2, name="第一网格", kind="basic"),
    dict(code=G4, community_code=C3, name="第一网格", kind="basic"),
    dict(code=G5, community_code=C3, name="第二网格", kind="special"),
    dict(code=G6, community_code=C3, name="第三网格", kind="basic"),
    dict(code=G_OTHER, community_code="320586100001", name="外县网格", kind="basic"),
]

CATEGORIES = [
    dict(code="01", parent_code=None, name="市容环境"),
    dict(code="0101", parent_code="01", name="暴露垃圾", tier="A", accept_minutes=30,
         dispatch_minutes=60, resolve_hours=4),
]


def _case(code, grid, reported, **kw):
    row = dict(code=code, title=code, grid_code=grid, reported_at=reported, category_code="0101",
               source="hotline", urgency="normal", status="handling", level="grid", escalations=0,
               returns=0, reworks=0, urges=0, satisfaction=None, accept_due_at=None,
               dispatch_due_at=None, resolve_due_at=None, accepted_at=None, dispatched_at=None,
               closed_at=None, updated_at=reported or T)
    row.update(kw)
    return row


# Each comment says what the case is for; "due" is resolve_due_at. Nothing else is set.
CASES = [
    # --- A: open at T, and the moment ---
    _case("A1", G1, L("11-26 10:00"), status="reported"),                 # reported exactly at T: open, new today
    _case("A2", G1, L("11-26 10:00:01"), status="reported"),              # reported 1 s after T: nothing
    _case("A3", G2, L("11-20 09:00"), status="closed", closed_at=L("11-26 10:00"),
          resolve_due_at=L("11-27 09:00")),                               # closed exactly at T: not open; closed today;
                                                                          # closed in W7 with due after T: due_7d, on time
    _case("A4", G2, L("11-24 09:00"), status="closed", closed_at=L("11-26 11:00"),
          resolve_due_at=L("11-28 09:00")),                               # closed after T: open at T (80 % at 11-27 13:48)
    _case("A5", G3, L("11-25 09:00"), status=None,
          resolve_due_at=L("11-26 08:00")),                               # NULL status: open, overdue; not due_7d (NOT IN is NULL)
    # --- B: overdue and warning ---
    _case("B1", G1, L("11-25 10:00"), resolve_due_at=L("11-26 10:00")),   # due == T: not overdue; 100 % used: warning; due_7d
    _case("B2", G1, L("11-25 10:00"), resolve_due_at=L("11-26 09:59")),   # due 1 min before T: overdue (not warning); due_7d
    _case("B3", G3, L("11-25 22:00"), resolve_due_at=L("11-26 13:00")),   # 15 h budget, 12 h used = exactly 80 %: warning
    _case("B4", G3, L("11-25 22:00"), resolve_due_at=L("11-26 13:00:01")),  # 80 % falls 0.8 s after T: not warning
    _case("B5", G4, L("11-20 09:00")),                                    # NULL due: open only, never overdue/warning
    _case("B6", G4, L("11-01 09:00"), status="dispatched",
          resolve_due_at=L("11-05 09:00")),                               # overdue, due long before W7: not due_7d
    # --- C: accept_overdue / dispatch_overdue ---
    _case("C1", G2, L("11-26 08:00"), status="reported",
          accept_due_at=L("11-26 08:30")),                                # never accepted, accept due passed: accept_overdue; new today
    _case("C2", G2, L("11-25 08:00"), status="accepted", accept_due_at=L("11-25 08:30"),
          accepted_at=L("11-26 10:30")),                                  # accepted after T = not yet at T: accept_overdue
    _case("C3", G2, L("11-25 08:00"), status="accepted", accept_due_at=L("11-25 08:30"),
          accepted_at=L("11-26 10:00")),                                  # accepted (late) exactly at T: not accept_overdue
                                                                          # at T; accept_overdue at T_PAST
    _case("C4", G5, L("11-26 09:00"), status="reported",
          accept_due_at=L("11-26 10:00")),                                # accept due == T: not overdue; new today
    _case("C5", G5, L("11-25 08:00"), status="dispatched", accept_due_at=L("11-25 08:30"),
          accepted_at=L("11-25 08:10"), dispatch_due_at=L("11-25 09:00"),
          dispatched_at=L("11-26 12:00")),                                # dispatched after T: dispatch_overdue
    _case("C6", G3, L("11-25 08:00"), status="accepted", accepted_at=L("11-25 08:10"),
          dispatch_due_at=L("11-25 09:00")),                              # never dispatched: dispatch_overdue
    _case("C7", G3, L("11-25 08:00"), status="dispatched", accepted_at=L("11-25 08:10"),
          dispatch_due_at=L("11-25 09:00"),
          dispatched_at=L("11-26 10:00")),                                # dispatched exactly at T: not dispatch_overdue
    _case("C8", G1, L("11-25 08:00"), status="rejected", accept_due_at=L("11-25 08:30"),
          closed_at=L("11-25 12:00")),                                    # rejected yesterday: not open, so not accept_overdue
    # --- D: today around local midnight ---
    _case("D1", G4, L("11-25 23:59"), status="reported"),                 # 15:59 UTC yesterday: open, not new today
    _case("D2", G4, L("11-26 00:00"), status="reported"),                 # 00:00 local today: open, new today
    _case("D3", G1, L("11-25 09:00"), status="closed", closed_at=L("11-26 00:00"),
          resolve_due_at=L("11-25 12:00"), source="patrol", level="grid",
          satisfaction=5),                                                # closed at 00:00 today: closed today; closed late;
                                                                          # patrol, self-resolved; satisfied
    _case("D4", G2, L("11-25 09:00"), status="closed", closed_at=L("11-25 23:59"),
          resolve_due_at=L("11-26 09:00"), source="patrol", level="community",
          escalations=1, satisfaction=3),                                 # closed 23:59 yesterday: not closed today; on time;
                                                                          # escalated: not self-resolved; 3 counts as satisfied
    _case("D5", G5, L("11-26 01:00"), status="rejected", closed_at=L("11-26 02:00"),
          source="patrol"),                                               # rejected today: new today, not closed today
    _case("D6", G5, L("11-26 03:00"), status="merged", closed_at=L("11-26 03:30"),
          resolve_due_at=L("11-26 07:00")),                               # merged today: new today; due in W7 but not due_7d
    # --- E: the 7-day rates ---
    _case("E1", G4, L("11-18 09:00"), resolve_due_at=L("11-19 10:00")),   # due exactly T - 7 d: not due_7d (open, overdue)
    _case("E2", G4, L("11-18 09:00"), status="closed", closed_at=L("11-19 10:00"),
          resolve_due_at=L("11-19 10:01"), source="patrol", level="county",
          escalations=2, satisfaction=1),                                 # due 1 min inside W7: due_7d, closed on time;
                                                                          # closed at T - 7 d: outside W7 for the ratings
    _case("E3", G5, L("11-20 09:00"), status="closed", closed_at=L("11-22 09:00"),
          resolve_due_at=L("11-21 09:00"), satisfaction=2),               # closed late: due_7d, closed, not on time; rated 2
    _case("E4", G4, L("11-26 11:00"), status="reported",
          resolve_due_at=L("11-26 09:00")),                               # reported after T, due in W7: nothing at T
    _case("E5", G5, L("11-24 09:00"), status="closed", closed_at=L("11-26 12:00"),
          resolve_due_at=L("11-26 08:00"), satisfaction=4),               # closed after T, due in W7: open and overdue at T;
                                                                          # due_7d, not closed by T
    _case("E6", G3, L("11-23 09:00"), status="closed", closed_at=L("11-24 09:00"),
          source="patrol", level="street"),                               # NULL due, closed in W7: due_7d, closed, not on time;
                                                                          # unrated; patrol at street level: not self-resolved
    _case("E8", G1, L("11-24 09:00"), category_code="9999", status="closed",
          closed_at=L("11-25 09:00"), resolve_due_at=L("11-25 09:00"), source="patrol",
          level="community", satisfaction=4),                             # unknown category: counts everywhere it qualifies;
                                                                          # closed exactly at its due: on time
    _case("E9", G2, L("11-20 09:00"), status="closed", closed_at=None,
          resolve_due_at=L("11-22 09:00")),                               # 'closed' with NULL closed_at: open and overdue
                                                                          # by the letter; due_7d, not closed by T
    # --- F: location and bad rows ---
    _case("F1", None, L("11-25 09:00"), resolve_due_at=L("11-25 18:00")),  # unlocated: open, overdue, due_7d at the root only
    _case("F2", None, L("11-26 09:30"), status="reported"),               # unlocated: open, new today at the root only
    _case("F3", G_OTHER, L("11-25 09:00"), resolve_due_at=L("11-26 09:00"),
          status="closed", closed_at=L("11-26 09:00"), source="patrol",
          satisfaction=1),                                                # another county: never counts
    _case("F4", GX, L("11-25 12:00")),                                    # grid code not in table grids: open in C1 by prefix
    _case("F5", G1, None, resolve_due_at=L("11-26 09:00")),               # NULL reported_at: never open, not due_7d
    _case("F6", G3, None, status="closed", closed_at=L("11-26 08:00"), source="patrol",
          level="grid", satisfaction=5),                                  # NULL reported_at, closed today: closed_today, rated,
                                                                          # self-resolved (those definitions ignore reported_at)
]

# Staff. "worker" below means an active grid_worker.
STAFF = [
    dict(id=1, name="W1", role="grid_worker", grid_code=G1, full_time=True, active=True),
    dict(id=2, name="W2", role="grid_worker", grid_code=G1, full_time=False, active=True),   # G1 has two
    dict(id=3, name="W3", role="grid_worker", grid_code=G2, full_time=True, active=True),
    dict(id=4, name="W4", role="grid_worker", grid_code=G3, full_time=True, active=False),   # inactive: G3 unstaffed
    dict(id=5, name="W5", role="grid_worker", grid_code=G4, full_time=True, active=True),
    dict(id=6, name="W6", role="grid_worker", grid_code=GX, full_time=True, active=True),    # grid not in table
    dict(id=7, name="L1", role="grid_leader", grid_code=G5, full_time=True, active=True),    # a leader, not a worker
    dict(id=8, name="W8", role="grid_worker", grid_code=G5, full_time=True, active=None),    # NULL active: not active
    dict(id=9, name="W9", role="grid_worker", grid_code=None, full_time=True, active=True),  # no grid
    dict(id=10, name="W10", role="grid_worker", grid_code=G_OTHER, full_time=True, active=True),
]

SHIFTS = [
    dict(staff_id=1, starts_at=L("11-26 08:00"), ends_at=L("11-26 16:00")),  # on duty at T and at T_PAST (start inclusive)
    dict(staff_id=2, starts_at=L("11-26 10:00"), ends_at=L("11-26 18:00")),  # starts exactly at T: on duty at T
    dict(staff_id=3, starts_at=L("11-26 02:00"), ends_at=L("11-26 10:00")),  # ends exactly at T: off duty at T, on at T_PAST
    dict(staff_id=3, starts_at=L("11-25 08:00"), ends_at=L("11-25 16:00")),  # yesterday
    dict(staff_id=4, starts_at=L("11-26 08:00"), ends_at=L("11-26 16:00")),  # inactive worker
    dict(staff_id=5, starts_at=L("11-26 09:00"), ends_at=L("11-26 17:00")),  # on duty at T, not at T_PAST
    dict(staff_id=5, starts_at=L("11-20 09:00"), ends_at=None),              # bad row: NULL end never matches
    dict(staff_id=6, starts_at=L("11-26 08:00"), ends_at=L("11-26 16:00")),  # ghost-grid worker
    dict(staff_id=7, starts_at=L("11-26 08:00"), ends_at=L("11-26 16:00")),  # leader
    dict(staff_id=10, starts_at=L("11-26 08:00"), ends_at=L("11-26 16:00")),  # other county
]

PINGS = [
    (1, L("11-26 08:00")),     # W1: at T_PAST exactly (online then); patrols G1 today
    (1, L("11-26 09:55")),     # W1: inside (T - 10 min, T]: online at T
    (2, L("11-26 09:50")),     # W2: exactly T - 10 min, the open end: not online
    (3, L("11-26 00:00")),     # W3: local midnight exactly: patrols G2 today (also at T_PAST)
    (3, L("11-26 09:58")),     # W3: in the window but off duty at T: not online
    (4, L("11-26 09:59")),     # inactive W4: G3 not patrolled, not online
    (5, L("11-25 23:59")),     # W5: yesterday, does not patrol today
    (5, L("11-26 10:00")),     # W5: exactly T: online at T, G4 patrolled at T (not at T_PAST)
    (5, L("11-26 10:05")),     # W5: after T: ignored
    (6, L("11-26 09:59")),     # ghost-grid worker
    (7, L("11-26 09:00")),     # leader on G5: G5 not patrolled
    (10, L("11-26 09:59")),    # other county
]

ALERTS = [
    dict(id=1, region_code=COUNTY, status="new", created_at=L("11-26 09:00")),
    dict(id=2, region_code=S1, status="acknowledged", created_at=L("11-25 09:00")),
    dict(id=3, region_code=G4, status="new", created_at=L("11-26 10:00")),          # grid-level, created exactly at T
    dict(id=4, region_code=S2, status="new", created_at=L("11-26 10:00:01")),       # created after T
    dict(id=5, region_code=S1, status="resolved", created_at=L("11-25 09:00")),
    dict(id=6, region_code=C1, status="dismissed", created_at=L("11-25 09:00")),
    dict(id=7, region_code=OTHER_COUNTY, status="new", created_at=L("11-25 09:00")),
    dict(id=8, region_code=None, status="new", created_at=L("11-25 09:00")),
    dict(id=9, region_code=G1, status="acknowledged", created_at=L("11-26 08:30"),
         ack_at=L("11-26 09:30")),                                                   # acknowledged later: current status counts
    dict(id=10, region_code=C3, status=None, created_at=L("11-25 09:00")),
    dict(id=11, region_code=COUNTY, status="new", created_at=None),
    dict(id=12, region_code="3205", status="new", created_at=L("11-25 09:00")),       # the city, above the county
]


def build(engine) -> None:
    """Write the hand-built county into an empty database."""
    alerts = [dict(kind="sla", severity="warning", title=f"alert {a['id']}", detail="{}", source="gridwall",
                   category_code=None, ack_by=None, resolved_at=None, dedup_key=None,
                   **{"ack_at": None, **a})
              for a in ALERTS]
    with engine.begin() as conn:
        conn.execute(insert(Region), [dict(boundary=None, **r) for r in REGIONS])
        conn.execute(insert(Grid), [dict(boundary=None, households=None, population=None, **g) for g in GRIDS])
        conn.execute(insert(Category), [dict(dict.fromkeys(("tier", "accept_minutes", "dispatch_minutes",
                                                             "resolve_hours", "dept_type")), **c)
                                        for c in CATEGORIES])
        conn.execute(insert(Case), CASES)
        conn.execute(insert(Staff), [dict(org_id=None, **s) for s in STAFF])
        conn.execute(insert(StaffShift), SHIFTS)
        conn.execute(insert(StaffPing), [dict(staff_id=s, ts=ts, lon=121.1, lat=31.45) for s, ts in PINGS])
        conn.execute(insert(Alert), alerts)


@pytest.fixture
def county(engine):
    """The hand-built county on the test's backend."""
    build(engine)
    return engine


def figures_of(engine, fn, region: str = COUNTY, at: datetime = T):
    """``fn(conn, scope(region), moment(at))``, one of data_access.figures' functions."""
    with engine.connect() as conn:
        return fn(conn, scope(region), moment(at))


def case_codes(engine, where, region: str = COUNTY) -> set[str]:
    """The codes of the cases in ``region`` matching a SQL condition: names the cases behind a count."""
    with engine.connect() as conn:
        stmt = select(Case.code).where(where, in_scope(scope(region), Case))
        return set(conn.execute(stmt).scalars())
