"""Benchmark: ``/api/v1/review`` on the 1,000,000-case databases against plain per-figure SQL, and the
/review page's first render in Chromium.

    .venv/bin/python bench/review_1m.py [--backend both|sqlite|postgresql] [--reps 9] [--period quarter]
                                        [--region CODE] [--browser on|off] [--port 18870]

For a region (default: the root) and the period (default: the quarter containing the data's "now",
partial, so that the comparisons are cut like for like) it times, taking turns:

- ``gridwall``: what the route reads and computes, in this process (data_access.review: figures of the
  region and its children for the three windows, departments, bounced cases; regions.children; the
  score and ranking), without HTTP and JSON;
- ``api``: ``GET /api/v1/review`` through gunicorn (the production server, 2 workers, auth on, a
  ``center`` user's API token), so HTTP, scope, JSON and all;
- ``plain``: one hand-written statement per figure, window and numerator/denominator on the raw DBAPI
  cursor (GROUP BY the child's code prefix; the flow-log figures by a correlated EXISTS; the median
  by percentile_cont on PostgreSQL and by fetching the close times on SQLite), departments and
  bounced cases likewise.

The two must agree on the region's figures first. Then the page: headless Chromium (1920x1080)
signs in once, and each run navigates to ``/review?region=..&period=..&date=..&at=..`` and stops the
clock when the children table holds its rows (``#review-children tbody tr[data-region]``); static
files stay in the browser's cache after the first load, as for a returning user. ``--browser off``
skips the server and the page; when /review does not answer (``PAGE_READY`` below) the page is
reported as not measured.

The load average is recorded before and after every series: the machine's two cores are shared with
other work, so read the medians with it. The review's indexes (data_access/models.py) are created
here when the bench database predates them; load_1m.py builds them with the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import (  # noqa: E402
    BACKENDS, OUT, REPO, backend_url, git_head, machine_info, measure_side_by_side, read_meta,
)

from dashboard.analytics import scoring  # noqa: E402
from dashboard.core.config import ReviewSettings  # noqa: E402
from data_access import review  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.models import Base  # noqa: E402
from data_access.period import Period  # noqa: E402
from data_access.regions import children  # noqa: E402
from data_access.scope import Scope  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
# The /review page exists (layouts/review.py, callbacks/review.py). Set False to skip the browser
# part, e.g. on a branch where the page is not built yet: the report then says "page not measured".
PAGE_READY = True
REVIEW_INDEXES = ("ix_cases_dispatched_at_grid", "ix_cases_open_late", "ix_case_actions_action_ts")
USER, PASSWORD = "bench_review", "bench-review-密码"
FLOW_ACTIONS = ("dispatch", "return", "rework", "extend", "urge", "close")


def ensure_indexes(engine) -> list[str]:
    """Create the review's indexes the bench database lacks (it may predate them); ANALYZE after."""
    from sqlalchemy import inspect

    have = {ix["name"] for t in ("cases", "case_actions") for ix in inspect(engine).get_indexes(t)}
    made = []
    for table in Base.metadata.sorted_tables:
        for ix in table.indexes:
            if ix.name in REVIEW_INDEXES and ix.name not in have:
                print(f"creating {ix.name} (the bench database predates it) ...", flush=True)
                ix.create(engine)
                made.append(ix.name)
    if made:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return made


def flow_log_shares(conn) -> dict:
    """case_actions per action and the share of cases with at least one: the review's figures read
    them, so the bench data must have them (bench/load_1m.py writes them)."""
    n_cases = conn.exec_driver_sql("SELECT count(*) FROM cases").scalar()
    rows = conn.exec_driver_sql("SELECT action, count(*) FROM case_actions GROUP BY action").all()
    counts = {a: int(k) for a, k in rows}
    missing = [a for a in FLOW_ACTIONS if not counts.get(a)]
    if missing:
        raise SystemExit(f"the bench database has no {', '.join(missing)} actions: rebuild it with bench/load_1m.py")
    per_case = {a: round(counts[a] / n_cases, 4) for a in FLOW_ACTIONS}
    return {"cases": n_cases, "actions": sum(counts.values()), "per_case": per_case}


def rules() -> list[scoring.Rule]:
    return [scoring.Rule(f, float(r.weight), None if r.target == scoring.SIBLINGS_MEDIAN else float(r.target),
                         r.better) for f, r in ReviewSettings().score.items()]


def gridwall(conn, scope: Scope, period: Period, at: datetime) -> dict:
    """What GET /api/v1/review reads and computes (without the JSON encoding): the figures, departments
    and bounced cases on two connections at once (``review.review_reads``), as the route reads them."""
    rows = children(conn, scope)
    data, (deps, bounced) = review.review_reads(
        conn.engine, scope, period, at,
        also=lambda c2: (review.departments(c2, scope, period, at), review.bounced_cases(c2, scope, period, at)))
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


# --- the served route and the page ---------------------------------------------------------------

def start_server(backend: str, url: str, root: str, port: int):
    """gunicorn serving the bench database (bench/serve.py), with a ``center`` user; (server, token)."""
    from serve import Server, run_cli

    env = {**os.environ, "GRIDWALL_DATABASE_URL": url, "GRIDWALL_SECRET_KEY": "bench-review-secret",
           "GRIDWALL_ROOT": root}
    env.pop("GRIDWALL_REDIS_URL", None)
    run_cli(REPO, env, "user", "add", USER, "--role", "center", "--password-stdin", "--enable", stdin=PASSWORD)
    token = run_cli(REPO, env, "token", "create", USER).splitlines()[-1].strip()
    OUT.mkdir(parents=True, exist_ok=True)
    return Server(REPO, env, port, OUT / f"review_1m_server_{backend}.log", startup_timeout=300), token


def api_get(server_url: str, token: str, query: str) -> int:
    req = urllib.request.Request(f"{server_url}/api/v1/review?{query}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"/api/v1/review answered {resp.status}")
    return len(body)


ROWS_DRAWN = """
var rows = document.querySelectorAll('#review-children tbody tr[data-region]');
if (!rows.length) return null;
var code = rows[0].dataset.region;
return code.indexOf(arguments[0]) === 0 && code.length > arguments[0].length ? performance.now() : null;
"""


# Every section drawn and no callback pending (Dash marks a component it is updating).
SECTIONS_DONE = """
if (document.querySelector('[data-dash-is-loading="true"]')) return false;
var ids = ['review-departments', 'review-hot-issues', 'review-trend', 'review-forecast', 'review-concealment'];
return ids.every(function (id) { var el = document.getElementById(id); return !el || el.children.length > 0; });
"""


def measure_page(server_url: str, query: str, region: str, reps: int) -> dict:
    """First render of /review in headless Chromium: navigation start -> the children table drawn (ms,
    the browser's clock), ``reps`` runs after one warm-up; a sign-in first."""
    from selenium.common.exceptions import TimeoutException
    from serve import chromium

    driver = chromium(1920, 1080)
    driver.set_script_timeout(10)
    driver.set_page_load_timeout(300)
    try:
        driver.get(f"{server_url}/login?next=%2Freview")
        driver.find_element("id", "username").send_keys(USER)
        driver.find_element("id", "password").send_keys(PASSWORD)
        driver.find_element("id", "login-submit").click()
        deadline = time.time() + 60
        while "/login" in driver.current_url and time.time() < deadline:
            time.sleep(0.1)
        page = f"{server_url}/review?{query}"
        times, wall = [], []
        for run in range(reps + 1):
            t0 = time.perf_counter()
            driver.get(page)
            drawn = None
            deadline = time.time() + 120
            while drawn is None and time.time() < deadline:
                try:
                    drawn = driver.execute_script(ROWS_DRAWN, region)
                except TimeoutException:  # the renderer is busy (drawing other sections): ask again
                    drawn = None
                if drawn is None:
                    time.sleep(0.02)
            if drawn is None:
                return {"status": "the children table never appeared (120 s)", "url": page}
            if run:  # the first run warms the browser's cache and the server
                times.append(float(drawn))
                wall.append((time.perf_counter() - t0) * 1000.0)
            # The other sections follow the core: let them finish before the next run, so that the
            # server is not still answering this run's sections while the next one's core is timed.
            settle = time.time() + 180
            while time.time() < settle:
                try:
                    if driver.execute_script(SECTIONS_DONE):
                        break
                except TimeoutException:
                    pass
                time.sleep(0.2)
        times.sort()
        return {"status": "ok", "url": page, "runs": reps, "median": round(statistics.median(times), 1),
                "p95": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
                "min": round(times[0], 1), "webdriver_median": round(statistics.median(wall), 1)}
    finally:
        driver.quit()


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("both", *BACKENDS), default="both")
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--period", choices=("week", "month", "quarter"), default="quarter")
    ap.add_argument("--region", default=None, help="default: the root (the county)")
    ap.add_argument("--browser", choices=("on", "off"), default="on", help="the API through gunicorn and the page")
    ap.add_argument("--page-reps", type=int, default=7)
    ap.add_argument("--plain", choices=("on", "off"), default="on",
                    help="off: check agreement with the plain SQL once, time only gridwall, the API and the page")
    ap.add_argument("--port", type=int, default=18870)
    args = ap.parse_args()
    meta = read_meta()
    at = datetime.fromisoformat(meta["now"])
    local = at.astimezone(TZ)
    period = Period.containing(args.period, local.date(), TZ)
    root = meta["county"]
    region = args.region or root
    scope = Scope(region, root)
    query = (f"region={region}&period={args.period}&date={local.date().isoformat()}"
             f"&at={local.replace(tzinfo=None).isoformat()}")
    results = []
    for backend in (BACKENDS if args.backend == "both" else (args.backend,)):
        url = backend_url(backend)
        engine = make_engine(url)
        made = ensure_indexes(engine)
        server = token = None
        if args.browser == "on":
            server, token = start_server(backend, url, root, args.port)
        try:
            with engine.connect() as conn:
                flow = flow_log_shares(conn)
                cur = conn.connection.driver_connection.cursor()
                ours = gridwall(conn, scope, period, at)
                check_agree(ours, plain(cur, backend, scope, period, at))
                fns = {"gridwall": lambda: gridwall(conn, scope, period, at)}
                if args.plain == "on":
                    fns["plain"] = lambda: plain(cur, backend, scope, period, at)
                if server is not None:
                    fns["api"] = lambda: api_get(server.url, token, query)
                load_before = loadavg()
                times = measure_side_by_side(fns, reps=args.reps, warmup=args.warmup)
                load_after = loadavg()
                cur.close()
            page = {"status": "not measured (--browser off)"}
            print(json.dumps({"backend": backend, "load_before": load_before, "load_after": load_after,
                              **{k: {s: round(v, 1) for s, v in t.items()} for k, t in times.items()}}), flush=True)
            if server is not None:
                try:
                    page = ({"status": "not measured: PAGE_READY is False (the /review page is not built)"}
                            if not PAGE_READY else measure_page(server.url, query, region, args.page_reps))
                except Exception as exc:  # noqa: BLE001 - report the page's failure, keep the figures
                    page = {"status": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
                page["load_after"] = loadavg()
        finally:
            if server is not None:
                server.stop()
            engine.dispose()
        row = {"backend": backend, "region": region, "period": period.to_dict(at), "reps": args.reps,
               "indexes_created": made, "flow_log": flow, "children": len(ours["children"]),
               "departments": len(ours["departments"]), "bounced": len(ours["bounced"]),
               "load_before": load_before, "load_after": load_after,
               **{k: {s: round(v, 1) for s, v in t.items()} for k, t in times.items()},
               "vs_plain": (round(times["gridwall"]["median"] / times["plain"]["median"], 3) if "plain" in times else None),
               "page": page}
        results.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)
    info = {"git": git_head(), "machine": machine_info(backend_url("postgresql") if args.backend != "sqlite" else None)}
    print(json.dumps(info, ensure_ascii=False))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "review_1m.json").write_text(json.dumps({"results": results, **info}, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
