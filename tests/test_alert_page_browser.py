"""``/?alert=ID`` in a real browser (issue 16 §2): on the wall it opens the alert's evidence panel over
the wall (关闭 takes ``alert`` out of the URL again); in a phone's browser (a WeCom user agent at 390
pixels) it is the phone page, as wide as the screen and no wider.

Screenshots land in /tmp/alert-panel.png and /tmp/alert-phone.png for a human to look at.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from data_access.models import Alert, Case

from .wall_browser_support import set_screen, small_county, start_wall, wait_js, wait_until  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

WECOM = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh")


def pushed_alert(county) -> tuple[int, list[str]]:
    with county.engine.begin() as conn:
        cases = conn.execute(select(Case.id, Case.code).where(Case.grid_code.like("320585100%"))
                             .order_by(Case.reported_at.desc()).limit(3)).all()
        alert_id = conn.execute(insert(Alert).values(
            created_at=county.now - timedelta(minutes=3), kind="cluster", severity="critical", region_code="320585100",
            title="城厢镇 时空聚集 推送测试", detail=json.dumps({"observed": 3, "case_ids": [c.id for c in cases]}),
            status="new", source="gridwall", dedup_key="push-link").returning(Alert.id)).scalar_one()
    return alert_id, [c.code for c in cases]


def test_the_link_opens_the_evidence_panel_on_the_wall_and_closes(dash_duo, small_county):
    alert_id, codes = pushed_alert(small_county)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, small_county.url)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/?alert={alert_id}")
    driver = dash_duo.driver
    wait_js(driver, "!document.getElementById('alert-detail').hidden && "
                    "document.querySelectorAll('#alert-detail [data-case-code]').length > 0")
    panel = driver.execute_script("""
        const p = document.getElementById('alert-detail'), r = p.getBoundingClientRect();
        return {text: p.textContent, codes: [...p.querySelectorAll('[data-case-code]')].map(e => e.dataset.caseCode),
                visible: r.width > 600 && r.height > 100 && r.top >= 0 && r.bottom <= innerHeight};""")
    assert "城厢镇 时空聚集 推送测试" in panel["text"] and "时空聚集" in panel["text"] and "严重" in panel["text"]
    assert panel["codes"] == codes and panel["visible"]
    driver.save_screenshot("/tmp/alert-panel.png")
    driver.find_element("id", "alert-detail-close").click()
    wait_js(driver, "document.getElementById('alert-detail').hidden && !location.search.includes('alert=')")
    wait_js(driver, "document.querySelectorAll('#alerts [data-alert-id]').length > 0")  # the wall is back


def test_a_phone_gets_a_page_as_wide_as_its_screen(dash_duo, small_county):
    alert_id, codes = pushed_alert(small_county)
    start_wall(dash_duo, small_county.url)
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": WECOM})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True})
    try:
        driver.get(f"{dash_duo.server_url}/?alert={alert_id}")
        wait_until(driver, lambda: driver.execute_script("return !!document.getElementById('alert-phone')"))
        page = driver.execute_script("""
            return {width: document.documentElement.scrollWidth, inner: innerWidth,
                    codes: [...document.querySelectorAll('[data-case-code]')].map(e => e.dataset.caseCode),
                    ack: !!document.getElementById('alert-phone-ack'), wall: !!document.getElementById('wall'),
                    font: parseFloat(getComputedStyle(document.body).fontSize)};""")
        assert page["inner"] == 390 and page["width"] <= 390, page  # no sideways scrolling
        assert page["codes"] == codes and page["ack"] and not page["wall"] and page["font"] >= 14
        driver.save_screenshot("/tmp/alert-phone.png")
        driver.find_element("id", "alert-phone-ack").click()  # auth off (the demo): acknowledged as "demo"
        wait_until(driver, lambda: driver.execute_script(
            "return (document.getElementById('alert-phone-message') || {}).textContent"))
        with small_county.engine.connect() as conn:
            assert conn.execute(select(Alert.status).where(Alert.id == alert_id)).scalar_one() == "acknowledged"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.execute_cdp_cmd("Emulation.setUserAgentOverride", {"userAgent": ""})
