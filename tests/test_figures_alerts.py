"""alerts_new / alerts_acknowledged on the hand-built county (alerts in tests/handbuilt.py)."""

from data_access.figures import alert_figures

from tests.handbuilt import C1, COUNTY, G4, S1, S2, T_PAST, L, county, figures_of  # noqa: F401


def test_alerts_at_T_by_scope(county):
    got = {region: figures_of(county, alert_figures, region) for region in (COUNTY, S1, S2, C1, G4)}
    assert got == {
        # new: 1 (county), 3 (grid G4, created exactly at T); acknowledged: 2 (S1), 9 (grid G1).
        # Not: 4 (created after T), 5 resolved, 6 dismissed, 7 another county, 8 NULL region,
        # 10 NULL status, 11 NULL created_at, 12 the city above the county.
        COUNTY: {"new": 2, "acknowledged": 2},
        S1: {"new": 0, "acknowledged": 2},      # 2 and the grid-level 9
        S2: {"new": 1, "acknowledged": 0},      # the grid-level 3; 4 is after T, 10 has no status
        C1: {"new": 0, "acknowledged": 1},      # 9; 6 is dismissed
        G4: {"new": 1, "acknowledged": 0},      # 3
    }


def test_alerts_at_earlier_moments_keep_the_current_status(county):
    # 08:00: only 2 exists yet (1 at 09:00, 9 at 08:30, 3 at 10:00).
    assert figures_of(county, alert_figures, COUNTY, T_PAST) == {"new": 0, "acknowledged": 1}
    # 09:00: 1 (created exactly then) is new; 9 counts as acknowledged although ack_at is 09:30,
    # because the figure is "by current status".
    assert figures_of(county, alert_figures, COUNTY, L("11-26 09:00")) == {"new": 1, "acknowledged": 2}
