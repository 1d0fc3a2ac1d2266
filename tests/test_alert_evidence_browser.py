"""Each alert kind's evidence in the wall's panel, in a real browser (issue 17 §4): ``/?alert=ID`` for a rise
draws its series with the band, the alarm line and the days that tripped it; a cluster its circle and
cases on a small map; a repeat its address and dates; concealment the patrol shares; an SLA risk the
cases and who holds them; staffing the grids with counts of offline workers (no names by default); a
stale feed and a dark wall their detail in words. One server and one page for all of them (the alert
changes in the URL without a reload, as a drill-down does).

Screenshots land in /tmp/alert-evidence-<kind>.png for a human to look at.
"""

from __future__ import annotations

import pytest

from .alert_evidence_seed import ADDRESS, ORG_NAME, seed_evidence
from .wall_browser_support import set_screen, small_county, start_wall, wait_js  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

GO = ("window.history.pushState({}, '', '/?alert=' + arguments[0]);"
      "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'))")
SHOWN = ("(() => {{ const e = document.getElementById('alert-evidence'); const p = document.getElementById('alert-detail');"
         " return !!e && !p.hidden && e.dataset.kind === '{kind}' && p.textContent.includes('{title}'); }})()")

PARTS = {
    "spike": """
        const gd = document.querySelector('#alert-evidence-graph .js-plotly-plot');
        if (!gd || !gd.data || !document.querySelector('#alert-evidence-graph .main-svg .bars')) return null;
        const by = Object.fromEntries(gd.data.map(t => [t.meta, t]));
        return {metas: gd.data.map(t => t.meta), tripped: by.tripped.x, marked: document.querySelector('.ev-graph').dataset.tripped,
                band: by.band.y.filter(v => v !== null).length, expected: by.expected.y.filter(v => v !== null).length,
                days: by.observed.x.length, drawn: document.querySelectorAll('#alert-evidence-graph .bars path').length,
                alarm: by.alarm.y.filter(v => v !== null).length};""",
    "cluster": """
        const c = document.querySelector('#alert-evidence-map path.ev-circle');
        if (!c) return null;
        const r = c.getBoundingClientRect(), m = document.querySelector('.ev-map');
        return {circle: [r.width, r.height], points: document.querySelectorAll('#alert-evidence-map path.ev-point').length,
                outlines: document.querySelectorAll('#alert-evidence-map path').length, radius: m.dataset.radiusM,
                visible: m.getBoundingClientRect().height > 150};""",
    "repeat": """
        const a = document.querySelector('#alert-evidence .ev-address');
        return a && {address: a.textContent, dates: [...document.querySelectorAll('#alert-evidence [data-case-date]')].length,
                     mode: a.dataset.mode};""",
    "underreport": """
        const v = k => (document.querySelector(`#alert-evidence [data-share="${k}"]`) || {dataset: {}}).dataset.value;
        return {period: v('period'), peers: v('peers'), before: v('before'),
                weeks: document.querySelectorAll('#alert-evidence .ev-week').length,
                flagged: document.querySelectorAll('#alert-evidence .ev-week--flagged').length};""",
    "sla": """
        const rows = [...document.querySelectorAll('#alert-evidence [data-sla-case]')];
        return {codes: rows.map(r => r.dataset.slaCase), late: rows.map(r => r.dataset.late),
                holders: rows.map(r => r.querySelector('.ev-holder').textContent)};""",
    "staffing": """
        const rows = [...document.querySelectorAll('#alert-evidence [data-grid-code]')];
        return {grids: rows.map(r => [r.dataset.gridCode, r.dataset.offlineCount]),
                workers: document.querySelectorAll('#alert-evidence [data-worker]').length,
                text: document.getElementById('alert-evidence').textContent};""",
    "stale": "return {text: document.querySelector('#alert-evidence .ev-facts').textContent};",
    "wall": "return {text: document.querySelector('#alert-evidence .ev-facts').textContent};",
}
TITLES = {"spike": "乱堆物堆料骤增", "cluster": "事件时空聚集", "repeat": "道路不洁重复多发", "underreport": "疑似瞒报漏报",
          "sla": "3件事件临期无进展", "staffing": "2名在岗网格员离线", "stale": "数据中断", "wall": "大屏离线"}


def test_every_kind_opens_its_evidence_in_the_panel(dash_duo, small_county):
    seeded = seed_evidence(small_county.engine, now=small_county.now, seed_county=False)
    set_screen(dash_duo, 1920, 1080)
    start_wall(dash_duo, small_county.url, push=False)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/?alert={seeded['spike']}")
    driver = dash_duo.driver
    seen = {}
    for kind, script in PARTS.items():
        driver.execute_script(GO, str(seeded[kind]))
        wait_js(driver, SHOWN.format(kind=kind, title=TITLES[kind]))
        seen[kind] = wait_js(driver, f"(() => {{ {script} }})()")
        driver.save_screenshot(f"/tmp/alert-evidence-{kind}.png")

    spike = seen["spike"]
    assert set(spike["metas"]) >= {"band", "expected", "observed", "alarm", "tripped"}, spike
    assert spike["tripped"] == seeded["spike_window"] and spike["marked"] == ",".join(seeded["spike_window"])
    assert spike["days"] >= 22 and spike["band"] >= 20 and spike["expected"] >= 20 and spike["alarm"] >= 20
    assert spike["drawn"] == spike["days"] or spike["drawn"] >= 20   # the bars are drawn, not only data

    cluster = seen["cluster"]
    assert cluster["radius"] == "2400" and cluster["points"] == 5 and cluster["visible"], cluster
    assert min(cluster["circle"]) > 40 and cluster["outlines"] >= 1 + 5 + 2   # circle, points, two grids

    assert seen["repeat"] == {"address": ADDRESS, "dates": 4, "mode": "address"}

    under = seen["underreport"]
    assert float(under["period"]) == pytest.approx(8 / 28, abs=1e-3)
    assert float(under["peers"]) == pytest.approx(40 / 60, abs=1e-3)
    assert float(under["before"]) == pytest.approx(120 / 180, abs=1e-3)
    assert under["weeks"] == 16 and under["flagged"] == 4

    sla = seen["sla"]
    assert sorted(sla["codes"]) == ["EV-L-0", "EV-L-1", "EV-L-2"] and sla["holders"] == [ORG_NAME] * 3
    assert sla["late"].count("1") == 1

    staffing = seen["staffing"]
    assert staffing["grids"] == [["320585100001001", "1"], ["320585100002001", "1"]] and staffing["workers"] == 0
    assert "网格员" not in staffing["text"].replace("在岗网格员", "")   # counts only: no names by default

    assert "新事件上报" in seen["stale"]["text"] and "95分钟" in seen["stale"]["text"]
    assert "wall-cx" in seen["wall"]["text"]
