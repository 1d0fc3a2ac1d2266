"""Legibility at distance (issue 13, item 6): ``?scale=`` scales all type and spacing, ``?seams=``
lays the wall out so that nothing straddles a seam of a spliced wall, and must-read text (places,
evidence, org and region rows) never drops below its floor at 3840x2160.

Screenshots land in /tmp/wall-scale-*.png for a human to look at.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from layouts.wall import layout

from .wall_browser_support import add_late_cases, dispose, next_frames, set_screen, start_wall, synthetic_county

pytestmark = pytest.mark.browser

ROOT_PX_JS = "return parseFloat(getComputedStyle(document.documentElement).fontSize)"

# Boxes that cross a seam: tiles, panels and every row of the SLA board.
STRADDLE_JS = """
const xs = arguments[0], ys = arguments[1];
const out = [];
const boxes = [...document.querySelectorAll('.tile, .panel, #sla-board *')];
for (const el of boxes) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('[hidden]')) continue;
    for (const x of xs) if (r.left < x - 0.5 && r.right > x + 0.5) out.push(`${el.className || el.tagName} x ${r.left}-${r.right}`);
    for (const y of ys) if (r.top < y - 0.5 && r.bottom > y + 0.5) out.push(`${el.className || el.tagName} y ${r.top}-${r.bottom}`);
}
return {out: out, tiles: document.querySelectorAll('.tile-row > .tile').length,
        sla: document.querySelectorAll('#sla-board *').length};
"""

# The font size of each kind of must-read text on the page (the smallest of each kind).
MUST_READ = {
    "places": ".case-place, .late-where",
    "evidence": ".alert-evidence",
    "org rows": "#sla-board .org-row:not(.org-head)",
    "region rows": "#region-table .rt-row:not(.rt-head)",
}
MUST_READ_JS = """
const found = {};
for (const [kind, sel] of Object.entries(arguments[0])) {
    const sizes = [...document.querySelectorAll(sel)].map(el => parseFloat(getComputedStyle(el).fontSize));
    if (sizes.length) found[kind] = Math.min(...sizes);
}
return found;
"""
FLOOR_AT_4K = 39.5  # px: --read-floor, 1.85vh of 2160 (assets/wall.css)


def _open(dash_duo, search: str, ready: str = "#region-table .rt-row") -> None:
    dash_duo.wait_for_page(dash_duo.server_url + "/" + search)
    dash_duo.wait_for_element(ready, timeout=45)  # a busy test machine takes a while for the first panels
    next_frames(dash_duo.driver)


def test_scale_multiplies_the_root_font_size_and_junk_is_ignored(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    _open(dash_duo, "")
    plain = dash_duo.driver.execute_script(ROOT_PX_JS)
    assert plain == pytest.approx(17.28, abs=0.01)
    _open(dash_duo, "?scale=2")
    assert dash_duo.driver.execute_script(ROOT_PX_JS) == pytest.approx(2 * plain, abs=0.01)
    dash_duo.driver.save_screenshot("/tmp/wall-scale-2-1920x1080.png")
    # A drill-down keeps the scale (the URL keeps it; no page load).
    dash_duo.driver.execute_script("document.querySelector('#region-table .drill[data-region]').click()")
    WebDriverWait(dash_duo.driver, 20).until(lambda d: "region=" in d.current_url)
    dash_duo.wait_for_element("#region-table .rt-row", timeout=45)
    assert dash_duo.driver.execute_script(ROOT_PX_JS) == pytest.approx(2 * plain, abs=0.01)
    for junk in ("9", "0.1", "abc"):
        _open(dash_duo, f"?scale={junk}")
        assert dash_duo.driver.execute_script(ROOT_PX_JS) == pytest.approx(plain, abs=0.01), junk
    assert dash_duo.get_logs() == []
    dispose(url)


def test_the_deployments_scale_and_seams_are_defaults_the_url_overrides(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 1920, 1080)
    app = start_wall(dash_duo, url)
    # As the app factory builds the wall with GRIDWALL_SCALE=1.5 and GRIDWALL_SEAMS=3x1.
    app.layout = lambda: layout(None, scale=1.5, seams="3x1")
    _open(dash_duo, "")
    assert dash_duo.driver.execute_script(ROOT_PX_JS) == pytest.approx(1.5 * 17.28, abs=0.01)
    seams = "return document.documentElement.getAttribute('data-seams')"
    assert dash_duo.driver.execute_script(seams) == "3x1"
    _open(dash_duo, "?scale=1&seams=1x1")
    assert dash_duo.driver.execute_script(ROOT_PX_JS) == pytest.approx(17.28, abs=0.01)
    assert dash_duo.driver.execute_script(seams) is None
    dispose(url)


@pytest.mark.parametrize("width,height,seams,xs,ys", [
    (5760, 1080, "3x1", [1920, 3840], []),
    (3840, 2160, "2x2", [1920], [1080]),
])
def test_no_tile_panel_or_sla_row_straddles_a_seam(dash_duo, tmp_path, width, height, seams, xs, ys):
    url = synthetic_county(tmp_path)
    add_late_cases(url)  # the board's rows are the point, whatever the seeded county holds at this hour
    set_screen(dash_duo, width, height)
    start_wall(dash_duo, url)
    _open(dash_duo, f"?seams={seams}", ready="#sla-board .late")
    got = dash_duo.driver.execute_script(STRADDLE_JS, xs, ys)
    dash_duo.driver.save_screenshot(f"/tmp/wall-scale-seams-{seams}-{width}x{height}.png")
    assert got["tiles"] >= 7 and got["sla"] > 10, got
    assert got["out"] == []
    # Nothing scrolls or spills over its panel in the spliced arrangement either.
    page = dash_duo.driver.execute_script(
        "const d = document.documentElement; return [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight]")
    assert page == [0, 0]
    assert dash_duo.get_logs() == []
    dispose(url)


@pytest.mark.parametrize("search", ["", "?scale=0.5"])
def test_must_read_text_keeps_its_floor_at_4k(dash_duo, tmp_path, search):
    url = synthetic_county(tmp_path)
    add_late_cases(url)
    set_screen(dash_duo, 3840, 2160)
    start_wall(dash_duo, url)
    _open(dash_duo, search, ready="#sla-board .late")
    dash_duo.wait_for_element("#case-stream .case-place", timeout=45)
    found = dash_duo.driver.execute_script(MUST_READ_JS, MUST_READ)
    dash_duo.driver.save_screenshot(f"/tmp/wall-scale-floor{search.replace('?', '-').replace('=', '')}-3840x2160.png")
    assert {"places", "org rows", "region rows"} <= set(found), found
    low = {kind: px for kind, px in found.items() if px < FLOOR_AT_4K}
    assert low == {}, found
    dispose(url)
