"""Each alert kind's evidence (issue 17 §4) as ``alert_view`` shapes it, on SQLite and PostgreSQL, and
the pure parts: a rise's band as the detector judges it (and as the engine now stores it), the merge of
a stored band with a recomputed one, the phone's chart; the staffing rules (counts by default, names
and positions only when allowed, never ranked) and the viewer's scope."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import spike_band, spikes
from dashboard.usecases.alert_evidence import shape_spike, shape_staffing
from dashboard.usecases.alert_view import alert_view
from dashboard.warning import case_detectors
from dashboard.web.alert_page import phone_chart
from data_access.moment import Moment
from data_access.scope import Scope

from .alert_evidence_seed import ADDRESS, CONCEALED, ORG_NAME, SPIKE_CATEGORY, SPIKE_REGION, TZ, seed_evidence
from .wall_fixtures import COUNTY

ROOT = Scope(COUNTY, COUNTY)
STREET = Scope("320585100", COUNTY)
OTHER_STREET = Scope("320585101", COUNTY)


# --- the band, pure -------------------------------------------------------------------------------

def _facts(days: int = 84, outbreak: dict | None = None, seed: int = 3) -> pd.DataFrame:
    """Case facts as ``feeds_cases.case_facts`` gives them: one community x minor series at about 2 a
    day (plus the same minor elsewhere), and an outbreak on the days given (offset from the end: count)."""
    rng = np.random.default_rng(seed)
    end = np.datetime64("2026-11-24")
    rows = []
    for i in range(days):
        day = end - np.timedelta64(days - 1 - i, "D")
        back = days - 1 - i
        n = (outbreak or {}).get(back, int(rng.poisson(2)))
        rows += [(day, "320585100001", "0103")] * n
        rows += [(day, "320585101001", "0103")] * int(rng.poisson(3))
        rows += [(day, "320585101001", "0201")] * int(rng.poisson(4))
    frame = pd.DataFrame(rows, columns=["day", "community", "category_code"])
    frame["day"] = frame["day"].values.astype("datetime64[D]")
    frame["street"] = frame["community"].str[:9]
    frame["major"] = frame["category_code"].str[:2]
    frame["grid_code"] = frame["community"] + "001"
    frame["id"] = np.arange(len(frame))
    frame["minute_of_day"] = 600
    return frame


def test_the_band_judges_each_day_as_the_detector_does():
    facts = _facts(outbreak={0: 16})
    last = np.datetime64("2026-11-24")
    [rise] = [r for r in spikes.daily_rises(facts, last) if (r.region, r.category) == ("320585100001", "0103")]
    band = spike_band.facts_band(facts, "320585100001", "0103", last - np.timedelta64(21, "D"), last,
                                 spikes.DEFAULT_ALPHA[("community", "category_code")])
    assert band["start"] == "2026-11-03" and len(band["observed"]) == 22 and band["method"] == "nb"
    assert band["observed"][-1] == 16 and band["alarm"][-1] is True and sum(band["alarm"]) == 1
    # the same expected level as the detector's 1-day test (only k is the series' own here)
    if rise.window == 1:
        assert band["expected"][-1] == pytest.approx(rise.expected, abs=0.005)   # stored to 2 decimals
    for lo, mu, hi, at in zip(band["lo"], band["expected"], band["hi"], band["alarm_at"]):
        assert lo <= mu <= hi < at and at >= spikes.SpikeParams().min_count
    assert band["observed"][-1] >= band["alarm_at"][-1]
    assert sum(o >= a for o, a in zip(band["observed"][:-1], band["alarm_at"][:-1])) == 0


def test_alarm_count_is_the_first_count_that_alarms():
    p = spikes.SpikeParams()
    for mu, k in ((0.4, 0.2), (2.0, 0.1), (9.0, 0.05), (40.0, 0.02)):
        c = spike_band.alarm_count(mu, k, 1e-4, p)
        assert spikes.is_alarm(c, mu, spikes.nb_upper_p(c, mu, k), 1e-4, p)
        assert not spikes.is_alarm(c - 1, mu, spikes.nb_upper_p(c - 1, mu, k), 1e-4, p)


def test_the_engine_stores_the_band_of_the_rise_it_raises():
    case_detectors.clear_caches()
    facts = _facts(outbreak={0: 16})
    facts.attrs["history_key"] = ("test_alert_evidence", "engine band")
    facts["reported_at"] = pd.to_datetime(facts["day"]).dt.tz_localize(TZ) + pd.Timedelta(hours=10)
    m = Moment(pd.Timestamp("2026-11-25 09:00", tz=TZ).to_pydatetime(), TZ)
    found = [f for f in case_detectors.spike_findings(facts, m, {}) if f.detail["family"]["street"] == "320585100"]
    assert found, "the outbreak raises a rise"
    band = found[0].detail["band"]
    window = found[0].detail["window"]
    days = spike_band.band_days(band)
    assert days[-1] == window["end"] == "2026-11-24"
    assert days[0] == str(np.datetime64(window["start"]) - np.timedelta64(spike_band.DAYS_BEFORE, "D"))
    assert band["observed"][-1] >= 16 and band["alarm"][-1]


def test_a_stored_band_wins_and_the_days_after_are_recomputed():
    detail = {"window": {"start": "2026-11-20", "end": "2026-11-20", "days": 1}, "observed": 9, "expected": 2.0,
              "band": {"start": "2026-10-30", "observed": [1] * 22, "expected": [2.0] * 22, "lo": [0] * 22,
                       "hi": [4] * 22, "alarm_at": [8] * 22, "usual": 0.9}}
    detail["band"]["observed"][-1] = 9
    recomputed = {"start": "2026-10-25", "observed": [7] * 33, "expected": [3.0] * 33, "lo": [1] * 33,
                  "hi": [5] * 33, "alarm_at": [9] * 33}
    ev = shape_spike(detail, date(2026, 11, 26), recomputed)
    assert ev["days"][0] == "2026-10-30" and ev["days"][-1] == "2026-11-25"   # 21 before; complete days after
    i = ev["days"].index("2026-11-20")
    assert ev["observed"][i] == 9 and ev["expected"][i] == 2.0 and ev["tripped"][i] and sum(ev["tripped"]) == 1
    assert ev["observed"][i + 1] == 7 and ev["after"][i + 1] and not ev["after"][i]
    assert ev["source"] == "engine+recomputed"
    chart = phone_chart(ev)
    assert chart["tripped"] == ["2026-11-20"] and len(chart["bars"]) == len(ev["days"])
    assert [b["tripped"] for b in chart["bars"]].count(True) == 1 and chart["band"] and chart["alarm"]
    assert shape_spike({"window": {"start": "x"}}, date(2026, 11, 26), recomputed) is None


def test_staffing_shows_counts_unless_names_are_allowed_and_never_ranks():
    detail = {"observed": 3, "on_duty": 10, "workers": [
        {"staff_id": 9, "grid_code": "320585100002001", "offline_minutes": 200},
        {"staff_id": 4, "grid_code": "320585100001001", "offline_minutes": 31},
        {"staff_id": 5, "grid_code": "320585100002001", "offline_minutes": 90},
        {"staff_id": 6, "grid_code": "320585101001001", "offline_minutes": 60}]}   # another street's grid
    places = {"320585100001001": "一网格", "320585100002001": "三网格"}
    ev = shape_staffing(detail, STREET, places, None, TZ)
    assert ev["names"] is False and "workers" not in ev
    assert [(g["code"], g["offline"]) for g in ev["grids"]] == [("320585100001001", 1), ("320585100002001", 2)]
    assert "offline_minutes" not in str(ev)
    named = shape_staffing(detail, STREET, places, [{"name": "王五", "grid_code": "320585100001001", "last_ping": None}], TZ)
    assert named["names"] and named["workers"][0]["name"] == "王五"


# --- every kind from the database, in the viewer's scope --------------------------------------------

@pytest.fixture
def county(engine):
    return engine, seed_evidence(engine)


def view(engine, scope, alert_id, now, names=False):
    with engine.connect() as conn:
        return alert_view(conn, scope, alert_id, TZ, now, names)


def test_every_kind_has_its_evidence(county):
    engine, seeded = county
    now = seeded["now"]
    ev = {kind: view(engine, ROOT, seeded[kind], now)["evidence_detail"]
          for kind in ("spike", "cluster", "repeat", "underreport", "sla", "staffing", "stale", "wall")}

    spike = ev["spike"]   # an old alert without a stored band: recomputed from the cases
    assert spike["source"] == "recomputed" and spike["region_code"] == SPIKE_REGION
    assert spike["category_code"] == SPIKE_CATEGORY
    assert [d for d, t in zip(spike["days"], spike["tripped"]) if t] == seeded["spike_window"]
    assert spike["days"][0] == (date.fromisoformat(seeded["spike_window"][0]) - timedelta(days=21)).isoformat()
    assert spike["days"][-1] == (seeded["today"] - timedelta(days=1)).isoformat() and spike["after"][-1]
    tripped = [i for i, t in enumerate(spike["tripped"]) if t]
    assert [spike["observed"][i] for i in tripped] == [9, 11, 10]
    assert all(spike["observed"][i] >= spike["alarm_at"][i] for i in tripped)
    before = [i for i in range(tripped[0])]
    assert all(spike["expected"][i] is not None and spike["expected"][i] < 4 for i in before)

    cluster = ev["cluster"]
    assert cluster["center"] == {"lat": 31.475, "lon": 121.08} and cluster["radius_m"] == 2400
    assert sorted(p["code"] for p in cluster["points"]) == seeded["cluster_codes"]
    assert len(cluster["outlines"]["features"]) == 2 and cluster["unplaced"] == 0

    repeat = ev["repeat"]
    assert repeat["address"] == ADDRESS   # (masked like every address: this one has nothing personal)
    assert repeat["mode"] == "address" and len(repeat["dates"]) == 4 and repeat["dates"] == sorted(repeat["dates"])

    under = ev["underreport"]
    assert under["period"]["share"] == pytest.approx(8 / 28) and under["period"]["patrol"] == 8
    assert under["peers"]["share"] == pytest.approx(40 / 60) and under["peers"]["communities"] == 1
    assert under["before"]["share"] == pytest.approx(120 / 180) and under["before"]["weeks"] == 12
    assert len(under["weeks"]) == 16 and [w["flagged"] for w in under["weeks"]].count(True) == 4

    sla = ev["sla"]
    assert sla["org"] == ORG_NAME and [r["holder"] for r in sla["rows"]] == [ORG_NAME] * 3
    assert [r["late"] for r in sla["rows"]] == [True, False, False]
    assert sla["rows"][0]["left"].startswith("已超期") and sla["rows"][1]["left"].startswith("剩")
    assert sla["rows"][0]["phase_label"] == "处置"

    staffing = ev["staffing"]
    assert staffing["mode"] == "offline" and not staffing["names"] and "workers" not in staffing
    assert [(g["code"], g["offline"]) for g in staffing["grids"]] == [("320585100001001", 1), ("320585100002001", 1)]
    assert staffing["grids"][0]["place"] == "城厢第1社区第1网格"

    assert ev["stale"]["facts"] == [{"label": "新事件上报", "value": "已95分钟无更新（通常20分钟内，超过60分钟即报警）"}]
    assert {"label": "大屏账号", "value": "wall-cx"} in ev["wall"]["facts"]


def test_names_and_last_positions_only_when_allowed(county):
    engine, seeded = county
    named = view(engine, ROOT, seeded["staffing"], seeded["now"], names=True)["evidence_detail"]
    workers = named["workers"]
    assert [w["name"] for w in workers] == ["网格员1", "网格员3"]          # by grid, never by minutes offline
    assert workers[1]["lat"] == 31.49 and workers[1]["last_ping"] is not None
    assert workers[0]["last_ping"] is not None   # worker 1's ping of 2 minutes ago


def test_a_street_user_sees_only_its_street(county):
    engine, seeded = county
    now = seeded["now"]
    assert view(engine, OTHER_STREET, seeded["spike"], now) is None
    under = view(engine, STREET, seeded["underreport"], now)["evidence_detail"]
    assert under["peers"]["communities"] == 1          # the other community of its street only
    # a community user: the peers are outside its scope, so none
    community = Scope(CONCEALED, COUNTY)
    alone = view(engine, community, seeded["underreport"], now)["evidence_detail"]
    assert alone["peers"]["communities"] == 0 and alone["peers"]["share"] is None
    # the spike series of a community read from inside that community alone still draws
    inside = view(engine, Scope(SPIKE_REGION, COUNTY), seeded["spike"], now)["evidence_detail"]
    assert [inside["observed"][i] for i, t in enumerate(inside["tripped"]) if t] == [9, 11, 10]


def test_the_api_and_the_phone_page_carry_it(county, monkeypatch):
    engine, seeded = county
    from dashboard.app import create_app
    from dashboard.core.config import Settings

    app = create_app(Settings(database_url=engine.url.render_as_string(hide_password=False), secret_key="t"), auth=False)
    client = app.server.test_client()
    for kind, needle in (("spike", 'id="alert-phone-chart"'), ("repeat", 'id="alert-phone-address"'),
                         ("underreport", 'data-share="peers"'), ("sla", ORG_NAME), ("staffing", "离线 1 人")):
        page = client.get(f"/?alert={seeded[kind]}&view=phone").get_data(as_text=True)
        assert f'data-kind="{kind}"' in page and needle in page, kind
    body = client.get(f"/api/v1/alerts/{seeded['spike']}").get_json()
    assert body["evidence_detail"]["kind"] == "spike" and len(body["evidence_detail"]["days"]) >= 22


def test_the_wall_panel_draws_every_kind_and_names_only_when_allowed(county):
    from layouts.alert_evidence import part

    engine, seeded = county
    for kind in ("spike", "cluster", "repeat", "underreport", "sla", "staffing", "stale", "wall"):
        for names in (False, True):
            shown = view(engine, ROOT, seeded[kind], seeded["now"], names=names)
            [root] = part(shown["evidence_detail"])
            text = str(root.to_plotly_json())
            assert root.id == "alert-evidence" and getattr(root, "data-kind") == kind, kind
            assert ("data-worker" in text) == (kind == "staffing" and names), (kind, names)
    assert part(None) == [] and part({"kind": "spike", "days": None}) == []
