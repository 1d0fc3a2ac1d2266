"""Alert commit to robot delivery, p50/p95, with the early-warning engine and 100 walls running.

    .venv/bin/python bench/push_latency.py [--viewers 100] [--alerts 40] [--every 4] [--polls 1.0,0.2]

On the 1M-case PostgreSQL database of bench/load_1m.py (``gridwall_bench``):

- gunicorn serving ``--viewers`` simulated walls on the push channel (bench/dash_client.py, as
  bench/walls.py), with the light case writer (bench/writer.py, 3 new cases a second);
- one ``gridwall worker --duties warning,push``: the engine runs every minute over the whole county
  while the dispatcher delivers;
- a WeCom-like robot on loopback that stamps each message's arrival and reads the alert ids from its
  links (``/?alert=ID``).

Every ``--every`` seconds an alert of kind ``external`` is committed (as another system would write
it), and its commit time is taken right after COMMIT. Latency = the robot's arrival time minus the
commit time. 4 s apart is 15 alerts a minute: under the robot's limit of 20, so each alert travels
alone and the number measures the path, not the digest. For each dispatcher poll interval in
``--polls`` (the shipped 1.0 s first, then the simplest faster alternative) the worker is restarted
and the same measurement runs; the worker's CPU is measured alongside. Results:
``bench/out/push_latency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
from sqlalchemy import create_engine, insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import PG_URL, machine_info  # noqa: E402
from dash_client import Viewer  # noqa: E402
from serve import PY, REPO, Server, cpu_seconds, kiosk_token, load  # noqa: E402
from walls import percentiles, run_viewers  # noqa: E402

from data_access.models import Alert  # noqa: E402

UTC = timezone.utc
LINK = re.compile(r"alert=(\d+)")


class Robot:
    """A WeCom-like robot: answers {"errcode": 0}, stamps the arrival of each alert id it reads."""

    def __init__(self):
        self.seen: dict[int, float] = {}
        self.messages = 0
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                at = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                robot.messages += 1
                for alert_id in LINK.findall(raw.decode("utf-8", "replace")):
                    robot.seen.setdefault(int(alert_id), at)
                body = b'{"errcode": 0, "errmsg": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=bench"


def worker_config(robot: Robot, poll: float) -> Path:
    path = Path(tempfile.mkdtemp(prefix="gw-push-bench-")) / "gridwall.toml"
    path.write_text(f"""
[packs]
enabled = false

[push]
poll_seconds = {poll}

[[push.channel]]
name = "bench-duty"
kind = "wecom"
url = "{robot.url}"

[[push.route]]
region = "320585"
min_severity = "info"
kinds = ["external"]
channels = ["bench-duty"]
""")
    return path


def measure(args, env: dict, robot: Robot, poll: float, tag: str, out_dir: Path) -> dict:
    config = worker_config(robot, poll)
    log = open(out_dir / f"push_latency_worker_{poll}.log", "w")
    worker = subprocess.Popen([str(PY), "-m", "dashboard.cli", "worker", "--duties", "warning,push"],
                              cwd=args.code_dir, env={**env, "GRIDWALL_CONFIG": str(config)},
                              stdout=log, stderr=subprocess.STDOUT)
    engine = create_engine(PG_URL)
    commits: dict[int, float] = {}
    try:
        time.sleep(args.settle)  # the engine's first run and the dispatcher's first passes
        proc = psutil.Process(worker.pid)
        cpu0, t0 = cpu_seconds([proc]), time.time()
        for i in range(args.alerts):
            started = time.time()
            with engine.begin() as conn:
                alert_id = conn.execute(insert(Alert).values(
                    created_at=datetime.now(UTC), kind="external", severity="warning", region_code="320585100",
                    title=f"外部系统预警 {tag}-{poll}-{i}", detail='{"observed": 5, "expected": 1}', status="new",
                    source="bench-external", dedup_key=f"bench-push-{tag}-{poll}-{i}").returning(Alert.id)).scalar()
            commits[int(alert_id)] = time.time()
            time.sleep(max(0.0, args.every - (time.time() - started)))
        deadline = time.time() + 30
        while time.time() < deadline and not set(commits) <= set(robot.seen):
            time.sleep(0.2)
        seconds = time.time() - t0
        cpu = (cpu_seconds([proc]) - cpu0) / seconds
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        engine.dispose()
    lat = [robot.seen[i] - t for i, t in commits.items() if i in robot.seen]
    return {"poll_seconds": poll, "alerts": len(commits), "delivered": len(lat),
            "commit_to_robot_s": percentiles(lat), "worker_cpu_cores": round(cpu, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--viewers", type=int, default=100)
    ap.add_argument("--alerts", type=int, default=40)
    ap.add_argument("--every", type=float, default=4.0)
    ap.add_argument("--polls", default="1.0,0.2")
    ap.add_argument("--settle", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=48)
    ap.add_argument("--port", type=int, default=18491)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--code-dir", type=Path, default=REPO)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "push_latency.json")
    args = ap.parse_args()
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRIDWALL_DATABASE_URL": PG_URL, "GRIDWALL_REDIS_URL": args.redis,
           "GRIDWALL_SECRET_KEY": "push-bench-secret", "GRIDWALL_WORKERS": str(args.workers),
           "GRIDWALL_THREADS": str(args.threads), "GRIDWALL_LIVE_WAITERS": str(args.threads * 3 // 4),
           "GRIDWALL_PUSH_SLOTS_PER_USER": str(args.viewers + 8),
           "GRIDWALL_PUSH_SLOTS_PER_ADDRESS": str(args.viewers + 8), "PYTHONUNBUFFERED": "1"}
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    # bench/load_1m.py writes alerts with their ids (COPY): move the sequence past them
    from sqlalchemy import text

    with create_engine(PG_URL).begin() as conn:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('alerts', 'id'), (SELECT max(id) FROM alerts))"))
    token = kiosk_token(args.code_dir, env, "benchwall", "320585")
    tag = str(int(time.time()))
    robot = Robot()
    server = Server(args.code_dir, env, args.port, out_dir / "push_latency.server.log")
    loop = asyncio.new_event_loop()
    writer = None
    result = {"started": datetime.now(UTC).isoformat(),
              "commit": subprocess.run(["git", "-C", str(args.code_dir), "rev-parse", "--short", "HEAD"],
                                       capture_output=True, text=True).stdout.strip(),
              "machine": machine_info(PG_URL), "viewers": args.viewers, "every_s": args.every, "runs": []}
    try:
        stop, started = asyncio.Event(), asyncio.Event()
        viewers: list[Viewer] = []
        task = loop.create_task(run_viewers(server.url, f"/kiosk/{token}", f"BENCH-PUSH{tag}-", args.viewers,
                                            stop, started, viewers, push=True))
        loop.run_until_complete(started.wait())
        writer = subprocess.Popen([str(PY), str(Path(__file__).with_name("writer.py")), "--url", PG_URL,
                                   "--rate", "3", "--updates", "1", "--tag", f"PUSH{tag}",
                                   "--commits", str(out_dir / "push_latency_commits.jsonl")],
                                  cwd=args.code_dir, env=env)
        print(f"{args.viewers} walls up, writer running (load {load()})", flush=True)
        for poll in (float(p) for p in args.polls.split(",")):
            run = measure(args, env, robot, poll, tag, out_dir)
            run["load"] = load()
            run["gunicorn_walls_errors"] = sum(sum(v.stats.errors.values()) for v in viewers)
            result["runs"].append(run)
            print(json.dumps(run, ensure_ascii=False), flush=True)
            args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        stop.set()
        loop.run_until_complete(task)
    finally:
        if writer is not None:
            writer.terminate()
        loop.close()
        server.stop()
    result["finished"] = datetime.now(UTC).isoformat()
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
