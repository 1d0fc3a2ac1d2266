"""/review in Chromium: the departments and bounced cases of the hand-built county; clicking a bounced
case opens its flow log over the page without a reload, the URL holds it (a link reproduces it), and
closing it drops only ``case`` from the URL."""

from __future__ import annotations

import pytest

from .review_handbuilt import sqlite_county
from .test_review_departments import load_extra
from .wall_browser_support import dispose, set_screen, start_wall

VIEW = "period=week&date=2026-11-18&at=2026-11-26T10:00:00"


def _flow_state(driver):
    panel = driver.find_element("id", "review-case-flow")
    return panel.get_attribute("hidden"), panel.get_attribute("data-case-code")


@pytest.mark.browser
def test_clicking_a_bounced_case_opens_its_flow_log(dash_duo, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    url = sqlite_county(tmp_path / "review.db", load_extra)
    start_wall(dash_duo, url, path=f"/review?{VIEW}")
    set_screen(dash_duo, 1920, 1080)
    driver = dash_duo.driver
    wait = WebDriverWait(driver, 15)

    wait.until(lambda d: d.find_elements("css selector", '#review-bounced tr[data-case-code="K01"]'))
    orgs = [r.get_attribute("data-org-id") for r in driver.find_elements("css selector", "#review-departments tr[data-org-id]")]
    assert orgs == ["5", "1", "2", "4", "3"]
    assert _flow_state(driver)[0] is not None  # hidden while no case is open

    driver.execute_script("window.__samePage = true;")
    link = driver.find_element("css selector", '#review-bounced tr[data-case-code="K01"] .case-link--flow')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", link)  # the page scrolls in .page
    link.click()
    wait.until(lambda d: _flow_state(d) == (None, "K01"))
    wait.until(lambda d: len(d.find_elements("css selector", "#review-case-flow tr[data-action]")) == 7)
    steps = driver.find_elements("css selector", "#review-case-flow tr[data-action]")
    assert [s.get_attribute("data-action") for s in steps] == ["report", "dispatch", "return", "dispatch", "return",
                                                               "dispatch", "close"]
    assert "退回" in steps[2].text and "城市管理局" in steps[2].text
    assert "case=K01" in driver.current_url and "period=week" in driver.current_url
    assert driver.execute_script("return window.__samePage === true;")  # no reload

    driver.find_element("id", "review-case-flow-close").click()
    wait.until(lambda d: _flow_state(d)[0] is not None)
    assert "case=" not in driver.current_url and "period=week" in driver.current_url
    assert driver.execute_script("return window.__samePage === true;")

    # The link reproduces the view: opened directly, the panel shows that case.
    dash_duo.wait_for_page(dash_duo.server_url + f"/review?{VIEW}&case=K10")
    wait.until(lambda d: _flow_state(d) == (None, "K10"))
    assert "城市管理局 → 水务局" in driver.find_element("id", "review-case-flow").text
    assert dash_duo.get_logs() == [] or all(entry["level"] != "SEVERE" for entry in dash_duo.get_logs())
    dispose(url)
