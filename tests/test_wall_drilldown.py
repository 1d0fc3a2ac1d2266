"""Drill-down in the browser: a street on the map, a community in the table, back up by the
breadcrumb; the URL carries the region (a link opens the same view); ``?rotate=`` cycles through
the root's streets. All on the hand-made county (tests/wall_fixtures.py), SQLite.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

from data_access.figures import case_figures
from data_access.moment import Moment
from data_access.scope import Scope
from dashboard.core.config import Settings

from .wall_browser_support import region_in_url, small_county, start_wall  # noqa: F401 (a fixture)
from .wall_fixtures import COUNTY, grid_codes

pytestmark = pytest.mark.browser

TZ = Settings(database_url="sqlite://", secret_key="t").tz
STREET, COMMUNITY = "320585100", "320585100002"


def open_cases(engine, region: str) -> str:
    with engine.connect() as conn:
        return str(case_figures(conn, Scope(region, COUNTY), Moment.now(TZ))["open"])


def crumbs(dash_duo) -> list[str]:
    return [a.get_attribute("data-region") for a in dash_duo.find_elements("#breadcrumb [data-region]")]


def wait_region(dash_duo, region: str | None, timeout: float = 15) -> None:
    WebDriverWait(dash_duo.driver, timeout).until(lambda d: region_in_url(d) == region)


def test_drill_down_by_map_and_table_and_back(dash_duo, small_county):
    engine, url = small_county.engine, small_county.url
    start_wall(dash_duo, url)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, COUNTY), timeout=15)

    # The street's label sits on its polygon and lets clicks through to it.
    label = next(e for e in dash_duo.find_elements("#map .region-label") if "城厢镇" in e.text)
    ActionChains(dash_duo.driver).move_to_element(label).click().perform()
    wait_region(dash_duo, STREET)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, STREET), timeout=15)
    dash_duo.wait_for_text_to_equal("#region-title", "村社区排行")
    assert crumbs(dash_duo) == [COUNTY, STREET]

    dash_duo.find_element(f'#region-table .drill[data-region="{COMMUNITY}"]').click()
    wait_region(dash_duo, COMMUNITY)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, COMMUNITY), timeout=15)
    dash_duo.wait_for_text_to_equal("#region-title", "网格排行")
    WebDriverWait(dash_duo.driver, 10).until(lambda d: crumbs(dash_duo) == [COUNTY, STREET, COMMUNITY])
    # Every list on the wall now shows the community only.
    codes = {e.get_attribute("data-region") for e in dash_duo.find_elements("#region-table .drill")}
    assert codes and all(code.startswith(COMMUNITY) for code in codes)

    dash_duo.find_element(f'#breadcrumb a[data-region="{STREET}"]').click()
    wait_region(dash_duo, STREET)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, STREET), timeout=15)
    dash_duo.find_element(f'#breadcrumb a[data-region="{COUNTY}"]').click()
    wait_region(dash_duo, None)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, COUNTY), timeout=15)

    # A link or bookmark opens the same view: here a grid, with its profile.
    grid = grid_codes()[0]
    dash_duo.wait_for_page(f"{dash_duo.server_url}/?region={grid}")
    dash_duo.wait_for_text_to_equal("#region-title", "网格档案", timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-open", open_cases(engine, grid), timeout=15)
    dash_duo.wait_for_contains_text("#region-table", "网格员1")
    assert crumbs(dash_duo) == [COUNTY, STREET, grid[:12], grid]
    assert dash_duo.get_logs() == []


def test_rotate_cycles_through_the_streets(dash_duo, small_county):
    url = small_county.url
    start_wall(dash_duo, url, "/?rotate=5&kiosk=1")
    wait_region(dash_duo, "320585100", timeout=20)
    wait_region(dash_duo, "320585101", timeout=20)
    dash_duo.wait_for_text_to_equal("#breadcrumb .crumb--current", "沙溪镇", timeout=15)
    assert "kiosk=1" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
