"""The alert chime when the browser holds sound back (issue 13, item 3).

Browsers keep a page's audio suspended until someone clicks it. Headless Chromium as the tests start
it (conftest.py) does the same, so the blocked state is what a kiosk wall without
``--autoplay-policy=no-user-gesture-required`` shows: ``#chime-state`` says so in kiosk mode too,
a new critical alert flashes the header instead of a chime nobody hears, and a click turns the
sound on. A browser started with that flag (the ``dash_duo_sound`` fixture) is ``on`` from the start.
"""

from __future__ import annotations

import pytest

from .wall_browser_support import AMBER, WAIT, critical_alert, small_county, start_wall, wait_until  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def dash_duo_sound(request, dash_thread_server, tmp_path):
    """dash_duo in a Chromium allowed to play sound without a click, as a kiosk wall should be started."""
    from dash.testing.composite import DashComposite

    options = request.config.hook.pytest_setup_options()
    options[0].add_argument("--autoplay-policy=no-user-gesture-required")
    download = tmp_path / "download"
    download.mkdir()
    with DashComposite(server=dash_thread_server, browser=request.config.getoption("webdriver"),
                       headless=request.config.getoption("headless"), options=options,
                       download_path=str(download)) as dc:
        yield dc


def counters(driver) -> dict:
    return driver.execute_script(
        "var g = window.gridwall; return {chimes: g.chimes || 0, sounds: g.sounds || 0, flashes: g.flashes || 0}")


def shown(dash_duo, selector: str) -> bool:
    found = dash_duo.find_elements(selector)
    return bool(found) and found[0].is_displayed()


def test_blocked_sound_asks_for_a_click_in_kiosk_mode_and_flashes_the_header_instead(dash_duo, small_county):
    engine, url = small_county.engine, small_county.url
    start_wall(dash_duo, url, path="/?kiosk=1")
    driver = dash_duo.driver
    dash_duo.wait_for_element("#alerts [data-alert-id]", timeout=WAIT)

    # Blocked: the amber control shows although kiosk mode hides every .control; the mute switch,
    # whose "提示音 开" would not be true, is not shown.
    state = dash_duo.wait_for_element('#chime-state[data-state="blocked"]', timeout=WAIT)
    assert state.is_displayed() and state.text == "点击启用提示音"
    assert state.value_of_css_property("color") == AMBER
    assert not shown(dash_duo, "#mute-toggle")
    assert driver.execute_script("return window.gridwall.chimeState()") == "blocked"

    # A new critical alert: no sound is counted as played; the header flashes.
    first = critical_alert(engine, "blocked-1")
    dash_duo.wait_for_element(f'#alerts [data-alert-id="{first}"]', timeout=WAIT)
    # The signal is given as the list shows the alert (assets/gridwall.js noticeAlerts): no wait.
    assert counters(driver) == {"chimes": 1, "sounds": 0, "flashes": 1}
    assert dash_duo.find_elements(".wall-header.header-flash")

    # A click lets the sound start: the control goes, and the next alert is heard, not flashed.
    state.click()
    dash_duo.wait_for_element('#chime-state[data-state="on"]', timeout=WAIT)
    assert not shown(dash_duo, "#chime-state")
    wait_until(driver, lambda: counters(driver)["sounds"] >= 1)  # the click's confirmation tone
    sounds = counters(driver)["sounds"]
    second = critical_alert(engine, "blocked-2")
    dash_duo.wait_for_element(f'#alerts [data-alert-id="{second}"]', timeout=WAIT)
    assert counters(driver) == {"chimes": 2, "sounds": sounds + 1, "flashes": 1}
    assert dash_duo.get_logs() == []


def test_a_browser_allowed_to_play_sound_is_on_and_muted_is_off(dash_duo_sound, small_county):
    dash_duo = dash_duo_sound
    engine, url = small_county.engine, small_county.url
    start_wall(dash_duo, url, path="/?kiosk=1")
    driver = dash_duo.driver
    dash_duo.wait_for_element("#alerts [data-alert-id]", timeout=WAIT)
    dash_duo.wait_for_element('#chime-state[data-state="on"]', timeout=WAIT)
    assert not shown(dash_duo, "#chime-state")

    first = critical_alert(engine, "allowed-1")
    dash_duo.wait_for_element(f'#alerts [data-alert-id="{first}"]', timeout=WAIT)
    assert counters(driver) == {"chimes": 1, "sounds": 1, "flashes": 0}
    assert not dash_duo.find_elements(".wall-header.header-flash")

    # Muted (remembered in localStorage): off, and nothing asks for a click.
    driver.execute_script("localStorage.setItem('gridwall.mute', '1')")
    driver.refresh()
    dash_duo.wait_for_element('#chime-state[data-state="off"]', timeout=WAIT)
    assert not shown(dash_duo, "#chime-state")
    assert dash_duo.get_logs() == []
