"""The wall's callbacks called directly (no browser): figures, outage handling, stream patches, header.

The panels' callbacks (SLA board, staffing, region table, alerts, map) are in test_wall_panels.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from dash import no_update
from sqlalchemy.exc import OperationalError

from callbacks import map_view, wall
from callbacks.live import outage
from callbacks.live import signal as live_signal
from callbacks.live import tick as live
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.figures import case_figures, rate_figures, staffing_figures
from data_access.moment import Moment
from data_access.scope import Scope
from layouts import i18n, tile_catalogue

from .wall_fixtures import COUNTY, insert_case, seed_small_county

UTC = timezone.utc
ROOT = Scope(COUNTY, COUNTY)
N_VALUES = len(tile_catalogue.TILES)


def refreshed() -> None:
    """A change just written becomes the current data version (no wait for the poller)."""
    live_signal.refresh_all()


@pytest.fixture
def wall_app(engine, backend_url, monkeypatch):
    seed_small_county(engine)
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    # A poller starved by a busy machine must not turn these tests into outage tests.
    monkeypatch.setattr(live_signal, "STALE_AFTER", 600.0)
    app = create_app(Settings(database_url=backend_url, secret_key="cb-test"), auth=False)
    with app.server.test_request_context("/"):
        yield app


def now_moment() -> Moment:
    return Moment(datetime.now(UTC).replace(microsecond=0), Settings(secret_key="x").tz)


def test_figures_are_the_data_access_figures(wall_app, engine):
    out = wall.update_figures(1, "", None)
    with engine.connect() as conn:
        m = now_moment()
        cases = case_figures(conn, ROOT, m)
        rates = rate_figures(conn, ROOT, m)
        staffing = staffing_figures(conn, ROOT, m)
    kpis = out[:5]
    assert kpis == tuple(str(cases[t.figure[1]]) for t in tile_catalogue.tiles(tile_catalogue.ROW)[:5])
    assert all(v.isdigit() for v in kpis)
    assert out[5] == "1"  # one new alert; the acknowledged and resolved ones are not new
    assert out[6:10] == tuple(i18n.pct(rates[t.figure[1]]) for t in tile_catalogue.tiles(tile_catalogue.RATES))
    staffing["vacant"] = staffing["grids"] - staffing["grids_staffed"]
    assert out[10:16] == tuple(str(staffing[t.figure[1]]) for t in tile_catalogue.tiles(tile_catalogue.STAFFING))
    assert len(out) == N_VALUES + 1 and len(out[-1]) == N_VALUES  # and the digests of what it sent
    # The browser holds these now: the same version again sends nothing but the digests.
    again = wall.update_figures(1, "", out[-1])
    assert again[:N_VALUES] == (no_update,) * N_VALUES and again[-1] == out[-1]

    signal, slow, beat = live.update_signal(1, "", None)
    assert signal["stale"] is False and signal["view"] == f"{COUNTY}|live" and beat["t"] > 0
    assert slow["v"] == signal["v"]  # the slower panels get the first version at once
    assert signal["as_of_text"] and signal["as_of"] <= beat["t"]


def test_outage_keeps_the_last_values_and_recovers(wall_app, monkeypatch):
    good, _, _ = live.update_signal(1, "", None)
    real = outage.get_engine

    def down(url):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(outage, "get_engine", down)
    monkeypatch.setattr(live_signal, "get_engine", down)
    refreshed()
    signal, slow, _ = live.update_signal(2, "", good)
    assert signal["stale"] is True and signal["since_text"].count(":") == 2 and slow["stale"] is True
    # The data callbacks keep what the wall shows.
    assert wall.update_figures(signal, "", None) == (no_update,) * (N_VALUES + 1)
    assert wall.update_figures(1, "?at=2026-01-01T00:00:07", None) == (no_update,) * (N_VALUES + 1)
    assert wall.update_stream(signal, "", None) == (no_update, no_update)
    assert wall.update_stream(3, "", None) == (no_update, no_update)
    assert map_view.update_map(signal, "open", "", None) == (no_update,) * 7
    # Still down: the store keeps the time the outage began.
    assert live.update_signal(3, "", signal)[0] is no_update

    monkeypatch.setattr(outage, "get_engine", real)
    monkeypatch.setattr(live_signal, "get_engine", real)
    refreshed()
    back, _, _ = live.update_signal(4, "", signal)
    assert back["stale"] is False and back["v"]
    out = wall.update_figures(back, "", None)
    assert out[0].isdigit()


def test_stream_feed_sends_only_the_entries_the_page_lacks(wall_app, engine):
    feed, state = wall.update_stream(1, "", None)
    assert feed["full"] is True and len(feed["keys"]) == 30 and set(feed["entries"]) == set(feed["keys"])
    assert state["keys"] == feed["keys"] and feed["view"] == state["view"]
    first = feed["entries"][feed["keys"][0]].to_plotly_json()["props"]
    assert first["data-case-code"] == feed["keys"][0] and "case--fresh" not in first["className"]
    assert wall.update_stream(2, "", state) == (no_update, no_update)

    code = "320585-20991231-00001"
    insert_case(engine, code, datetime.now(UTC) - timedelta(seconds=1))
    refreshed()
    feed, new_state = wall.update_stream(3, "", state)
    assert feed["full"] is False and list(feed["entries"]) == [code]
    assert feed["keys"][0] == code and feed["keys"][1:] == state["keys"][:29]
    assert new_state["keys"] == feed["keys"]

    # Another view (a street) sends its list whole.
    feed, street_state = wall.update_stream(4, "?region=320585100", new_state)
    assert feed["full"] is True and street_state["view"].startswith("320585100|")
    assert set(feed["entries"]) == set(feed["keys"])


def test_stream_feed_carries_a_late_report_in_the_middle(wall_app, engine):
    _, state = wall.update_stream(1, "", None)
    # A late report: older than the newest case shown, so it lands in the middle of the list.
    insert_case(engine, "320585-LATE-1", datetime.now(UTC) - timedelta(minutes=4))
    refreshed()
    feed, new_state = wall.update_stream(2, "", state)
    assert "320585-LATE-1" in new_state["keys"][:5] and list(feed["entries"]) == ["320585-LATE-1"]


def test_header_breadcrumb_and_notices(wall_app):
    title, crumbs, notice, mode, clock = wall.update_header("", 0)
    assert title == "网格化联动指挥中心"  # the county is the breadcrumb's first link
    links = [c.to_plotly_json()["props"] for c in crumbs if c.to_plotly_json()["type"] == "A"]
    assert [link["data-region"] for link in links] == [COUNTY]
    assert notice == [] and mode == [] and clock["at"] is None

    _, crumbs, notice, _, _ = wall.update_header("?region=320585100001", 0)
    links = [c.to_plotly_json()["props"] for c in crumbs if c.to_plotly_json()["type"] == "A"]
    assert [link["data-region"] for link in links] == [COUNTY, "320585100", "320585100001"]
    assert links[1]["href"] == "?region=320585100"

    for bad in ("320583", "abc", "3205851009999999", "320585999"):
        title, crumbs, notice, _, _ = wall.update_header(f"?region={bad}", 0)
        assert notice, bad
        links = [c.to_plotly_json()["props"] for c in crumbs if c.to_plotly_json()["type"] == "A"]
        assert [link["data-region"] for link in links] == [COUNTY]

    _, _, notice, mode, clock = wall.update_header("?at=2026-11-20T09:30", 0)
    assert notice == [] and mode and clock["at"].startswith("2026-11-20T01:30")
    _, _, notice, mode, clock = wall.update_header("?at=2999-01-01", 0)
    assert notice and mode == [] and clock["at"] is None
    _, _, notice, _, _ = wall.update_header("?at=yesterday", 0)
    assert notice


def test_figures_at_a_past_moment(wall_app, engine):
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    out = wall.update_figures(1, f"?at={at.isoformat()}", None)
    with engine.connect() as conn:
        past = case_figures(conn, ROOT, Moment(at, Settings(secret_key="x").tz))
    assert out[0] == str(past["open"])
