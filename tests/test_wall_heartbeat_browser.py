"""A wall page reports its health (assets/heartbeat.js) and reloads itself, keeping its URL, when the
server's code version moves on (a deployment: here the server's version is changed under it), and when
its JS heap passes the ceiling (the memory watchdog), once: not again within five minutes."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from data_access.models import GwWall

from .wall_browser_support import small_county, start_wall, wait_js, wait_until  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

SEARCH = "?region=320585100&kiosk=1&scale=1.5"


def walls(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(GwWall.__table__)).mappings()]


def test_a_wall_posts_its_heartbeat_and_reloads_on_a_new_code_version_or_a_full_heap_keeping_its_url(
        dash_duo, small_county):
    app = start_wall(dash_duo, small_county.url)
    server = app.server
    server.config["GRIDWALL_HEARTBEAT_MS"] = 1000
    served = server.config["GRIDWALL_CODE_VERSION"]
    driver = dash_duo.driver
    dash_duo.wait_for_page(dash_duo.server_url + "/" + SEARCH)
    wait_js(driver, "document.getElementById('wall') && document.getElementById('wall').dataset.codeVersion")
    assert driver.execute_script("return document.getElementById('wall').dataset.codeVersion") == served
    wait_js(driver, "window.gridwallHeartbeat && window.gridwallHeartbeat().answered >= 1")
    [row] = wait_until(driver, lambda: [w for w in walls(small_county.engine) if w["region_code"] == "320585100"])
    assert json.loads(row["layout"]) == {"kiosk": True, "mode": "live", "scale": 1.5}
    assert row["version"] == served and row["frame_age"] is not None and row["frame_age"] < 60
    assert row["kiosk"] is False  # auth off: no kiosk session
    wall_id = driver.execute_script("return window.gridwallHeartbeat().wall")
    assert wall_id == row["wall_id"] == driver.execute_script("return localStorage.getItem('gridwall-wall-id')")

    driver.execute_script("window.gwBeforeReload = true")
    server.config["GRIDWALL_CODE_VERSION"] = "v-deployed-next"
    wait_js(driver, "!window.gwBeforeReload && document.getElementById('wall') && "
                    "document.getElementById('wall').dataset.codeVersion === 'v-deployed-next'")
    assert "?" + urlparse(driver.current_url).query == SEARCH
    # the reloaded page is the same wall (localStorage) and reports the new version
    wait_until(driver, lambda: walls(small_county.engine)[0]["version"] == "v-deployed-next")
    assert [w["wall_id"] for w in walls(small_county.engine)] == [wall_id]
    assert driver.execute_script("return window.gridwallHeartbeat().reloading") is None

    # the memory watchdog: a ceiling below what any page uses reloads the wall once, then not again
    driver.execute_script("window.gwBeforeReload = true")
    server.config["GRIDWALL_WALL_HEAP_MB"] = 1
    wait_js(driver, "!window.gwBeforeReload && window.gridwallHeartbeat && window.gridwallHeartbeat().answered >= 1")
    assert "?" + urlparse(driver.current_url).query == SEARCH
    driver.execute_script("window.gwBeforeReload = true")
    wait_js(driver, "window.gridwallHeartbeat().answered >= 2")
    assert driver.execute_script("return window.gwBeforeReload") is True  # no reload loop
