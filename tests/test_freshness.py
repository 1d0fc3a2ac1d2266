"""#freshness shows the link's state, with the feed's age (the deployment's last case change anywhere)
as its tooltip, and #region-last-case the view's own last case: a quiet grid is not a stale feed.

Called at the callback level (callbacks/live/tick.py); assets/live.js draws the two from these fields.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete

from callbacks.live import outage
from callbacks.live import signal as live_signal
from callbacks.live import tick
from callbacks.live.outage import DataUnavailable
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.models import Case

from .wall_fixtures import COUNTY, insert_case, seed_small_county

UTC = timezone.utc
TZ = Settings(secret_key="x").tz
QUIET_GRID = "320585103002002"


@pytest.fixture
def wall_app(engine, backend_url, monkeypatch):
    seed_small_county(engine)
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    monkeypatch.setattr(live_signal, "STALE_AFTER", 600.0)
    app = create_app(Settings(database_url=backend_url, secret_key="fresh-test"), auth=False)
    with app.server.test_request_context("/"):
        yield app
    live_signal.forget(backend_url)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


@pytest.fixture
def quiet_grid(engine):
    """QUIET_GRID's only case is two days and three hours old; elsewhere a case has just come in."""
    now = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as conn:
        conn.execute(delete(Case).where(Case.grid_code == QUIET_GRID))
    old = now - timedelta(days=2, hours=3)
    insert_case(engine, "320585-QUIET-1", old, grid_code=QUIET_GRID)
    recent = datetime.now(UTC)  # after every seeded change (a seeded case may have closed a second ago)
    insert_case(engine, "320585-BUSY-1", recent, grid_code="320585100001001")
    live_signal.refresh_all()
    return old, recent


def test_at_a_quiet_grid_the_badge_shows_the_feeds_age_and_the_region_its_old_last_case(wall_app, quiet_grid):
    old, recent = quiet_grid
    signal, _slow, beat = tick.update_signal(1, f"?region={QUIET_GRID}", None)
    assert signal["stale"] is False and signal["mode"] == "live"
    # The badge: the platform's last change anywhere, just now (not the grid's two days).
    assert signal["as_of"] == _ms(recent)
    assert signal["as_of_text"] == recent.astimezone(TZ).strftime("%H:%M:%S")
    assert beat["t"] - signal["as_of"] < 5 * 60 * 1000
    # The region element: the grid's own last case, with its date as it is not today's.
    assert signal["region_as_of"] == _ms(old)
    assert signal["region_as_of_text"] == old.astimezone(TZ).strftime("%m-%d %H:%M")


def test_at_the_root_both_are_the_deployments_last_change(wall_app, quiet_grid):
    _old, recent = quiet_grid
    signal, _, _ = tick.update_signal(1, "", None)
    assert signal["view"] == f"{COUNTY}|live"
    assert signal["as_of"] == signal["region_as_of"] == _ms(recent)
    assert signal["region_as_of_text"] == recent.astimezone(TZ).strftime("%H:%M")


def test_a_grid_without_cases_has_no_region_time_but_the_feed_still_has_its_age(wall_app, engine, quiet_grid):
    with engine.begin() as conn:
        conn.execute(delete(Case).where(Case.grid_code == QUIET_GRID))
    live_signal.refresh_all()
    signal, _, _ = tick.update_signal(1, f"?region={QUIET_GRID}", None)
    assert signal["region_as_of"] is None and signal["region_as_of_text"] is None
    assert signal["as_of"] == _ms(quiet_grid[1])


def test_a_past_view_is_in_history_mode_and_ages_from_its_moment(wall_app, quiet_grid):
    old, recent = quiet_grid
    at = (recent - timedelta(hours=1)).astimezone(TZ).replace(microsecond=0)
    signal, _, _ = tick.update_signal(1, f"?region={QUIET_GRID}&at={at:%Y-%m-%dT%H:%M:%S}", None)
    assert signal["mode"] == "history" and signal["ref"] == _ms(at)
    assert signal["as_of"] is not None and signal["as_of"] <= _ms(at)  # the feed as of T, not now
    assert signal["region_as_of"] == _ms(old)


def test_an_outage_keeps_the_mode_it_interrupts(wall_app, quiet_grid):
    signal, _, _ = tick.update_signal(1, f"?region={QUIET_GRID}", None)
    stale = tick.stale_data(DataUnavailable("down"), signal)
    assert stale["stale"] is True and stale["mode"] == "live" and stale["view"] == signal["view"]


# --- in the browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_the_wall_at_a_quiet_grid_shows_both_in_the_header(dash_duo, tmp_path):
    from data_access.db import init_db, make_engine

    from .wall_browser_support import dispose, start_wall

    url = f"sqlite:///{tmp_path / 'wall.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    with engine.begin() as conn:
        conn.execute(delete(Case).where(Case.grid_code == QUIET_GRID))
    old = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2, hours=3)
    insert_case(engine, "320585-QUIET-1", old, grid_code=QUIET_GRID)
    insert_case(engine, "320585-BUSY-1", datetime.now(UTC), grid_code="320585100001001")
    engine.dispose()

    start_wall(dash_duo, url, path=f"/?region={QUIET_GRID}")
    dash_duo.wait_for_text_to_equal("#region-last-case", "最新事件 " + old.astimezone(TZ).strftime("%m-%d %H:%M"),
                                    timeout=30)
    badge = dash_duo.find_element("#freshness")
    assert badge.get_attribute("data-stale") == "false" and badge.get_attribute("data-mode") == "live"
    # The link's state, not the grid's two days; the feed's age is the badge's tooltip.
    assert badge.text == "实时" and badge.get_attribute("title").startswith("全平台最新变更 ")
    assert dash_duo.get_logs() == []
    dispose(url)


@pytest.mark.browser
def test_a_feed_silent_past_the_stall_hours_says_so_and_a_new_case_brings_it_back(dash_duo, tmp_path):
    """The link is up, but the platform has changed no case for longer than feed_stall_hours: the
    badge turns to 数据停滞 with the last change's day and time by itself (no new version comes from a
    dead feed), the panels dim; the next case change makes it 实时 again."""
    from data_access.db import init_db, make_engine

    from .wall_browser_support import dispose, start_wall

    url = f"sqlite:///{tmp_path / 'wall.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    last = datetime.now(UTC)
    insert_case(engine, "320585-LAST-1", last)
    app = start_wall(dash_duo, url)
    dash_duo.wait_for_text_to_equal("#freshness", "实时", timeout=30)
    app.server.config["GRIDWALL_FEED_STALL_HOURS"] = 4 / 3600  # 4 s, read with each version
    insert_case(engine, "320585-LAST-2", datetime.now(UTC))
    dash_duo.wait_for_element('#freshness[data-feed="stalled"]', timeout=30)
    badge = dash_duo.find_element("#freshness")
    assert badge.text.startswith("数据停滞 · 最新变更 ") and badge.get_attribute("data-stale") == "true"
    assert "wall--stale" in dash_duo.find_element("#wall").get_attribute("class")
    app.server.config["GRIDWALL_FEED_STALL_HOURS"] = 6.0
    insert_case(engine, "320585-LAST-3", datetime.now(UTC))
    dash_duo.wait_for_text_to_equal("#freshness", "实时", timeout=30)
    assert dash_duo.find_element("#freshness").get_attribute("data-feed") == "ok"
    assert dash_duo.get_logs() == []
    engine.dispose()
    dispose(url)


def test_the_live_signal_carries_the_stall_limit_and_the_feeds_day(wall_app, quiet_grid):
    _old, recent = quiet_grid
    signal, _, _ = tick.update_signal(1, "", None)
    assert signal["stall_ms"] == 6 * 3600 * 1000
    assert signal["as_of_day_text"] == recent.astimezone(TZ).strftime("%H:%M")


def test_a_last_case_of_an_earlier_year_is_shown_with_its_year():
    from data_access.moment import Moment

    m = Moment(datetime(2026, 12, 4, 4, 0, tzinfo=timezone.utc), TZ)
    assert tick.case_time_text(datetime(2026, 12, 4, 1, 30, tzinfo=timezone.utc), m) == "09:30"
    assert tick.case_time_text(datetime(2026, 8, 3, 1, 30, tzinfo=timezone.utc), m) == "08-03 09:30"
    assert tick.case_time_text(datetime(2020, 8, 3, 1, 30, tzinfo=timezone.utc), m) == "2020-08-03 09:30"
