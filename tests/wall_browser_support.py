"""Helpers for the wall's browser tests (dash_duo with headless Chromium, see conftest.py).

A test module that starts a wall takes what it needs from here: ``start_wall``, the counties
(``small_county``, a pytest fixture: import it into the module; ``synthetic_county``), alerts
written as another system would (``critical_alert``), waits, and the page scripts shared by several
modules.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import create_engine, insert, select
from sqlalchemy.engine import Engine

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import get_engine, init_db, make_engine
from data_access.models import Alert, Case, Grid, Org, Region

from .wall_fixtures import COUNTY, seed_small_county

UTC = timezone.utc
WAIT = 15  # seconds: the first panels of a wall on a busy test machine
AMBER = "rgba(245, 197, 66, 1)"  # --warn (assets/wall.css), as getComputedStyle reports it
# Resolves after the browser has drawn twice: layout and the page's own fitting are done.
NEXT_FRAMES_JS = "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())))"

_SYNTHETIC: Path | None = None


class County(NamedTuple):
    engine: Engine
    url: str
    now: datetime  # the moment it was seeded as of (whole seconds)


@pytest.fixture
def small_county(tmp_path):
    """The hand-made county (tests/wall_fixtures.py) in its own SQLite file, seeded as of now: its
    alerts are one new warning, one acknowledged critical and one resolved."""
    url = f"sqlite:///{tmp_path / 'wall.db'}"
    engine = make_engine(url)
    init_db(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    seed_small_county(engine, now=now)
    yield County(engine, url, now)
    engine.dispose()
    get_engine(url).dispose()


def critical_alert(engine, key: str, region: str = "320585100") -> int:
    """A new critical alert written as the early-warning engine would; its id."""
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(
            created_at=datetime.now(UTC) - timedelta(seconds=5), kind="spike", severity="critical",
            region_code=region, title=f"城厢镇 事件骤增 {key}",
            detail=json.dumps({"observed": 12, "expected": 3}), status="new", source="gridwall", dedup_key=key))
        return conn.execute(select(Alert.id).where(Alert.dedup_key == key)).scalar()


def wait_until(driver, condition: Callable[[], Any], timeout: float = WAIT) -> Any:
    """The first truthy value of ``condition()``, polled every 0.1 s. A script error counts as not yet
    (an element the renderer has not built yet reads as null: the test failed once so under load)."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(JavascriptException, StaleElementReferenceException)
                         ).until(lambda _driver: condition())


def wait_js(driver, script: str, timeout: float = 20) -> Any:
    """The first truthy value of ``script`` (a JS expression)."""
    return wait_until(driver, lambda: driver.execute_script(f"return {script}"), timeout)


def next_frames(driver) -> None:
    driver.execute_script(NEXT_FRAMES_JS)


def region_in_url(driver) -> str | None:
    return parse_qs(urlparse(driver.current_url).query).get("region", [None])[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_wall(dash_duo, url: str, path: str = "/", push: bool = True):
    app = create_app(Settings(database_url=url, secret_key="browser-test"), auth=False)
    if not push:
        app.server.config["GRIDWALL_PUSH"] = "off"
    dash_duo.start_server(app, port=free_port())
    if path != "/":
        dash_duo.wait_for_page(dash_duo.server_url + path)
    return app


def set_screen(dash_duo, width: int, height: int) -> None:
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def synthetic_county(tmp_path: Path) -> str:
    """A copy of a synthetic county (yesterday and today; seeded once per test run) as a SQLite URL.

    The hand-made county stands in when the synthetic generator is not in this tree.
    """
    global _SYNTHETIC
    if _SYNTHETIC is None or not _SYNTHETIC.exists():
        path = Path(tempfile.mkdtemp(prefix="gw-synth-")) / "county.db"
        engine = make_engine(f"sqlite:///{path}")
        init_db(engine)
        if importlib.util.find_spec("dashboard.synth") and importlib.util.find_spec("dashboard.synth.seed"):
            from dashboard.synth.seed import seed_county

            # Yesterday and today: just after local midnight "today" alone holds almost nothing.
            seed_county(engine, county=COUNTY, days=2, seed=20261126)
        else:
            seed_small_county(engine)
        engine.dispose()
        _SYNTHETIC = path
    target = tmp_path / "county.db"
    shutil.copyfile(_SYNTHETIC, target)
    return f"sqlite:///{target}"


def dispose(url: str) -> None:
    get_engine(url).dispose()


# Whole-page and per-panel overflow, as the browser lays it out.
OVERFLOW_JS = """
const d = document.documentElement;
const page = [d.scrollWidth - d.clientWidth, d.scrollHeight - d.clientHeight];
const inner = [];
for (const el of document.querySelectorAll('.panel-body, .tile, .fit-list')) {
    if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) {
        inner.push((el.id || el.className) + ' ' + el.scrollWidth + 'x' + el.scrollHeight
                   + ' in ' + el.clientWidth + 'x' + el.clientHeight);
    }
}
// A visible entry of a cut list must lie inside its list.
for (const list of document.querySelectorAll('.fit-list')) {
    const box = list.getBoundingClientRect();
    for (const kid of list.children) {
        if (kid.hidden) continue;
        const r = kid.getBoundingClientRect();
        if (r.bottom > box.bottom + 1) inner.push('cut list ' + (list.id || list.className));
    }
}
return {page: page, inner: inner, size: [d.clientWidth, d.clientHeight]};
"""


# --- late cases of the tests' own ---------------------------------------------------------------

HOPELESS = "GW-SLA-HOPELESS"  # accept overdue by 123 days: the center's own, and the worst
SAVABLE = "GW-SLA-SAVABLE"  # resolve due in 30 minutes
OWN = "GW-SLA-OWN-DISPATCH"  # dispatch overdue by 10 minutes
EXTRA_SAVABLE = 24  # resolve due in over an hour, 10 hours after the report


def add_late_cases(url: str) -> tuple[str, str]:
    """Late cases in one grid of the county, whatever the seeded county holds at this hour (just after
    local midnight it may hold none): three late ones (HOPELESS, SAVABLE, OWN) and EXTRA_SAVABLE
    savable ones. That grid's code and its place, grid first."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as conn:
        grid, name = conn.execute(select(Grid.code, Grid.name).order_by(Grid.code).limit(1)).one()
        names = dict(conn.execute(select(Region.code, Region.name).where(Region.code.in_([grid[:12], grid[:9]]))).all())
        place = " · ".join([name, names[grid[:12]], names[grid[:9]]])
        org_id = (conn.execute(select(Org.id).order_by(Org.id).limit(1)).scalar() or 0) + 9000
        conn.execute(insert(Org), [{"id": org_id, "name": "太仓市交通运输局", "kind": "department",
                                    "region_code": grid[:6]}])
        base = {"category_code": None, "source": "patrol", "urgency": "normal", "status": "processing",
                "grid_code": grid, "handler_org_id": org_id, "lon": None, "lat": None,
                "accepted_at": None, "dispatched_at": None}  # every row the same keys (one executemany)
        conn.execute(insert(Case), [
            {**base, "code": HOPELESS, "title": "浏河镇新闸村十八组河道长期淤积并伴有大量生活垃圾堆放",
             "status": "reported", "reported_at": now - timedelta(days=124),
             "accept_due_at": now - timedelta(days=123, hours=2), "dispatch_due_at": now - timedelta(days=123),
             "resolve_due_at": now - timedelta(days=120)},
            {**base, "code": SAVABLE, "title": "积水点排涝", "reported_at": now - timedelta(hours=10),
             "accepted_at": now - timedelta(hours=9, minutes=50), "dispatched_at": now - timedelta(hours=9),
             "accept_due_at": now - timedelta(hours=9), "dispatch_due_at": now - timedelta(hours=8),
             "resolve_due_at": now + timedelta(minutes=30)},
            {**base, "code": OWN, "title": "井盖缺失", "status": "accepted", "reported_at": now - timedelta(hours=1),
             "accepted_at": now - timedelta(minutes=55), "accept_due_at": now - timedelta(minutes=50),
             "dispatch_due_at": now - timedelta(minutes=10), "resolve_due_at": now + timedelta(days=2)},
        ])
        # Enough savable cases that 即将超期 overflows its box even at 3840x2160, whatever the seeded
        # county holds at this time of day (on CI it once held none, and the list fitted whole).
        conn.execute(insert(Case), [
            {**base, "code": f"GW-SLA-SOON-{i:02d}", "title": "路灯不亮", "reported_at": now - timedelta(hours=10),
             "accepted_at": now - timedelta(hours=9, minutes=50), "dispatched_at": now - timedelta(hours=9),
             "accept_due_at": now - timedelta(hours=9), "dispatch_due_at": now - timedelta(hours=8),
             "resolve_due_at": now + timedelta(hours=1, minutes=10 + i)}
            for i in range(EXTRA_SAVABLE)])
    engine.dispose()
    return grid, place
