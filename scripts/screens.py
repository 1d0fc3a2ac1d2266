"""Render the wall at the three reference layouts and its standard modes to PNGs under docs/screens/.

Rerun it on every visual change and look at the pictures (docs/screens/README.md lists them):

    .venv/bin/python scripts/screens.py                 # seeds var/screens.db once (~1 min), ~2 min
    .venv/bin/python scripts/screens.py --layouts 1920x1080 --modes live,kiosk

It runs ``gridwall demo`` (simulator and early-warning engine included, auth off on loopback) on its
own SQLite file and port, and drives Debian's Chromium headless through Selenium. Chinese needs a CJK
font on the machine (Debian: fonts-noto-cjk); without one the script says so and the shots show boxes.
"""

from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from serve import chromium, port_free, wait_for_wall  # noqa: E402

LAYOUTS = ("1920x1080", "3840x2160", "5760x1080")
MODES = ("live", "kiosk", "history", "street", "grid")
SETTLE_SECONDS = 6  # the slower panels follow within one 10-second epoch of the first version


def has_cjk_font() -> bool:
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


def wait_for_map(driver, timeout: float = 60) -> None:
    """Until the map shows its regions (their shapes come in a request of their own, which a busy
    machine answers after the figures)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if driver.execute_script("return document.querySelectorAll('#map .region-label').length"):
            return
        time.sleep(0.5)
    print("warning: the map drew no regions in time", file=sys.stderr)


def save_screenshot(driver, path: Path, tries: int = 4) -> None:
    """The page as shown, through DevTools: chromedriver's own screenshot gives the renderer 10 s, which a
    4K or 5760-wide wall on a busy machine can outlast."""
    from selenium.common.exceptions import WebDriverException

    for attempt in range(1, tries + 1):
        try:
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
            path.write_bytes(base64.b64decode(shot["data"]))
            return
        except WebDriverException:
            if attempt == tries:
                raise
            time.sleep(10)


def gridwall(*args: str, env: dict) -> None:
    subprocess.run([str(REPO / ".venv/bin/gridwall"), *args], cwd=REPO, env=env, check=True)


def codes(db: Path) -> tuple[str, str]:
    """A street and one of its grids that has cases, for the drilled-in shots."""
    with sqlite3.connect(db) as conn:
        street = conn.execute("SELECT code FROM regions WHERE level = 'street' ORDER BY code LIMIT 1").fetchone()[0]
        grid = conn.execute("SELECT grid_code FROM cases WHERE grid_code LIKE ? GROUP BY grid_code "
                            "ORDER BY count(*) DESC LIMIT 1", (street + "%",)).fetchone()[0]
    return street, grid


def query_for(mode: str, street: str, grid: str) -> str:
    yesterday_ten = (datetime.now() - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return {"live": "", "kiosk": "?kiosk=1", "history": f"?at={yesterday_ten:%Y-%m-%dT%H:%M}",
            "street": f"?region={street}", "grid": f"?region={grid}"}[mode]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=REPO / "var" / "screens.db")
    ap.add_argument("--days", type=int, default=21, help="history seeded into a new database")
    ap.add_argument("--port", type=int, default=18799)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--modes", default=",".join(MODES))
    args = ap.parse_args(argv)
    if not has_cjk_font():
        print("warning: no CJK font (apt-get install fonts-noto-cjk): Chinese will show as boxes", file=sys.stderr)
    if not port_free(args.port):
        sys.exit(f"port {args.port} is taken; pick another with --port")
    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRIDWALL_DATABASE_URL": f"sqlite:///{args.db}", "GRIDWALL_AUTH": "off"}
    if not args.db.exists():
        gridwall("init-db", env=env)
        gridwall("seed", "--days", str(args.days), env=env)
    street, grid = codes(args.db)
    server = subprocess.Popen([str(REPO / ".venv/bin/gridwall"), "demo", "--port", str(args.port)], cwd=REPO,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{args.port}/"
    written = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "healthz", timeout=2)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    sys.exit("the demo server did not start")
                time.sleep(0.5)
        for layout in args.layouts.split(","):
            width, height = (int(x) for x in layout.split("x"))
            driver = chromium(width, height)
            # The window size includes the browser's own frame: set the page's viewport exactly.
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            try:
                for mode in args.modes.split(","):
                    driver.get(base + query_for(mode, street, grid))
                    wait_for_wall(driver)
                    wait_for_map(driver)
                    time.sleep(SETTLE_SECONDS)
                    path = args.out / f"wall-{layout}-{mode}.png"
                    save_screenshot(driver, path)
                    written.append(path)
                    print(path.relative_to(REPO))
            finally:
                driver.quit()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
