"""The 7-day rates (on_time, closed, satisfied, self_resolved) on the hand-built county.

W7 at T is (11-19 10:00, 11-26 10:00]. Counts below are by hand from tests/handbuilt.py.
"""

from pytest import approx
from sqlalchemy import and_, or_

from data_access.figures import rate_figures
from data_access.models import Case

from tests.handbuilt import COUNTY, G1, G6, GX, S1, S2, T, T_PAST, case_codes, county, figures_of  # noqa: F401

c = Case.__table__.c


def rates(on_time, closed, satisfied, self_resolved):
    return dict(on_time=on_time, closed=closed, satisfied=satisfied, self_resolved=self_resolved)


def test_due_7d_is_the_hand_counted_set(county):
    # due_7d written out from the contract, independently of figures.py, to name its members.
    w7_start = T.replace(day=19)
    due_in_w7 = and_(c.resolve_due_at > w7_start, c.resolve_due_at <= T)
    closed_in_w7 = and_(c.status == "closed", c.closed_at > w7_start, c.closed_at <= T)
    due_7d = and_(c.status.notin_(("rejected", "merged")), c.reported_at <= T, or_(due_in_w7, closed_in_w7))
    # In: A3 (closed at T, due after T), B1 (due == T), B2, D3, D4, E2 (due 1 min inside W7), E3, E5,
    # E6 (NULL due, closed in W7), E8 (unknown category), E9, F1 (unlocated, root only).
    # Out: E1 (due exactly T - 7 d), D6 (merged), E4 (reported after T), A5 (NULL status), F5 F6
    # (NULL reported_at), F3 (another county).
    assert case_codes(county, due_7d) == {"A3", "B1", "B2", "D3", "D4", "E2", "E3", "E5", "E6", "E8", "E9", "F1"}


def test_rates_at_T_by_scope(county):
    got = {region: figures_of(county, rate_figures, region) for region in (COUNTY, S1, S2, G1, G6, GX)}
    assert got == {
        # due_7d 12 (above). closed by T: A3 D3 D4 E2 E3 E6 E8 = 7 (E5 closes after T, E9 has no closed_at).
        # on time: A3 D4 E2 E8 = 4 (D3 E3 late, E6 NULL due).
        # rated, closed in W7: D3 5, D4 3, E3 2, E8 4, F6 5 (A3 E6 unrated; E2 closed at T - 7 d) -> 4 of 5.
        # patrol closed in W7: D3 D4 E6 E8 F6; self-resolved D3 (grid) E8 (community) F6 (grid);
        # D4 escalated, E6 at street level -> 3 of 5.
        COUNTY: rates(approx(4 / 12), approx(7 / 12), approx(4 / 5), approx(3 / 5)),
        # S1 due_7d: A3 B1 B2 D3 D4 E6 E8 E9 = 8; closed A3 D3 D4 E6 E8; on time A3 D4 E8;
        # rated D3 D4 E8 F6 all >= 3; patrol D3 D4 E6 E8 F6, self D3 E8 F6.
        S1: rates(approx(3 / 8), approx(5 / 8), approx(1.0), approx(3 / 5)),
        # S2 due_7d: E2 E3 E5 = 3; closed E2 E3; on time E2; rated E3 (2) only; no patrol case closed in W7.
        S2: rates(approx(1 / 3), approx(2 / 3), approx(0.0), None),
        # G1 due_7d: B1 B2 D3 E8; closed D3 E8; on time E8; rated D3 E8; patrol D3 E8 both self-resolved.
        G1: rates(approx(1 / 4), approx(2 / 4), approx(1.0), approx(1.0)),
        # A grid with no cases: every denominator is 0.
        G6: rates(None, None, None, None),
        # Only F4 (open, no due) lives here.
        GX: rates(None, None, None, None),
    }


def test_rates_at_an_earlier_moment(county):
    # W7 at 08:00 is (11-19 08:00, 11-26 08:00].
    got = {region: figures_of(county, rate_figures, region, T_PAST) for region in (COUNTY, S2)}
    assert got == {
        # due_7d: D3 D4 (closed 11-25 23:59, due later) E1 (due 11-19 10:00 now inside) E2 E3 E5 (due exactly
        # at 08:00) E6 E8 E9 F1 = 10; A3 B1 B2 fall due after 08:00.
        # closed by 08:00: D3 D4 E2 E3 E6 E8 = 6; on time D4 E2 E8 = 3.
        # rated: D3 5, D4 3, E2 1 (closed 11-19 10:00 is inside now), E3 2, E8 4, F6 5 (closed at 08:00) -> 4 of 6.
        # patrol: D3 D4 E2 E6 E8 F6; self D3 E8 F6 -> 3 of 6.
        COUNTY: rates(approx(3 / 10), approx(6 / 10), approx(4 / 6), approx(3 / 6)),
        # S2 due_7d: E1 E2 E3 E5; closed E2 E3; on time E2; rated E2 1, E3 2; patrol E2 (county level, escalated).
        S2: rates(approx(1 / 4), approx(2 / 4), approx(0.0), approx(0.0)),
    }


def test_rates_of_an_empty_database_are_null(engine):
    from tests.handbuilt import moment, scope

    with engine.connect() as conn:
        assert rate_figures(conn, scope(), moment()) == rates(None, None, None, None)
