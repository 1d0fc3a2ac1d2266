"""Benchmark: the /review trend (26 weeks, ``data_access.review_trends.weekly_figures``) on the demo's
400-day county, against the two simpler ways to get the same numbers.

    .venv/bin/python bench/review_trend.py [--url URL ...] [--region CODE ...] [--reps 5] [--old-reps 1]

Each ``--url`` is a database holding the demo county (``gridwall seed --days 400``; default: the demo's
``var/gridwall.db``). For each region (default: the county 320585 and its first street 320585100), at
"now", for the week holding now, it times, taking turns:

- ``gridwall``: ``weekly_figures``, one grouped statement per figure family over all 26 weeks;
- ``per_week``: the simplest alternative, ``review.review_figures`` once per week (26 reads of the
  period figures, the same reads the headline uses), which also proves both give the same numbers;

and, ``--old-reps`` times, ``old_join``: ``weekly_figures`` with the dispatched family as it was before
2026-12-04 (each dispatched case joined to its ``return`` actions and grouped per case), the form that
took 45 s on SQLite because the planner walked every return of the history per case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import REPO, git_head, machine_info, measure_side_by_side  # noqa: E402
from sqlalchemy import and_, func, select  # noqa: E402

from data_access import review, review_trends as rt  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.models import Case, CaseAction  # noqa: E402
from data_access.period import Period  # noqa: E402
from data_access.scope import Scope  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
ROOT = "320585"


def old_dispatched(conn, scope, params, n):
    """The dispatched family as it was: a per-case join on the actions (kept here only to be timed)."""
    c, a = rt.c, rt.a
    returns = and_(a.case_id == c.id, a.action == "return", a.ts < rt._ts("wl"))
    per_case = (select(rt._bucket(c.dispatched_at, n).label("w"), rt._bucket(func.min(a.ts), n).label("br"))
                .select_from(Case.__table__.outerjoin(CaseAction.__table__, returns))
                .where(rt._in_weeks(c.dispatched_at), rt.in_scope(scope, Case, index=False))
                .group_by(c.id, c.dispatched_at).subquery("dispatched"))
    stmt = (select(per_case.c.w, func.count().label("dispatched"),
                   func.count().filter(per_case.c.br <= per_case.c.w).label("returned")).group_by(per_case.c.w))
    return {int(r.w): {"dispatched": int(r.dispatched), "returned": int(r.returned or 0)}
            for r in conn.execute(stmt, params)}


def per_week(engine, scope, period, at):
    out = []
    with engine.connect() as conn:
        for week in rt.trend_weeks(period, at):
            figures = review.review_figures(conn, scope, week.week, at)["region"]["current"]
            out.append({k: figures[k] for k in rt.TREND_KEYS})
    return out


def trend(engine, scope, period, at):
    with engine.connect() as conn:
        return [{k: w["figures"][k] for k in rt.TREND_KEYS} for w in rt.weekly_figures(conn, scope, period, at)
                if not w["before_data"]]


def same(a: list[dict], b: list[dict]) -> bool:
    def close(x, y):
        return x == y or (x is not None and y is not None and abs(x - y) < 1e-9)
    return len(a) == len(b) and all(close(x[k], y[k]) for x, y in zip(a, b) for k in rt.TREND_KEYS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", action="append", help="database URL (repeatable); default var/gridwall.db")
    ap.add_argument("--region", action="append", help="region code (repeatable)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--old-reps", type=int, default=1)
    args = ap.parse_args()
    urls = args.url or [f"sqlite:///{REPO / 'var' / 'gridwall.db'}"]
    regions = args.region or [ROOT, "320585100"]
    at = datetime.now(timezone.utc)
    period = Period.week(at.astimezone(TZ).date(), TZ)
    results = {"git": git_head(), "at": at.isoformat(timespec="seconds"), "machine": machine_info(), "runs": []}
    for url in urls:
        engine = make_engine(url)
        for region in regions:
            scope = Scope(region, ROOT)
            # The two agree (the weeks before the data are left out: per_week reads them as zeros).
            ours, theirs = trend(engine, scope, period, at), per_week(engine, scope, period, at)
            agree = same(ours, theirs[len(theirs) - len(ours):])
            times = measure_side_by_side({"gridwall": lambda: trend(engine, scope, period, at),
                                          "per_week": lambda: per_week(engine, scope, period, at)},
                                         reps=args.reps, warmup=1)
            old = []
            with mock.patch.object(rt, "_dispatched", old_dispatched):
                for _ in range(args.old_reps):
                    start = time.perf_counter()
                    trend(engine, scope, period, at)
                    old.append((time.perf_counter() - start) * 1000.0)
            run = {"backend": engine.dialect.name, "region": region, "agree": agree,
                   "gridwall_ms": round(times["gridwall"]["median"], 1), "per_week_ms": round(times["per_week"]["median"], 1),
                   "old_join_ms": [round(t) for t in old]}
            results["runs"].append(run)
            print(json.dumps(run, ensure_ascii=False), flush=True)
        engine.dispose()
    results["machine"]["load_after"] = machine_info()["load"]
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
