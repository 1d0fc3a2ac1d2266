"""The wall fills a video wall exactly: no scrollbars and no panel overflowing its box at
3840x2160, 1920x1080 and 5760x1080; ``?kiosk=1`` hides every control.

Measured with real Chinese glyphs: a CJK font's em box (1.45 of the type size for Noto Sans CJK)
is a quarter taller than a Latin font's, and boxes drawn in place of missing glyphs would hide an
overflow. The test fails on a machine without a CJK font (scripts/test.sh installs fonts-noto-cjk).

Screenshots of each size land in /tmp/wall-<w>x<h>.png for a human to look at.
"""

from __future__ import annotations

import pytest

from .wall_browser_support import OVERFLOW_JS, dispose, set_screen, start_wall, synthetic_county

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (3840, 2160), (5760, 1080)]
CJK_FAMILY = ("CJK", "Source Han", "YaHei", "PingFang", "WenQuanYi", "Hiragino", "Hei")


def _open_and_settle(dash_duo, path: str) -> None:
    """The page with every panel drawn (a busy test machine takes a while for the first ones)."""
    dash_duo.wait_for_page(dash_duo.server_url + path)
    for selector in ("#map .region-label", "#case-stream [data-case-code]", "#sla-board .org-row",
                     "#trend-graph .bars, #trend-graph .scatterlayer .trace"):
        dash_duo.wait_for_element(selector, timeout=45)
    # The lists are cut in an animation frame after the rows arrive: wait for the next two.
    dash_duo.driver.execute_script(
        "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))")


def fonts_drawing(driver, selector: str) -> list[str]:
    """The font families Chromium drew the element's text with (DevTools' "Rendered Fonts")."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts]


def test_wall_fits_every_screen_and_kiosk_hides_controls(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, *SIZES[0])
    start_wall(dash_duo, url)
    dash_duo.wait_for_text_to_equal("#wall-title", "网格化联动指挥中心", timeout=20)
    drawn = fonts_drawing(dash_duo.driver, "#wall-title")
    assert any(cjk in family for family in drawn for cjk in CJK_FAMILY), (
        f"the title is drawn with {drawn}, no CJK font: install one (apt-get install fonts-noto-cjk)")
    for width, height in SIZES:
        set_screen(dash_duo, width, height)
        _open_and_settle(dash_duo, "/")
        got = dash_duo.driver.execute_script(OVERFLOW_JS)
        assert got["size"] == [width, height]
        assert got["page"] == [0, 0], f"the wall overflows its {width}x{height} screen by {got['page']}"
        assert got["inner"] == [], f"at {width}x{height}: {got['inner']}"
        dash_duo.driver.save_screenshot(f"/tmp/wall-{width}x{height}.png")
    controls = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.control')].filter(e => e.offsetParent !== null).length")
    assert controls >= 2  # the shading choice and the mute switch at least

    # Kiosk mode, on the tightest of the screens: the header without its controls fits as well.
    set_screen(dash_duo, *SIZES[0])
    _open_and_settle(dash_duo, "/?kiosk=1")
    dash_duo.wait_for_element("#wall.wall--kiosk")
    got = dash_duo.driver.execute_script(OVERFLOW_JS)
    assert got["page"] == [0, 0] and got["inner"] == [], f"kiosk at {SIZES[0]}: {got}"
    dash_duo.driver.save_screenshot("/tmp/wall-kiosk-{}x{}.png".format(*SIZES[0]))
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
