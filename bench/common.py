"""What the benchmark scripts share: where the bench databases live, timing, and time formatting.

The bench databases are dedicated ones, never the tests' `test` database:
PostgreSQL `gridwall_bench` on 127.0.0.1 and the SQLite file `var/bench_1m.db`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var"
OUT = REPO / "bench" / "out"
META_FILE = VAR / "bench_1m.json"

PG_ADMIN_URL = os.environ.get("GRIDWALL_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("GRIDWALL_BENCH_PG_DB", "gridwall_bench")
PG_URL = os.environ.get("GRIDWALL_BENCH_PG_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}")
SQLITE_PATH = Path(os.environ.get("GRIDWALL_BENCH_SQLITE", VAR / "bench_1m.db"))
SQLITE_URL = f"sqlite:///{SQLITE_PATH}"

BACKENDS = ("sqlite", "postgresql")


def backend_url(backend: str) -> str:
    return {"sqlite": SQLITE_URL, "postgresql": PG_URL}[backend]


def ensure_pg_database() -> None:
    """CREATE DATABASE gridwall_bench when it is missing (through the `postgres` maintenance db)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DB}"')


# --- timing ------------------------------------------------------------------------------------

def measure(fn: Callable[[], object], *, reps: int, warmup: int) -> dict[str, float]:
    """Median, p90, p95, min and max wall time of ``fn`` in milliseconds, after ``warmup`` unmeasured calls."""
    return measure_side_by_side({"fn": fn}, reps=reps, warmup=warmup)["fn"]


def measure_side_by_side(fns: dict[str, Callable[[], object]], *, reps: int, warmup: int) -> dict[str, dict[str, float]]:
    """``measure`` for several callables, taking turns (in alternating order) so that a busy spell on
    the machine falls on all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns.items())
    for rep in range(reps):
        for name, fn in (order if rep % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: _stats(t) for name, t in times.items()}


def _stats(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "median": statistics.median(times),
        "p90": float(np.percentile(times, 90)),
        "p95": float(np.percentile(times, 95)),
        "min": times[0],
        "max": times[-1],
    }


# --- timestamps as the two backends store them ----------------------------------------------------

NAT = np.iinfo(np.int64).min  # "no timestamp" in int64 microsecond arrays


def us_to_text(us: np.ndarray, *, sqlite: bool) -> np.ndarray:
    """Epoch microseconds (NAT = NULL) -> object array of UTC text, None for NULL.

    SQLite gets exactly SQLAlchemy's storage format ('YYYY-MM-DD HH:MM:SS.ffffff', naive UTC), because
    the figures compare timestamps as text there. PostgreSQL gets ISO text read in a UTC session.
    """
    missing = us == NAT
    text = np.datetime_as_string(np.where(missing, 0, us).astype("datetime64[us]"), unit="us").astype("S26")
    if sqlite:
        text.view(np.uint8).reshape(-1, 26)[:, 10] = ord(" ")
    out = text.astype("U26").astype(object)
    out[missing] = None
    return out


# --- where the numbers were measured --------------------------------------------------------------

def machine_info(pg_url: str | None = None) -> dict[str, str]:
    info = {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _mem_total(),
        "python": platform.python_version(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    if pg_url:
        import psycopg

        with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            settings = conn.execute(
                "SELECT name, setting, unit FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'jit', 'random_page_cost', 'effective_cache_size')").fetchall()
            info["pg_settings"] = ", ".join(f"{n}={s}{u or ''}" for n, s, u in settings)
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_head() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cold_read_args(description: str):
    """The read benchmarks' common start: their ``--backend`` and ``--reps`` arguments, the backends
    chosen, the moment the 1M-case data ends at (Asia/Shanghai) and the whole county's scope."""
    import argparse
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from data_access.moment import Moment
    from data_access.scope import Scope

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    meta = read_meta()
    tz = ZoneInfo("Asia/Shanghai")
    m = Moment(datetime.fromisoformat(meta["now"]).astimezone(tz), tz)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    return args, backends, m, Scope(meta["county"], meta["county"])


def cold(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with the per-process feed caches cleared first: a cold read, as once a day or week."""
    def run():
        from data_access import feeds_cases

        feeds_cases.clear_caches()
        return fn()
    return run


def read_meta() -> dict:
    return json.loads(META_FILE.read_text()) if META_FILE.exists() else {}


def write_meta(meta: dict) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    META_FILE.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
