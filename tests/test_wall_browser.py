"""The wall in headless Chromium (dash_duo): live figures, the case stream, outage and recovery,
timers ticking in the browser, alerts (chime, mute, acknowledgement).

Chrome options come from ``pytest_setup_options`` in conftest.py. Drill-down is in
test_wall_drilldown.py, screen sizes and kiosk mode in test_wall_layout.py.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from dashboard.core.config import Settings
from data_access.db import get_engine, init_db, make_engine
from data_access.figures import case_figures
from data_access.models import Alert
from data_access.moment import Moment
from data_access.scope import Scope

from .wall_browser_support import critical_alert, small_county, start_wall  # noqa: F401 (a fixture)
from .wall_fixtures import COUNTY, insert_case, seed_small_county

pytestmark = pytest.mark.browser

UTC = timezone.utc
TZ = Settings(database_url="sqlite://", secret_key="t").tz


def figures_now(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return case_figures(conn, Scope(COUNTY, COUNTY), Moment.now(TZ))


@pytest.fixture
def county(backend_url):
    """The hand-made county on each backend (``small_county``: on SQLite only, for the tests whose
    subject is not the backend)."""
    engine = make_engine(backend_url)
    init_db(engine)
    seed_small_county(engine)
    yield engine
    engine.dispose()
    get_engine(backend_url).dispose()


def test_wall_shows_live_figures_and_new_cases(dash_duo, county, backend_url):
    before = figures_now(county)
    start_wall(dash_duo, backend_url)

    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"]), timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-new-today", str(before["new_today"]))
    dash_duo.wait_for_element("#case-stream [data-case-code]")
    dash_duo.wait_for_element("#map .leaflet-interactive")
    dash_duo.wait_for_text_to_equal("#wall-title", "网格化联动指挥中心")
    dash_duo.wait_for_contains_text("#breadcrumb", "太仓市")
    assert dash_duo.find_element("#freshness").get_attribute("data-stale") == "false"
    for element_id in ("breadcrumb", "sla-board", "staffing", "alerts", "map"):
        dash_duo.find_element(f"#{element_id}")
    assert dash_duo.find_element("#breadcrumb [data-region]").get_attribute("data-region") == COUNTY
    # The new alert is listed; the acknowledged one is counted in one line (已确认 N 条), not listed;
    # the seeded resolved one is neither.
    acked = dash_duo.wait_for_element('#alerts [data-acknowledged="1"]', timeout=15)
    assert acked.text == "已确认 1 条"
    assert [(e.get_attribute("data-severity"), e.get_attribute("data-status"))
            for e in dash_duo.find_elements("#alerts [data-alert-id]")] == [("warning", "new")]
    assert dash_duo.find_element("#alerts").get_attribute("data-total") == "1"

    code = "320585-20991231-77777"
    insert_case(county, code, datetime.now(UTC), title='<img src=x onerror="window.__gwxss=1">道路积水')
    dash_duo.wait_for_element(f'#case-stream [data-case-code="{code}"]', timeout=10)
    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"] + 1), timeout=10)
    dash_duo.wait_for_text_to_equal("#kpi-new-today", str(before["new_today"] + 1), timeout=10)
    first = dash_duo.find_elements("#case-stream [data-case-code]")[0]
    assert first.get_attribute("data-case-code") == code
    assert len(dash_duo.find_elements("#case-stream [data-case-code]")) <= 30
    # Text from the database is shown as text, never parsed as HTML. (The stream pages through its
    # entries every few seconds: the newest one may be on a page not shown now, hence textContent.)
    assert "<img" in first.get_attribute("textContent")
    assert dash_duo.find_elements("#case-stream img") == []
    assert dash_duo.driver.execute_script("return window.__gwxss === undefined")

    # The database goes away (here: its cases table does): last good values stay, marked stale.
    with county.begin() as conn:
        conn.execute(text("ALTER TABLE cases RENAME TO cases_away"))
    try:
        dash_duo.wait_for_element('#freshness[data-stale="true"]', timeout=15)
        assert dash_duo.find_element("#freshness").text.startswith("数据中断 自")
        assert dash_duo.find_element("#kpi-open").text == str(before["open"] + 1)
    finally:
        with county.begin() as conn:
            conn.execute(text("ALTER TABLE cases_away RENAME TO cases"))
    dash_duo.wait_for_element('#freshness[data-stale="false"]', timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"] + 1), timeout=10)

    assert dash_duo.get_logs() == []


def test_wall_region_and_bad_region(dash_duo, small_county):
    county, url = small_county.engine, small_county.url
    street = "320585100"
    with county.connect() as conn:
        street_open = case_figures(conn, Scope(street, COUNTY), Moment.now(TZ))["open"]
    start_wall(dash_duo, url, f"/?region={street}")
    dash_duo.wait_for_text_to_equal("#kpi-open", str(street_open), timeout=15)
    crumbs = [a.get_attribute("data-region") for a in dash_duo.find_elements("#breadcrumb [data-region]")]
    assert crumbs == [COUNTY, street]
    codes = [e.get_attribute("data-case-code") for e in dash_duo.find_elements("#case-stream [data-case-code]")]
    assert codes and all(code.startswith("320585-") for code in codes)

    dash_duo.wait_for_page(dash_duo.server_url + "/?region=<script>alert(1)</script>")
    dash_duo.wait_for_text_to_equal("#kpi-open", str(figures_now(county)["open"]), timeout=15)
    dash_duo.wait_for_contains_text("#region-notice", "无效")
    assert dash_duo.get_logs() == []


def _texts(dash_duo, selector: str) -> list[str]:
    """Text of every match, shown or cut off the end of its list."""
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", selector)


def test_timers_tick_in_the_browser_and_alerts_chime(dash_duo, small_county):
    county, url = small_county.engine, small_county.url
    start_wall(dash_duo, url)
    dash_duo.wait_for_element("#sla-board [data-due]", timeout=15)
    dash_duo.wait_for_element("#case-stream [data-since]")
    driver = dash_duo.driver

    # With every request to the server blocked, the timers still move: the browser ticks them.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})
    try:
        before = _texts(dash_duo, "#sla-board [data-due]")
        time.sleep(2.2)
        after = _texts(dash_duo, "#sla-board [data-due]")
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    dash_duo.get_logs()  # the blocked requests' errors, read and set aside
    # SLA timers show seconds only under an hour (tests/test_wall_sla_browser.py ticks one): those move.
    assert len(before) == len(after) and all(b != a for b, a in zip(before, after) if "秒" in b), (before, after)
    assert all(re.fullmatch(r"(剩 |超)(\d+分\d\d秒|\d+时\d\d分|\d+天\d+时|\d+天)", t) for t in after), after

    # A new critical alert chimes once (the list shows it first); acknowledged from the wall, it says
    # so, is written, and leaves the list for the acknowledged line.
    dash_duo.wait_for_element('#alerts [data-acknowledged="1"]', timeout=15)
    first = critical_alert(county, "chime-1")
    entry = dash_duo.wait_for_element(f'#alerts [data-alert-id="{first}"]', timeout=15)
    assert dash_duo.find_elements("#alerts [data-alert-id]")[0].get_attribute("data-alert-id") == str(first)
    dash_duo.wait_for_text_to_equal("#kpi-alerts-new", "2", timeout=10)
    # The chime is given as the list shows the alert (assets/gridwall.js noticeAlerts).
    assert driver.execute_script("return window.gridwall.chimes || 0") == 1
    entry.find_element("css selector", ".alert-ack").click()  # opens the evidence panel
    dash_duo.wait_for_element('#alert-detail-choices [data-disposition="known"]', timeout=10).click()
    dash_duo.wait_for_contains_text("#ack-result", "已确认（已知）")
    dash_duo.find_element("#alert-detail-close").click()
    dash_duo.wait_for_element('#alerts [data-acknowledged="2"]', timeout=15)
    assert not dash_duo.find_elements(f'#alerts [data-alert-id="{first}"]')
    with county.connect() as conn:
        assert conn.execute(select(Alert.status, Alert.ack_by).where(Alert.id == first)).one() == ("acknowledged", "demo")

    # Muted (remembered in localStorage), the next one is silent.
    dash_duo.find_element("#mute-toggle").click()
    dash_duo.wait_for_text_to_equal("#mute-toggle", "提示音 关")
    chimes = driver.execute_script("return window.gridwall.chimes || 0")
    assert driver.execute_script("return localStorage.getItem('gridwall.mute')") == "1"
    second = critical_alert(county, "chime-2")
    dash_duo.wait_for_element(f'#alerts [data-alert-id="{second}"]', timeout=15)
    assert driver.execute_script("return window.gridwall.chimes || 0") == chimes
    assert dash_duo.get_logs() == []
