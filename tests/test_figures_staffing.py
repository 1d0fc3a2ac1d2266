"""grids / grids_staffed / workers / on_duty / online / patrolled_today on the hand-built county.

Staff, shifts and pings are in tests/handbuilt.py; "worker" means an active grid_worker.
"""

from data_access.figures import staffing_figures

from tests.handbuilt import (C3, COUNTY, G1, G3, G6, GX, S1, S2, T, T_PAST, county,  # noqa: F401
                             figures_of)


def staffing(grids, grids_staffed, workers, on_duty, online, patrolled_today):
    return dict(grids=grids, grids_staffed=grids_staffed, workers=workers, on_duty=on_duty, online=online,
                patrolled_today=patrolled_today)


def test_staffing_at_T_by_scope(county):
    got = {region: figures_of(county, staffing_figures, region) for region in (COUNTY, S1, S2, C3, G1, G3, G6, GX)}
    assert got == {
        # grids G1..G6 (the 320586 grid is another county).
        # staffed G1 (W1 W2) G2 (W3) G4 (W5); G3 has only inactive W4, G5 a leader and W8 (active NULL), G6 nobody.
        # workers W1 W2 W3 W5 (W6's grid is not in table grids, W9 has none, W10 is elsewhere).
        # on duty W1 (08-16), W2 (starts at T), W5 (09-17); W3's shift ends at T.
        # online W1 (09:55), W5 (10:00 = T); W2's 09:50 is the open end; W3 is off duty.
        # patrolled G1 (W1, W2) G2 (W3 at 00:00 and 09:58) G4 (W5 at 10:00); not G3 (W4 inactive), G5 (leader).
        COUNTY: staffing(6, 3, 4, 3, 2, 3),
        # G1 G2 G3; staffed G1 G2; W1 W2 W3; on duty W1 W2; online W1; patrolled G1 G2.
        S1: staffing(3, 2, 3, 2, 1, 2),
        # G4 G5 G6; staffed G4; W5 on duty and online; patrolled G4.
        S2: staffing(3, 1, 1, 1, 1, 1),
        C3: staffing(3, 1, 1, 1, 1, 1),
        # One grid with two workers, both on duty, one online.
        G1: staffing(1, 1, 2, 2, 1, 1),
        # A grid whose only worker is inactive.
        G3: staffing(1, 0, 0, 0, 0, 0),
        # A vacant grid.
        G6: staffing(1, 0, 0, 0, 0, 0),
        # Not in table grids: nothing, although W6 works and pings there.
        GX: staffing(0, 0, 0, 0, 0, 0),
    }


def test_staffing_at_an_earlier_moment(county):
    got = figures_of(county, staffing_figures, COUNTY, T_PAST)
    # At 08:00: on duty W1 (shift starts exactly at 08:00) and W3 (02-10); W2 and W5 start later and
    # W5's open-ended shift (NULL ends_at) never matches. Online: W1 (ping exactly at 08:00); W3's
    # pings are 00:00 and 09:58. Patrolled: G1 (W1 at 08:00), G2 (W3 at local midnight exactly);
    # W5's pings are 23:59 yesterday and 10:00.
    assert got == staffing(6, 3, 4, 2, 1, 2)


def test_staffing_of_an_empty_database_is_zero(engine):
    assert figures_of(engine, staffing_figures) == staffing(0, 0, 0, 0, 0, 0)
