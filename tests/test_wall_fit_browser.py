"""Lists show as many rows as fit: on a 16:9 wall (3840x2160 and 1920x1080 alike) the county's
ranking of its streets shows all eight, with no "另有 N 项" line; and the tiles' ▲/▼ against
yesterday are drawn from the tile catalogue's rules (the tile-catalogue store).

Screenshots land in /tmp/wall-fit-<w>x<h>.png for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from .wall_browser_support import dispose, next_frames, set_screen, start_wall, synthetic_county

pytestmark = pytest.mark.browser

ROWS_JS = """
const list = document.querySelector('#region-table .rt-body');
const rows = [...list.children];
const box = list.getBoundingClientRect();
return {n: rows.length, shown: rows.filter(r => !r.hidden && r.getBoundingClientRect().bottom <= box.bottom + 1).length,
        more: list.getAttribute('data-more'), text: list.innerText};
"""


def test_the_county_ranking_shows_all_its_streets_and_the_deltas_follow_the_catalogue(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 3840, 2160)
    start_wall(dash_duo, url)
    for width, height in [(3840, 2160), (1920, 1080)]:
        set_screen(dash_duo, width, height)
        dash_duo.wait_for_page(dash_duo.server_url + "/")
        dash_duo.wait_for_element("#region-table .rt-body .rt-row", timeout=20)
        # The lists are cut in an animation frame after the rows arrive: wait for the next two.
        next_frames(dash_duo.driver)
        got = dash_duo.driver.execute_script(ROWS_JS)
        assert got["n"] == 8, got  # the synthetic county's eight streets
        assert got["shown"] == 8 and got["more"] is None, f"at {width}x{height}: {got}"
        assert "另有" not in got["text"]
        dash_duo.driver.save_screenshot(f"/tmp/wall-fit-{width}x{height}.png")
    # The ▲/▼ of a case tile: its rule (which tile, what a rise means) came from the catalogue store.
    delta = WebDriverWait(dash_duo.driver, 20).until(
        lambda d: d.find_element(By.ID, "kpi-open-delta").text or False)
    assert re.match(r"^(▲\d+|▼\d+|持平)", delta), delta
    cls = dash_duo.find_element("#kpi-open-delta").get_attribute("class")
    assert re.fullmatch(r"tile-delta tile-delta--(worse|better|flat)", cls), cls  # kpi-open: a rise is bad
    assert dash_duo.get_logs() == []
    dispose(url)
