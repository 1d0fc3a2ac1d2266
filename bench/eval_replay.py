"""Runs ``gridwall warn --replay`` (the real command line, one process per history) and reads the alerts back.

Each history's replays are one job (its commands run in order, on its own SQLite copy); jobs run in
parallel, ``jobs`` at a time. The JSON lines the command prints (the alerts raised) and its step
summaries go to ``bench/out/eval/<name>.*``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from eval_history import REPO, sqlite_url

OUT_DIR = REPO / "bench" / "out" / "eval"


@dataclass
class Replay:
    start: datetime
    end: datetime
    step: str


def gridwall_exe() -> str:
    exe = Path(sys.executable).parent / "gridwall"
    return str(exe) if exe.exists() else "gridwall"


def command(r: Replay) -> list[str]:
    return [gridwall_exe(), "warn", "--replay", "--from", r.start.isoformat(), "--to", r.end.isoformat(), "--step", r.step]


def run_job(name: str, db: Path, replays: list[Replay], log=print) -> dict:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRIDWALL_DATABASE_URL": sqlite_url(db)}
    env.pop("GRIDWALL_ROOT", None)
    done = []
    for i, r in enumerate(replays):
        began = time.perf_counter()
        with open(OUT_DIR / f"{name}.{i}.jsonl", "w") as out, open(OUT_DIR / f"{name}.{i}.log", "w") as err:
            rc = subprocess.run(command(r), env=env, stdout=out, stderr=err, cwd=REPO).returncode
        seconds = time.perf_counter() - began
        steps = sum(1 for line in open(OUT_DIR / f"{name}.{i}.log") if line.startswith("at "))
        done.append({"command": " ".join(command(r)), "rc": rc, "seconds": round(seconds, 1), "steps": steps})
        log(f"  {name}: replay {r.start:%m-%d} .. {r.end:%m-%d} every {r.step}: {steps} steps in {seconds:.0f} s (rc {rc})")
        if rc != 0:
            raise RuntimeError(f"{name}: gridwall warn --replay failed (rc {rc}); see {OUT_DIR / f'{name}.{i}.log'}")
    return {"db": str(db), "replays": done}


def run_jobs(jobs: dict[str, tuple[Path, list[Replay]]], parallel: int, log=print) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {name: pool.submit(run_job, name, db, replays, log) for name, (db, replays) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def raised_details(name: str) -> dict[int, dict]:
    """Alert id -> its evidence when it was raised, from the JSON lines ``warn --replay`` printed for
    history ``name`` (the alerts table keeps only the latest evidence of an alert)."""
    out = {}
    for path in sorted(OUT_DIR.glob(f"{name}.*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                out[int(row["id"])] = row.get("detail") or {}
            except (ValueError, KeyError, TypeError):
                continue
    return out


def read_alerts(engine, raised: dict[int, dict] | None = None) -> list[dict]:
    """Every alert the engine wrote, ``detail`` parsed; ``raised_detail`` its evidence when raised
    (from ``raised``; the stored evidence when unknown)."""
    from data_access.models import Alert

    a = Alert.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(a.id, a.created_at, a.kind, a.severity, a.region_code, a.category_code, a.title,
                                   a.detail, a.status, a.resolved_at, a.dedup_key).order_by(a.created_at, a.id)).mappings()
        out = []
        for r in rows:
            r = dict(r)
            try:
                r["detail"] = json.loads(r["detail"]) if r["detail"] else {}
            except (TypeError, ValueError):
                r["detail"] = {}
            r["raised_detail"] = (raised or {}).get(r["id"], r["detail"])
            out.append(r)
    return out
