"""The operational detectors (SLA risk, backlog growth, staffing, feed staleness) on small
constructed frames whose answer is known. Pure functions: no database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from dashboard.analytics import sla, staffing, stale

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = "320585"
AT = pd.Timestamp(datetime(2026, 11, 25, 10, 30, tzinfo=SHANGHAI)).tz_convert("UTC")
H = pd.Timedelta(hours=1)
MIN = pd.Timedelta(minutes=1)


def _case(id_, *, reported, resolve_h, last=None, accepted=True, dispatched=True, accept_due=None,
          dispatch_due=None, holder=2):
    reported = AT - reported
    return {"id": id_, "code": f"C{id_}", "grid_code": "320585100001001", "category_code": "0101",
            "urgency": "normal", "reported_at": reported,
            "accept_due_at": reported + (accept_due if accept_due is not None else 30 * MIN),
            "dispatch_due_at": reported + (dispatch_due if dispatch_due is not None else H),
            "resolve_due_at": None if resolve_h is None else reported + resolve_h * H,
            "accepted_at": reported + MIN if accepted else None, "dispatched_at": reported + 2 * MIN if dispatched else None,
            "handler_org_id": holder, "holder_org_id": holder,
            "last_progress_at": AT - last if last is not None else reported}


def _cases(*rows) -> pd.DataFrame:
    df = pd.DataFrame(list(rows))
    for col in ("reported_at", "accept_due_at", "dispatch_due_at", "resolve_due_at", "accepted_at", "dispatched_at",
                "last_progress_at"):
        df[col] = pd.to_datetime(df[col], utc=True)
    df["holder_org_id"] = pd.array(df["holder_org_id"], dtype="Int64")
    return df


ORGS = pd.DataFrame([{"id": 2, "name": "城市管理局", "kind": "department", "region_code": ROOT},
                     {"id": 3, "name": "城厢镇人民政府", "kind": "street", "region_code": "320585100"},
                     {"id": 4, "name": "坏数据单位", "kind": "street", "region_code": "bad"}])


def test_at_risk_needs_the_deadline_near_and_no_progress():
    cases = _cases(
        _case(1, reported=22 * H, resolve_h=24, last=10 * H),        # 92 % used, idle 10 h (stall 6 h): at risk
        _case(2, reported=22 * H, resolve_h=24, last=1 * H),         # 92 % used but progressed an hour ago
        _case(3, reported=12 * H, resolve_h=24, last=12 * H),        # 50 % used
        _case(4, reported=30 * H, resolve_h=24, last=29 * H),        # overdue and idle
        _case(5, reported=3 * H, resolve_h=4, last=2 * H),           # 4 h case, 75 % used: not yet
        _case(6, reported=3.5 * H, resolve_h=4, last=1.5 * H),       # 4 h case, 88 % used, idle 1.5 h (stall 1 h)
        _case(7, reported=20 * MIN, resolve_h=24, accepted=False, dispatched=False),   # accept due in 10 min
        _case(8, reported=5 * MIN, resolve_h=24, accepted=False, dispatched=False),    # accept due in 25 min
        _case(9, reported=50 * MIN, resolve_h=24, dispatched=False),                   # dispatch due in 10 min
        _case(10, reported=40 * H, resolve_h=None, last=40 * H),     # no resolve deadline: never in resolve risk
    )
    risky = sla.at_risk_cases(cases, AT)
    assert dict(zip(risky["id"], risky["phase"])) == {1: "resolve", 4: "resolve", 6: "resolve", 7: "accept",
                                                      9: "dispatch"}
    assert risky.iloc[0]["id"] == 4 and bool(risky.iloc[0]["overdue"])  # overdue first
    assert not risky.set_index("id").loc[[1, 6, 7, 9], "overdue"].any()


def test_sla_risk_rolls_up_by_holding_org():
    idle = dict(resolve_h=24, last=20 * H)
    cases = _cases(*[_case(i, reported=23 * H, **idle) for i in range(1, 4)],       # org 2: 3 at risk
                   *[_case(i, reported=30 * H, **idle) for i in range(4, 7)],       # org 2: 3 overdue
                   _case(7, reported=23 * H, holder=3, **idle),                     # org 3: only one
                   *[_case(i, reported=23 * H, holder=4, **idle) for i in (8, 9, 10)],
                   *[_case(i, reported=23 * H, holder=None, **idle) for i in (11, 12, 13)])
    found = {f.dedup_key: f for f in sla.sla_risk_findings(sla.at_risk_cases(cases, AT), ORGS, AT, ROOT)}
    assert set(found) == {"sla:risk:org:2", "sla:risk:org:4", "sla:risk:org:none"}
    org2 = found["sla:risk:org:2"]
    assert org2.kind == "sla" and org2.severity == "critical" and org2.region_code == ROOT
    assert org2.detail["observed"] == 6 and org2.detail["overdue"] == 3
    assert sorted(org2.detail["case_ids"]) == [1, 2, 3, 4, 5, 6] and org2.detail["case_ids"][:3] == [4, 5, 6]
    assert "城市管理局" in org2.title and "6件" in org2.title and "3件已超期" in org2.title
    assert found["sla:risk:org:4"].severity == "warning"
    assert found["sla:risk:org:4"].region_code == ROOT       # a malformed org region falls back to the root
    assert found["sla:risk:org:none"].detail["org"]["id"] is None


def test_sla_risk_keeps_an_open_alert_with_fewer_cases():
    cases = _cases(*[_case(i, reported=23 * H, resolve_h=24, last=20 * H, holder=3) for i in (1, 2)])
    risky = sla.at_risk_cases(cases, AT)
    assert sla.sla_risk_findings(risky, ORGS, AT, ROOT) == []
    kept = sla.sla_risk_findings(risky, ORGS, AT, ROOT, open_keys=frozenset({"sla:risk:org:3"}))
    assert [f.dedup_key for f in kept] == ["sla:risk:org:3"] and kept[0].region_code == "320585100"


def _backlog(rows: dict[int, list[int]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=range(len(next(iter(rows.values())))))


def test_backlog_growth_flags_a_jump_above_the_four_week_distribution():
    rng = np.random.default_rng(1)
    steady = [30] + list(rng.poisson(10, 28))            # usually ~10, now 30
    noisy = [30] + list(rng.choice([2, 25], 28))         # swings between 2 and 25: 30 is not unusual
    small = [4] + [1] * 28                               # 4 times the usual, but only 3 cases more
    usual = [11] + list(rng.poisson(10, 28))
    flagged = sla.backlog_growth(_backlog({1: steady, 2: noisy, 3: small, 4: usual}))
    assert list(flagged.index) == [1]
    row = flagged.loc[1]
    assert row.observed == 30 and 8 < row.expected < 12 and row.p_value < 1e-3 and row.z > 3
    findings = sla.backlog_findings(flagged, pd.DataFrame([{"id": 1, "name": "水务局", "kind": "department",
                                                             "region_code": ROOT}]), AT, ROOT, 28)
    assert findings[0].dedup_key == "sla:backlog:org:1" and findings[0].title.startswith("积压骤增") and findings[0].title.endswith(" · 水务局")


def test_backlog_growth_needs_history():
    assert sla.backlog_growth(_backlog({1: [50] + [10] * 7})).empty


# --- staffing -------------------------------------------------------------------------------

def _workers(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["staff_id", "name", "grid_code", "shift_start", "shift_end", "last_ping"])
    for col in ("shift_start", "shift_end", "last_ping"):
        df[col] = pd.to_datetime(df[col], utc=True)
    return df


START = AT - 2 * H


def test_offline_is_more_than_thirty_minutes_since_the_last_ping_or_the_shift_start():
    workers = _workers([
        (1, "甲", "320585100001001", START, AT + 7 * H, AT - 5 * MIN),     # online
        (2, "乙", "320585100001002", START, AT + 7 * H, AT - 31 * MIN),    # offline 31 min
        (3, "丙", "320585100001003", START, AT + 7 * H, None),             # never pinged this shift: 120 min
        (4, "丁", "320585100001004", AT - 10 * MIN, AT + 7 * H, None),     # started 10 min ago: not yet
        (5, "戊", "320585100001005", START, AT + 7 * H, AT - 30 * MIN),    # exactly 30 min: not more than
    ])
    off = staffing.offline_workers(workers, AT)
    assert dict(zip(off["staff_id"], off["offline_minutes"])) == {2: 31, 3: 120}


def _street_workers(street: str, n: int, offline: int) -> list[tuple]:
    return [(int(street[-3:]) * 1000 + i, "某", f"{street}001{i:03d}", START, AT + 7 * H,
             AT - (45 if i < offline else 2) * MIN) for i in range(n)]


def test_offline_rolls_up_per_street_above_a_share_of_those_on_duty():
    workers = _workers(_street_workers("320585100", 20, 3) + _street_workers("320585101", 100, 3)
                       + _street_workers("320585102", 8, 4))
    off = staffing.offline_workers(workers, AT)
    names = {"320585100": "城厢镇", "320585102": "浏河镇"}
    found = {f.dedup_key: f for f in staffing.offline_findings(off, workers, AT, ROOT, names)}
    # 3 of 20 (15 %) raise; 3 of 100 (3 %) are the usual silent phones; 4 of 8 is critical
    assert set(found) == {"staffing:offline:320585100", "staffing:offline:320585102"}
    assert found["staffing:offline:320585100"].severity == "warning"
    assert found["staffing:offline:320585102"].severity == "critical"
    assert found["staffing:offline:320585100"].title == "3名在岗网格员离线超过30分钟 · 城厢镇"
    assert len(found["staffing:offline:320585100"].detail["workers"]) == 3
    # an open alert is kept with 2 offline (hysteresis)
    workers = _workers(_street_workers("320585100", 20, 2))
    off = staffing.offline_workers(workers, AT)
    assert staffing.offline_findings(off, workers, AT, ROOT, names) == []
    assert len(staffing.offline_findings(off, workers, AT, ROOT, names,
                                         open_keys=frozenset({"staffing:offline:320585100"}))) == 1


def test_ping_density_gate():
    assert staffing.pings_dense_enough(60 * 100, 100, timedelta(hours=1))       # a ping a minute
    assert not staffing.pings_dense_enough(100, 100, timedelta(hours=1))        # a ping an hour (old seed days)
    assert not staffing.pings_dense_enough(0, 0, timedelta(hours=1))


def _grids(spec: dict[str, list[tuple[bool, bool, bool, bool]]]) -> pd.DataFrame:
    """community -> per grid (staffed, on_duty, rostered_today, patrolled_today)."""
    rows = [{"grid_code": f"{community}{i + 1:03d}", "community_code": community, "staffed": s, "on_duty": d,
             "rostered_today": r, "patrolled_today": p}
            for community, grids in spec.items() for i, (s, d, r, p) in enumerate(grids)]
    return pd.DataFrame(rows)


ON = (True, True, True, True)
LEAVE = (True, False, False, False)
VACANT = (False, False, False, False)


def test_uncovered_grids_roll_up_by_community():
    grids = _grids({"320585100001": [ON, ON, LEAVE, LEAVE, VACANT],   # 3 of 5 uncovered
                    "320585100002": [LEAVE, LEAVE],                   # the whole community
                    "320585100003": [ON, ON, ON, LEAVE],              # one grid: the staffing figures show it
                    "320585100004": [VACANT],                         # a one-grid community
                    **{f"320585101{i:03d}": [ON] * 4 for i in range(1, 6)}})
    found = {f.dedup_key: f for f in staffing.uncovered_findings(grids, AT, ROOT, {"320585100001": "城东社区"})}
    assert set(found) == {"staffing:uncovered:320585100001", "staffing:uncovered:320585100002"}
    first = found["staffing:uncovered:320585100001"]
    assert first.severity == "info" and first.title == "3个网格无人在岗 · 城东社区"
    assert first.detail["vacant"] == ["320585100001005"] and len(first.detail["absent"]) == 2
    assert found["staffing:uncovered:320585100002"].severity == "warning"


def test_a_county_wide_gap_is_one_root_alert():
    grids = _grids({f"320585100{i:03d}": [LEAVE, LEAVE, ON] for i in range(1, 8)})
    found = staffing.uncovered_findings(grids, AT, ROOT, {})
    assert [(f.dedup_key, f.region_code, f.severity) for f in found] == [("staffing:uncovered:all", ROOT, "critical")]


def test_patrol_coverage_behind_by_noon_per_street():
    def street(done: int, rostered: int = 10) -> list:
        return [(True, True, True, i < done) for i in range(rostered)] + [LEAVE]
    grids = _grids({"320585100001": street(6), "320585101001": street(4), "320585102001": street(9),
                    "320585103001": street(0, rostered=3)})
    noon = AT + 2 * H
    found = {f.dedup_key: f for f in staffing.patrol_findings(grids, noon, noon - 12 * H, ROOT, {})}
    assert set(found) == {"staffing:patrol:320585100", "staffing:patrol:320585101"}
    assert found["staffing:patrol:320585100"].severity == "warning"
    assert found["staffing:patrol:320585100"].detail["observed"] == 0.6
    assert found["staffing:patrol:320585101"].severity == "critical"
    assert len(found["staffing:patrol:320585101"].detail["unpatrolled"]) == 6


def test_working_hours_are_weekdays_nine_to_five():
    def at(day, hour, minute=0):
        return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)
    assert staffing.in_working_hours(at(25, 9), SHANGHAI)          # Wednesday 09:00
    assert staffing.in_working_hours(at(25, 16, 59), SHANGHAI)
    assert not staffing.in_working_hours(at(25, 17), SHANGHAI)
    assert not staffing.in_working_hours(at(25, 8, 59), SHANGHAI)
    assert not staffing.in_working_hours(at(28, 10), SHANGHAI)     # Saturday


# --- feed staleness -------------------------------------------------------------------------

WEEK = 7 * 86400


def test_usual_age_of_a_regular_feed():
    at = 1_800_000_000.0
    times = np.arange(at - 5 * WEEK + 30, at - 3600, 120.0)      # an event every two minutes for five weeks
    usual, samples = stale.usual_age(times, at)
    assert usual == 90 and samples == 4 * 121  # sampled every minute: ages 30 s and 90 s
    # the threshold is the floor (10 min) here; 20 minutes of silence is stale, 5 minutes is not
    assert stale.judge_feed("cases", times, at - 1200, at).stale
    assert not stale.judge_feed("cases", times, at - 300, at).stale
    verdict = stale.judge_feed("cases", times, at - 1200, at)
    assert verdict.threshold == 600 and verdict.age == 1200


def test_usual_age_follows_the_time_of_week():
    at = 1_800_000_000.0
    # busy every minute except a quiet two hours around this time of week, with an event an hour
    times = np.arange(at - 5 * WEEK, at - 600, 60.0)
    quiet = np.zeros_like(times, dtype=bool)
    for k in range(1, 6):
        quiet |= (times > at - k * WEEK - 2 * 3600) & (times < at - k * WEEK + 2 * 3600)
    times = np.sort(np.concatenate([times[~quiet], [at - k * WEEK + o for k in range(1, 6) for o in (-3600, 0, 3600)]]))
    usual, _ = stale.usual_age(times, at)
    assert usual > 3000  # ages up to an hour are usual at this time of week
    assert not stale.judge_feed("actions", times, at - 2400, at).stale  # 40 minutes: nothing unusual now
    busy = at - 3 * 86400 + 6 * 3600  # another time of the week, busy every minute
    assert stale.judge_feed("actions", times, busy - 2400, busy).stale


def test_a_feed_without_enough_history_is_not_judged():
    at = 1_800_000_000.0
    times = np.arange(at - 9 * 86400, at - 3600, 60.0)   # nine days: one week of samples only
    verdict = stale.judge_feed("cases", times, at - 5 * 3600, at)
    assert verdict.threshold is None and not verdict.stale
    assert stale.usual_age(np.array([]), at) == (None, 0)


def test_stale_finding_names_the_stale_feeds():
    ok = stale.FeedVerdict("cases", 60.0, 600.0, 120.0, 400, False)
    late = stale.FeedVerdict("actions", 2520.0, 600.0, 50.0, 400, True)
    pings = stale.judge_pings(0, 50)
    assert pings.stale and not stale.judge_pings(0, 3).stale and not stale.judge_pings(10, 50).stale
    assert stale.stale_finding([ok], "2026-11-25T10:30:00+08:00", ROOT) is None
    one = stale.stale_finding([ok, late], "2026-11-25T10:30:00+08:00", ROOT)
    assert one.kind == "stale" and one.region_code == ROOT and one.dedup_key == "stale:feed"
    assert one.severity == "warning" and one.title == "数据中断：事件流转已42分钟无更新"
    assert one.detail["observed"] == {"actions": 42.0} and one.detail["threshold"] == {"actions": 10.0}
    both = stale.stale_finding([stale.FeedVerdict("cases", 3000.0, 600.0, 100.0, 400, True), late], "t", ROOT)
    assert both.severity == "critical"
