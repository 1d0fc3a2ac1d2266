"""The wall in headless Chromium (dash_duo): live figures, the case stream, outage and recovery.

Runs on SQLite and PostgreSQL. Chrome options come from ``pytest_setup_options`` in conftest.py.
"""

from __future__ import annotations

import importlib.util
import socket
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from dashboard.app import create_app
from dashboard.config import Settings
from data_access.db import get_engine, init_db, make_engine
from data_access.figures import case_figures
from data_access.moment import Moment
from data_access.scope import Scope

from .wall_fixtures import COUNTY, insert_case, seed_small_county

pytestmark = pytest.mark.browser

UTC = timezone.utc
TZ = Settings(database_url="sqlite://", secret_key="t").tz


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def figures_now(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return case_figures(conn, Scope(COUNTY, COUNTY), Moment.now(TZ))


def _seeded(url: str):
    engine = make_engine(url)
    init_db(engine)
    seed_small_county(engine)
    return engine


@pytest.fixture
def county(backend_url):
    engine = _seeded(backend_url)
    yield engine
    engine.dispose()
    get_engine(backend_url).dispose()


@pytest.fixture
def sqlite_county(tmp_path):
    """The county on SQLite only, for the tests whose subject is not the backend."""
    url = f"sqlite:///{tmp_path / 'wall.db'}"
    engine = _seeded(url)
    yield engine, url
    engine.dispose()
    get_engine(url).dispose()


def start_wall(dash_duo, url: str, path: str = "/"):
    app = create_app(Settings(database_url=url, secret_key="browser-test"), auth=False)
    dash_duo.start_server(app, port=free_port())
    if path != "/":
        dash_duo.wait_for_page(dash_duo.server_url + path)
    return app


def test_wall_shows_live_figures_and_new_cases(dash_duo, county, backend_url):
    before = figures_now(county)
    start_wall(dash_duo, backend_url)

    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"]), timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-new-today", str(before["new_today"]))
    dash_duo.wait_for_element("#case-stream [data-case-code]")
    dash_duo.wait_for_element("#map .leaflet-interactive")
    dash_duo.wait_for_text_to_equal("#wall-title", "太仓市 网格化联动指挥中心")
    assert dash_duo.find_element("#freshness").get_attribute("data-stale") == "false"
    for element_id in ("breadcrumb", "sla-board", "staffing", "alerts", "map"):
        dash_duo.find_element(f"#{element_id}")
    assert dash_duo.find_element("#breadcrumb [data-region]").get_attribute("data-region") == COUNTY
    # Only new and acknowledged alerts are listed; the seeded resolved one is not.
    assert len(dash_duo.find_elements("#alerts [data-alert-id]")) == 2

    code = "320585-20991231-77777"
    insert_case(county, code, datetime.now(UTC), title='<img src=x onerror="window.__gwxss=1">道路积水')
    dash_duo.wait_for_element(f'#case-stream [data-case-code="{code}"]', timeout=10)
    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"] + 1), timeout=10)
    dash_duo.wait_for_text_to_equal("#kpi-new-today", str(before["new_today"] + 1), timeout=10)
    first = dash_duo.find_elements("#case-stream [data-case-code]")[0]
    assert first.get_attribute("data-case-code") == code
    assert len(dash_duo.find_elements("#case-stream [data-case-code]")) <= 30
    # Text from the database is shown as text, never parsed as HTML.
    assert "<img" in first.text
    assert dash_duo.find_elements("#case-stream img") == []
    assert dash_duo.driver.execute_script("return window.__gwxss === undefined")

    # The database goes away (here: its cases table does): last good values stay, marked stale.
    with county.begin() as conn:
        conn.execute(text("ALTER TABLE cases RENAME TO cases_away"))
    try:
        dash_duo.wait_for_element('#freshness[data-stale="true"]', timeout=15)
        assert dash_duo.find_element("#freshness").text.startswith("数据中断 自")
        assert dash_duo.find_element("#kpi-open").text == str(before["open"] + 1)
    finally:
        with county.begin() as conn:
            conn.execute(text("ALTER TABLE cases_away RENAME TO cases"))
    dash_duo.wait_for_element('#freshness[data-stale="false"]', timeout=15)
    dash_duo.wait_for_text_to_equal("#kpi-open", str(before["open"] + 1), timeout=10)

    assert dash_duo.get_logs() == []


def test_wall_region_and_bad_region(dash_duo, sqlite_county):
    county, url = sqlite_county
    street = "320585100"
    with county.connect() as conn:
        street_open = case_figures(conn, Scope(street, COUNTY), Moment.now(TZ))["open"]
    start_wall(dash_duo, url, f"/?region={street}")
    dash_duo.wait_for_text_to_equal("#kpi-open", str(street_open), timeout=15)
    crumbs = [a.get_attribute("data-region") for a in dash_duo.find_elements("#breadcrumb [data-region]")]
    assert crumbs == [COUNTY, street]
    codes = [e.get_attribute("data-case-code") for e in dash_duo.find_elements("#case-stream [data-case-code]")]
    assert codes and all(code.startswith("320585-") for code in codes)

    dash_duo.wait_for_page(dash_duo.server_url + "/?region=<script>alert(1)</script>")
    dash_duo.wait_for_text_to_equal("#kpi-open", str(figures_now(county)["open"]), timeout=15)
    dash_duo.wait_for_contains_text("#region-notice", "无效")
    assert dash_duo.get_logs() == []


def test_wall_screenshot_fits_1920x1080(dash_duo, tmp_path):
    """The wall on a synthetic county fills a 1920x1080 screen exactly; /tmp/wall.png is for a human to look at."""
    url = f"sqlite:///{tmp_path / 'county.db'}"
    engine = make_engine(url)
    init_db(engine)
    if importlib.util.find_spec("dashboard.synth") and importlib.util.find_spec("dashboard.synth.seed"):
        from dashboard.synth.seed import seed_county

        seed_county(engine, county=COUNTY, days=2, seed=20261126)
    else:  # the synthetic county generator is not in this tree: the hand-made county will do
        seed_small_county(engine)
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 1920, "height": 1080, "deviceScaleFactor": 1, "mobile": False})
    start_wall(dash_duo, url)
    dash_duo.wait_for_text_to_equal("#kpi-open", str(figures_now(engine)["open"]), timeout=15)
    dash_duo.wait_for_element("#map .region-label")
    dash_duo.wait_for_element("#case-stream [data-case-code]")
    width, height = dash_duo.driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.clientHeight]")
    assert (width, height) == (1920, 1080)
    overflow = dash_duo.driver.execute_script(
        "const d = document.documentElement;"
        "return [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight];")
    assert overflow == [0, 0], f"the wall overflows its {width}x{height} viewport by {overflow}"
    dash_duo.driver.save_screenshot("/tmp/wall.png")
    assert dash_duo.get_logs() == []
    engine.dispose()
    get_engine(url).dispose()
