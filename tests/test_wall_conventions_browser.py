"""Issue 13, items 8, 11 and 12 in the browser: what a wall is expected to say.

- The title is the center's, once; the county is the breadcrumb's first link.
- Figures carry their unit beside (not inside) the plain-digit value; the case tiles show 较上周同期
  beside 较昨日; the 7-day rates show their target with a colour and a word.
- A drilled-in view says it is not the county ("本页为 某街道 数据"); ``?rotate=`` goes through the
  streets and back to the county, says where it is ("轮播 2/5 · 城厢镇") and a person's click pauses it.
- Long lists page ("轮播 1/3") instead of being cut; the trend's current hour is drawn as partial.
- Staffing: offline workers are counted, not named (``[staffing] detail`` defaults to counts), and a
  past moment without pings says 历史在线数据不足 instead of a red count.

Screenshots land in /tmp/wall-conventions-*.png for a human to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from urllib.parse import quote

import pytest

from .wall_browser_support import (  # noqa: F401 (small_county: a fixture)
    dispose,
    next_frames,
    region_in_url,
    set_screen,
    small_county,
    start_wall,
    synthetic_county,
    wait_js,
    wait_until,
)

pytestmark = pytest.mark.browser

STREET, STREET_NAME = "320585100", "城厢镇"


def test_title_units_last_week_and_rate_targets(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    dash_duo.wait_for_text_to_equal("#wall-title", "网格化联动指挥中心", timeout=20)
    dash_duo.wait_for_contains_text("#breadcrumb .crumb", "太仓市")
    wait_js(dash_duo.driver, "/^\\d+$/.test(document.getElementById('kpi-open').textContent)")
    # Units: siblings of the plain-digit value.
    units = dash_duo.driver.execute_script("""
        const out = {};
        for (const id of ['kpi-open', 'kpi-alerts-new', 'staff-workers', 'staff-grids']) {
            const unit = document.getElementById(id).parentNode.querySelector('.tile-unit');
            out[id] = unit ? unit.textContent : null;
        }
        return out;""")
    assert units == {"kpi-open": "件", "kpi-alerts-new": "条", "staff-workers": "人", "staff-grids": "个"}, units
    assert dash_duo.find_element("#kpi-open").text.isdigit()
    # 较上周同期 beside 较昨日: a ▲/▼/持平 against the figure 7 days before.
    week = wait_js(dash_duo.driver, "document.getElementById('kpi-open-week').textContent")
    assert re.fullmatch(r"▲\d+|▼\d+|持平", week), week
    label = dash_duo.driver.execute_script(
        "return getComputedStyle(document.getElementById('kpi-open-week'), '::after').content")
    assert "较上周" in label  # 较上周同期 where the tile has room; six tiles on a 16:9 wall say 较上周
    # The rates' targets: colour and word by the value against the contract's default target.
    got = wait_js(dash_duo.driver, """(() => {
        const t = document.getElementById('rate-on-time-target');
        const v = parseFloat(document.getElementById('rate-on-time').textContent);
        return /rate-target--/.test(t.className) && {text: t.textContent, cls: t.className, value: v};
    })()""")
    expected = "good" if got["value"] >= 95 else ("warn" if got["value"] >= 90 else "bad")
    word = {"good": "达标", "warn": "接近", "bad": "未达标"}[expected]
    assert got["cls"] == f"rate-target rate-target--{expected}" and got["text"] == f"{word}·目标95%", got
    assert dash_duo.find_element("#rate-self-resolved").get_attribute("class") == "rate-value"  # no target
    # The county view is the user's own: no caption.
    assert dash_duo.find_element("#scope-caption").text == ""
    dash_duo.driver.save_screenshot("/tmp/wall-conventions-1920x1080.png")
    # Drilled in: the figures say whose they are.
    dash_duo.driver.execute_script(
        "window.history.pushState({}, '', '/?region=320585100');"
        "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'))")
    dash_duo.wait_for_text_to_equal("#scope-caption", f"本页为 {STREET_NAME} 数据", timeout=20)
    assert dash_duo.find_element("#wall-title").text == "网格化联动指挥中心"
    dash_duo.driver.save_screenshot("/tmp/wall-conventions-drilled-1920x1080.png")
    assert dash_duo.get_logs() == []
    dispose(url)


def test_long_lists_page_and_the_current_hour_is_partial(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=20)
    next_frames(dash_duo.driver)
    page = wait_js(dash_duo.driver, "document.getElementById('case-stream').getAttribute('data-page')")
    first, pages = map(int, page.split("/"))
    assert 1 <= first <= pages and pages > 1, page  # the pages turn by themselves every few seconds
    shown_js = """return [document.getElementById('case-stream').getAttribute('data-page'),
                  [...document.querySelectorAll('#case-stream > [data-case-code]')]
                  .filter(e => !e.hidden).map(e => e.getAttribute('data-case-code'))]"""
    page, shown = dash_duo.driver.execute_script(shown_js)
    assert shown and dash_duo.find_element("#case-stream").get_attribute("data-more") is None
    now = int(page.split("/")[0])
    after = {f"{(now + k - 1) % pages + 1}/{pages}" for k in (1, 2)}  # the 8-second timer may turn one too
    dash_duo.driver.execute_script("window.gridwall.turnPages()")
    next_frames(dash_duo.driver)
    page, later = dash_duo.driver.execute_script(shown_js)
    assert page in after and later and not set(later) & set(shown), (page, after, shown, later)
    label = dash_duo.driver.execute_script(
        "return getComputedStyle(document.getElementById('case-stream'), '::after').content")
    assert "轮播" in label and "/" in label, label
    # The trend: the hour under way is a lighter bar than the whole hours before it.
    bars = wait_js(dash_duo.driver, """(() => {
        const g = document.querySelector('#trend-graph .js-plotly-plot');
        const bar = g && g.data && g.data.find(t => t.type === 'bar');
        return bar && bar.x.length && {colours: bar.marker.color, n: bar.x.length};
    })()""")
    colours = bars["colours"]
    # (just after local midnight the hour under way is the only bar)
    assert len(colours) == 1 or (colours[-1] != colours[0] and len(set(colours[:-1])) == 1), colours
    assert re.search(r"0\.2\d\)$", colours[-1]), colours[-1]
    dash_duo.driver.save_screenshot("/tmp/wall-conventions-paged-1920x1080.png")
    assert dash_duo.get_logs() == []
    dispose(url)


def test_rotation_returns_to_the_county_says_where_and_pauses(dash_duo, small_county):
    url = small_county.url
    start_wall(dash_duo, url, "/?rotate=5&kiosk=1")
    wait_until(dash_duo.driver, lambda: region_in_url(dash_duo.driver) == STREET, timeout=20)
    dash_duo.driver.execute_script("window.gridwall.rotatePauseMs = 60000")
    dash_duo.find_element("#wall-title").click()  # hold it here while the caption is read
    dash_duo.wait_for_text_to_equal("#scope-caption", f"轮播 1/5 · {STREET_NAME}", timeout=15)
    # After the last street comes the county (no ?region=), as the fifth of five stops.
    step = dash_duo.driver.execute_script("""
        const g = window.dash_clientside.gridwall;
        window.gridwall.rotatePausedUntil = 0;
        const rotation = {base: '320585', regions: ['320585100', '320585101', '320585102', '320585103']};
        return [g.rotateStep(1, '?rotate=5&kiosk=1&region=320585103', rotation),
                g.rotateStep(1, '?rotate=5&kiosk=1', rotation)];""")
    assert step == ["?rotate=5&kiosk=1", "?rotate=5&kiosk=1&region=320585100"], step
    # A person's click pauses it: the URL stays put for longer than a step, and the caption says so.
    dash_duo.find_element("#scope-caption").click()
    region = region_in_url(dash_duo.driver)
    assert dash_duo.find_element("#scope-caption").get_attribute("data-paused") == "true"
    label = dash_duo.driver.execute_script(
        "return getComputedStyle(document.getElementById('scope-caption'), '::after').content")
    assert "暂停" in label
    dash_duo.driver.execute_script("return new Promise(r => setTimeout(r, 11000))")
    assert region_in_url(dash_duo.driver) == region
    # ... and it resumes once the pause is over.
    dash_duo.driver.execute_script("window.gridwall.rotatePausedUntil = 0")
    wait_until(dash_duo.driver, lambda: region_in_url(dash_duo.driver) != region)
    assert dash_duo.get_logs() == []


def test_staffing_counts_not_names_and_history_without_pings_says_so(dash_duo, small_county):
    url, now = small_county.url, small_county.now
    start_wall(dash_duo, url)
    dash_duo.wait_for_contains_text("#staffing-detail", "在岗离线超30分钟", timeout=20)
    text = dash_duo.find_element("#staffing-detail").text
    assert "网格员" not in text and re.search(r"\d+人 / \d+格", text), text  # counted per street, not named
    assert "可调度" in dash_duo.find_element("#staffing").text
    at = (now - timedelta(hours=3)).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    dash_duo.wait_for_page(dash_duo.server_url + f"/?at={quote(at)}")
    dash_duo.wait_for_contains_text("#staffing-detail", "历史在线数据不足", timeout=20)
    head = dash_duo.find_element("#staffing-detail .offline-head")
    assert "人 / " not in head.text and not dash_duo.driver.find_elements("css selector", "#staffing-detail .is-bad")
    assert dash_duo.get_logs() == []
