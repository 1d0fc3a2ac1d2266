"""How fast the wall admits an outage and recovers from it: PostgreSQL cut and restored, repeatedly.

    .venv/bin/python bench/outage.py [--cycles 5] [--down 15] [--up 20]

The production server (gunicorn, authentication on, a kiosk session) reaches PostgreSQL through
the TCP proxy of the tests (tests/tcp_proxy.py). A headless-Chromium wall is watched every 100 ms:
after ``cut()``, how long until ``#freshness`` has ``data-stale="true"`` and says "数据中断 自
hh:mm:ss"; after ``restore()``, how long until it is fresh again and a case committed then is on
screen; ``/healthz`` is read alongside. Targets: stale within 5 s, recovered within 5 s.
Database: ``gridwall_bench`` (bench/load_1m.py). Results: ``bench/out/outage.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import PG_URL  # noqa: E402
from serve import PY, REPO, Server, chromium, kiosk_token, load, wait_for_wall  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402

UTC = timezone.utc


def freshness(driver) -> tuple[str, str]:
    return tuple(driver.execute_script(
        "var f = document.getElementById('freshness'); return [f.textContent, f.getAttribute('data-stale')];"))


def until(predicate, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def healthz(url: str) -> dict:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
            return json.loads(r.read())
    except OSError as exc:
        return {"error": str(exc)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--down", type=float, default=15, help="seconds each outage lasts at least")
    ap.add_argument("--up", type=float, default=20, help="seconds between outages at least")
    ap.add_argument("--port", type=int, default=18495)
    ap.add_argument("--code-dir", type=Path, default=REPO)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "outage.json")
    args = ap.parse_args()

    proxy = TcpProxy("127.0.0.1", 5432)
    proxied = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = {**os.environ, "GRIDWALL_DATABASE_URL": proxied, "GRIDWALL_REDIS_URL": "redis://127.0.0.1:6379/11",
           "GRIDWALL_SECRET_KEY": "outage-bench-secret", "GRIDWALL_WORKERS": "2", "GRIDWALL_THREADS": "16"}
    token = kiosk_token(args.code_dir, {**env, "GRIDWALL_DATABASE_URL": PG_URL}, "outagewall", "320585")
    server = Server(args.code_dir, env, args.port, args.out.with_suffix(".server.log"))
    driver = chromium()
    cycles = []
    result = {"started": datetime.now(UTC).isoformat(), "load_start": load(), "cycles": cycles}
    try:
        driver.get(f"{server.url}/kiosk/{token}")
        wait_for_wall(driver, timeout=120)
        until(lambda: freshness(driver)[1] == "false", 60)
        for n in range(args.cycles):
            time.sleep(args.up)
            kpi = driver.execute_script("return document.getElementById('kpi-open').textContent")
            proxy.cut()
            stale_s = until(lambda: freshness(driver)[1] == "true", 30)
            text = freshness(driver)[0]
            health_down = healthz(server.url)
            kept = driver.execute_script("return document.getElementById('kpi-open').textContent") == kpi
            time.sleep(max(0.0, args.down - (stale_s or 0)))
            proxy.restore()
            fresh_s = until(lambda: freshness(driver)[1] == "false", 60)
            writer = subprocess.run(
                [str(PY), str(Path(__file__).with_name("writer.py")), "--url", PG_URL, "--rate", "1",
                 "--updates", "0", "--tag", f"OUT{n}x{int(time.time())}", "--seconds", "1"],
                cwd=args.code_dir, capture_output=True, text=True)
            shown_s = until(lambda: driver.execute_script(
                "return !!document.querySelector('#case-stream [data-case-code^=\"BENCH-OUT%dx\"]')" % n), 60)
            cycle = {"stale_after_s": stale_s, "notice": text,
                     "notice_ok": bool(re.fullmatch(r"数据中断 自 \d{2}:\d{2}:\d{2}", text or "")),
                     "values_kept": kept, "healthz_while_down": health_down,
                     "fresh_after_restore_s": fresh_s, "new_case_on_screen_after_restore_s": shown_s,
                     "writer_ok": writer.returncode == 0, "healthz_after": healthz(server.url), "load": load()}
            cycles.append(cycle)
            print(json.dumps(cycle, ensure_ascii=False), flush=True)
            args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        stale = [c["stale_after_s"] for c in cycles if c["stale_after_s"] is not None]
        fresh = [c["fresh_after_restore_s"] for c in cycles if c["fresh_after_restore_s"] is not None]
        result["summary"] = {
            "cycles": len(cycles),
            "stale_after_s_max": max(stale) if len(stale) == len(cycles) else None,
            "fresh_after_restore_s_max": max(fresh) if len(fresh) == len(cycles) else None,
            "holds": len(stale) == len(fresh) == len(cycles) and max(stale) <= 5 and max(fresh) <= 5,
        }
        result["load_end"] = load()
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(result["summary"]))
    finally:
        driver.quit()
        server.stop()
        proxy.close()


if __name__ == "__main__":
    main()
