"""A light writer for the live benchmarks: new cases at a steady rate, plus a few updates.

    .venv/bin/python bench/writer.py --url postgresql+psycopg://.../gridwall_bench --rate 3 \
        --tag RUN1 --commits bench/out/commits.jsonl [--seconds 600]

Each new case gets the code ``BENCH-<tag>-<n>``, ``reported_at = updated_at = now`` in a grid of
the county, and one line ``{"code": ..., "commit": <epoch seconds after COMMIT returned>}`` in the
commits file, which bench/walls.py matches against the moment each wall shows the case.
Another system writing the platform tables is exactly what gridwall must follow, so this is plain
SQL through SQLAlchemy, not gridwall code.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, insert, select, text, update

from data_access.models import Case, Category, Grid

UTC = timezone.utc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--rate", type=float, default=3.0, help="new cases per second")
    ap.add_argument("--updates", type=float, default=1.0, help="updates of earlier bench cases per second")
    ap.add_argument("--tag", default=time.strftime("%H%M%S"))
    ap.add_argument("--commits", default=None, help="JSON lines file of (code, commit time)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--close-after", type=float, default=None,
                    help="close each bench case this many seconds after it was reported (the soak: as many "
                         "cases closed as opened, so that the open count stays level)")
    args = ap.parse_args()

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    engine = create_engine(args.url, pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        grids = [g for (g,) in conn.execute(select(Grid.code))]
        categories = [c for (c,) in conn.execute(select(Category.code).where(text("length(code) = 4")))]
    rnd = random.Random(args.tag)
    out = open(args.commits, "a", buffering=1) if args.commits else None
    written: list[str] = []
    to_close: list[tuple[float, str]] = []  # (when, code), oldest first
    t0 = time.time()
    n = 0
    next_insert, next_update = t0, t0 + 0.5
    while running and (args.seconds is None or time.time() - t0 < args.seconds):
        now_ts = time.time()
        if now_ts >= next_insert:
            n += 1
            code = f"BENCH-{args.tag}-{n:07d}"
            now = datetime.now(UTC)
            with engine.begin() as conn:
                conn.execute(insert(Case).values(
                    code=code, title=f"压测事件 {n}", category_code=rnd.choice(categories), source="resident",
                    urgency="normal", reported_at=now, grid_code=rnd.choice(grids), status="reported",
                    level="grid", accept_due_at=now + timedelta(minutes=30), dispatch_due_at=now + timedelta(hours=1),
                    resolve_due_at=now + timedelta(hours=4), escalations=0, returns=0, reworks=0, urges=0,
                    updated_at=now))
            committed = time.time()
            written.append(code)
            if args.close_after is not None:
                to_close.append((committed + args.close_after, code))
            if out:
                out.write(json.dumps({"code": code, "commit": committed}) + "\n")
            next_insert += 1.0 / args.rate
        if args.updates > 0 and now_ts >= next_update and written:
            code = rnd.choice(written[-200:])
            with engine.begin() as conn:
                conn.execute(update(Case).where(Case.code == code, Case.status == "reported")
                             .values(status="accepted", accepted_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
            next_update += 1.0 / args.updates
        while to_close and to_close[0][0] <= time.time():
            _, code = to_close.pop(0)
            closed = datetime.now(UTC)
            with engine.begin() as conn:
                conn.execute(update(Case).where(Case.code == code)
                             .values(status="closed", closed_at=closed, updated_at=closed))
        time.sleep(max(0.0, min(next_insert, next_update if args.updates > 0 else next_insert) - time.time()))
    if out:
        out.close()
    engine.dispose()


if __name__ == "__main__":
    main()
