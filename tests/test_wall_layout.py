"""The wall fills a video wall exactly: no scrollbars and no panel overflowing its box at
3840x2160, 1920x1080 and 5760x1080; ``?kiosk=1`` hides every control.

Screenshots of each size land in /tmp/wall-<w>x<h>.png for a human to look at.
"""

from __future__ import annotations

import pytest

from .wall_browser_support import OVERFLOW_JS, dispose, set_screen, start_wall, synthetic_county

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (3840, 2160), (5760, 1080)]


def test_wall_fits_every_screen_and_kiosk_hides_controls(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, *SIZES[0])
    start_wall(dash_duo, url)
    for width, height in SIZES:
        set_screen(dash_duo, width, height)
        dash_duo.wait_for_page(dash_duo.server_url + "/")
        dash_duo.wait_for_element("#map .region-label", timeout=20)
        dash_duo.wait_for_element("#case-stream [data-case-code]")
        dash_duo.wait_for_element("#sla-board .org-row")
        dash_duo.wait_for_element("#trend-graph .bars, #trend-graph .scatterlayer .trace")
        dash_duo.driver.execute_script("return new Promise(r => requestAnimationFrame(() => r()))")
        got = dash_duo.driver.execute_script(OVERFLOW_JS)
        assert got["size"] == [width, height]
        assert got["page"] == [0, 0], f"the wall overflows its {width}x{height} screen by {got['page']}"
        assert got["inner"] == [], f"at {width}x{height}: {got['inner']}"
        dash_duo.driver.save_screenshot(f"/tmp/wall-{width}x{height}.png")
    controls = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.control')].filter(e => e.offsetParent !== null).length")
    assert controls >= 2  # the shading choice and the mute switch at least

    dash_duo.wait_for_page(dash_duo.server_url + "/?kiosk=1")
    dash_duo.wait_for_element("#wall.wall--kiosk")
    dash_duo.wait_for_element("#map .region-label")
    shown = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.control, button, input, select')]"
        ".filter(e => e.offsetParent !== null).map(e => e.id || e.className)")
    # The one exception: while the browser holds the sound back (headless Chromium does), the
    # button that lets it start (interfaces.md #chime-state).
    assert shown in ([], ["chime-state"])
    if shown:
        assert dash_duo.find_element("#chime-state").get_attribute("data-state") == "blocked"
    assert dash_duo.get_logs() == []
    dispose(url)
