"""The concealment watch (疑似瞒报漏报) of a review period on SQLite and PostgreSQL: which of the engine's
alerts count for the period (tests/review_forecast_county.py ALERTS), the reports per channel around it
counted by hand (CHANNELS), and the evidence shaped from both (dashboard/analytics/concealment_watch.py)."""

from __future__ import annotations

import pandas as pd
from pytest import approx

from dashboard.analytics import concealment_watch as watch
from data_access import concealment_watch as watch_db
from data_access.period import Period
from data_access.scope import Scope

from .review_forecast_county import C1, C2, C3, ROOT, S1, SH, WEEK_START, L, load_alerts, load_channels, load_geography

WEEK = Period.week(WEEK_START, SH)
T = L("11-26 10:00")


def test_the_alerts_of_the_period_are_those_whose_episode_ran_in_it(engine):
    load_geography(engine)
    load_alerts(engine)
    with engine.connect() as conn:
        root = watch_db.flagged_communities(conn, Scope(ROOT, ROOT), WEEK.start, WEEK.end, T)
        street = watch_db.flagged_communities(conn, Scope(S1, ROOT), WEEK.start, WEEK.end, T)
        # as of Wednesday 11-18 12:00: u3 (11-20) and u7 (11-19) not yet raised; u1 had ended at 11-18 01:00
        midweek = watch_db.flagged_communities(conn, Scope(S1, ROOT), WEEK.start, L("11-18 12:00"), L("11-18 12:00"))
    titles = [a["title"].split()[-1] for a in root]
    # u2 ended before the week, u5 began after it, u6 is resolved without a time, s1 is a spike
    assert titles == ["u1", "u4", "u7", "u3"]
    assert [a["title"].split()[-1] for a in street] == ["u1", "u7", "u3"]           # u4 is S2's
    assert [a["title"].split()[-1] for a in midweek] == ["u1"]
    assert midweek[0]["ended_at"] is not None and root[0]["ended_at"] is not None
    u3 = root[-1]
    assert u3["region_code"] == C2 and u3["acknowledged"] and u3["ended_at"] is None
    assert u3["detail"]["test"] == "peers" and u3["detail"]["peer_share"] == 0.4
    assert root[2]["dismissed"] and not root[1]["dismissed"]


def test_reports_per_community_and_channel_fall_in_their_windows(engine):
    load_geography(engine)
    load_channels(engine)
    bounds = [L("08-24 00:00"), WEEK.start, WEEK.end]       # the 12 weeks before, the week
    with engine.connect() as conn:
        frame = watch_db.community_channels(conn, Scope(ROOT, ROOT), bounds)
        s1 = watch_db.community_channels(conn, Scope(S1, ROOT), bounds)
    got = {(r.community, r.window, r.source): r.n for r in frame.itertuples(index=False)}
    assert got == {(C1, 1, "patrol"): 5, (C1, 1, "hotline"): 15, (C1, 0, "patrol"): 30, (C1, 0, "resident"): 30,
                   (C2, 1, "patrol"): 12, (C2, 1, "video"): 8, (C2, 1, "other"): 7,
                   (C3, 1, "patrol"): 9, (C3, 1, "resident"): 1}
    assert set(s1["community"]) == {C1, C2}


def test_the_watch_gives_each_flagged_community_its_shares_against_peers_and_its_past(engine):
    load_geography(engine)
    load_alerts(engine)
    load_channels(engine)
    with engine.connect() as conn:
        alerts, channels = watch_db.watch_inputs(conn, Scope(ROOT, ROOT), WEEK, T, watch.BEFORE_WEEKS)
    rows = watch.watch_rows(alerts, channels)
    assert [r["community"] for r in rows] == [C1, C3, C2]                     # in the order first flagged
    c1 = rows[0]
    assert [a["id"] for a in c1["alerts"]] == sorted(a["id"] for a in c1["alerts"]) and len(c1["alerts"]) == 2
    assert c1["period"] == {"patrol": 5, "other": 15, "share": 0.25}
    # peers: C2 12 / 20 (its "other" source is neither kind) and C3 9 / 10 -> 21 / 30
    assert c1["peers"] == {"patrol": 21, "other": 9, "share": approx(0.7), "communities": 2}
    assert c1["before"] == {"patrol": 30, "other": 30, "share": 0.5, "weeks": 12}
    ev = c1["alerts"][0]["evidence"]
    assert (ev["test"], ev["observed"], ev["expected"], ev["ratio"], ev["weeks"]) == ("own_history", 40, 80.0, 0.5, 3)
    c2 = rows[2]
    assert c2["period"]["share"] == approx(0.6) and c2["before"] == {"patrol": 0, "other": 0, "share": None, "weeks": 12}
    with engine.connect() as conn:
        none = watch_db.watch_inputs(conn, Scope(ROOT, ROOT), Period.week(L("10-05 00:00").date(), SH), T, 12)
    assert none[0] == [] and len(none[1]) == 0


def test_evidence_missing_from_an_alert_stays_missing():
    rows = watch.watch_rows([{"id": 1, "region_code": C1, "created_at": L("11-17 01:00"), "detail": {"test": "x",
                                                                                                   "observed": "40"}}],
                            pd.DataFrame(columns=["community", "window", "source", "n"]))
    ev = rows[0]["alerts"][0]["evidence"]
    assert ev["test"] is None and ev["observed"] is None and ev["weeks"] is None
    assert rows[0]["period"] == {"patrol": 0, "other": 0, "share": None}
    assert rows[0]["peers"]["communities"] == 0 and rows[0]["peers"]["share"] is None
