"""Alerts on the wall as a duty officer meets them (issue 13, items 1, 2 and 9).

- A new critical alert is first in the panel even when newer warnings would push it out; it is also
  a red banner in the header and the 新预警 tile says "· 严重 1"; acknowledged alerts are one line.
- ``#alerts`` carries ``data-total`` (every new alert in scope, = the tile) and "另有 N 项" is
  total - shown, although the server sends only the first entries.
- 确认 names the alert by its title and offers 撤销 for 5 seconds; 撤销 makes it new again.

Screenshots land in /tmp/wall-alerts-<w>x<h>.png for a human to look at.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import insert, select

from data_access.models import Alert

from .wall_browser_support import next_frames, set_screen, small_county, start_wall  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

CRITICAL = "7件事件临期无进展，其中3件已超期 · 住建局"
N_WARNINGS = 14  # newer than the critical one, and more than the server sends (callbacks.reads)

PANEL_JS = """
const list = document.getElementById('alerts');
const entries = [...list.querySelectorAll('[data-alert-id]')];
const shown = entries.filter(e => !e.hidden);
const banner = document.getElementById('alert-banner');
return {total: list.getAttribute('data-total'), more: list.getAttribute('data-more'),
        sent: entries.length, shown: shown.length, first: shown.length ? shown[0].getAttribute('data-severity') : null,
        firstTitle: shown.length ? shown[0].querySelector('.alert-title').textContent : null,
        acked: (list.querySelector('.alert-acked-line') || {}).textContent || null,
        tile: document.getElementById('kpi-alerts-new').textContent,
        note: document.getElementById('kpi-alerts-critical').textContent,
        banner: banner.textContent, bannerShown: banner.getBoundingClientRect().height > 0};
"""


def add_alerts(county) -> int:
    """The critical alert and the newer warnings beside the small county's own (one new warning, one
    acknowledged critical); the critical one's id."""
    now = county.now
    with county.engine.begin() as conn:
        conn.execute(insert(Alert), [
            {"created_at": now - timedelta(minutes=30), "kind": "sla", "severity": "critical",
             "region_code": "320585", "title": CRITICAL, "status": "new", "source": "gridwall",
             "detail": '{"observed": 7, "expected": 0.4, "window": "本周"}', "dedup_key": "t-critical"},
            *({"created_at": now - timedelta(minutes=i), "kind": "spike", "severity": "warning",
               "region_code": "320585100", "title": f"暴露垃圾 事件骤增 {i} · 城厢镇", "status": "new",
               "source": "gridwall", "detail": "{}", "dedup_key": f"t-w{i}"} for i in range(1, N_WARNINGS + 1)),
        ])
        return conn.execute(select(Alert.id).where(Alert.dedup_key == "t-critical")).scalar_one()


def panel(dash_duo) -> dict:
    next_frames(dash_duo.driver)
    return dash_duo.driver.execute_script(PANEL_JS)


def status_of(engine, alert_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(Alert.status).where(Alert.id == alert_id)).scalar_one()


def test_critical_first_true_totals_banner_and_undo(dash_duo, small_county):
    url, critical_id = small_county.url, add_alerts(small_county)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    new_total = N_WARNINGS + 2  # the fixture's new warning and the critical one
    for width, height in [(1920, 1080), (3840, 2160)]:
        set_screen(dash_duo, width, height)
        WebDriverWait(dash_duo.driver, 20).until(lambda d: panel(dash_duo)["shown"] > 0)
        got = WebDriverWait(dash_duo.driver, 20).until(lambda d: (p := panel(dash_duo))["tile"].isdigit() and p)
        # Item 1: the critical one leads although fourteen warnings are newer.
        assert got["first"] == "critical" and got["firstTitle"] == CRITICAL, got
        assert got["acked"] == "已确认 1 条", got
        # The banner names the place first (its end may be cut), then the problem.
        problem, _, place = CRITICAL.rpartition(" · ")
        assert got["bannerShown"] and got["banner"].startswith("严重预警" + place + problem), got
        assert got["note"] == "· 严重 1", got
        # Item 2: the true total, on the list and the tile; "另有 N 项" = total - shown.
        assert got["total"] == got["tile"] == str(new_total), got
        assert got["sent"] < new_total and int(got["more"]) == new_total - got["shown"], got
        dash_duo.driver.save_screenshot(f"/tmp/wall-alerts-{width}x{height}.png")

    # Item 9: 确认 opens the evidence panel, which asks for a disposition (issue 17 §4); judging
    # acknowledges, names the alert and offers 撤销, which takes it back.
    set_screen(dash_duo, 1920, 1080)
    dash_duo.find_element(f'[data-alert-id="{critical_id}"] .alert-ack').click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: f"alert={critical_id}" in d.current_url)
    dash_duo.wait_for_element('#alert-detail-judge:not([hidden]) [data-disposition="confirmed"]', timeout=10)
    assert status_of(small_county.engine, critical_id) == "new"  # opening is not acknowledging
    dash_duo.find_element("#alert-detail-note").send_keys("已派城管核实")
    dash_duo.find_element('#alert-detail-choices [data-disposition="confirmed"]').click()
    message = WebDriverWait(dash_duo.driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#ack-result .ack-msg"))
    assert f"已确认（属实）：{CRITICAL}" in message.text and "撤销" in message.text
    dash_duo.wait_for_contains_text("#alert-detail-body", "属实 · demo")
    dash_duo.wait_for_contains_text("#alert-detail-body", "已派城管核实")
    WebDriverWait(dash_duo.driver, 15).until(lambda d: not panel(dash_duo)["bannerShown"])
    assert status_of(small_county.engine, critical_id) == "acknowledged"
    dash_duo.driver.save_screenshot("/tmp/wall-alerts-acked.png")
    dash_duo.find_element("#ack-result .ack-undo").click()
    WebDriverWait(dash_duo.driver, 10).until(lambda d: "已撤销确认" in d.find_element(By.ID, "ack-result").text)
    assert status_of(small_county.engine, critical_id) == "new"
    WebDriverWait(dash_duo.driver, 15).until(lambda d: panel(dash_duo)["bannerShown"])
    # The message clears itself after 5 seconds.
    time.sleep(5.5)
    assert not dash_duo.find_element("#ack-result .ack-msg").is_displayed()
    # ... and gives its room in the header back (it held 28vw, cutting the title, for good)
    room = dash_duo.driver.execute_script("return document.querySelector('#ack-result').getBoundingClientRect().width")
    assert room < 2, room
    assert dash_duo.get_logs() == []
