"""open / overdue / warning / accept_overdue / dispatch_overdue / new_today / closed_today on the hand-built county.

Every expected number is counted by hand from the case comments in tests/handbuilt.py; the
comment beside a number names the cases behind it.
"""

from datetime import timezone

from data_access import figures
from data_access.figures import case_figures, summary
from data_access.moment import Moment

from tests.handbuilt import (C1, C2, COUNTY, G1, G6, GX, S1, S2, SH, T, T_PAST, L, case_codes, county,  # noqa: F401
                             figures_of, scope)


def fig(open, overdue, warning, accept_overdue, dispatch_overdue, new_today, closed_today):
    return dict(open=open, overdue=overdue, warning=warning, accept_overdue=accept_overdue,
                dispatch_overdue=dispatch_overdue, new_today=new_today, closed_today=closed_today)


def test_the_cases_behind_each_open_state_at_T(county):
    t = T
    # Not open: A2 E4 (reported after T), A3 (closed exactly at T), C8 D3 D4 D5 D6 E2 E3 E6 E8 (closed
    # before T), F5 F6 (NULL reported_at), F3 (another county).
    assert case_codes(county, figures.open_at(t)) == {
        "A1", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "C1", "C2", "C3", "C4", "C5", "C6", "C7",
        "D1", "D2", "E1", "E5", "E9", "F1", "F2", "F4"}
    # B1 (due == T) is not overdue; B5 B3 B4 A4 have NULL or later dues.
    assert case_codes(county, figures.overdue_at(t)) == {"A5", "B2", "B6", "E1", "E5", "E9", "F1"}
    # B1: 100 % used; B3: exactly 80 %; B4 misses by 0.8 s; overdue ones are not warnings.
    assert case_codes(county, figures.warning_at(t)) == {"B1", "B3"}
    # C1 never accepted; C2 accepted after T; C3 accepted exactly at T; C4 due == T; C8 not open.
    assert case_codes(county, figures.accept_overdue_at(t)) == {"C1", "C2"}
    # C5 dispatched after T; C6 never dispatched; C7 dispatched exactly at T.
    assert case_codes(county, figures.dispatch_overdue_at(t)) == {"C5", "C6"}


def test_case_figures_at_T_in_every_kind_of_scope(county):
    got = {region: figures_of(county, case_figures, region) for region in (COUNTY, S1, S2, C1, C2, G1, GX, G6)}
    assert got == {
        # open 24 (above); overdue 7; warning B1 B3; accept C1 C2; dispatch C5 C6;
        # new_today A1 C1 C4 D2 D5 D6 F2 (D1 at 23:59 yesterday and A2 E4 after T do not);
        # closed_today A3 (closed at T) D3 (at 00:00) F6 (NULL reported_at); D4 23:59 yesterday, D5 rejected.
        COUNTY: fig(24, 7, 2, 2, 2, 7, 3),
        # S1 = G1 G2 G3 GX. open A1 A4 A5 B1 B2 B3 B4 C1 C2 C3 C6 C7 E9 F4; overdue A5 B2 E9; warning B1 B3;
        # accept C1 C2; dispatch C6; new A1 C1; closed_today A3 D3 F6. Unlocated F1 F2 are not here.
        S1: fig(14, 3, 2, 2, 1, 2, 3),
        # S2 = G4 G5 G6. open B5 B6 C4 C5 D1 D2 E1 E5; overdue B6 E1 E5; dispatch C5; new C4 D2 D5 D6.
        S2: fig(8, 3, 0, 0, 1, 4, 0),
        # C1 = G1 G2 GX. open A1 A4 B1 B2 C1 C2 C3 E9 F4; overdue B2 E9; warning B1; accept C1 C2;
        # new A1 C1; closed_today A3 D3.
        C1: fig(9, 2, 1, 2, 0, 2, 2),
        # C2 = G3. open A5 B3 B4 C6 C7; overdue A5; warning B3; dispatch C6; closed_today F6.
        C2: fig(5, 1, 1, 0, 1, 0, 1),
        # G1 (a 15-digit scope). open A1 B1 B2; overdue B2; warning B1; new A1; closed_today D3.
        G1: fig(3, 1, 1, 0, 0, 1, 1),
        # A grid code only cases use (not in table grids): F4 by prefix.
        GX: fig(1, 0, 0, 0, 0, 0, 0),
        # G6: no cases at all.
        G6: fig(0, 0, 0, 0, 0, 0, 0),
    }


def test_the_cases_behind_each_open_state_at_an_earlier_moment(county):
    t = T_PAST  # 08:00: statuses are today's, timestamps decide
    # A3 (closed at 10:00) is open again; A1 C4 F2 are not reported yet; C1 reported exactly at 08:00.
    assert case_codes(county, figures.open_at(t)) == {
        "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5", "B6", "C1", "C2", "C3", "C5", "C6", "C7",
        "D1", "D2", "E1", "E5", "E9", "F1", "F4"}
    # A5 and E5 are due exactly at 08:00 (not overdue yet); B2 is due at 09:59.
    assert case_codes(county, figures.overdue_at(t)) == {"B6", "E1", "E9", "F1"}
    # A3: 80 % of 11-20 09:00 .. 11-27 09:00 is 11-25 23:24; B2: 80 % at 05:11:12; A5 E5: 100 %.
    assert case_codes(county, figures.warning_at(t)) == {"A3", "A5", "B1", "B2", "E5"}
    # C1's accept due (08:30) has not passed yet; C3 is accepted only at 10:00.
    assert case_codes(county, figures.accept_overdue_at(t)) == {"C2", "C3"}
    # C7 is dispatched only at 10:00, so at 08:00 it is not yet dispatched and late.
    assert case_codes(county, figures.dispatch_overdue_at(t)) == {"C5", "C6", "C7"}


def test_case_figures_at_an_earlier_moment(county):
    got = {region: figures_of(county, case_figures, region, T_PAST) for region in (COUNTY, S1, S2)}
    assert got == {
        # open 22, overdue 4, warning 5, accept C2 C3, dispatch C5 C6 C7 (above);
        # new_today C1 (at 08:00 exactly) D2 D5 D6; closed_today D3 F6 (F6 closed exactly at 08:00).
        COUNTY: fig(22, 4, 5, 2, 3, 4, 2),
        # open A3 A4 A5 B1 B2 B3 B4 C1 C2 C3 C6 C7 E9 F4; overdue E9; warning A3 A5 B1 B2; accept C2 C3;
        # dispatch C6 C7; new C1; closed_today D3 F6.
        S1: fig(14, 1, 4, 2, 2, 1, 2),
        # open B5 B6 C5 D1 D2 E1 E5; overdue B6 E1; warning E5; dispatch C5; new D2 D5 D6.
        S2: fig(7, 2, 1, 0, 1, 3, 0),
    }


def test_yesterday_evening_is_a_different_day(county):
    # At 11-25 23:59:30 local the day began at 11-25 00:00: D1 (23:59) is new that day, D2 (00:00
    # on the 26th) is not reported yet; D4 closed at 23:59 counts as closed that day.
    got = figures_of(county, case_figures, S2, L("11-25 23:59:30"))
    # S2 at that moment: open B5 B6 C5 D1 E1 E5 (C4 D2 D5 D6 reported later); overdue B6 E1;
    # warning E5 (11-24 09:00 + 0.8 x 47 h = 11-25 22:36); dispatch C5 (due 11-25 09:00, dispatched
    # 11-26 12:00); new today: C5 (08:00) D1 (23:59).
    assert got == fig(6, 2, 1, 0, 1, 2, 0)
    got = figures_of(county, case_figures, S1, L("11-25 23:59:30"))
    # S1 new today: A5 B1 B2 B3 B4 C2 C3 C6 C7 C8 D3 D4 F4 (all reported on 11-25); C8 rejected still counts.
    # closed today: D4 (23:59) and E8 (09:00). C8 rejected at 12:00 does not count.
    assert got["new_today"] == 13
    assert got["closed_today"] == 2


def test_the_moment_may_be_given_in_any_offset(county):
    # The same instant written in UTC: midnight and W7 still come from Asia/Shanghai.
    with county.connect() as conn:
        got = summary(conn, scope(), Moment(T.astimezone(timezone.utc), SH))
    assert got == figures_of(county, summary)
    assert got["cases"]["new_today"] == 7


def test_summary_holds_every_group_of_figures(county):
    got = figures_of(county, summary)
    assert set(got) == {"cases", "rates_7d", "staffing", "alerts"}
    assert got["cases"] == fig(24, 7, 2, 2, 2, 7, 3)
    assert set(got["rates_7d"]) == {"on_time", "closed", "satisfied", "self_resolved"}
    assert set(got["staffing"]) == {"grids", "grids_staffed", "workers", "on_duty", "online", "patrolled_today"}
    assert set(got["alerts"]) == {"new", "acknowledged"}


def test_summary_reads_the_same_case_and_rate_figures_as_the_single_pass_statements(county):
    # summary() reads open-at-T from the covering index and the windows apart, in one statement;
    # case_figures() and rate_figures() read every row any count may need in one pass each. They
    # must agree everywhere: every level, the root with its unlocated cases, a moment before cases
    # were closed (closed_at > T), late at night, and before anything happened.
    for region in (COUNTY, S1, S2, C1, C2, G1, G6, GX):
        for at in (T, T_PAST, L("11-25 23:59:30"), L("11-26 00:00"), L("11-20 12:00"), L("11-01 00:00")):
            got = figures_of(county, summary, region, at)
            assert got["cases"] == figures_of(county, case_figures, region, at), (region, at)
            assert got["rates_7d"] == figures_of(county, figures.rate_figures, region, at), (region, at)
