"""The SLA board as a duty officer reads it (issue 13, items 2, 4 and 10), at 1920x1080 and 3840x2160.

即将超期 and 已超期 are separate lists, each carrying its true total; the savable cases are listed
soonest first, the overdue ones counted by age and the center's own stages (accept, dispatch) first;
timers show seconds only under an hour and tick in the browser; a three-digit day count and every
other row text fit their boxes; the 处置超期/处置临期 tiles equal the board's 处置 chip; a list whose
box changes is refitted even when nothing in the page's DOM changed.

Screenshots land in /tmp/wall-sla-<w>x<h>.png for a human to look at.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import create_engine, update

from data_access.models import Case

from .wall_browser_support import (HOPELESS, OWN, SAVABLE, add_late_cases, dispose, next_frames,
                                   set_screen, start_wall, synthetic_county)

pytestmark = pytest.mark.browser

UTC = timezone.utc

BOARD_JS = """
const board = document.getElementById('sla-board');
const section = s => board.querySelector('.sla-section--' + s);
const entries = s => [...section(s).querySelectorAll('.sla-list > .late')].map(e => ({
    code: e.getAttribute('data-case-code'), sla: e.getAttribute('data-sla'), stage: e.getAttribute('data-stage'),
    shown: !e.hidden && e.getBoundingClientRect().height > 0,
    due: +e.querySelector('[data-due]').getAttribute('data-due'), timer: e.querySelector('.timer').textContent,
    where: e.querySelector('.late-where').textContent, org: e.querySelector('.late-org').textContent}));
const num = s => +section(s).querySelector('.sla-section-head .n').textContent;
const chip = (stage, state) => +board.querySelector(
    `.stage-chip[data-stage="${stage}"] .stage-count[data-state="${state}"] .n`).textContent;
const label = id => document.getElementById(id).closest('.tile').textContent;
return {total: board.getAttribute('data-total'), warning: entries('warning'), overdue: entries('overdue'),
        totals: {warning: num('warning'), overdue: num('overdue')},
        lists: [...board.querySelectorAll('.sla-list')].map(
            l => [l.getAttribute('data-total'), l.getAttribute('data-more')]),
        ages: [...board.querySelectorAll('.sla-age')].map(a => +a.querySelector('.sla-age-n').textContent),
        resolve: [chip('resolve', 'overdue'), chip('resolve', 'warning')],
        tiles: ['kpi-overdue', 'kpi-warning'].map(id => +document.getElementById(id).textContent),
        labels: [label('kpi-overdue'), label('kpi-warning')]};
"""

# Every box of the board's rows whose text is wider than the box, or that sticks out of its row. The
# place line of a case (.late-where) is the one cut on purpose, with an ellipsis, to keep each case
# to two lines: it must be one line, and show its org chip and the place's first part (the grid) whole.
BOARD_OVERFLOW_JS = """
const out = [];
const rows = document.querySelectorAll(
    '#sla-board .late, #sla-board .org-row, #sla-board .stage-chip, #sla-board .sla-section-head');
for (const row of rows) {
    if (row.hidden || !row.getBoundingClientRect().height) continue;
    const box = row.getBoundingClientRect();
    const where = row.querySelector('.late-where');
    if (where) {
        const w = where.getBoundingClientRect(), chip = where.querySelector('.late-org').getBoundingClientRect();
        const lh = parseFloat(getComputedStyle(where).lineHeight) || parseFloat(getComputedStyle(where).fontSize) * 1.4;
        const range = document.createRange(), placeText = where.querySelector('.late-place').firstChild;
        const grid = (placeText ? placeText.textContent : '').split(' · ')[0];
        let gridRight = chip.right;
        if (placeText && grid) { range.setStart(placeText, 0); range.setEnd(placeText, grid.length);
                                 gridRight = range.getBoundingClientRect().right; }
        if (w.height > lh * 1.6 || w.right > box.right + 1 || chip.right > w.right + 1 || gridRight > w.right + 1
            || where.getAttribute('title') === null) {
            out.push('late-where: ' + where.textContent.slice(0, 40) + ' ' + w.height + ' ' + gridRight + '>' + w.right);
        }
    }
    for (const el of [row, ...row.querySelectorAll('*')]) {
        if (where && (el === where || where.contains(el))) continue;
        const r = el.getBoundingClientRect();
        if (!r.width) continue;
        const block = getComputedStyle(el).display !== 'inline';
        if ((block && el.scrollWidth > el.clientWidth + 1) || r.right > box.right + 1 || r.left < box.left - 1) {
            out.push(el.className + ' ' + el.scrollWidth + '>' + el.clientWidth + ': ' + el.textContent.slice(0, 40));
        }
    }
}
return out;
"""


def _board_agreeing(dash_duo, url: str) -> dict:
    """The board once the tiles show the same moment as the board. The tiles follow every version and
    the board the first of each 10-second epoch, each read at its own T: a seeded case whose time
    crosses its warning line between the two reads is counted by one and not yet by the other, until
    the next change. The case code is touched (its updated_at) to bring one, up to four times."""
    got = _board(dash_duo)
    for _ in range(4):
        if got["tiles"] == got["resolve"]:
            break
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(update(Case).where(Case.code == HOPELESS).values(updated_at=datetime.now(UTC)))
        engine.dispose()
        time.sleep(11)  # past the board's epoch
        got = _board(dash_duo)
    return got


def _board(dash_duo) -> dict:
    dash_duo.wait_for_element(f'#sla-board [data-case-code="{HOPELESS}"]', timeout=20)
    next_frames(dash_duo.driver)
    return dash_duo.driver.execute_script(BOARD_JS)


def test_the_board_splits_savable_from_overdue_and_nothing_overflows(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    _, place = add_late_cases(url)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url)
    for width, height in [(1920, 1080), (3840, 2160)]:
        set_screen(dash_duo, width, height)
        dash_duo.wait_for_page(dash_duo.server_url + "/")
        got = _board_agreeing(dash_duo, url)
        where = f"at {width}x{height}"

        # Two lists, each with its true total; the board's total is every late case once.
        assert got["warning"] and got["overdue"], (where, got)
        assert [t for t, _ in got["lists"]] == [str(got["totals"]["warning"]), str(got["totals"]["overdue"])]
        assert int(got["total"]) == got["totals"]["warning"] + got["totals"]["overdue"], (where, got)
        assert sum(got["ages"]) == got["totals"]["overdue"], (where, got)
        for kind, state in (("warning", "warning"), ("overdue", "overdue")):
            assert {e["sla"] for e in got[kind]} == {state} and all(e["code"] for e in got[kind])
            shown = [e for e in got[kind] if e["shown"]]
            assert shown, (where, kind, got)  # each list shows at least its most pressing case
            if kind == "warning":  # two-line cases (the place cut to one line): two fit even at 16:9 1080p
                assert len(shown) >= 2, (where, got["warning"])
            more = got["lists"][-2 if kind == "warning" else -1][1]
            hidden = got["totals"][kind] - len(shown)
            assert (more or None) == (str(hidden) if hidden else None), (where, kind, more, hidden)

        # 即将超期: the center's own stages first, then the soonest due first; "剩 …", seconds only under an hour.
        order = [(e["stage"] not in ("accept", "dispatch"), e["due"]) for e in got["warning"]]
        assert order == sorted(order), (where, got["warning"])
        for e in got["warning"]:
            left = e["due"] / 1000 - time.time()
            pattern = r"剩 \d+分\d\d秒" if left < 3590 else r"剩 (\d+时\d\d分|\d+天\d+时)"
            assert re.fullmatch(pattern, e["timer"]), (where, e)

        # 已超期: the center's own stages (accept, dispatch) first, the worst of them first; "超123天".
        stages = [e["stage"] for e in got["overdue"]]
        own = [s in ("accept", "dispatch") for s in stages]
        assert own == sorted(own, reverse=True) and own[0], (where, stages)
        first = got["overdue"][0]
        assert first["code"] == HOPELESS and first["shown"] and first["timer"] == "超123天", (where, first)
        assert any(e["code"] == OWN for e in got["overdue"]), (where, got["overdue"])
        for e in got["overdue"]:
            assert re.fullmatch(r"超(\d+分\d\d秒|\d+时\d\d分|[12]天\d+时|\d+天)", e["timer"]), (where, e)

        # The holding org as a chip, the place grid first (第N网格 · community · street).
        assert first["org"] == "交通运输局", (where, first)
        assert first["where"][len(first["org"]):] == place, (where, first, place)

        # Tiles and board agree: the tiles count the resolve stage and say so.
        assert got["tiles"] == got["resolve"], (where, got)
        assert "处置超期" in got["labels"][0] and "处置临期" in got["labels"][1], (where, got["labels"])

        overflow = dash_duo.driver.execute_script(BOARD_OVERFLOW_JS)
        assert overflow == [], (where, overflow)
        dash_duo.driver.save_screenshot(f"/tmp/wall-sla-{width}x{height}.png")

    # A box that changes with no change to the DOM (here an inline style, which no observer of the
    # page's mutations sees) is refitted: given room, the list shows more entries; squeezed to nothing,
    # all but its first (which stays, cut at the edge); back as it was, as many as before.
    driver = dash_duo.driver
    shown = "return [...document.querySelectorAll('#sla-board .sla-section--warning .sla-list > .late')]" \
            ".filter(e => !e.hidden).length"
    entries = "return document.querySelectorAll('#sla-board .sla-section--warning .sla-list > .late').length"
    section = "document.querySelector('#sla-board .sla-section--warning').style"
    before = driver.execute_script(shown)
    assert driver.execute_script(entries) > before >= 1
    driver.execute_script(f"{section}.flex = '0 0 80vh'")
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(shown) > before)
    driver.execute_script(f"{section}.flex = '0 0 1px'")
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(shown) == 1)
    driver.execute_script(f"{section}.flex = ''")
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(shown) == before)
    dispose(url)


def test_countdowns_under_an_hour_tick_in_the_browser(dash_duo, tmp_path):
    url = synthetic_county(tmp_path)
    grid, _ = add_late_cases(url)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, url, path=f"/?region={grid}")
    timer = f'#sla-board [data-case-code="{SAVABLE}"] .timer'
    dash_duo.wait_for_element(timer, timeout=20)
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})
    read = f"return document.querySelector('{timer}').textContent"  # shown or cut from the list alike
    try:
        before = driver.execute_script(read)
        time.sleep(2.2)
        after = driver.execute_script(read)
    finally:
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    dash_duo.get_logs()
    assert re.fullmatch(r"剩 (29|30)分\d\d秒", before) and before != after, (before, after)
    dispose(url)
