"""/review in Chromium: the presentation mode at 1920x1080 (no scrollbars, every slide on screen), the
drill-down from the county to a grid by clicking, and a street user who sees only its street (and can
scroll the page to its last section).

The hand-built county (tests/review_handbuilt.py, both backends) gives literal figures; the synthetic
county (dashboard/synth, 24 days up to 2026-11-26) gives a real-sized county of eight streets for the
presentation mode. Screenshots land in /tmp/gridwall-review/*.png for a human to look at.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all, init_db, make_engine

from .api_seed import FAST_HASHER, PASSWORD, add_users
from .review_handbuilt import C1, COUNTY, G1, S1, S2, SH, load, sqlite_county
from .wall_browser_support import dispose, free_port, set_screen

pytestmark = pytest.mark.browser

AT = "2026-11-26T10:00:00"
WEEK = f"period=week&date=2026-11-18&at={AT}"

# Whether the document, or the page inside it, can scroll; and where the slide shown lies.
FIT_JS = """
const d = document.documentElement, page = document.querySelector('.page');
const slide = document.querySelector('.page-body > .is-slide');
const r = slide ? slide.getBoundingClientRect() : null;
const body = slide ? slide.querySelector('.panel-body') : null;
return {doc: [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight],
        page: page ? [page.scrollWidth - page.clientWidth, page.scrollHeight - page.clientHeight] : null,
        view: [window.innerWidth, window.innerHeight],
        slide: r ? [r.left, r.top, r.right, r.bottom] : null,
        title: slide ? slide.querySelector('.panel-title').textContent : null,
        clipped: body ? body.scrollWidth - body.clientWidth : null,
        count: (document.getElementById('review-slide-count') || {}).textContent,
        controls: !!document.querySelector('.review-controls') &&
                  document.querySelector('.review-controls').offsetParent !== null,
        nav: document.querySelector('.shell-nav') ? document.querySelector('.shell-nav').offsetParent !== null : false};
"""
# Generous: every section of the page answers each change of the URL, and a loaded test machine is slow
# (waits, not timed assertions).
WAIT = 240


SETTLE_JS = "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))"


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def start(dash_duo, url: str, auth: bool):
    app = create_app(Settings(database_url=url, secret_key="review-browser"), auth=auth)
    # With auth on, "/" is the login page, not a Dash page: do not wait for Dash there.
    dash_duo.start_server(app, navigate=False, port=free_port())
    dash_duo._url = dash_duo.server.url
    # A script waits while the page's main thread is busy (Dash rendering every section on a slow machine).
    dash_duo.driver.set_script_timeout(WAIT)
    return app


def sign_in(dash_duo, who: str, next_path: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/login?next={next_path.replace('&', '%26').replace('?', '%3F')}")
    dash_duo.find_element("#username").send_keys(who)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()


def wait_for(dash_duo, predicate, timeout: float = WAIT):
    return WebDriverWait(dash_duo.driver, timeout).until(lambda d: predicate(d))


def children_rows(dash_duo) -> list[tuple[str, str, str]]:
    """(data-region, data-rank, name) of each row of the children table."""
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('#review-children tbody tr[data-region]')].map("
        "r => [r.dataset.region, r.dataset.rank, r.querySelector('.child-name').textContent]);")


def headline_cell(dash_duo, figure: str, window: str, change: bool = False) -> str:
    """A figure's value in a window (or its change against it), also while its slide is not shown."""
    cell = "td.change" if change else "td.num"
    return dash_duo.find_element(f"#review-headline tr[data-figure='{figure}'] {cell}[data-window='{window}']") \
        .get_attribute("textContent")


def shown_region(dash_duo) -> str:
    return dash_duo.find_element("#review-region").get_attribute("data-region")


def wait_region(dash_duo, code: str) -> None:
    """The breadcrumb, the children table and the headline have all followed the URL to ``code``."""
    def ready(d):
        rows = children_rows(dash_duo)
        return shown_region(dash_duo) == code and (
            (rows and all(r[0].startswith(code) and len(r[0]) > len(code) for r in rows))
            or (len(code) == 15 and "没有下级区域" in d.find_element(By.ID, "review-children").text))
    wait_for(dash_duo, ready)


def query(dash_duo) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(dash_duo.driver.current_url).query).items()}


SHOTS = Path(tempfile.gettempdir()) / "gridwall-review"


def shot(dash_duo, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    dash_duo.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def slide_state(dash_duo) -> tuple[int, int, int, int]:
    """(slide, slides, screen, screens) of the presentation (assets/pages.js)."""
    nav = dash_duo.find_element("#review-slides")
    return tuple(int(nav.get_attribute(f"data-{k}") or 0) for k in ("slide", "slides", "screen", "screens"))


def walk_slides(dash_duo, width: int, height: int, shots: str | None = None) -> list[tuple[int, int, str]]:
    """Step through every screen of every slide with the → key, from the first, checking that each
    fits the screen; back at the first. Returns (slide, screen, title) of each step."""
    while slide_state(dash_duo)[0] != 1 or slide_state(dash_duo)[2] != 1:
        dash_duo.find_element("body").send_keys(Keys.ARROW_RIGHT)
    seen = []
    while True:
        state = slide_state(dash_duo)
        got = assert_fits(dash_duo, width, height)
        if state[2] > 1:  # a screen that continues a slide: its table's header is repeated on top
            assert_header_repeated(dash_duo, state)
        # a map on the slide draws its shapes in its box (it was blank when drawn on a hidden slide)
        wait_for(dash_duo, map_drawn_or_absent, timeout=60)
        seen.append((state[0], state[2], got["title"]))
        if shots:
            shot(dash_duo, f"{shots}-{state[0]}-{state[2]}")
        dash_duo.find_element("body").send_keys(Keys.ARROW_RIGHT)
        wait_for(dash_duo, lambda d: slide_state(dash_duo) != state)
        if slide_state(dash_duo)[0] == 1 and slide_state(dash_duo)[2] == 1:
            return seen


# The number of shapes a map on the shown slide draws inside its box (None: no map, or none to draw).
MAP_DRAWN_JS = """
const map = document.querySelector('.page-body > .is-slide .leaflet-container');
if (!map || !map.querySelector('path')) return null;
const box = map.getBoundingClientRect();
return [...map.querySelectorAll('path')].map(p => p.getBoundingClientRect()).filter(
    r => r.width > 0 && r.right > box.left && r.left < box.right && r.bottom > box.top && r.top < box.bottom).length;
"""

def map_drawn_or_absent(driver) -> bool:
    shapes = driver.execute_script(MAP_DRAWN_JS)
    return shapes is None or shapes > 0


HEADER_JS = """
const body = document.querySelector('.is-slide .panel-body'), b = body.getBoundingClientRect();
const pad = parseFloat(getComputedStyle(body).paddingTop) || 0;
const all = [...body.querySelectorAll('tbody tr')];
const shown = all.filter(el => { const r = el.getBoundingClientRect(); return r.bottom > b.top + pad + 1 && r.top < b.bottom - 1; });
if (!shown.length) return null;
const head = shown[0].closest('table').querySelector('thead th');  // th: the sticky cell
const hb = head ? head.getBoundingClientRect().bottom : b.top + pad;
const k = all.findIndex(el => el.getBoundingClientRect().top >= hb - 3);  // the first row the screen shows whole
return {pad: pad, headTop: head ? head.getBoundingClientRect().top - b.top : null, headBottom: hb - b.top,
        rowTop: k < 0 ? null : all[k].getBoundingClientRect().top - b.top,
        aboveBottom: k > 0 ? all[k - 1].getBoundingClientRect().bottom - b.top : null};
"""


def assert_header_repeated(dash_duo, state) -> None:
    """On a continuing screen the table's header sits at the top of the body and the next row starts
    right below it (within a few pixels: the sticky cell and the row's borders differ slightly)."""
    got = dash_duo.driver.execute_script(HEADER_JS)
    if got is None or got["headTop"] is None:  # a screen of a list, not of a table
        return
    assert abs(got["headTop"] - got["pad"]) <= 1.5, (state, got)  # the header on top of the screen
    # the screen starts at a row just below the header: the row before it is not left half-hidden there
    assert got["rowTop"] is not None and got["rowTop"] <= got["headBottom"] + 3, (state, got)
    assert got["aboveBottom"] is None or got["aboveBottom"] <= got["headBottom"] + 3, (state, got)


def assert_fits(dash_duo, width: int, height: int) -> dict:
    dash_duo.driver.execute_script(SETTLE_JS)
    got = dash_duo.driver.execute_script(FIT_JS)
    assert got["view"] == [width, height], got
    assert got["doc"] == [0, 0], f"the document scrolls: {got}"
    assert got["page"][0] <= 0, f"the page scrolls sideways: {got}"
    left, top, right, bottom = got["slide"]
    assert left >= -1 and top >= 0 and right <= width + 1 and bottom <= height + 1, f"a slide off screen: {got}"
    assert got["clipped"] <= 1, f"a slide cut at its right edge: {got}"  # (a tall one is cut into screens)
    assert not got["controls"] and not got["nav"], got
    return got


# The page (not the document, which never scrolls) scrolls, and its last section can be brought on screen.
SCROLL_END_JS = """
const page = document.querySelector('.page'), sections = document.querySelectorAll('.page-body > *');
page.scrollTop = page.scrollHeight;
const last = sections[sections.length - 1].getBoundingClientRect();
return {height: page.clientHeight, content: page.scrollHeight, top: page.scrollTop,
        lastTop: last.top, lastBottom: last.bottom, view: window.innerHeight};
"""


def assert_scrolls_to_the_end(dash_duo) -> None:
    got = dash_duo.driver.execute_script(SCROLL_END_JS)
    assert got["height"] <= got["view"], f"the page is taller than the window: {got}"
    assert got["content"] > got["height"] and got["top"] > 0, f"the page does not scroll: {got}"
    assert got["lastBottom"] <= got["view"] + 1 and got["lastTop"] >= 0, f"the last section out of reach: {got}"


# --- the hand-built county: literal figures, the drill-down, a street user ------------------------

@pytest.fixture
def handbuilt(engine, backend_url):
    load(engine)
    add_users(engine)
    return backend_url


def test_a_leader_reviews_the_week_in_presentation_mode_and_drills_down_to_a_grid(dash_duo, handbuilt):
    start(dash_duo, handbuilt, auth=True)
    set_screen(dash_duo, 1920, 1080)
    sign_in(dash_duo, "leader1", f"/review?{WEEK}&present=1")
    wait_region(dash_duo, COUNTY)
    wait_for(dash_duo, lambda d: headline_cell(dash_duo, "reported", "current") == "7 件")

    # The headline: hand-counted figures, denominators beside the rates, 环比 and 同比 with their dates.
    assert headline_cell(dash_duo, "on_time_rate", "current") == "40.0%（2/5）"
    assert headline_cell(dash_duo, "reported", "previous") == "3 件"
    assert headline_cell(dash_duo, "median_close_hours", "current") == "42.0 小时（4件）"
    assert headline_cell(dash_duo, "return_rate", "last_year") == "—"  # nothing dispatched a year before
    # Denominators under 10: the counts, never a change in per cent.
    on_time_change = headline_cell(dash_duo, "on_time_rate", "previous", change=True)
    assert "%" not in on_time_change and "对" in on_time_change, on_time_change
    compare = dash_duo.find_element("#review-compare").text
    assert "环比" in compare and "上期 2026-11-09 至 2026-11-15" in compare
    assert "同比" in compare and "去年同期 2025-11-16 至 2025-11-22" in compare
    assert dash_duo.find_element("#review-period").text == "2026-11-16 至 2026-11-22（第47周）"

    # Presentation mode: no controls, no navigation, no scrollbars; every slide on the screen.
    got = assert_fits(dash_duo, 1920, 1080)
    # The meeting opens with what the last one decided (督办事项), then the headline figures.
    assert got["title"] == "督办事项" and got["count"].startswith("1 / "), got
    seen = walk_slides(dash_duo, 1920, 1080)
    assert [title for _, _, title in seen[:4]] == ["督办事项", "核心指标", "下级区域排名", "评分规则"], seen
    dash_duo.find_element("body").send_keys(Keys.ARROW_RIGHT)
    wait_for(dash_duo, lambda d: d.execute_script(FIT_JS)["title"] == "核心指标")
    shot(dash_duo, "present-headline")
    dash_duo.find_element("body").send_keys(Keys.ARROW_RIGHT)
    wait_for(dash_duo, lambda d: d.execute_script(FIT_JS)["title"] == "下级区域排名")
    shot(dash_duo, "present-children")

    # Both streets have fewer than 10 due cases: listed with their figures, marked 样本不足, no rank.
    assert children_rows(dash_duo) == [[S1, "", "城厢镇"], [S2, "", "沙溪镇"]]
    row = dash_duo.find_element(f"#review-children tr[data-region='{S1}']").text
    assert row.startswith("样本不足 城厢镇") and "40.0%（2/5）" in row  # its figures, no rank
    assert "参与排名的区域不足 2 个" in dash_duo.find_element("#review-rolls").text

    # The drill-down: click a street, its community, its grid; the period and moment stay.
    dash_duo.driver.execute_script("window.__samePage = true;")
    dash_duo.find_element(f"#review-children tr[data-region='{S1}'] a").click()
    wait_region(dash_duo, S1)
    assert query(dash_duo) == {"region": S1, "period": "week", "date": "2026-11-18", "at": AT, "present": "1"}
    wait_for(dash_duo, lambda d: headline_cell(dash_duo, "reported", "current") == "6 件")
    assert children_rows(dash_duo) == [[C1, "", "东林村"]]
    assert_fits(dash_duo, 1920, 1080)
    shot(dash_duo, "present-street")
    dash_duo.find_element(f"#review-children tr[data-region='{C1}'] a").click()
    wait_region(dash_duo, C1)
    assert children_rows(dash_duo) == [[G1, "", "第一网格"]]
    dash_duo.find_element(f"#review-children tr[data-region='{G1}'] a").click()
    wait_region(dash_duo, G1)
    assert "网格为最小管理单元，没有下级区域" in dash_duo.find_element("#review-children").text
    crumbs = dash_duo.find_element("#review-region").text
    assert crumbs.split("›") == ["太仓市", "城厢镇", "东林村", "第一网格"] or \
        [c.strip() for c in crumbs.split("›")] == ["太仓市", "城厢镇", "东林村", "第一网格"], crumbs
    # Back up by the breadcrumb, without a reload.
    dash_duo.find_element(f"#review-region .crumb[data-region='{COUNTY}'] a").click()
    wait_region(dash_duo, COUNTY)
    assert query(dash_duo)["region"] == COUNTY and query(dash_duo)["date"] == "2026-11-18"
    assert dash_duo.driver.execute_script("return window.__samePage === true;")

    # Leaving the presentation shows the controls again.
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    wait_for(dash_duo, lambda d: "present" not in query(dash_duo))
    wait_for(dash_duo, lambda d: d.find_element(By.CSS_SELECTOR, ".review-controls").is_displayed())
    # (The login page, before the page, asks for /favicon.ico, which answers 401 to a visitor.)
    assert not [e for e in dash_duo.get_logs() or [] if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    dispose(handbuilt)


@pytest.fixture
def handbuilt_sqlite(tmp_path):
    """The hand-built county on SQLite only: for a browser test whose point is the page, not the
    backend (its scope rule is proven on both backends by tests/test_forged_requests.py)."""
    return sqlite_county(tmp_path / "handbuilt.db", add_users)


def test_a_street_user_sees_only_its_own_street_whatever_the_url_asks(dash_duo, handbuilt_sqlite):
    handbuilt = handbuilt_sqlite
    start(dash_duo, handbuilt, auth=True)
    set_screen(dash_duo, 1920, 1080)
    for asked in (S2, COUNTY, "320585101001001"):
        sign_in(dash_duo, "street_a", f"/review?region={asked}&{WEEK}") if asked == S2 else \
            dash_duo.wait_for_page(f"{dash_duo.server_url}/review?region={asked}&{WEEK}")
        wait_region(dash_duo, S1)
        wait_for(dash_duo, lambda d: headline_cell(dash_duo, "reported", "current") == "6 件")
        assert "不在权限范围内" in dash_duo.find_element("#review-notice").text, asked
        assert children_rows(dash_duo) == [[C1, "", "东林村"]]
        page = dash_duo.find_element("body").text
        assert "沙溪镇" not in page and "印溪社区" not in page, asked
        # The county above is named in the breadcrumb but is not a link.
        assert not dash_duo.find_elements(f"#review-region .crumb[data-region='{COUNTY}'] a")
    assert_scrolls_to_the_end(dash_duo)
    shot(dash_duo, "street")
    dispose(handbuilt)


# --- the synthetic county: a real-sized county in presentation mode ------------------------------------

_SYNTHETIC: Path | None = None


def synthetic_review_county(tmp_path: Path) -> str:
    """The synthetic county with 24 days up to 2026-11-26 10:00 (seeded once per run), as a SQLite URL."""
    global _SYNTHETIC
    if _SYNTHETIC is None or not _SYNTHETIC.exists():
        from dashboard.synth.seed import seed_county

        path = Path(tempfile.mkdtemp(prefix="gw-review-")) / "county.db"
        engine = make_engine(f"sqlite:///{path}")
        init_db(engine)
        seed_county(engine, county=COUNTY, days=24, seed=20261126, now=datetime(2026, 11, 26, 10, tzinfo=SH),
                    full_ping_days=1, sparse_ping_days=1)
        engine.dispose()
        _SYNTHETIC = path
    target = tmp_path / "county.db"
    shutil.copyfile(_SYNTHETIC, target)
    return f"sqlite:///{target}"


def test_the_synthetic_county_fits_1920x1080_slide_by_slide_with_its_red_and_black_lists(dash_duo, tmp_path):
    url = synthetic_review_county(tmp_path)
    start(dash_duo, url, auth=False)
    set_screen(dash_duo, 1920, 1080)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/review?{WEEK}&present=1")
    wait_for(dash_duo, lambda d: len(children_rows(dash_duo)) == 8)
    rows = children_rows(dash_duo)
    ranks = [int(r[1]) for r in rows if r[1]]
    assert ranks and ranks == sorted(ranks) and ranks[0] == 1, rows
    red = dash_duo.find_elements("#review-red .roll-entry")
    black = dash_duo.find_elements("#review-black .roll-entry")
    assert len(red) == len(black) == min(3, len(ranks) // 2)
    text = lambda e: e.get_attribute("textContent")  # noqa: E731 (also off the slide shown)
    assert all("拉动：" in text(e) for e in red) and all("拖累：" in text(e) for e in black)
    assert "同级中位数（本期" in text(dash_duo.find_element("#review-rules"))
    seen = walk_slides(dash_duo, 1920, 1080, shots="synthetic")
    assert seen[:3] == [(1, 1, "督办事项"), (2, 1, "核心指标"), (3, 1, "下级区域排名")], seen
    assert any(title == "下周热点网格" for _, _, title in seen), seen  # its map checked on the way
    # The buttons page too; a street of the county: its communities, ranked among themselves.
    dash_duo.find_element("#review-slide-next").click()
    wait_for(dash_duo, lambda d: slide_state(dash_duo)[0] == 2)
    dash_duo.find_element("#review-slide-next").click()
    wait_for(dash_duo, lambda d: slide_state(dash_duo)[0] == 3)
    dash_duo.find_element(f"#review-children tr[data-region='{rows[0][0]}'] a").click()
    wait_region(dash_duo, rows[0][0])
    assert len(children_rows(dash_duo)) > 3
    assert_fits(dash_duo, 1920, 1080)
    dispose(url)


def test_a_slide_cut_into_screens_repeats_its_tables_header_on_each(dash_duo, tmp_path):
    url = synthetic_review_county(tmp_path)
    start(dash_duo, url, auth=False)
    set_screen(dash_duo, 1280, 560)  # a small projector: the long tables no longer fit one screen
    dash_duo.wait_for_page(f"{dash_duo.server_url}/review?{WEEK}&present=1")
    wait_for(dash_duo, lambda d: len(children_rows(dash_duo)) == 8)
    seen = walk_slides(dash_duo, 1280, 560, shots="small")  # asserts the header on every later screen
    continued = [step for step in seen if step[1] > 1]
    assert continued, seen
    dispose(url)
