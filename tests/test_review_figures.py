"""The review meeting's period figures on hand-built flow logs (tests/review_handbuilt.py), both backends."""

from __future__ import annotations

from datetime import date

from pytest import approx

from data_access.period import Period
from data_access.review import FIGURE_KEYS, bounced_cases, case_flow, departments, period_figures, review_figures

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
