"""Helpers for the wall's browser tests (dash_duo with headless Chromium, see conftest.py)."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import tempfile
from pathlib import Path

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import get_engine, init_db, make_engine

from .wall_fixtures import COUNTY, seed_small_county

_SYNTHETIC: Path | None = None


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
