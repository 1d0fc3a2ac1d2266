"""Benchmark: /api/v1/review's data on the 1,000,000-case databases against plain per-figure SQL.

    .venv/bin/python bench/review_1m.py [--backend both|sqlite|postgresql] [--reps 7] [--period quarter]

For the root and the period (default: the quarter containing the data's "now", partial, so that the
comparisons are cut like for like) it times, in turns:

- gridwall: what the route reads (data_access.review: figures of the region and its children for the
  three windows, departments, bounced cases; regions.children) plus the score and ranking;
- plain: one hand-written statement per figure, window and numerator/denominator on the raw DBAPI
  cursor (GROUP BY the child's code prefix; the median by percentile_cont on PostgreSQL and by
  fetching the close times on SQLite), departments and bounced cases likewise.

The two must agree on the region's figures first. The review's return rate reads an index on
cases (dispatched_at, grid_code) (data_access/models.py); it is created here when the bench database
predates it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import BACKENDS, backend_url, git_head, machine_info, measure_side_by_side, read_meta  # noqa: E402

from dashboard.analytics import scoring  # noqa: E402
from dashboard.core.config import ReviewSettings  # noqa: E402
from data_access import review  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.period import Period  # noqa: E402
from data_access.regions import children  # noqa: E402
from data_access.scope import Scope  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
INDEX = "CREATE INDEX IF NOT EXISTS ix_cases_dispatched_at_grid ON cases (dispatched_at, grid_code)"


def rules() -> list[scoring.Rule]:
    return [scoring.Rule(f, float(r.weight), None if r.target == scoring.SIBLINGS_MEDIAN else float(r.target),
                         r.better) for f, r in ReviewSettings().score.items()]


def gridwall(conn, scope: Scope, period: Period, at: datetime) -> dict:
    """What GET /api/v1/review reads and computes (without the JSON encoding)."""
    data = review.review_figures(conn, scope, period, at)
    rows = children(conn, scope)
    deps = review.departments(conn, scope, period, at)
    bounced = review.bounced_cases(conn, scope, period, at)
    empty = review.empty_figures()
    cur = {r["code"]: data["children"].get(r["code"], {}).get("current") or empty for r in rows}
    prev = {r["code"]: data["children"].get(r["code"], {}).get("previous") or empty for r in rows}
    scored, _ = scoring.rank_siblings(cur, prev, rules())
    return {"region": data["region"], "children": scored, "departments": deps, "bounced": bounced}


# --- the plain per-figure SQL --------------------------------------------------------------------------

SCOPE = "grid_code >= :lo AND grid_code < :hi"  # + OR grid_code IS NULL at the root
IN_P = "{col} >= :s AND {col} < :e"
CLOSED = "status = 'closed' AND " + IN_P.format(col="closed_at")
REPORTED = IN_P.format(col="reported_at")
DUE = (f"status NOT IN ('rejected', 'merged') AND reported_at < :e AND ({IN_P.format(col='resolve_due_at')} "
       f"OR ({CLOSED}))")
ACTION = "EXISTS (SELECT 1 FROM case_actions a WHERE a.case_id = cases.id AND a.action = '{a}' AND a.ts < :e)"
COUNTS = {
    "reported": REPORTED,
    "patrol": f"{REPORTED} AND source = 'patrol'",
    "accepted": f"{REPORTED} AND accepted_at < :e",
    "rejected": f"{REPORTED} AND status = 'rejected'",
    "closed": CLOSED,
    "due": DUE,
    "on_time": f"({DUE}) AND status = 'closed' AND closed_at < :e AND closed_at <= resolve_due_at",
    "closed_due": f"({DUE}) AND status = 'closed' AND closed_at < :e",
    "overdue_at_end": "reported_at < :e AND (closed_at IS NULL OR closed_at >= :e) AND resolve_due_at < :e",
    "rated": f"{CLOSED} AND satisfaction IS NOT NULL",
    "satisfied": f"{CLOSED} AND satisfaction >= 3",
    "patrol_closed": f"{CLOSED} AND source = 'patrol'",
    "self_resolved": f"{CLOSED} AND source = 'patrol' AND escalations = 0 AND level IN ('grid', 'community')",
    "dispatched": IN_P.format(col="dispatched_at"),
    "returned": IN_P.format(col="dispatched_at") + " AND " + ACTION.format(a="return"),
    "reworked": f"{CLOSED} AND " + ACTION.format(a="rework"),
    "extended": f"({DUE}) AND " + ACTION.format(a="extend"),
    "patrol_accepted": f"{REPORTED} AND source = 'patrol' AND accepted_at < :e "
                       "AND status NOT IN ('rejected', 'merged')",
}


def _sql(backend: str, sql: str) -> str:
    import re

    return sql if backend == "sqlite" else re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)


def _ts(backend: str, value: datetime):
    if backend == "sqlite":
        return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def plain(cur, backend: str, scope: Scope, period: Period, at: datetime) -> dict:
    code = scope.region
    hi = str(int(code) + 1).zfill(len(code))
    where_scope = f"(({SCOPE}) OR grid_code IS NULL)" if scope.region == scope.root else f"({SCOPE})"
    n = review.CHILD_LENGTH[len(code)]
    out: dict = {}
    for name, (s, e) in period.windows(at).items():
        p = {"lo": code, "hi": hi, "s": _ts(backend, s), "e": _ts(backend, e)}
        counts: dict = {}
        for key, cond in COUNTS.items():
            cur.execute(_sql(backend, f"SELECT substr(grid_code, 1, {n}), count(*) FROM cases "
                                      f"WHERE {where_scope} AND {cond} GROUP BY 1"), p)
            counts[key] = dict(cur.fetchall())
        cur.execute(_sql(backend, f"SELECT substr(grid_code, 1, {n}), source, count(*) FROM cases "
                                  f"WHERE {where_scope} AND {REPORTED} GROUP BY 1, 2"), p)
        sources = cur.fetchall()
        cur.execute(_sql(backend, f"SELECT substr(c.grid_code, 1, {n}), count(DISTINCT c.id) FROM case_actions a "
                                  f"JOIN cases c ON c.id = a.case_id WHERE a.action = 'urge' AND a.ts >= :s "
                                  f"AND a.ts < :e AND {where_scope.replace('grid_code', 'c.grid_code')} GROUP BY 1"), p)
        urged = dict(cur.fetchall())
        hours = ("EXTRACT(EPOCH FROM closed_at - reported_at) / 3600.0" if backend != "sqlite"
                 else "(julianday(closed_at) - julianday(reported_at)) * 24.0")
        if backend == "sqlite":
            cur.execute(_sql(backend, f"SELECT substr(grid_code, 1, {n}), {hours} FROM cases "
                                      f"WHERE {where_scope} AND {CLOSED} AND reported_at IS NOT NULL"), p)
            vals = cur.fetchall()
            median = statistics.median([v for _, v in vals]) if vals else None
            by_child: dict = {}
            for g, v in vals:
                by_child.setdefault(g, []).append(v)
            child_medians = {g: statistics.median(v) for g, v in by_child.items()}
        else:
            cur.execute(_sql(backend, f"SELECT substr(grid_code, 1, {n}), percentile_cont(0.5) WITHIN GROUP "
                                      f"(ORDER BY {hours}) FROM cases WHERE {where_scope} AND {CLOSED} "
                                      f"AND reported_at IS NOT NULL GROUP BY 1"), p)
            child_medians = dict(cur.fetchall())
            cur.execute(_sql(backend, f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {hours}) FROM cases "
                                      f"WHERE {where_scope} AND {CLOSED} AND reported_at IS NOT NULL"), p)
            median = cur.fetchone()[0]
        cur.execute(_sql(backend, "SELECT count(*) FROM staff s WHERE s.role = 'grid_worker' AND s.active "
                                  "AND s.grid_code IN (SELECT code FROM grids WHERE code >= :lo AND code < :hi)"), p)
        workers = cur.fetchone()[0]
        total = {k: sum(v.values()) for k, v in counts.items()}
        by_source: dict = {}
        for _, src, k in sources:
            by_source[src or ""] = by_source.get(src or "", 0) + k
        out[name] = {"counts": total, "by_source": by_source, "urged": sum(urged.values()), "median": median,
                     "child_medians": child_medians, "workers": workers}
    s, e = period.windows(at)["current"]
    p = {"lo": code, "hi": hi, "s": _ts(backend, s), "e": _ts(backend, e)}
    scope_c = where_scope.replace("grid_code", "c.grid_code")
    cur.execute(_sql(backend, "SELECT o.id, o.name, "
                              "sum(CASE WHEN a.action = 'dispatch' AND a.to_org_id = o.id THEN 1 ELSE 0 END), "
                              "sum(CASE WHEN a.action = 'return' AND a.from_org_id = o.id THEN 1 ELSE 0 END) "
                              "FROM case_actions a JOIN cases c ON c.id = a.case_id JOIN orgs o ON "
                              "o.id = CASE WHEN a.action = 'dispatch' THEN a.to_org_id ELSE a.from_org_id END "
                              f"WHERE a.action IN ('dispatch', 'return') AND a.ts >= :s AND a.ts < :e AND {scope_c} "
                              "GROUP BY o.id, o.name"), p)
    out["departments"] = cur.fetchall()
    cur.execute(_sql(backend, "SELECT c.code, count(*) FROM cases c JOIN case_actions a ON a.case_id = c.id "
                              f"WHERE a.action = 'return' AND a.ts < :e AND {scope_c} AND c.id IN (SELECT case_id "
                              "FROM case_actions WHERE action = 'return' AND ts >= :s AND ts < :e) "
                              "GROUP BY c.code HAVING count(*) >= 2"), p)
    out["bounced"] = cur.fetchall()
    return out


def check_agree(ours: dict, theirs: dict) -> None:
    for name in review.WINDOWS:
        f, t = ours["region"][name], theirs[name]
        k = t["counts"]
        assert f["reported"] == k["reported"] and f["due"] == k["due"] and f["closed"] == k["closed"], (name, f, k)
        assert f["overdue_at_end"] == k["overdue_at_end"] and f["urged"] == t["urged"], name
        assert f["by_source"] == t["by_source"], (name, f["by_source"], t["by_source"])
        assert f["workers"] == t["workers"], name
        for rate, (num, den) in {"on_time_rate": ("on_time", "due"), "return_rate": ("returned", "dispatched"),
                                 "rework_rate": ("reworked", "closed"), "extension_rate": ("extended", "due"),
                                 "satisfied_rate": ("satisfied", "rated")}.items():
            expect = k[num] / k[den] if k[den] else None
            assert (f[rate] is None and expect is None) or abs(f[rate] - expect) < 1e-12, (name, rate, f[rate], expect)
        m1, m2 = f["median_close_hours"], t["median"]
        assert (m1 is None and m2 is None) or abs(m1 - float(m2)) < 1e-6, (name, m1, m2)
    assert len(ours["bounced"]) == len(theirs["bounced"])
    assert sorted((d["org_id"], d["received"], d["returned"]) for d in ours["departments"]) == sorted(
        (int(i), int(r), int(b)) for i, _, r, b in theirs["departments"] if r or b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--period", choices=("week", "month", "quarter"), default="quarter")
    args = ap.parse_args()
    meta = read_meta()
    at = datetime.fromisoformat(meta["now"])
    period = Period.containing(args.period, at.astimezone(TZ).date(), TZ)
    root = meta["county"]
    scope = Scope(root, root)
    results = []
    for backend in (BACKENDS if args.backend == "both" else (args.backend,)):
        engine = make_engine(backend_url(backend))
        with engine.begin() as conn:
            conn.exec_driver_sql(INDEX)
        with engine.connect() as conn:
            counts = dict(conn.exec_driver_sql("SELECT action, count(*) FROM case_actions GROUP BY action").all())
            cur = conn.connection.driver_connection.cursor()
            ours = gridwall(conn, scope, period, at)
            check_agree(ours, plain(cur, backend, scope, period, at))
            times = measure_side_by_side({"gridwall": lambda: gridwall(conn, scope, period, at),
                                          "plain": lambda: plain(cur, backend, scope, period, at)},
                                         reps=args.reps, warmup=args.warmup)
            cur.close()
        engine.dispose()
        row = {"backend": backend, "scope": root, "period": period.to_dict(at), "case_actions": counts,
               "children": len(ours["children"]), "departments": len(ours["departments"]),
               "bounced": len(ours["bounced"]), **{k: {s: round(v, 1) for s, v in t.items()} for k, t in times.items()}}
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    print(json.dumps({"git": git_head(), "machine": machine_info(backend_url("postgresql")
                                                                if args.backend != "sqlite" else None)},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
