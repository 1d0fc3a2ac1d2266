"""case_figures_by_child: the case figures of each child region, on the hand-built county.

Children with no counted case are absent (callers default them to zeros); unlocated cases are
keyed None and only at the root.
"""

from data_access.figures import case_figures, case_figures_by_child

from tests.handbuilt import (C1, C2, C3, COUNTY, G1, G2, GX, S1, S2, T_PAST, county,  # noqa: F401
                             figures_of)


def fig(open, overdue, warning, accept_overdue, dispatch_overdue, new_today, closed_today):
    return dict(open=open, overdue=overdue, warning=warning, accept_overdue=accept_overdue,
                dispatch_overdue=dispatch_overdue, new_today=new_today, closed_today=closed_today)


def test_children_of_the_county_are_streets_plus_unlocated(county):
    assert figures_of(county, case_figures_by_child, COUNTY) == {
        S1: fig(14, 3, 2, 2, 1, 2, 3),   # as case_figures of S1 (tests/test_figures_cases.py)
        S2: fig(8, 3, 0, 0, 1, 4, 0),
        None: fig(2, 1, 0, 0, 0, 1, 0),  # F1 (open, overdue), F2 (open, new today)
    }


def test_children_of_a_street_are_communities_without_unlocated(county):
    assert figures_of(county, case_figures_by_child, S2) == {C3: fig(8, 3, 0, 0, 1, 4, 0)}
    assert figures_of(county, case_figures_by_child, S1, T_PAST) == {
        # At 08:00. C1: open A3 A4 B1 B2 C1 C2 C3 E9 F4; overdue E9; warning A3 B1 B2; accept C2 C3;
        # new C1; closed_today D3.
        C1: fig(9, 1, 3, 2, 0, 1, 1),
        # C2: open A5 B3 B4 C6 C7; warning A5; dispatch C6 C7; closed_today F6.
        C2: fig(5, 0, 1, 0, 2, 0, 1),
    }


def test_children_of_a_community_are_grids(county):
    assert figures_of(county, case_figures_by_child, C1) == {
        G1: fig(3, 1, 1, 0, 0, 1, 1),   # A1 B1 B2; B2 overdue; B1 warning; A1 new; D3 closed today
        G2: fig(5, 1, 0, 2, 0, 1, 1),   # A4 C1 C2 C3 E9; E9 overdue; C1 C2 accept; C1 new; A3 closed today
        GX: fig(1, 0, 0, 0, 0, 0, 0),   # F4: a code not in table grids still has its row
    }


def test_children_add_up_to_the_parent(county):
    for region in (COUNTY, S1, C1):
        parts = figures_of(county, case_figures_by_child, region).values()
        total = {k: sum(p[k] for p in parts) for k in fig(0, 0, 0, 0, 0, 0, 0)}
        assert total == figures_of(county, case_figures, region)


def test_a_grid_has_no_children(county):
    assert figures_of(county, case_figures_by_child, G1) == {}
