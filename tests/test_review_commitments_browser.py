"""/review in Chromium: a duty officer records a meeting's decision (督办事项) with the form, it appears
at the top of the page as open, and closing it with an evidence note marks it done with the note under
"since"; all without a reload."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .review_handbuilt import sqlite_county
from .wall_browser_support import dispose, set_screen, start_wall

SHOTS = Path(tempfile.gettempdir()) / "gridwall-review"


def _entries(driver) -> list[tuple[str, str, str]]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#review-commitments [data-commitment-id]')].map("
        "e => [e.dataset.commitmentId, e.dataset.status, e.textContent]);")


@pytest.mark.browser
def test_creating_and_closing_a_commitment_on_the_review_page(dash_duo, tmp_path):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url = sqlite_county(tmp_path / "review.db")
    start_wall(dash_duo, url, path="/review?period=week&date=2026-11-18")
    set_screen(dash_duo, 1920, 1080)
    driver = dash_duo.driver
    wait = WebDriverWait(driver, 30)

    wait.until(lambda d: d.find_element("id", "commitment-form").get_attribute("hidden") is None)
    wait.until(lambda d: "暂无督办事项" in d.find_element("id", "review-commitments").text)
    driver.execute_script("window.__samePage = true;")
    driver.find_element("id", "commitment-text").send_keys("12 件违建超期事件本周五前办结")
    driver.find_element("id", "commitment-cases").send_keys("K01, K10")
    due = driver.find_element("css selector", "input#commitment-due")
    due.send_keys("2030-01-10")
    due.send_keys(Keys.ENTER)
    driver.find_element("id", "commitment-create").click()
    wait.until(lambda d: _entries(d) and _entries(d)[0][1] == "open")
    cid, _status, text = _entries(driver)[0]
    assert "12 件违建超期事件本周五前办结" in text and "2030-01-10" in text and "K01" in text and "新建" in text
    assert "已登记督办事项" in driver.find_element("id", "commitment-result").text
    wait.until(lambda d: d.find_element("id", "commitment-text").get_attribute("value") == "")  # ready for the next
    SHOTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(SHOTS / "commitments.png"))  # for a human to look at

    note = driver.find_element("css selector", f'[data-commitment-id="{cid}"] input.commitment-note, '
                                                f'[data-commitment-id="{cid}"] .commitment-note input')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", note)
    note.send_keys("现场复核已全部拆除")
    done = driver.find_element("css selector", f'[data-commitment-id="{cid}"] .commitment-act--done')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", done)
    done.click()
    wait.until(lambda d: _entries(d) and _entries(d)[0][1] == "done")
    text = _entries(driver)[0][2]
    assert "已完成" in text and "现场复核已全部拆除" in text
    assert not driver.find_elements("css selector", f'[data-commitment-id="{cid}"] .commitment-act')
    assert driver.execute_script("return window.__samePage === true;")
    assert all(entry["level"] != "SEVERE" for entry in dash_duo.get_logs() or [])
    dispose(url)
