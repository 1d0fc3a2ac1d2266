"""Soak: one wall in headless Chromium for an hour of 1-second ticks while the simulator is busy.

    .venv/bin/python bench/soak.py [--minutes 60] [--warmup 5] [--speed 5] [--out bench/out/soak.json]

The wall runs on gunicorn (dashboard/gunicorn_conf.py, Redis cache) against its own PostgreSQL
database ``gridwall_soak`` (a synthetic county seeded over ``--seed-days`` days when it has no
cases), with ``gridwall simulate --speed X`` writing cases, lifecycle steps, shifts and pings
(ahead of the clock when X > 1) and bench/writer.py adding ``--rate`` real-time cases a second, so
that the case stream takes new entries all through the run.
Once a minute the JS heap is measured through the DevTools protocol after a forced garbage
collection (HeapProfiler.collectGarbage, then Runtime.getHeapUsage and Performance.getMetrics),
together with DOM nodes and listeners, what the wall shows (to prove it is live), the server's
memory and the machine's load. Results are rewritten after every sample, so a run that is cut
short still leaves its numbers. The verdict compares the heap after the warm-up with the heap at
the end: at most 10 % growth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import (PY, REPO, Server, chromium, kiosk_token, load, rss_mb,  # noqa: E402
                   wait_for_wall)

UTC = timezone.utc
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

PAGE_STATE = """
const q = s => document.querySelector(s);
const stream = document.querySelectorAll('#case-stream [data-case-code]');
const f = q('#freshness');
return {
  kpi_open: q('#kpi-open') && q('#kpi-open').textContent,
  kpi_new_today: q('#kpi-new-today') && q('#kpi-new-today').textContent,
  newest_case: stream.length ? stream[0].getAttribute('data-case-code') : null,
  stream_entries: stream.length,
  freshness: f && f.textContent,
  stale: f && f.getAttribute('data-stale'),
  dom_elements: document.getElementsByTagName('*').length,
};
"""


def ensure_database(db: str, code_dir: Path, env: dict, days: int) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            conn.execute(f'CREATE DATABASE "{db}"')
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}") as conn:
        has = conn.execute("SELECT to_regclass('public.cases') IS NOT NULL").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM cases").fetchone()[0] if has else 0
    if n == 0:
        subprocess.run([str(PY), "-m", "dashboard.cli", "seed", "--days", str(days)], cwd=code_dir, env=env,
                       check=True, capture_output=True)


def heap_sample(driver) -> dict:
    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    heap = driver.execute_cdp_cmd("Runtime.getHeapUsage", {})
    metrics = {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
    return {
        "heap_used": heap["usedSize"],
        "heap_total": heap["totalSize"],
        "js_heap_used": metrics.get("JSHeapUsedSize"),
        "nodes": metrics.get("Nodes"),
        "listeners": metrics.get("JSEventListeners"),
        "documents": metrics.get("Documents"),
        "layout_count": metrics.get("LayoutCount"),
    }


def verdict(samples: list[dict], warmup_min: float, window_min: float = 10.0) -> dict:
    """Heap growth after the warm-up: the first ``window_min`` minutes after it against the last ones.

    One sample after a forced GC still varies by +-30 % with what the page was doing at that
    moment (a response being rendered, the stream sliding), so windows are compared: their median,
    and their minimum (the floor the heap returns to, where a leak shows first).
    """
    after = [s for s in samples if s["minute"] >= warmup_min]
    if not after or after[-1]["minute"] - after[0]["minute"] < 2 * window_min:
        return {"complete": False}
    first = [s for s in after if s["minute"] < after[0]["minute"] + window_min]
    last = [s for s in after if s["minute"] > after[-1]["minute"] - window_min]

    def stat(rows, f):
        values = [r["heap_used"] for r in rows]
        return f(values)

    base_med, end_med = stat(first, statistics.median), stat(last, statistics.median)
    base_min, end_min = stat(first, min), stat(last, min)
    growth = end_med / base_med - 1
    return {
        "window_min": window_min,
        "first_window": [first[0]["minute"], first[-1]["minute"]], "last_window": [last[0]["minute"], last[-1]["minute"]],
        "median_first_bytes": round(base_med), "median_last_bytes": round(end_med), "growth_median": round(growth, 4),
        "min_first_bytes": base_min, "min_last_bytes": end_min, "growth_min": round(end_min / base_min - 1, 4),
        "elements_first": statistics.median(r["dom_elements"] for r in first),
        "elements_last": statistics.median(r["dom_elements"] for r in last),
        "listeners_first": statistics.median(r["listeners"] for r in first),
        "listeners_last": statistics.median(r["listeners"] for r in last),
        "target": "heap growth <= 10 % after the warm-up",
        "holds": growth <= 0.10 and end_min / base_min - 1 <= 0.10,
    }


def reevaluate(path: Path) -> None:
    result = json.loads(path.read_text())
    result["verdict"] = verdict(result["samples"], result.get("warmup_min", 5))
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(result["verdict"], indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--every", type=float, default=60, help="seconds between samples")
    ap.add_argument("--speed", type=float, default=5)
    ap.add_argument("--rate", type=float, default=1.0, help="bench/writer.py cases per second (0: none)")
    ap.add_argument("--close-after", type=float, default=600,
                    help="the writer closes its cases this many seconds after reporting them")
    ap.add_argument("--db", default="gridwall_soak")
    ap.add_argument("--seed-days", type=int, default=14)
    ap.add_argument("--port", type=int, default=18471)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    ap.add_argument("--code-dir", type=Path, default=REPO, help="the checkout whose wall is served")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "soak.json")
    ap.add_argument("--verdict-only", action="store_true", help="recompute the verdict of an existing --out")
    args = ap.parse_args()
    if args.verdict_only:
        reevaluate(args.out)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)

    env = {**os.environ,
           "GRIDWALL_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.db}",
           "GRIDWALL_REDIS_URL": args.redis, "GRIDWALL_SECRET_KEY": "soak-bench-secret",
           "GRIDWALL_WORKERS": "2", "GRIDWALL_THREADS": "8", "PYTHONUNBUFFERED": "1"}
    env.pop("GRIDWALL_LIVE_SIGNAL", None)
    ensure_database(args.db, args.code_dir, env, args.seed_days)
    token = kiosk_token(args.code_dir, env, "soakwall", "320585")

    sim_log = open(args.out.with_suffix(".simulate.log"), "w")
    sim = subprocess.Popen([str(PY), "-m", "dashboard.cli", "simulate", "--speed", str(args.speed)],
                           cwd=args.code_dir, env=env, stdout=sim_log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    writer = None
    if args.rate > 0:
        writer = subprocess.Popen([str(PY), str(Path(__file__).with_name("writer.py")), "--url",
                                   env["GRIDWALL_DATABASE_URL"], "--rate", str(args.rate), "--updates",
                                   str(args.rate / 2), "--tag", f"SOAK{int(time.time())}",
                                   "--close-after", str(args.close_after)],
                                  cwd=args.code_dir, env=env, stdout=sim_log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    server = driver = None
    result = {
        "started": datetime.now(UTC).isoformat(), "minutes": args.minutes, "warmup_min": args.warmup,
        "speed": args.speed, "writer_rate": args.rate, "writer_close_after_s": args.close_after,
        "database": args.db, "code_dir": str(args.code_dir),
        "commit": subprocess.run(["git", "-C", str(args.code_dir), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "load_at_start": load(), "cores": os.cpu_count(), "samples": [],
    }
    try:
        server = Server(args.code_dir, env, args.port, args.out.with_suffix(".server.log"))
        driver = chromium()
        driver.execute_cdp_cmd("Performance.enable", {})
        driver.get(f"{server.url}/kiosk/{token}")
        wait_for_wall(driver)
        t0 = time.time()
        n = 0
        while True:
            minute = (time.time() - t0) / 60
            sample = {"minute": round(minute, 2), "at": datetime.now(UTC).isoformat(), **heap_sample(driver),
                      **driver.execute_script(PAGE_STATE), "server_rss_mb": round(rss_mb(server.processes()), 1),
                      "load": load(), "simulator_alive": sim.poll() is None,
                      "writer_alive": writer is None or writer.poll() is None}
            result["samples"].append(sample)
            result["verdict"] = verdict(result["samples"], args.warmup)
            result["finished"] = None
            args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
            print(f"{sample['minute']:6.1f} min heap {sample['heap_used'] / 2**20:7.2f} MiB nodes {sample['nodes']} "
                  f"newest {sample['newest_case']} stale {sample['stale']} load {sample['load']}", flush=True)
            if minute >= args.minutes:
                break
            n += 1
            time.sleep(max(0.0, t0 + n * args.every - time.time()))
        result["finished"] = datetime.now(UTC).isoformat()
        result["load_at_end"] = load()
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(result["verdict"], indent=1))
    finally:
        if driver is not None:
            driver.quit()
        if server is not None:
            server.stop()
        for proc in (sim, writer):
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sim_log.close()


if __name__ == "__main__":
    main()
