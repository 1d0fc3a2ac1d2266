"""The review meeting's period figures on hand-built flow logs (tests/review_handbuilt.py), both backends."""

from __future__ import annotations

from datetime import date, datetime

from pytest import approx
from sqlalchemy import insert, select

from data_access.models import Case, CaseAction, Grid, Org, Staff
from data_access.period import Period
from data_access.review import (CHILD_LENGTH, FIGURE_KEYS, WINDOWS, bounced_cases, case_flow, departments,
                                period_figures, review_figures)
from data_access.scope import Scope

from tests.review_handbuilt import (A, B, C, COUNTY, D, S1, S2, SH, T, T_PARTIAL, WEEK, county, scope)  # noqa: F401


def F(**kw):
    """A full figures object: every key of the contract, the given values, approx for floats."""
    out = {k: kw.pop(k) for k in list(kw) if k in FIGURE_KEYS or k in ("dispatched", "rated", "patrol_closed")}
    assert not kw, kw
    return {k: approx(v) if isinstance(v, float) else v for k, v in out.items()}


def pick(figs: dict) -> dict:
    return {k: figs[k] for k in FIGURE_KEYS}


def test_a_whole_week_and_its_comparisons_at_the_root(county):
    with county.connect() as conn:
        got = period_figures(conn, scope(), WEEK, T)
    # Reported in P: K01 K02 K03 K04 K05 K07 K08 (K06 at 11-15 23:59 is the previous week's).
    # Due: K01 K02 K04 (due in P), K05 (NULL due, closed in P), K06 (closed in P); K10 falls due before P.
    # On time: K01, K06 (K02 late, K05 NULL due). Closed: K01 K02 K05 K06 (medians 1.0167 24 60 72 h).
    # Rated: K01 5, K02 2, K06 4. Patrol closed K01 (grid) K06 (street). Dispatched in P: K01 K02 K04;
    # returned K01 K04. Rework: K02. Extension: K02. Urged in P: K02. Reports per worker: K01 K04 / 3.
    assert pick(got["current"]) == F(
        reported=7, by_source={"hotline": 2, "patrol": 4, "resident": 1}, patrol_share=4 / 7, accepted=5,
        rejected=1, closed=4, due=5, on_time_rate=2 / 5, closed_rate=4 / 5, overdue_at_end=2,
        median_close_hours=42.0, satisfied_rate=2 / 3, self_resolved_rate=1 / 2, return_rate=2 / 3,
        rework_rate=1 / 4, extension_rate=1 / 5, urged=1, workers=3, reports_per_worker=2 / 3)
    # Previous week: K10 K12 K06 reported; K06 accepted only after E (11-16 00:10). Due K10 K12; K12 on time.
    # Overdue at E: K10. Returns: K10 (dispatched 11-10, returned 11-10 12:00). Urged: K10 (11-14).
    assert pick(got["previous"]) == F(
        reported=3, by_source={"hotline": 1, "patrol": 1, "video": 1}, patrol_share=1 / 3, accepted=2,
        rejected=0, closed=1, due=2, on_time_rate=1 / 2, closed_rate=1 / 2, overdue_at_end=1,
        median_close_hours=24.0, satisfied_rate=0.0, self_resolved_rate=None, return_rate=1.0, rework_rate=0.0,
        extension_rate=0.0, urged=1, workers=3, reports_per_worker=0.0)
    # Last year: K11 alone; nothing dispatched (return rate NULL).
    assert pick(got["last_year"]) == F(
        reported=1, by_source={"patrol": 1}, patrol_share=1.0, accepted=1, rejected=0, closed=1, due=1,
        on_time_rate=1.0, closed_rate=1.0, overdue_at_end=0, median_close_hours=11.0, satisfied_rate=1.0,
        self_resolved_rate=1.0, return_rate=None, rework_rate=0.0, extension_rate=0.0, urged=0, workers=3,
        reports_per_worker=1 / 3)


def test_a_partial_week_is_compared_like_for_like(county):
    # At Wednesday 11-18 12:00: P = [11-16 00:00, 11-18 12:00); previous [11-09, 11-11 12:00);
    # last year [2025-11-16, 2025-11-18 12:00). K08 reported exactly at E' is outside.
    with county.connect() as conn:
        got = period_figures(conn, scope(), WEEK, T_PARTIAL)
    assert WEEK.partial(T_PARTIAL)
    assert pick(got["current"]) == F(
        reported=3, by_source={"hotline": 1, "patrol": 2}, patrol_share=2 / 3, accepted=2, rejected=1, closed=2,
        due=2, on_time_rate=1.0, closed_rate=1.0, overdue_at_end=1, median_close_hours=(24 + 61 / 60) / 2,
        satisfied_rate=1.0, self_resolved_rate=0.5, return_rate=0.5, rework_rate=0.0, extension_rate=0.0,
        urged=0, workers=3, reports_per_worker=1 / 3)
    assert pick(got["previous"]) == F(
        reported=1, by_source={"video": 1}, patrol_share=0.0, accepted=1, rejected=0, closed=0, due=0,
        on_time_rate=None, closed_rate=None, overdue_at_end=0, median_close_hours=None, satisfied_rate=None,
        self_resolved_rate=None, return_rate=1.0, rework_rate=None, extension_rate=None, urged=0, workers=3,
        reports_per_worker=0.0)
    # K11 was reported 2025-11-18 09:00 (inside the cut) but closed at 20:00 (outside).
    assert pick(got["last_year"]) == F(
        reported=1, by_source={"patrol": 1}, patrol_share=1.0, accepted=1, rejected=0, closed=0, due=0,
        on_time_rate=None, closed_rate=None, overdue_at_end=0, median_close_hours=None, satisfied_rate=None,
        self_resolved_rate=None, return_rate=None, rework_rate=None, extension_rate=None, urged=0, workers=3,
        reports_per_worker=1 / 3)


def test_children_hold_their_own_figures_and_unlocated_cases_only_the_root(county):
    with county.connect() as conn:
        data = review_figures(conn, scope(), WEEK, T)
        street = period_figures(conn, scope(S2), WEEK, T)
    assert set(data["children"]) == {S1, S2}
    s1, s2 = data["children"][S1]["current"], data["children"][S2]["current"]
    # S1: everything of the county but K08 (unlocated) and K10 (S2).
    assert (s1["reported"], s1["overdue_at_end"], s1["workers"], s1["urged"]) == (6, 1, 2, 1)
    assert s1["by_source"] == {"hotline": 1, "patrol": 4, "resident": 1}
    assert (s2["reported"], s2["overdue_at_end"], s2["workers"], s2["due"], s2["on_time_rate"]) == (0, 1, 1, 0, None)
    assert s1["median_close_hours"] == approx(42.0) and s2["median_close_hours"] is None
    assert data["children"][S2]["previous"]["median_close_hours"] == approx(24.0)
    assert pick(street["current"]) == pick(s2)


def test_a_month_and_a_quarter_across_the_year_boundary(county):
    month = Period.month(date(2026, 1, 5), SH)
    quarter = Period.quarter(date(2026, 1, 5), SH)
    with county.connect() as conn:
        m = period_figures(conn, scope(), month, T)
        q = period_figures(conn, scope(), quarter, T)
    # January 2026: M2 (at S exactly); December 2025: M1 (23:30 on the 31st); January 2025: M3, not M4.
    assert [m[w]["reported"] for w in ("current", "previous", "last_year")] == [1, 1, 1]
    # Q1 2026: M2; Q4 2025: M1 and K11; Q1 2025: M3 and M4.
    assert [q[w]["reported"] for w in ("current", "previous", "last_year")] == [1, 2, 2]


def test_29_february_is_compared_with_28_february(county):
    leap = Period.custom(date(2028, 2, 29), date(2028, 2, 29), SH)
    at = leap.end  # the day is over
    with county.connect() as conn:
        got = period_figures(conn, scope(), leap, at)
    # L1 on the day; L2 the day before; last year is 2027-02-28: L3, not L4 (2027-03-01 00:00).
    assert [got[w]["reported"] for w in ("current", "previous", "last_year")] == [1, 1, 1]


def test_a_custom_run_of_days(county):
    days = Period.custom(date(2026, 11, 17), date(2026, 11, 19), SH)  # previous: 11-14 .. 11-16
    with county.connect() as conn:
        got = period_figures(conn, scope(S1), days, T)
    # 11-17 .. 11-19: K02 K03 K04 reported; K01 closed 11-17 09:00; 11-14 .. 11-16: K06 K01.
    assert (got["current"]["reported"], got["current"]["closed"], got["previous"]["reported"]) == (3, 1, 2)


def test_departments_received_and_returned_with_nothing_left_out(county):
    with county.connect() as conn:
        root = departments(conn, scope(), WEEK, T)
        s2 = departments(conn, scope(S2), WEEK, T)
    # A: received K01 K04, returned K01 K04; B: received K01 K02, returned K01; D: returned K10 (received
    # in the previous week); C: received K01. E: nothing (left out). K09 (another county) never counts.
    assert root == [
        {"org_id": A, "name": "城市管理局", "received": 2, "returned": 2, "return_rate": 1.0},
        {"org_id": B, "name": "生态环境局", "received": 2, "returned": 1, "return_rate": 0.5},
        {"org_id": D, "name": "水务局", "received": 0, "returned": 1, "return_rate": None},
        {"org_id": C, "name": "住房和城乡建设局", "received": 1, "returned": 0, "return_rate": 0.0},
    ]
    assert s2 == [{"org_id": D, "name": "水务局", "received": 0, "returned": 1, "return_rate": None}]


def test_bounced_cases_with_their_chain_of_orgs_and_days_lost(county):
    with county.connect() as conn:
        got = bounced_cases(conn, scope(), WEEK, T)
        before_second_return = bounced_cases(conn, scope(), WEEK, T_PARTIAL.replace(day=16, hour=15))
    assert [(b["code"], b["returns"], b["orgs"], b["days_lost"]) for b in got] == [
        ("K01", 2, ["城市管理局", "生态环境局", "住房和城乡建设局"], round(11 / 24, 2)),  # 10:00 -> 21:00
        ("K10", 2, ["城市管理局", "水务局"], round((5 * 24 + 22) / 24, 2)),  # 11-10 10:00 -> 11-16 08:00
    ]
    assert got[0]["title"] == "事件K01"
    # At 11-16 15:00 K01 has one return (the second comes at 20:00); K10's second came at 08:00.
    assert [b["code"] for b in before_second_return] == ["K10"]


def test_a_case_flow_log_in_order_with_org_names_inside_the_scope_only(county):
    with county.connect() as conn:
        flow = case_flow(conn, scope(S1), "K01")
        outside = case_flow(conn, scope(S2), "K01")
        foreign = case_flow(conn, scope(), "K09")
    assert outside is None and foreign is None
    assert [(s["action"], s["from_org"], s["to_org"]) for s in flow["actions"]] == [
        ("report", None, None), ("dispatch", None, "城市管理局"), ("return", "城市管理局", None),
        ("dispatch", None, "生态环境局"), ("return", "生态环境局", None), ("dispatch", None, "住房和城乡建设局"),
        ("close", "住房和城乡建设局", None)]
    assert flow["code"] == "K01" and flow["actions"][0]["note"] == "report 备注"


# --- the same figures counted in plain Python, on the synthetic county with odd rows added ---------------
#
# An independent oracle of contract.md "Period figures": every row of cases and case_actions read into
# Python and counted by the definitions, for several periods (whole and partial week, month, custom)
# at every level (county, street, community, grid), compared exactly with review_figures (region and
# children), departments and bounced cases. It guards the SQL that data_access/review.py writes for
# speed (one pass per statement, the flow log read once per case, the partial index of late cases).

SEED_NOW = datetime(2026, 11, 26, 10, tzinfo=SH)
SEED_COUNTY = "320585"


def _seeded_county(engine):
    """The synthetic county's last 40 days, and rows that exercise the corners of the definitions."""
    from dashboard.synth.seed import seed_county

    seed_county(engine, county=SEED_COUNTY, days=40, seed=20261126, now=SEED_NOW, full_ping_days=0,
                sparse_ping_minutes=1440, sparse_ping_days=1, old_ping_minutes=1440)
    with engine.begin() as conn:
        grid = conn.execute(select(Grid.code).order_by(Grid.code)).scalars().first()
        org = conn.execute(select(Org.id).order_by(Org.id)).scalars().first()
        ids = conn.execute(select(Case.id).order_by(Case.id.desc())).scalars().first() + 1000
        sh = lambda text: datetime.fromisoformat(text).replace(tzinfo=SH)  # noqa: E731
        odd = [
            # A year back, inside last year's week: a return before its dispatch, a rework before its
            # close, an extension without a time, an urge.
            dict(id=ids, code="ODD1", grid_code=grid, source="patrol", status="closed", level="grid", escalations=0,
                 reported_at=sh("2025-11-18 09:00"), accepted_at=sh("2025-11-18 09:10"),
                 dispatched_at=sh("2025-11-18 10:00"), closed_at=sh("2025-11-19 09:00"),
                 resolve_due_at=sh("2025-11-20 09:00"), satisfaction=2),
            # Open for two years, due in the reviewed week; extended and returned long ago.
            dict(id=ids + 1, code="ODD2", grid_code=grid, source="hotline", status="handling", level="street",
                 escalations=1, reported_at=sh("2024-11-01 09:00"), accepted_at=sh("2024-11-01 10:00"),
                 dispatched_at=sh("2024-11-02 10:00"), resolve_due_at=sh("2026-11-18 09:00")),
            # Unlocated (the root only), and another county's (never).
            dict(id=ids + 2, code="ODD3", grid_code=None, source="patrol", status="closed", level="community",
                 escalations=0, reported_at=sh("2026-11-17 08:00"), accepted_at=sh("2026-11-17 08:05"),
                 dispatched_at=sh("2026-11-17 09:00"), closed_at=sh("2026-11-17 18:00"),
                 resolve_due_at=None, satisfaction=None),
            dict(id=ids + 3, code="ODD4", grid_code="320586100001001", source="patrol", status="closed",
                 level="grid", escalations=0, reported_at=sh("2026-11-17 08:00"), accepted_at=sh("2026-11-17 08:05"),
                 dispatched_at=sh("2026-11-17 09:00"), closed_at=sh("2026-11-17 10:00"),
                 resolve_due_at=sh("2026-11-18 08:00")),
        ]
        for row in odd:
            conn.execute(insert(Case), row)
        acts = [
            (ids, "2025-11-10 10:00", "return", org, None), (ids, "2025-11-18 10:00", "dispatch", None, org),
            (ids, "2025-11-19 08:00", "rework", None, org), (ids, None, "extend", org, None),
            (ids, "2025-11-18 12:00", "urge", None, org),
            (ids + 1, "2024-11-02 10:00", "dispatch", None, org), (ids + 1, "2024-11-03 10:00", "return", org, None),
            (ids + 1, "2024-11-20 10:00", "extend", org, None), (ids + 1, "2026-11-17 10:00", "return", org, None),
            (ids + 1, "2026-11-17 11:00", "dispatch", None, org), (ids + 1, "2026-11-19 10:00", "urge", None, org),
            (ids + 2, "2026-11-17 09:00", "dispatch", None, org), (ids + 2, "2026-11-17 12:00", "return", org, None),
            (ids + 3, "2026-11-17 09:00", "dispatch", None, org), (ids + 3, "2026-11-17 09:30", "return", org, None),
            (ids + 3, "2026-11-17 09:40", "return", org, None),
            (ids + 99, "2026-11-17 09:00", "dispatch", None, org),  # no such case: counts nowhere
        ]
        conn.execute(insert(CaseAction), [dict(case_id=cid, ts=None if ts is None else sh(ts), action=act,
                                               from_org_id=f, to_org_id=t) for cid, ts, act, f, t in acts])
    return engine


def _rows(conn):
    cases = [dict(r) for r in conn.execute(select(Case.__table__)).mappings()]
    actions = [dict(r) for r in conn.execute(select(CaseAction.__table__)).mappings()]
    grids = set(conn.execute(select(Grid.code)).scalars())
    workers = [g for g, role, active in conn.execute(select(Staff.grid_code, Staff.role, Staff.active))
               if role == "grid_worker" and active and g in grids]
    orgs = dict(conn.execute(select(Org.id, Org.name)).all())
    return cases, actions, workers, orgs


def _lt(x, y):
    return x is not None and y is not None and x < y


def _within(x, s, e):
    return x is not None and s <= x < e


def _oracle(data, scope: Scope, windows):
    """{"region": {window: counts}, "children": {key: {window: counts}}} by the contract's words."""
    cases, actions, workers, _ = data
    n = CHILD_LENGTH.get(len(scope.region))

    def inside(code):
        return code.startswith(scope.region) if code else scope.region == scope.root

    def key(code):
        return code[:n] if n and code else None

    by_case: dict[int, list] = {}
    for act in actions:
        by_case.setdefault(act["case_id"], []).append(act)
    mine = [c for c in cases if inside(c["grid_code"])]
    worker_keys = [key(g) for g in workers if inside(g)]
    groups: dict = {}
    listed = set(k for k in worker_keys if k is not None)
    for name, (s, e) in windows.items():
        for c in mine:
            acts = by_case.get(c["id"], [])
            has = lambda kind, lo=None: any(a["action"] == kind and _lt(a["ts"], e)  # noqa: E731
                                            and (lo is None or a["ts"] >= lo) for a in acts)
            rep = _within(c["reported_at"], s, e)
            closed = c["status"] == "closed" and _within(c["closed_at"], s, e)
            due = (c["status"] not in ("rejected", "merged") and _lt(c["reported_at"], e)
                   and (_within(c["resolve_due_at"], s, e) or closed))
            by_end = c["status"] == "closed" and _lt(c["closed_at"], e)
            disp = _within(c["dispatched_at"], s, e)
            overdue = (_lt(c["reported_at"], e) and (c["closed_at"] is None or c["closed_at"] >= e)
                       and _lt(c["resolve_due_at"], e))
            urged = has("urge", s)
            figures = {
                "reported": rep, "patrol": rep and c["source"] == "patrol",
                "accepted": rep and _lt(c["accepted_at"], e), "rejected": rep and c["status"] == "rejected",
                "closed": closed, "due": due,
                "on_time": due and by_end and c["resolve_due_at"] is not None and c["closed_at"] <= c["resolve_due_at"],
                "closed_due": due and by_end, "rated": closed and c["satisfaction"] is not None,
                "satisfied": closed and c["satisfaction"] is not None and c["satisfaction"] >= 3,
                "patrol_closed": closed and c["source"] == "patrol",
                "self_resolved": closed and c["source"] == "patrol" and c["escalations"] == 0
                and c["level"] in ("grid", "community"),
                "dispatched": disp, "returned": disp and has("return"), "reworked": closed and has("rework"),
                "extended": due and has("extend"),
                "patrol_accepted": rep and c["source"] == "patrol" and _lt(c["accepted_at"], e)
                and c["status"] not in ("rejected", "merged"),
                "overdue_at_end": overdue, "urged": urged,
            }
            k = key(c["grid_code"])
            touched = (rep or _within(c["closed_at"], s, e) or _within(c["resolve_due_at"], s, e) or disp
                       or overdue or urged)
            if touched and k is not None:
                listed.add(k)
            for where in ("region", k):
                if where is None:
                    continue
                g = groups.setdefault(where, {}).setdefault(name, {"by_source": {}, "hours": []})
                for f, v in figures.items():
                    g[f] = g.get(f, 0) + bool(v)
                if rep:
                    g["by_source"][c["source"] or ""] = g["by_source"].get(c["source"] or "", 0) + 1
                if closed and c["reported_at"] is not None:
                    g["hours"].append((c["closed_at"] - c["reported_at"]).total_seconds() / 3600.0)
    out = {"region": groups.get("region", {}), "children": {k: groups.get(k, {}) for k in sorted(listed)},
           "workers": {k: worker_keys.count(k) for k in set(worker_keys)}, "all_workers": len(worker_keys)}
    return out


def _expected(counts: dict, workers: int) -> dict:
    k = lambda f: counts.get(f, 0)  # noqa: E731
    share = lambda a, b: None if not k(b) else k(a) / k(b)  # noqa: E731
    hours = sorted(counts.get("hours", []))
    m = len(hours)
    median = None if not m else (hours[m // 2] if m % 2 else (hours[m // 2 - 1] + hours[m // 2]) / 2)
    return F(reported=k("reported"), by_source=dict(sorted(counts.get("by_source", {}).items())),
             patrol_share=share("patrol", "reported"), accepted=k("accepted"), rejected=k("rejected"),
             closed=k("closed"), due=k("due"), on_time_rate=share("on_time", "due"),
             closed_rate=share("closed_due", "due"), overdue_at_end=k("overdue_at_end"), median_close_hours=median,
             satisfied_rate=share("satisfied", "rated"), self_resolved_rate=share("self_resolved", "patrol_closed"),
             return_rate=share("returned", "dispatched"), rework_rate=share("reworked", "closed"),
             extension_rate=share("extended", "due"), urged=k("urged"), workers=workers,
             reports_per_worker=None if not workers else k("patrol_accepted") / workers,
             dispatched=k("dispatched"), rated=k("rated"), patrol_closed=k("patrol_closed"))


def _close(figures: dict) -> dict:
    """Medians to a millisecond's worth of hours: SQLite rounds epoch seconds to milliseconds."""
    out = dict(figures)
    if out["median_close_hours"] is not None:
        out["median_close_hours"] = approx(float(out["median_close_hours"]), abs=1e-6)
    return out


def test_figures_departments_and_bounces_equal_a_plain_python_count_for_every_period_and_level(engine):
    _seeded_county(engine)
    week = Period.week(date(2026, 11, 16), SH)
    periods = [week, Period.week(date(2026, 11, 23), SH), Period.month(date(2026, 11, 1), SH),
               Period.custom(date(2026, 11, 4), date(2026, 11, 20), SH)]
    with engine.connect() as conn:
        data = _rows(conn)
        street = sorted({c["grid_code"][:9] for c in data[0] if (c["grid_code"] or "").startswith(SEED_COUNTY)})[0]
        community = next(c["grid_code"][:12] for c in data[0] if (c["grid_code"] or "").startswith(street))
        grid = next(c["grid_code"] for c in data[0] if (c["grid_code"] or "").startswith(community))
        checked = 0
        for region in (SEED_COUNTY, street, community, grid):
            sc = Scope(region, SEED_COUNTY)
            for period in periods:
                got = review_figures(conn, sc, period, SEED_NOW)
                want = _oracle(data, sc, got["windows"])
                for w in WINDOWS:
                    assert _close(got["region"][w]) == _expected(want["region"].get(w, {}), want["all_workers"]), \
                        (region, period, w)
                assert set(got["children"]) == set(want["children"]), (region, period)
                for child, per in got["children"].items():
                    for w in WINDOWS:
                        expect = _expected(want["children"][child].get(w, {}), want["workers"].get(child, 0))
                        assert _close(per[w]) == expect, (region, period, child, w)
                checked += 1
            _check_departments_and_bounces(conn, data, sc, periods)
    assert checked == 16


def _check_departments_and_bounces(conn, data, sc: Scope, periods):
    cases, actions, _, orgs = data
    by_id = {c["id"]: c for c in cases}

    def inside(case):
        code = case["grid_code"]
        return code.startswith(sc.region) if code else sc.region == sc.root

    for period in periods:
        s, e = period.windows(SEED_NOW)["current"]
        counts: dict[int, list[int]] = {}
        returns: dict[int, list] = {}
        for act in actions:
            case = by_id.get(act["case_id"])
            if case is None or not inside(case):
                continue
            if act["action"] == "return" and _lt(act["ts"], e):
                returns.setdefault(case["id"], []).append(act["ts"])
            if not _within(act["ts"], s, e) or act["action"] not in ("dispatch", "return"):
                continue
            org = act["to_org_id"] if act["action"] == "dispatch" else act["from_org_id"]
            if org is not None:
                counts.setdefault(org, [0, 0])[act["action"] == "return"] += 1
        want = sorted(({"org_id": o, "name": orgs.get(o), "received": r, "returned": b,
                        "return_rate": None if not r else b / r} for o, (r, b) in counts.items()),
                      key=lambda d: (-d["returned"], -d["received"], d["org_id"]))
        assert departments(conn, sc, period, SEED_NOW) == want, (sc.region, period)
        bounced = {cid: len(ts) for cid, ts in returns.items()
                   if len(ts) >= 2 and any(s <= t < e for t in ts)}
        got = bounced_cases(conn, sc, period, SEED_NOW)
        assert {b["case_id"]: b["returns"] for b in got} == bounced, (sc.region, period)
