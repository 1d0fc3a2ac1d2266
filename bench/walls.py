"""100 walls on one 2-core machine: commit-to-screen latency and server CPU, change signal against none.

    .venv/bin/python bench/walls.py [--viewers 100] [--walls 3] [--modes push,signal,naive] [--measure 120]

For each mode, in the same run and on the same data:

- the production server: gunicorn (dashboard/gunicorn_conf.py: gthread workers) with Redis, on the
  1M-case PostgreSQL database of bench/load_1m.py (``gridwall_bench``);
- a light writer (bench/writer.py): ``--rate`` new cases a second plus a few updates, each commit
  time logged;
- ``--viewers`` simulated walls (bench/dash_client.py: the renderer's requests, replayed from the
  app's own callback graph, each on its own kiosk session);
- ``--walls`` real headless-Chromium walls, where a MutationObserver stamps the moment an entry
  with the new ``data-case-code`` enters ``#case-stream`` (the next animation frame: on screen).

Modes: ``push`` is gridwall as shipped (change signal, shared results): each wall holds the push channel (``/live/events``, Server-Sent Events)
and the server writes each new version to it. ``signal`` turns push off (``GRIDWALL_PUSH=off``):
the tick loop with long polling on the change signal. ``naive`` sets ``GRIDWALL_LIVE_SIGNAL=off``:
every viewer recomputes everything every second.

Latency = the moment a wall shows the case minus the moment its INSERT committed, over the cases
committed in the measuring window; a case a wall never showed counts as infinitely late. CPU is
the user+system time of the gunicorn processes (and separately PostgreSQL, Redis, Chromium and this
client) over the window. Results: ``bench/out/walls.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PG_URL, machine_info  # noqa: E402
from dash_client import App, Viewer  # noqa: E402
from serve import (PY, REPO, Server, chromium, cpu_seconds, kiosk_token, load,  # noqa: E402
                   postgres_processes, redis_processes, rss_mb, wait_for_wall)

import aiohttp  # noqa: E402

UTC = timezone.utc

OBSERVER = """
window.__gwSeen = {};
new MutationObserver(function (mutations) {
  var found = [];
  mutations.forEach(function (m) {
    m.addedNodes.forEach(function (n) {
      if (n.nodeType !== 1) { return; }
      var els = Array.prototype.slice.call(n.querySelectorAll('[data-case-code]'));
      if (n.hasAttribute('data-case-code')) { els.push(n); }
      els.forEach(function (e) {
        var code = e.getAttribute('data-case-code');
        if (code && code.indexOf('BENCH-') === 0 && !(code in window.__gwSeen) && e.closest('#case-stream')) {
          found.push(code);
        }
      });
    });
  });
  if (found.length) {
    requestAnimationFrame(function () {
      var t = performance.timeOrigin + performance.now();
      found.forEach(function (c) { if (!(c in window.__gwSeen)) { window.__gwSeen[c] = t; } });
    });
  }
}).observe(document, {subtree: true, childList: true});
"""

TAKE_SEEN = "var s = window.__gwSeen || {}; window.__gwSeen = {}; return s;"


class BrowserWall(threading.Thread):
    """A real wall in headless Chromium; collects (code -> epoch seconds on screen)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop_flag = threading.Event()
        self.error: str | None = None
        self.driver = None

    def run(self) -> None:
        try:
            self.driver = chromium()
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": OBSERVER})
            self.driver.get(self.url)
            wait_for_wall(self.driver, timeout=120)
            self.ready.set()
            while not self.stop_flag.wait(2.0):
                self._collect()
            self._collect()
        except Exception as exc:  # noqa: BLE001 - reported with the results
            self.error = f"{type(exc).__name__}: {exc}"[:300]
            self.ready.set()
        finally:
            if self.driver is not None:
                self.driver.quit()

    def _collect(self) -> None:
        for code, ms in (self.driver.execute_script(TAKE_SEEN) or {}).items():
            self.seen.setdefault(code, ms / 1000.0)

    def processes(self) -> list[psutil.Process]:
        try:
            svc = psutil.Process(self.driver.service.process.pid)
            return [svc, *svc.children(recursive=True)]
        except Exception:  # noqa: BLE001
            return []


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    arr = np.array(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    out = {"n": int(arr.size), "shown": round(float(finite.size / arr.size), 4)}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        v = float(np.percentile(arr, q)) if finite.size else math.inf
        out[name] = round(v, 3) if math.isfinite(v) else None  # None: beyond the cases shown
    out["max_shown"] = round(float(finite.max()), 3) if finite.size else None
    return out


def latencies(commits: dict[str, float], seen: dict[str, float]) -> list[float]:
    return [seen[c] - t if c in seen else math.inf for c, t in commits.items()]


def read_commits(path: Path, start: float, end: float) -> dict[str, float]:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if start <= row["commit"] <= end:
                out[row["code"]] = row["commit"]
    return out


async def run_viewers(app_url: str, kiosk_path: str, prefix: str, n: int, stop: asyncio.Event,
                      started: asyncio.Event, viewers: list[Viewer], push: bool = False) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(app_url + kiosk_path) as r:
            await r.read()
        app = await App.load(s, app_url)
    viewers.extend(Viewer(app, app_url, kiosk_path, prefix, push=push) for _ in range(n))
    logins = asyncio.Semaphore(8)

    async def login(v: Viewer) -> None:
        async with logins:
            await v.login()

    await asyncio.gather(*(login(v) for v in viewers))  # sessions first, before any traffic
    for v in viewers:  # then the pages load over ten seconds, not all in one instant
        await v.start()
        await asyncio.sleep(10.0 / max(n, 1))
    started.set()
    await stop.wait()
    await asyncio.gather(*(v.stop() for v in viewers))


def total_requests(viewers: list[Viewer]) -> int:
    return sum(sum(v.stats.requests.values()) for v in viewers)


MODES = ("signal", "naive", "push")


def run_mode(mode: str, args, token: str, env_base: dict, out_dir: Path) -> dict:
    port = args.port + MODES.index(mode)
    env = {**env_base, "GRIDWALL_LIVE_SIGNAL": "off" if mode == "naive" else "on",
           "GRIDWALL_PUSH": "on" if mode == "push" else "off",
           # Every simulated viewer is the same kiosk user on the same address: lift the per-user and
           # per-address push caps (a real control room has one wall per kiosk link).
           "GRIDWALL_PUSH_SLOTS_PER_USER": str(args.viewers + args.walls + 8),
           "GRIDWALL_PUSH_SLOTS_PER_ADDRESS": str(args.viewers + args.walls + 8)}
    tag = f"{mode.upper()}{int(time.time())}"
    prefix = f"BENCH-{tag}-"
    commits_path = out_dir / f"walls_{mode}_commits.jsonl"
    commits_path.unlink(missing_ok=True)
    print(f"[{mode}] starting gunicorn on :{port}", flush=True)
    server = Server(args.code_dir, env, port, out_dir / f"walls_{mode}.server.log")
    writer = walls = None
    loop = asyncio.new_event_loop()
    try:
        kiosk_path = f"/kiosk/{token}"
        walls = [BrowserWall(server.url + kiosk_path) for _ in range(args.walls)]
        for w in walls:
            w.start()
        for w in walls:
            w.ready.wait(180)
        print(f"[{mode}] walls: {['ok' if w.error is None else w.error[:80] for w in walls]}", flush=True)
        stop, started = asyncio.Event(), asyncio.Event()
        viewers: list[Viewer] = []
        n_viewers = args.viewers_naive if mode == "naive" and args.viewers_naive is not None else args.viewers
        viewers_task = loop.create_task(run_viewers(server.url, kiosk_path, prefix, n_viewers, stop, started,
                                                    viewers, push=mode == "push"))
        loop.run_until_complete(started.wait())
        print(f"[{mode}] {n_viewers} viewers and {args.walls} walls up; writer starts", flush=True)
        writer = subprocess.Popen([str(PY), str(Path(__file__).with_name("writer.py")), "--url", PG_URL,
                                   "--rate", str(args.rate), "--updates", str(args.updates), "--tag", tag,
                                   "--commits", str(commits_path)], cwd=args.code_dir, env=env_base)
        loop.run_until_complete(asyncio.sleep(args.warmup))

        groups = {"gunicorn": server.processes, "postgresql": postgres_processes, "redis": redis_processes,
                  "chromium": lambda: [p for w in walls for p in w.processes()],
                  "bench_client": lambda: [psutil.Process()],
                  "writer": lambda: [psutil.Process(writer.pid)]}
        cpu0 = {k: cpu_seconds(f()) for k, f in groups.items()}
        requests0 = total_requests(viewers)
        load0, t0 = load(), time.time()
        print(f"[{mode}] measuring {args.measure:.0f} s (load {load0})", flush=True)
        loop.run_until_complete(asyncio.sleep(args.measure))
        t1, load1 = time.time(), load()
        cpu1 = {k: cpu_seconds(f()) for k, f in groups.items()}
        requests = total_requests(viewers) - requests0
        rss = rss_mb(server.processes())
        # Let the cases of the last seconds arrive, then stop everything.
        loop.run_until_complete(asyncio.sleep(args.grace))
        writer.terminate()
        writer.wait(timeout=20)
        stop.set()
        loop.run_until_complete(viewers_task)
        for w in walls:
            w.stop_flag.set()
        for w in walls:
            w.join(60)
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
        if walls:
            for w in walls:
                w.stop_flag.set()
        loop.close()
        server.stop()

    commits = read_commits(commits_path, t0, t1)
    wall_lat = [x for w in walls for x in latencies(commits, w.seen)]
    viewer_lat = [x for v in viewers for x in latencies(commits, v.stats.seen)]
    per_callback: dict[str, int] = {}
    lat_per_callback: dict[str, list[float]] = {}
    for v in viewers:
        for k, n in v.stats.requests.items():
            per_callback[k] = per_callback.get(k, 0) + n
            lat_per_callback.setdefault(k, []).extend(v.stats.latency_ms[k])
    errors: dict[str, int] = {}
    for v in viewers:
        for k, n in v.stats.errors.items():
            errors[k] = errors.get(k, 0) + n
    seconds = t1 - t0
    return {
        "mode": mode,
        "viewers": n_viewers, "walls": args.walls, "walls_ok": [w.error is None for w in walls],
        "wall_errors": [w.error for w in walls if w.error],
        "window_s": round(seconds, 1), "cases_committed": len(commits),
        "commit_to_screen_chromium_s": percentiles(wall_lat),
        "commit_to_response_simulated_s": percentiles(viewer_lat),
        "requests_per_s": round(requests / seconds, 1),
        "requests_by_callback_all_phases": per_callback,
        "request_ms_by_callback": {k: {"p50": round(float(np.percentile(v, 50)), 1),
                                       "p95": round(float(np.percentile(v, 95)), 1)}
                                   for k, v in lat_per_callback.items() if v},
        "errors": errors,
        "cpu_cores": {k: round((cpu1[k] - cpu0[k]) / seconds, 3) for k in groups},
        "gunicorn_rss_mb": round(rss, 1),
        "load_start": load0, "load_end": load1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewers", type=int, default=100)
    ap.add_argument("--walls", type=int, default=3)
    ap.add_argument("--viewers-naive", type=int, default=None,
                    help="simulated viewers in the naive mode (default: --viewers; at 100 the naive server "
                         "cannot even let them all log in)")
    ap.add_argument("--modes", default="push,signal,naive")
    ap.add_argument("--warmup", type=float, default=20)
    ap.add_argument("--measure", type=float, default=120)
    ap.add_argument("--grace", type=float, default=10)
    ap.add_argument("--rate", type=float, default=3.0, help="new cases per second")
    ap.add_argument("--updates", type=float, default=1.0, help="updated cases per second")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=48)
    ap.add_argument("--port", type=int, default=18481)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--code-dir", type=Path, default=REPO)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "walls.json")
    args = ap.parse_args()
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)

    env = {**os.environ, "GRIDWALL_DATABASE_URL": PG_URL, "GRIDWALL_REDIS_URL": args.redis,
           "GRIDWALL_SECRET_KEY": "walls-bench-secret", "GRIDWALL_WORKERS": str(args.workers),
           "GRIDWALL_THREADS": str(args.threads), "GRIDWALL_LIVE_WAITERS": str(args.threads * 3 // 4),
           "PYTHONUNBUFFERED": "1"}
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    token = kiosk_token(args.code_dir, env, "benchwall", "320585")
    result = {
        "started": datetime.now(UTC).isoformat(),
        "commit": subprocess.run(["git", "-C", str(args.code_dir), "rev-parse", "--short", "HEAD"],
                                 capture_output=True, text=True).stdout.strip(),
        "machine": machine_info(PG_URL), "database": PG_URL.rsplit("/", 1)[-1],
        "settings": {k: getattr(args, k) for k in ("viewers", "walls", "warmup", "measure", "rate", "updates",
                                                    "workers", "threads")},
        "modes": [],
    }
    for mode in args.modes.split(","):
        result["modes"].append(run_mode(mode, args, token, env, out_dir))
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps(result["modes"][-1], indent=1, ensure_ascii=False), flush=True)
    result["finished"] = datetime.now(UTC).isoformat()
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
