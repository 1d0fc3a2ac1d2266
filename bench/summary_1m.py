"""Time data_access.figures.summary on the 1M-case bench databases, next to the same figures in plain SQL.

    .venv/bin/python bench/load_1m.py            # once: builds both bench databases
    .venv/bin/python bench/summary_1m.py [--backend both] [--reps 30] [--warmup 5]

For each backend and for two scopes (the root county, one street) at T = the moment the data ends
(var/bench_1m.json, or --at): times summary() and each part of it on one open connection, and the
plain statements of bench/plain_sql.py on the same connection's raw DBAPI cursor; asserts that both
give identical figures (and that the backends agree with each other); prints a markdown table and
writes EXPLAIN output of every statement, slowest first, to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import plain_sql  # noqa: E402
from common import (  # noqa: E402
    BACKENDS, OUT, PG_URL, backend_url, git_head, machine_info, measure, measure_side_by_side, read_meta,
)
from sqlalchemy import event  # noqa: E402

from data_access import figures  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.moment import Moment  # noqa: E402
from data_access.regions import children, find_root  # noqa: E402
from data_access.scope import Scope  # noqa: E402

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")


def the_moment(arg: str | None) -> Moment:
    if arg:
        return Moment(datetime.fromisoformat(arg).astimezone(UTC), TZ)
    meta = read_meta()
    if "now" in meta:
        return Moment(datetime.fromisoformat(meta["now"]), TZ)
    return Moment.now(TZ)


def cases_and_rates(conn, scope, m):
    return figures.case_figures(conn, scope, m), figures.rate_figures(conn, scope, m)


def capture_statements(engine, fn) -> list[tuple[float, str, object]]:
    """Run ``fn`` once and return (ms, statement, parameters) of every statement it executed."""
    seen: list[list] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append([time.perf_counter(), statement, parameters])

    def after(conn, cursor, statement, parameters, context, executemany):
        seen[-1][0] = (time.perf_counter() - seen[-1][0]) * 1000.0

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return [tuple(s) for s in seen]


def explain(cur, backend: str, statement: str, params) -> str:
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    cur.execute(prefix + statement, params)
    rows = cur.fetchall()
    if backend == "sqlite":
        return "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in rows)
    return "\n".join(r[0] for r in rows)


PG_CONNECT = {  # how PostgreSQL connections plan repeated statements
    "app": None,  # whatever data_access.db.make_engine sets
    "auto-prepare": {"connect_timeout": 3, "prepare_threshold": 5},  # psycopg's default
    "no-prepare": {"connect_timeout": 3, "prepare_threshold": None},
    "custom-plans": {"connect_timeout": 3, "prepare_threshold": 5, "options": "-c plan_cache_mode=force_custom_plan"},
}


def bench_backend(backend: str, m: Moment, args) -> tuple[list[dict], dict]:
    connect_args = PG_CONNECT[args.pg_connect] if backend == "postgresql" else None
    engine = make_engine(backend_url(backend), **({"connect_args": connect_args} if connect_args else {}))
    shown = f"postgresql ({args.pg_connect})" if backend == "postgresql" else backend
    rows: list[dict] = []
    answers: dict = {}
    with engine.connect() as conn:
        root = find_root(conn)
        root_scope = Scope(root, root)
        streets = [c["code"] for c in children(conn, root_scope)]
        street = args.street or streets[0]
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        for label, scope in (("root " + root, root_scope), ("street " + street, root_scope.narrow(street))):
            ask = plain_sql.Ask(scope.region, root, m.at, m.midnight, m.w7_start)

            # Same numbers first: a benchmark of wrong answers is worthless.
            ours = figures.summary(conn, scope, m)
            plain = plain_sql.summary(cur, backend, ask)
            assert ours == plain, f"{backend} {label}: gridwall {ours} != plain {plain}"
            answers[label.split()[0]] = ours

            groups = [
                ("cases+rates", lambda: cases_and_rates(conn, scope, m),
                 lambda: plain_sql.cases_and_rates(cur, backend, ask)),
                ("staffing", lambda: figures.staffing_figures(conn, scope, m),
                 lambda: plain_sql.staffing(cur, backend, ask)),
                ("alerts", lambda: figures.alert_figures(conn, scope, m),
                 lambda: plain_sql.alerts(cur, backend, ask)),
                ("summary", lambda: figures.summary(conn, scope, m),
                 lambda: plain_sql.summary(cur, backend, ask)),
            ]
            parts = [("case_figures", lambda: figures.case_figures(conn, scope, m)),
                     ("rate_figures", lambda: figures.rate_figures(conn, scope, m)),
                     ("case_figures_by_child", lambda: figures.case_figures_by_child(conn, scope, m))]
            for name, ours_fn, plain_fn in groups:
                both = measure_side_by_side({"gridwall": ours_fn, "plain": plain_fn}, reps=args.reps, warmup=args.warmup)
                g, p = both["gridwall"], both["plain"]
                rows.append({"backend": shown, "scope": label, "figures": name, "gridwall": g, "plain": p})
                print(_row(rows[-1]), flush=True)
            for name, fn in parts:
                rows.append({"backend": shown, "scope": label, "figures": name,
                             "gridwall": measure(fn, reps=args.reps, warmup=args.warmup), "plain": None})
                print(_row(rows[-1]), flush=True)

            if args.explain:
                write_explain(engine, conn, cur, backend, label, scope, m, ask)
        cur.close()
        conn.rollback()
    engine.dispose()
    return rows, answers


def write_explain(engine, conn, cur, backend, label, scope, m, ask) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    stmts = capture_statements(engine, lambda: figures.summary(conn, scope, m))
    stmts.sort(key=lambda s: -s[0])
    path = OUT / f"explain_{backend}_{label.split()[0]}.txt"
    with path.open("w") as f:
        f.write(f"# {backend} {label} at {m.at.isoformat()}: gridwall statements, slowest first\n\n")
        for ms, statement, params in stmts:
            f.write(f"## gridwall {ms:.2f} ms\n{statement}\n-- {params}\n\n{explain(cur, backend, statement, params)}\n\n")
        for name, (statement, params) in plain_sql.statements(backend, ask).items():
            f.write(f"## {name}\n{statement}\n\n{explain(cur, backend, statement, params)}\n\n")
    print(f"wrote {path}", flush=True)


def _row(r: dict) -> str:
    g, p = r["gridwall"], r["plain"]
    cells = [r["backend"], r["scope"], r["figures"], f"{g['median']:.2f}", f"{g['p95']:.2f}", f"{g['min']:.2f}"]
    if p:
        cells += [f"{p['median']:.2f}", f"{p['p95']:.2f}", f"{p['min']:.2f}", f"{g['median'] / p['median']:.2f}"]
    else:
        cells += ["", "", "", ""]
    return "| " + " | ".join(cells) + " |"


HEADER = ("| backend | scope | figures | gridwall median ms | p95 | min | plain median ms | p95 | min | ratio |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---:|---:|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=["both", *BACKENDS], default="both")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--street", help="street code (default: the root's first street)")
    ap.add_argument("--at", help="ISO moment T (default: when the bench data ends)")
    ap.add_argument("--pg-connect", choices=list(PG_CONNECT), default="app",
                    help="PostgreSQL statement preparation (default: as the app connects)")
    ap.add_argument("--no-explain", dest="explain", action="store_false")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    m = the_moment(args.at)
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    info = machine_info(PG_URL if "postgresql" in backends else None)
    print(f"T = {m.local_iso()}  git {git_head()}  " + "  ".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    print(HEADER, flush=True)
    all_rows, answers = [], {}
    for backend in backends:
        rows, answers[backend] = bench_backend(backend, m, args)
        all_rows += rows
    if len(answers) == 2:
        assert answers["sqlite"] == answers["postgresql"], f"backends disagree: {answers}"
        print("sqlite and postgresql give identical figures", flush=True)
    print(json.dumps(answers, ensure_ascii=False, default=str), flush=True)
    print("load after run: " + " ".join(f"{x:.2f}" for x in __import__("os").getloadavg()), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"at": m.at.isoformat(), "machine": info, "git": git_head(),
                                         "rows": all_rows, "answers": answers}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
