"""A city roll-up of 10 counties x 1,000,000 cases: gridwall's root summary and children against plain tables.

    .venv/bin/python bench/rollup_city.py --build      # once: gridwall_city_bench, ~15 min, 43 GB (14 GB with --skip-actions)
    .venv/bin/python bench/rollup_city.py [--reps 30] [--warmup 5]

Build (``--build``): makes sure the 1M-case county of bench/load_1m.py exists in ``gridwall_bench``
(runs it for PostgreSQL when its database or its meta is missing), then (re)creates the roll-up
database ``gridwall_city_bench`` rooted at 南京市 (3201) with ``data_access.rollup.init_rollup`` and
puts 10 of its counties in it with ``add_source`` (no subscription). Each county schema
``gw_<code>`` is a clone of the bench county (320585) with every region code rewritten to the new
county's prefix and the ids kept as they are (colliding ids across counties are the point of the
views' id mapping). The first county is streamed from ``gridwall_bench`` with COPY (binary), the
second cloned inside the city database with INSERT ... SELECT; the faster way does the others.
Secondary indexes are dropped while loading and rebuilt after. One heartbeat row per county.

The yardstick in the same database: schema ``plain``, one table per contract table with gridwall's
own indexes (``Base.metadata.create_all`` with ``schema_translate_map``) holding every county's rows
with the ids made unique as the views make them (``id * 1000 + slot``) and the cases' ``home_code``:
what a home-made copier into one set of tables would give. Filled from the views.

Measurement (default): at T = the moment the bench data ends, after ``--warmup`` calls, ``--reps``
times each, taking turns (alternating order), medians / p90 / p95:

- ``gridwall``: ``figures.summary`` and ``figures.case_figures_by_child`` for the city root (each and
  together) exactly as the app calls them; on a roll-up they now add up each county's figures read on
  its own schema, several counties at a time on pooled connections (data_access/rollup_figures.py),
  and the children reuse the counts the summary just read ("not reusing": that memory emptied first);
- ``one statement per group``: gridwall's own statements run once over the tables the connection's
  search_path names: the roll-up's views (what the roll-up did before rollup_figures), or the plain
  tables (search_path plain, public), or one county's schema alone;
- ``hand SQL``: bench/plain_sql.py's statements (plus a hand-written by-child statement) on the plain
  tables, on the views and on the county alone;
- one county through the roll-up (``Scope(county, 3201)``) against that county's schema alone.

Every way must give the same figures (and 10x the county's counts at the root) or it stops. Prints a
markdown table and writes EXPLAIN (ANALYZE, BUFFERS) of the statements, slowest first, to
bench/out/rollup_city_*.txt. ``--pg-set NAME=VALUE`` replaces gridwall's session options (make_engine
sets ``-c jit=off``) on every connection, e.g. ``--pg-set jit=on``.

Another server (e.g. one with a bigger shared_buffers): GRIDWALL_BENCH_CITY_ADMIN_URL,
GRIDWALL_BENCH_CITY_URL and GRIDWALL_BENCH_CITY_META (default var/rollup_city.json) point the city
database elsewhere; the bench county is still read from gridwall_bench (GRIDWALL_BENCH_PG_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo


sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import plain_sql  # noqa: E402
from common import (  # noqa: E402
    OUT, PG_ADMIN_URL, PG_DB, PG_URL, REPO, VAR, git_head, machine_info, measure_side_by_side, read_meta,
)
from summary_1m import capture_statements, explain  # noqa: E402

from data_access import figures  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.models import CONTRACT_TABLES, Base  # noqa: E402
from data_access.moment import Moment  # noqa: E402
from data_access.rollup import HEARTBEAT, add_source, init_rollup, sources  # noqa: E402
from data_access.scope import Scope  # noqa: E402

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")

CITY_DB = os.environ.get("GRIDWALL_BENCH_CITY_DB", "gridwall_city_bench")
CITY_URL = os.environ.get("GRIDWALL_BENCH_CITY_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{CITY_DB}")
CITY_ADMIN_URL = os.environ.get("GRIDWALL_BENCH_CITY_ADMIN_URL", PG_ADMIN_URL)  # another server: see docstring
CITY_META = Path(os.environ.get("GRIDWALL_BENCH_CITY_META", VAR / "rollup_city.json"))
ROOT = "3201"  # 南京市
SOURCE_COUNTY = "320585"  # the bench county (太仓市) every county is cloned from
DEFAULT_NOW = "2026-11-26T10:30:00+08:00"  # docs/benchmarks.md section 1
PLAIN = "plain"
CONTRACT = [m.__table__ for m in CONTRACT_TABLES]
# Load order: the small tables first, so that a failure shows early.
LOAD_ORDER = ["regions", "grids", "orgs", "staff", "staff_shifts", "categories", "alerts", "cases",
              "staff_pings", "case_actions"]
TABLES = {t.name: t for t in CONTRACT}
# The columns holding region codes, per table (rewritten from the source county to the clone's).
CODE_COLUMNS = {
    "regions": ("code", "parent_code"),
    "grids": ("code", "community_code"),
    "staff": ("grid_code",),
    "orgs": ("region_code",),
    "cases": ("grid_code", "code"),
    "alerts": ("region_code",),
}


def psql_url(url: str) -> str:
    return url.replace("+psycopg", "")


def city_counties(n: int) -> list[str]:
    """The first ``n`` counties of the root city in the bundled GB/T 2260 list."""
    from dashboard.rollup.names import gbt2260_rows

    codes = [r["code"] for r in gbt2260_rows() if r["level"] == "county" and r["code"].startswith(ROOT)]
    if len(codes) < n:
        raise SystemExit(f"{ROOT} has only {len(codes)} counties in the bundled list")
    return codes[:n]


def _seconds(t0: float) -> float:
    return round(time.perf_counter() - t0, 1)


# =================================================================================================
# build
# =================================================================================================

def ensure_bench(now: str) -> dict:
    """The 1M-case bench county in gridwall_bench; runs bench/load_1m.py (PostgreSQL only) when its
    database, its cases or its meta are missing. Returns the bench meta."""
    import psycopg

    meta = read_meta()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone()
    rows = 0
    if exists:
        with psycopg.connect(psql_url(PG_URL)) as conn:
            if conn.execute("SELECT to_regclass('public.cases')").fetchone()[0]:
                rows = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    loaded = meta.get("loaded", {}).get("postgresql")
    if not exists or rows == 0 or not loaded or "now" not in meta or meta.get("county") != SOURCE_COUNTY:
        print(f"gridwall_bench missing or without meta (db: {bool(exists)}, cases: {rows}, meta: {bool(loaded)}): "
              f"running bench/load_1m.py --backend postgresql --now {now}", flush=True)
        subprocess.run([sys.executable, str(REPO / "bench" / "load_1m.py"), "--backend", "postgresql",
                        "--now", now], check=True)
        meta = read_meta()
    else:
        print(f"gridwall_bench: {rows:,} cases, data ends at {meta['now']} (loaded {loaded['at']})", flush=True)
    return meta


def recreate_city_db() -> None:
    import psycopg

    with psycopg.connect(CITY_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{CITY_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{CITY_DB}"')


def city_conn():
    """A raw psycopg connection to the city database, in autocommit, tuned for bulk work."""
    import psycopg

    conn = psycopg.connect(psql_url(CITY_URL), autocommit=True)
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET synchronous_commit = off")
    return conn


def secondary_indexes(conn, schema: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index of ``schema`` that backs no constraint."""
    return conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY c.relname", (schema,)).fetchall()


def drop_indexes(conn, schema: str) -> list[str]:
    defs = secondary_indexes(conn, schema)
    for name, _ in defs:
        conn.execute(f'DROP INDEX "{schema}"."{name}"')
    return [d for _, d in defs]


def rewritten(table: str, src: str, dst: str) -> str:
    """SELECT list of ``table`` with every region code moved from county ``src`` to ``dst``."""
    cols = []
    for col in TABLES[table].columns:
        if col.name in CODE_COLUMNS.get(table, ()):
            cols.append(f"CASE WHEN starts_with({col.name}, '{src}') THEN '{dst}' || substr({col.name}, 7) "
                        f"ELSE {col.name} END")
        else:
            cols.append(col.name)
    return ", ".join(cols)


def where_clause(table: str, ping_from: datetime | None) -> str:
    if table == "staff_pings" and ping_from is not None:
        return f" WHERE ts >= '{ping_from.isoformat()}'"
    return ""


def column_list(table: str) -> str:
    return ", ".join(c.name for c in TABLES[table].columns)


def load_order(skip_actions: bool) -> list[str]:
    return [t for t in LOAD_ORDER if not (skip_actions and t == "case_actions")]


def copy_from_bench(schema: str, dst: str, ping_from, tables=LOAD_ORDER) -> dict[str, float]:
    """Stream every table of the bench county into ``schema`` (codes rewritten): COPY (SELECT ...) TO
    STDOUT in gridwall_bench piped into COPY ... FROM STDIN here, binary format."""
    import psycopg

    timings = {}
    with psycopg.connect(psql_url(PG_URL)) as src, city_conn() as dstc:
        for table in tables:
            t0 = time.perf_counter()
            out_sql = (f"COPY (SELECT {rewritten(table, SOURCE_COUNTY, dst)} FROM {table}"
                       f"{where_clause(table, ping_from)}) TO STDOUT (FORMAT BINARY)")
            in_sql = f'COPY "{schema}"."{table}" ({column_list(table)}) FROM STDIN (FORMAT BINARY)'
            with src.cursor() as rc, dstc.cursor() as wc:
                with rc.copy(out_sql) as cout, wc.copy(in_sql) as cin:
                    for block in cout:
                        cin.write(block)
            timings[table] = _seconds(t0)
    return timings


def clone_in_city(src_schema: str, src_code: str, schema: str, dst: str, tables=LOAD_ORDER) -> dict[str, float]:
    """INSERT INTO gw_<dst>.t SELECT <codes rewritten> FROM gw_<src>.t, table by table."""
    timings = {}
    with city_conn() as conn:
        for table in tables:
            t0 = time.perf_counter()
            conn.execute(f'INSERT INTO "{schema}"."{table}" ({column_list(table)}) '
                         f'SELECT {rewritten(table, src_code, dst)} FROM "{src_schema}"."{table}"')
            timings[table] = _seconds(t0)
    return timings


def run_parallel(jobs: int, work: list, fn) -> list:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, work))


def create_indexes(statements: list[str], jobs: int) -> None:
    """Run CREATE INDEX statements on ``jobs`` connections, the biggest tables first."""
    def weight(sql: str) -> int:
        return 0 if "case_actions" in sql else 1 if "cases" in sql else 2 if "staff_pings" in sql else 3

    todo = sorted(statements, key=weight)

    def worker(part: list[str]) -> None:
        with city_conn() as conn:
            for sql in part:
                conn.execute(sql)
    parts = [todo[i::jobs] for i in range(jobs)]
    run_parallel(jobs, parts, worker)


def build_plain(jobs: int, tables=LOAD_ORDER) -> dict[str, float]:
    """Schema ``plain``: the contract tables with gridwall's indexes (and the cases' home_code),
    holding every county's rows as the views show them."""
    timings = {}
    t0 = time.perf_counter()
    engine = make_engine(CITY_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {PLAIN} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {PLAIN}")
        schemed = conn.execution_options(schema_translate_map={None: PLAIN})
        Base.metadata.create_all(schemed, tables=CONTRACT, checkfirst=True)
        conn.exec_driver_sql(f"ALTER TABLE {PLAIN}.cases ADD COLUMN home_code varchar(6)")
    engine.dispose()
    with city_conn() as conn:
        defs = drop_indexes(conn, PLAIN)

    def fill(table: str) -> tuple[str, float]:
        t = time.perf_counter()
        cols = column_list(table) + (", home_code" if table == "cases" else "")
        with city_conn() as conn:
            conn.execute(f"INSERT INTO {PLAIN}.{table} ({cols}) SELECT {cols} FROM public.{table}")
        return table, _seconds(t)

    # The two biggest on their own connection each, then the rest.
    order = [t for t in ["case_actions", "cases", "staff_pings"] if t in tables] + [
        t for t in tables if t not in ("case_actions", "cases", "staff_pings")]
    for table, s in run_parallel(jobs, order, fill):
        timings[f"fill {table}"] = s
    t1 = time.perf_counter()
    create_indexes(defs, jobs)
    timings["plain indexes"] = _seconds(t1)
    timings["plain total"] = _seconds(t0)
    return timings


def build(args) -> int:
    t_all = time.perf_counter()
    timings: dict[str, object] = {}
    print(f"disk before: {_df()}", flush=True)
    meta = ensure_bench(args.now)
    at = datetime.fromisoformat(meta["now"]).astimezone(UTC)
    counties = city_counties(args.counties)
    tables = load_order(args.skip_actions)
    # The last N local days of pings (None: all of them).
    ping_from = Moment(at, TZ).midnight - timedelta(days=args.ping_days - 1) if args.ping_days else None

    t0 = time.perf_counter()
    recreate_city_db()
    engine = make_engine(CITY_URL)
    from dashboard.rollup.names import default_categories, rollup_regions

    init_rollup(engine, ROOT, rollup_regions(ROOT), default_categories())
    srcs = []
    for code in counties:
        with engine.begin() as conn:
            srcs.append(add_source(conn, f"c{code}", code, "bench clone"))
    engine.dispose()
    timings["init_rollup + add_source"] = _seconds(t0)
    print(f"roll-up {ROOT} with {len(srcs)} sources: {[(s.county, s.slot) for s in srcs]}  "
          f"{timings['init_rollup + add_source']}s", flush=True)

    index_defs: list[str] = []
    with city_conn() as conn:
        for s in srcs:
            index_defs += drop_indexes(conn, s.schema)

    first, rest = srcs[0], srcs[1:]
    t0 = time.perf_counter()
    timings[f"copy from gridwall_bench -> {first.schema}"] = per = copy_from_bench(first.schema, first.county, ping_from, tables)
    t_copy = _seconds(t0)
    print(f"{first.schema}: COPY from gridwall_bench {t_copy}s {per}", flush=True)
    method = args.clone
    if rest and args.clone == "auto":
        second = rest.pop(0)
        t0 = time.perf_counter()
        timings[f"insert-select {first.schema} -> {second.schema}"] = per = clone_in_city(
            first.schema, first.county, second.schema, second.county, tables)
        t_insert = _seconds(t0)
        print(f"{second.schema}: INSERT ... SELECT in the city {t_insert}s {per}", flush=True)
        method = "insert" if t_insert <= t_copy else "copy"
        timings["clone method"] = f"{method} (COPY {t_copy}s, INSERT ... SELECT {t_insert}s, one connection)"
    print(f"cloning the other {len(rest)} counties by {method}, {args.jobs} at a time", flush=True)
    t0 = time.perf_counter()

    def one(s):
        t = time.perf_counter()
        if method == "insert":
            clone_in_city(first.schema, first.county, s.schema, s.county, tables)
        else:
            copy_from_bench(s.schema, s.county, ping_from, tables)
        print(f"  {s.schema}: {_seconds(t)}s", flush=True)
    run_parallel(args.jobs, rest, one)
    timings[f"clone {len(rest)} counties ({method}, {args.jobs} jobs)"] = _seconds(t0)

    t0 = time.perf_counter()
    create_indexes(index_defs, args.jobs)
    timings[f"county indexes ({len(index_defs)}, {args.jobs} jobs)"] = _seconds(t0)
    print(f"county indexes: {timings[f'county indexes ({len(index_defs)}, {args.jobs} jobs)']}s", flush=True)

    with city_conn() as conn:
        for s in srcs:
            conn.execute(f'INSERT INTO "{s.schema}".{HEARTBEAT} (county_code, beat_at) VALUES (%s, %s) '
                         "ON CONFLICT (county_code) DO UPDATE SET beat_at = EXCLUDED.beat_at", (s.county, at))

    if not args.no_plain:
        plain = build_plain(args.jobs, tables)
        timings.update(plain)
        print(f"plain tables: {plain}", flush=True)

    t0 = time.perf_counter()
    with city_conn() as conn:
        conn.execute("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = _seconds(t0)
    timings["total"] = _seconds(t_all)

    sizes = database_sizes()
    counts = row_counts([s.schema for s in srcs] + ([] if args.no_plain else [PLAIN]))
    info = {"built_at": datetime.now(UTC).isoformat(timespec="seconds"), "at": at.isoformat(), "root": ROOT,
            "source_county": SOURCE_COUNTY, "counties": counties,
            "slots": {s.county: s.slot for s in srcs},
            "pings": "all (3 days)" if not args.ping_days else f"from {ping_from.isoformat()}",
            "plain": not args.no_plain, "case_actions": not args.skip_actions, "timings_s": timings, "sizes": sizes, "rows": counts,
            "machine": machine_info(CITY_URL), "git": git_head(), "disk_after": _df()}
    VAR.mkdir(parents=True, exist_ok=True)
    CITY_META.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str) + "\n")
    print(json.dumps({"timings_s": timings, "sizes": sizes, "rows": counts}, indent=2, ensure_ascii=False), flush=True)
    print(f"disk after: {info['disk_after']}\nwrote {CITY_META}", flush=True)
    return 0


def database_sizes() -> dict[str, str]:
    with city_conn() as conn:
        out = {"database": conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]}
        for schema, size in conn.execute(
                "SELECT n.nspname, pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
                "AND (n.nspname LIKE 'gw\\_%%' OR n.nspname IN ('plain', 'public')) "
                "GROUP BY 1 ORDER BY 1").fetchall():
            out[schema] = size
    return out


def row_counts(schemas: list[str]) -> dict[str, dict[str, int]]:
    with city_conn() as conn:
        return {s: {t: conn.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
                    for t in ("grids", "staff", "staff_shifts", "staff_pings", "cases", "case_actions", "alerts")}
                for s in schemas[:1] + schemas[-1:]}


def _df() -> str:
    try:
        out = subprocess.run(["df", "-h", "--output=avail", "/var/lib/postgresql"], capture_output=True, text=True)
        return out.stdout.split()[-1] + " free"
    except (OSError, IndexError):
        return "unknown"


# =================================================================================================
# measurement
# =================================================================================================

CHILDREN_SQL = f"""
SELECT coalesce(substr(grid_code, 1, {{n}}), {{home}}) AS g,
  COUNT(*) FILTER (WHERE {plain_sql.OPEN}) AS open,
  COUNT(*) FILTER (WHERE {plain_sql.OPEN} AND resolve_due_at < :t) AS overdue,
  COUNT(*) FILTER (WHERE {plain_sql.OPEN} AND resolve_due_at >= :t AND {plain_sql.WARNING['postgresql']}) AS warning,
  COUNT(*) FILTER (WHERE {plain_sql.OPEN} AND (accepted_at IS NULL OR accepted_at > :t) AND accept_due_at < :t)
    AS accept_overdue,
  COUNT(*) FILTER (WHERE {plain_sql.OPEN} AND (dispatched_at IS NULL OR dispatched_at > :t) AND dispatch_due_at < :t)
    AS dispatch_overdue,
  COUNT(*) FILTER (WHERE reported_at >= :midnight AND reported_at <= :t) AS new_today,
  COUNT(*) FILTER (WHERE status = 'closed' AND closed_at >= :midnight AND closed_at <= :t) AS closed_today
FROM cases
WHERE ({{scope}})
  AND (closed_at IS NULL OR closed_at > :t OR (reported_at >= :midnight AND reported_at <= :t)
       OR (status = 'closed' AND closed_at >= :midnight AND closed_at <= :t))
GROUP BY 1
"""
CASE_KEYS = figures.CASE_KEYS


def plain_children_sql(ask: plain_sql.Ask, rollup: bool) -> str:
    """The case figures by child, by hand: on a roll-up (cases with home_code) NULL-grid cases fall in
    their home county; on a county's own tables they are keyed NULL."""
    from data_access.scope import CHILD_LENGTH

    n = CHILD_LENGTH[len(ask.code)]
    scope = "grid_code >= :lo AND grid_code < :hi"
    if rollup:
        home = f"substr(home_code, 1, {n})" if n <= 6 else "NULL"
        if len(ask.code) <= 6:
            scope += " OR (grid_code IS NULL AND home_code >= :lo AND home_code < :hi)"
    else:
        home = "NULL"
        if ask.code == ask.root:
            scope += " OR grid_code IS NULL"
    sql = CHILDREN_SQL.format(n=n, home=home, scope=scope)
    import re

    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)


def plain_children(cur, ask: plain_sql.Ask, rollup: bool) -> dict:
    cur.execute(plain_children_sql(ask, rollup), plain_sql._params(ask, "postgresql"))
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        r = dict(zip(names, row))
        counts = {k: int(r[k] or 0) for k in CASE_KEYS}
        if any(counts.values()):
            out[r["g"]] = counts
    return out


def open_layout(engine, search_path: str | None, settings: list[str] = ()):
    """One connection reading the given layout: None = the roll-up's views (public). ``settings``:
    NAME=VALUE session settings (--pg-set), e.g. jit=off."""
    conn = engine.connect()
    if search_path:
        conn.exec_driver_sql(f"SET search_path TO {search_path}")
    for setting in settings:
        name, value = setting.split("=", 1)
        conn.exec_driver_sql(f"SET {name} = '{value}'")
    conn.commit()
    return conn


def scaled(fig: dict, k: int) -> dict:
    """The summary of one county times k (counts scale, rates do not)."""
    return {group: {name: (v if group == "rates_7d" else v * k) for name, v in vals.items()}
            for group, vals in fig.items()}


# --- gridwall's one-statement-per-group figures, whatever the layout ---------------------------------
# data_access.figures.summary/case_figures_by_child on a roll-up now add up each county's figures read
# on its own schema (data_access/rollup_figures.py). These run gridwall's own statements once over the
# tables the connection's search_path names (the roll-up's views, or the plain tables), as the
# roll-up did before: the yardstick for what the views cost.

def one_statement_summary(conn, scope: Scope, m: Moment) -> dict:
    counts = getattr(figures, "_counts", None)
    if counts is None:  # before rollup_figures: summary() was this
        return figures.summary(conn, scope, m)
    r = counts(conn, scope, m)
    return {"cases": {k: r[k] for k in figures.CASE_KEYS}, "rates_7d": figures._rates(r),
            "staffing": one_statement_staffing(conn, scope, m), "alerts": figures.alert_figures(conn, scope, m)}


def one_statement_staffing(conn, scope: Scope, m: Moment) -> dict:
    """gridwall's staffing statement run once over the tables the connection's search_path names
    (``staffing_figures`` itself sums the counties' own at a roll-up scope)."""
    from data_access.scoped import params_key, scope_params

    row = conn.execute(figures._staffing_statement(params_key(scope)),
                       {**figures._moment_params(m), **scope_params(scope)}).mappings().one()
    return {k: int(row[k] or 0) for k in figures.STAFFING_KEYS}


def one_statement_children(conn, scope: Scope, m: Moment) -> dict:
    from data_access.models import Case
    from data_access.scoped import child_key

    group = child_key(scope, Case.__table__)
    return {key: {**dict.fromkeys(CASE_KEYS, 0), **row}
            for key, row in figures._case_counts(conn, scope, m, group).items() if any(row.values())}


def forget_recent() -> None:
    """Empty rollup_figures' memory of the counties' counts (the children reuse the summary's)."""
    rf = sys.modules.get("data_access.rollup_figures")
    if rf is not None and hasattr(rf, "_recent"):
        rf._recent.clear()


def measure_main(args) -> int:
    city = json.loads(CITY_META.read_text()) if CITY_META.exists() else {}
    meta = read_meta()
    at_text = args.at or city.get("at") or meta.get("now")
    if not at_text:
        raise SystemExit("no T: build first (--build) or give --at")
    m = Moment(datetime.fromisoformat(at_text).astimezone(UTC), TZ)
    extra = {}
    if args.pg_set:  # replaces make_engine's own session options (jit=off) on every pooled connection
        extra["connect_args"] = {"options": " ".join(f"-c {x}" for x in args.pg_set)}
    engine = make_engine(CITY_URL, pool_size=8, **extra)
    if args.fanout:  # an experiment: rollup_figures' thread pool with another width (product code untouched)
        from data_access import rollup_figures

        rollup_figures._pool = ThreadPoolExecutor(max_workers=args.fanout, thread_name_prefix="gw-county")
        rollup_figures.FANOUT = args.fanout
    with engine.connect() as c0:
        srcs = sources(c0)
        has_plain = bool(c0.exec_driver_sql(f"SELECT to_regclass('{PLAIN}.cases')").scalar())
        session = {name: c0.exec_driver_sql(f"SHOW {name}").scalar()
                   for name in ("jit", "max_parallel_workers_per_gather", "work_mem", "shared_buffers")}
    if not srcs:
        raise SystemExit(f"{CITY_DB} has no counties: run with --build first")
    county = args.county or srcs[0].county
    info = machine_info(CITY_URL)
    fanout = getattr(sys.modules.get("data_access.rollup_figures"), "FANOUT", None)
    print(f"T = {m.local_iso()}  git {git_head()}  {len(srcs)} counties  "
          + "  ".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    print(f"gridwall's sessions: {session}; roll-up fan-out: {fanout or 'none (one statement through the views)'}",
          flush=True)

    views = open_layout(engine, None, args.pg_set)
    plain = open_layout(engine, f"{PLAIN}, public", args.pg_set) if has_plain else None
    alone = open_layout(engine, f"gw_{county}, public", args.pg_set)
    vcur = views.connection.driver_connection.cursor()
    pcur = plain.connection.driver_connection.cursor() if plain else None
    acur = alone.connection.driver_connection.cursor()

    root = Scope(ROOT, ROOT)
    cscope = Scope(county, ROOT)
    cscope_alone = Scope(county, county)
    ask_root = plain_sql.Ask(ROOT, ROOT, m.at, m.midnight, m.w7_start)
    ask_county = plain_sql.Ask(county, county, m.at, m.midnight, m.w7_start)

    # --- same numbers first --------------------------------------------------------------------
    t0 = time.perf_counter()
    answers = {
        "gridwall root summary": figures.summary(views, root, m),
        "gridwall root children": figures.case_figures_by_child(views, root, m),
        "gridwall county summary": figures.summary(views, cscope, m),
        "gridwall county children": figures.case_figures_by_child(views, cscope, m),
        "views root summary": one_statement_summary(views, root, m),
        "views root children": one_statement_children(views, root, m),
        "views county summary": one_statement_summary(views, cscope, m),
        "views county children": one_statement_children(views, cscope, m),
        "alone county summary": one_statement_summary(alone, cscope_alone, m),
        "alone county children": one_statement_children(alone, cscope_alone, m),
        "hand alone county summary": plain_sql.summary(acur, "postgresql", ask_county),
        "hand alone county children": plain_children(acur, ask_county, rollup=False),
        "hand views root summary": plain_sql.summary(vcur, "postgresql", ask_root),
        "hand views root children": plain_children(vcur, ask_root, rollup=True),
    }
    if plain is not None:
        answers.update({
            "plain root summary": one_statement_summary(plain, root, m),
            "plain root children": one_statement_children(plain, root, m),
            "hand plain root summary": plain_sql.summary(pcur, "postgresql", ask_root),
            "hand plain root children": plain_children(pcur, ask_root, rollup=True),
        })
    print(f"first (cold-ish) run of every check: {(time.perf_counter() - t0) * 1000:.0f} ms", flush=True)
    problems = []

    def same(a: str, b: str, transform=lambda x: x):
        if transform(answers[b]) != answers[a]:
            problems.append(f"{a} != {b}:\n  {answers[a]}\n  {transform(answers[b])}")

    for kind in ("summary", "children"):
        for other in ("views root", "plain root", "hand plain root", "hand views root"):
            if f"{other} {kind}" in answers:
                same(f"gridwall root {kind}", f"{other} {kind}")
        for other in ("views county", "alone county", "hand alone county"):
            same(f"gridwall county {kind}", f"{other} {kind}")
    same("gridwall root summary", "gridwall county summary", lambda f: scaled(f, len(srcs)))
    # The root's children are the counties: each with the county's whole case figures (clones).
    want_children = {s.county: answers["gridwall county summary"]["cases"] for s in srcs}
    if answers["gridwall root children"] != want_children:
        problems.append(f"root children are not one equal entry per county: {answers['gridwall root children']}")
    if args.check_bench:
        beng = make_engine(PG_URL)
        with beng.connect() as b:
            orig = one_statement_summary(b, Scope(SOURCE_COUNTY, SOURCE_COUNTY), m)
        beng.dispose()
        answers["bench county summary"] = orig
        same("gridwall county summary", "bench county summary")
    if problems:
        print("FIGURES DISAGREE:\n" + "\n".join(problems), flush=True)
        return 2
    print("figures agree: gridwall = one statement through the views = on the plain tables = hand SQL; county = "
          "county alone" + (" = the bench county" if args.check_bench else "") + f"; root = {len(srcs)} x county",
          flush=True)
    print(json.dumps({k: answers[k] for k in ("gridwall root summary", "gridwall root children")},
                     ensure_ascii=False, default=str), flush=True)

    # --- timings -------------------------------------------------------------------------------
    rows = []

    def gw_both(scope):
        return lambda: (figures.summary(views, scope, m), figures.case_figures_by_child(views, scope, m))

    def gw_both_cold(scope):
        return lambda: (forget_recent(), figures.summary(views, scope, m),
                        forget_recent(), figures.case_figures_by_child(views, scope, m))

    def one_both(conn, scope):
        return lambda: (one_statement_summary(conn, scope, m), one_statement_children(conn, scope, m))

    def hand_both(cur, ask, rollup):
        return lambda: (plain_sql.summary(cur, "postgresql", ask), plain_children(cur, ask, rollup))

    has_p = plain is not None
    groups = [
        (f"root {ROOT}", "**summary + children**", {
            "gridwall": gw_both(root),
            "gridwall, children not reusing the summary's counts": gw_both_cold(root),
            "one statement per group, views": one_both(views, root),
            **({"one statement per group, plain tables": one_both(plain, root),
                "hand SQL plain tables": hand_both(pcur, ask_root, True)} if has_p else {}),
            "hand SQL views": hand_both(vcur, ask_root, True),
        }),
        (f"root {ROOT}", "summary", {
            "gridwall": lambda: figures.summary(views, root, m),
            "one statement per group, views": lambda: one_statement_summary(views, root, m),
            **({"one statement per group, plain tables": lambda: one_statement_summary(plain, root, m),
                "hand SQL plain tables": lambda: plain_sql.summary(pcur, "postgresql", ask_root)} if has_p else {}),
            "hand SQL views": lambda: plain_sql.summary(vcur, "postgresql", ask_root),
        }),
        (f"root {ROOT}", "case_figures_by_child", {
            "gridwall, not reusing the summary's counts": lambda: (forget_recent(),
                                                                   figures.case_figures_by_child(views, root, m)),
            "one statement, views": lambda: one_statement_children(views, root, m),
            **({"one statement, plain tables": lambda: one_statement_children(plain, root, m),
                "hand SQL plain tables": lambda: plain_children(pcur, ask_root, True)} if has_p else {}),
            "hand SQL views": lambda: plain_children(vcur, ask_root, True),
        }),
    ]
    parts = (("cases+rates", lambda c: figures._counts(c, root, m) if hasattr(figures, "_counts")
              else (figures.case_figures(c, root, m), figures.rate_figures(c, root, m)),
              lambda cur: plain_sql.cases_and_rates(cur, "postgresql", ask_root)),
             ("staffing", lambda c: one_statement_staffing(c, root, m),
              lambda cur: plain_sql.staffing(cur, "postgresql", ask_root)),
             ("alerts", lambda c: figures.alert_figures(c, root, m),
              lambda cur: plain_sql.alerts(cur, "postgresql", ask_root)))
    for label, ours, hand in parts:
        groups.append((f"root {ROOT}", label, {
            "one statement, views": (lambda f=ours: f(views)),
            **({"one statement, plain tables": (lambda f=ours: f(plain)),
                "hand SQL plain tables": (lambda h=hand: h(pcur))} if has_p else {}),
            "hand SQL views": (lambda h=hand: h(vcur)),
        }))
    def tiles_apart(conn, scope):
        """The wall's tiles as callbacks/reads.figures_bundle read them before 5a0e3ac: case figures,
        rate counts, staffing and alerts, four statements through the views."""
        from sqlalchemy import and_

        def run():
            figures._case_counts(conn, scope, m)
            cols, where = figures._rate_columns()
            figures._grouped(conn, cols, and_(where, figures._in_case_scope(scope)), None, figures._moment_params(m))
            one_statement_staffing(conn, scope, m)
            figures.alert_figures(conn, scope, m)
        return run

    groups.append((f"root {ROOT}", "wall tiles", {
        "gridwall (the summary, callbacks/reads.figures_bundle)": lambda: figures.summary(views, root, m),
        "the four groups apart through the views (before)": tiles_apart(views, root),
    }))
    groups += [
        (f"county {county}", "**summary + children**", {
            "gridwall": gw_both(cscope),
            "one statement per group, views": one_both(views, cscope),
            "one statement per group, county alone": one_both(alone, cscope_alone),
            "hand SQL county alone": hand_both(acur, ask_county, False),
        }),
        (f"county {county}", "summary", {
            "gridwall": lambda: figures.summary(views, cscope, m),
            "one statement per group, views": lambda: one_statement_summary(views, cscope, m),
            "one statement per group, county alone": lambda: one_statement_summary(alone, cscope_alone, m),
            "hand SQL county alone": lambda: plain_sql.summary(acur, "postgresql", ask_county),
        }),
        (f"county {county}", "case_figures_by_child", {
            "gridwall": lambda: figures.case_figures_by_child(views, cscope, m),
            "one statement, views": lambda: one_statement_children(views, cscope, m),
            "one statement, county alone": lambda: one_statement_children(alone, cscope_alone, m),
            "hand SQL county alone": lambda: plain_children(acur, ask_county, False),
        }),
    ]
    if args.only_root:
        groups = groups[:1]
    print(HEADER, flush=True)
    load_before = os.getloadavg()
    for scope_label, fig, fns in groups:
        res = measure_side_by_side(fns, reps=args.reps, warmup=args.warmup)
        base = (res.get("hand SQL plain tables") or res.get("hand SQL county alone")
                or res.get("the four groups apart through the views (before)"))
        for name, r in res.items():
            rows.append({"scope": scope_label, "figures": fig, "way": name, **r,
                         "ratio": r["median"] / base["median"] if base else None})
            print(_row(rows[-1]), flush=True)
    load_after = os.getloadavg()
    print("load before/after timing: " + " ".join(f"{x:.2f}" for x in load_before) + " / "
          + " ".join(f"{x:.2f}" for x in load_after), flush=True)
    target = next(r for r in rows if r["way"] == "gridwall" and r["figures"] == "**summary + children**")
    verdict = "HOLDS" if target["median"] <= 100.0 else "MISSED"
    print(f"target (root summary + children median <= 100 ms): {verdict} ({target['median']:.1f} ms)", flush=True)

    # --- EXPLAIN -------------------------------------------------------------------------------
    # gridwall's roll-up path runs the county-alone statements once per county (on pooled
    # connections, side by side): rollup_city_alone_county*.txt shows them.
    if args.explain:
        OUT.mkdir(parents=True, exist_ok=True)
        layouts = [("views_root", views, vcur, root), ("views_county", views, vcur, cscope),
                   ("alone_county", alone, acur, cscope_alone)]
        if plain is not None:
            layouts.insert(1, ("plain_root", plain, pcur, root))
        for name, conn, cur, scope in layouts:
            path = OUT / f"rollup_city_{name}{args.explain_tag}.txt"
            stmts = capture_statements(engine, lambda: (one_statement_summary(conn, scope, m),
                                                        one_statement_children(conn, scope, m)))
            stmts.sort(key=lambda s: -s[0])
            with path.open("w") as f:
                f.write(f"# {name}: gridwall's statements (one per group) for {scope.region} (root {scope.root}) "
                        f"at {m.at.isoformat()}, slowest first; session: {session}\n\n")
                for ms, statement, params in stmts:
                    f.write(f"## gridwall {ms:.2f} ms\n{statement}\n-- {params}\n\n"
                            f"{explain(cur, 'postgresql', statement, params)}\n\n")
                if name in ("views_root", "plain_root", "alone_county"):
                    ask = ask_county if name == "alone_county" else ask_root
                    for sname, (statement, params) in plain_sql.statements("postgresql", ask).items():
                        f.write(f"## hand SQL: {sname}\n{statement}\n\n{explain(cur, 'postgresql', statement, params)}\n\n")
                    statement = plain_children_sql(ask, rollup=name != "alone_county")
                    f.write(f"## hand SQL: children\n{statement}\n\n"
                            f"{explain(cur, 'postgresql', statement, plain_sql._params(ask, 'postgresql'))}\n\n")
            print(f"wrote {path}", flush=True)

    for c in (views, plain, alone):
        if c is not None:
            c.rollback()
            c.close()
    engine.dispose()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"at": m.at.isoformat(), "machine": info, "session": session,
                                         "fanout": fanout, "pg_set": args.pg_set, "git": git_head(),
                                         "counties": [s.county for s in srcs], "rows": rows,
                                         "load": [load_before, load_after], "verdict": verdict,
                                         "answers": answers}, indent=2, default=str, ensure_ascii=False))
    return 0


HEADER = ("| scope | figures | way | median ms | p90 | p95 | min | x hand SQL (plain tables / county alone) |\n"
          "|---|---|---|---:|---:|---:|---:|---:|")


def _row(r: dict) -> str:
    ratio = f"{r['ratio']:.2f}" if r["ratio"] else ""
    return (f"| {r['scope']} | {r['figures']} | {r['way']} | {r['median']:.2f} | {r['p90']:.2f} | {r['p95']:.2f} | "
            f"{r['min']:.2f} | {ratio} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="store_true", help="(re)build gridwall_city_bench, then stop")
    ap.add_argument("--counties", type=int, default=10, help="counties of 南京市 to clone the bench county into")
    ap.add_argument("--clone", choices=("auto", "copy", "insert"), default="auto",
                    help="how counties 2.. are filled: COPY from gridwall_bench or INSERT ... SELECT from the first "
                         "(auto: try both on counties 1 and 2, the faster does the rest)")
    ap.add_argument("--jobs", type=int, default=2, help="connections cloning / indexing at a time")
    ap.add_argument("--ping-days", type=int, default=0, help="copy only the last N local days of pings (0: all)")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain tables")
    ap.add_argument("--skip-actions", action="store_true",
                    help="leave case_actions empty (the figures never read them; saves 1.6 GB a county)")
    ap.add_argument("--now", default=DEFAULT_NOW, help="--now for load_1m.py when it has to run")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--county", help="the county compared through the views and alone (default: the first)")
    ap.add_argument("--at", help="ISO moment T (default: when the bench data ends)")
    ap.add_argument("--check-bench", action="store_true", help="also check the county against gridwall_bench")
    ap.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                    help="a session setting for every connection, gridwall's pooled ones too, instead of "
                         "make_engine's own (-c jit=off), e.g. jit=on (repeatable)")
    ap.add_argument("--fanout", type=int, help="experiment: counties read at once by data_access.rollup_figures "
                                                "(replaces its thread pool for this run; default: as shipped)")
    ap.add_argument("--only-root", action="store_true", help="time only the root's summary + children (quick)")
    ap.add_argument("--explain-tag", default="", help="suffix of the EXPLAIN files (bench/out/rollup_city_<layout><tag>.txt)")
    ap.add_argument("--no-explain", dest="explain", action="store_false")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.build:
        return build(args)
    return measure_main(args)


if __name__ == "__main__":
    sys.exit(main())
