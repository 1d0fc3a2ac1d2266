"""What a county costs a roll-up to replicate: WAL per row on the county, apply rate on the city, and how
long a city takes to catch up after a county's link was down.

    .venv/bin/python bench/rollup_catchup.py [--cases 20000] [--pings 200000]

Starts two PostgreSQL clusters of their own (tests/pg_clusters.py: initdb on free ports, fsync off as
in the tests), seeds a small synthetic county, publishes it and subscribes a city to it through a
TCP proxy; then cuts the link, writes ``--cases`` cases (each with 8 flow-log actions) and ``--pings``
location pings on the county, restores the link and times until the city has every row. Prints the
WAL the county wrote for them, the rows per second the city applied, and the CPU seconds its apply
worker spent (from /proc). Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from dashboard.rollup.names import default_categories, rollup_regions  # noqa: E402
from dashboard.synth.seed import seed_county  # noqa: E402
from data_access import rollup  # noqa: E402
from data_access.db import init_db, make_engine  # noqa: E402
from tests.pg_clusters import PgCluster, free_port  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402

UTC = timezone.utc
COUNTY = "320585"


def _apply_pid(city) -> int | None:
    with city.connect() as conn:
        return conn.execute(text("SELECT pid FROM pg_stat_subscription WHERE relid IS NULL")).scalar()


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write(county, n_cases: int, n_pings: int, now: datetime) -> None:
    with county.begin() as conn:
        staff = conn.execute(text("SELECT id FROM staff WHERE role = 'grid_worker' ORDER BY id")).scalars().all()
        grids = conn.execute(text("SELECT code FROM grids ORDER BY code")).scalars().all()
        base = conn.execute(text("SELECT coalesce(max(id), 0) FROM cases")).scalar()
        conn.execute(text(
            "INSERT INTO cases (id, code, title, category_code, source, urgency, reported_at, grid_code, status, level, "
            "resolve_due_at, updated_at, escalations, returns, reworks, urges) "
            "SELECT :base + i, 'bench-' || (:base + i), '占道经营', '0301', 'patrol', 'normal', CAST(:now AS timestamptz) - i * interval '1 second', "
            "(CAST(:grids AS text[]))[1 + i % :ng], 'handling', 'grid', CAST(:now AS timestamptz) + interval '1 day', :now, 0, 0, 0, 0 "
            "FROM generate_series(1, :n) i"), {"base": base, "now": now, "grids": grids, "ng": len(grids), "n": n_cases})
        conn.execute(text(
            "INSERT INTO case_actions (case_id, ts, action, note) "
            "SELECT :base + i, CAST(:now AS timestamptz), (ARRAY['report','accept','dispatch','sign','handle','verify','close','comment'])[1 + j], NULL "
            "FROM generate_series(1, :n) i, generate_series(0, 7) j"), {"base": base, "now": now, "n": n_cases})
        conn.execute(text(
            "INSERT INTO staff_pings (staff_id, ts, lon, lat) "
            "SELECT (CAST(:staff AS int[]))[1 + i % :ns], CAST(:now AS timestamptz) + (i / :ns) * interval '1 second' "
            "+ interval '1 hour', 121.1, 31.4 "
            "FROM generate_series(0, :n - 1) i ON CONFLICT DO NOTHING"),
            {"staff": staff, "ns": len(staff), "now": now, "n": n_pings})


def _counts(engine, schema: str = "") -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT count(*) FROM {schema}{t}")).scalar()
                     for t in ("cases", "case_actions", "staff_pings"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000)
    ap.add_argument("--pings", type=int, default=200000)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gridwall-pg-"))
    base.chmod(0o755)
    made = []
    try:
        a, c = PgCluster(base, free_port(), "county"), PgCluster(base, free_port(), "city")
        for cluster in (a, c):
            made.append(cluster)
            cluster.init()
            cluster.start()
        county = make_engine(a.create_database("platform"))
        init_db(county)
        now = datetime.now(UTC).replace(microsecond=0)
        seed_county(county, county=COUNTY, days=3, now=now, full_ping_days=0, sparse_ping_days=3,
                    sparse_ping_minutes=240, old_ping_minutes=600)
        rollup.publish(county, COUNTY)
        county.dispose()
        city = make_engine(c.create_database("city"))
        rollup.init_rollup(city, "3205", rollup_regions("3205"), default_categories())
        proxy = TcpProxy("127.0.0.1", a.port)
        rollup.subscribe(city, "taicang", f"postgresql://postgres@127.0.0.1:{proxy.port}/platform")
        schema = f"{rollup.county_schema(COUNTY)}."
        deadline = time.monotonic() + 120
        while _counts(city, schema) != _counts(county) and time.monotonic() < deadline:
            time.sleep(0.2)
        proxy.cut()
        with county.connect() as conn:
            lsn0 = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        started = time.perf_counter()
        _write(county, args.cases, args.pings, now)
        write_s = time.perf_counter() - started
        with county.connect() as conn:
            wal = float(conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :l)"), {"l": lsn0}).scalar())
        want = _counts(county)
        rows = args.cases * 9 + args.pings
        time.sleep(2)
        pid = _apply_pid(city)
        cpu0 = _cpu_seconds(pid)
        proxy.restore()
        started = time.perf_counter()
        while _counts(city, schema) != want:
            if time.perf_counter() - started > 900:
                raise SystemExit("the city did not catch up within 15 minutes")
            time.sleep(0.1)
        catch_up = time.perf_counter() - started
        pid = _apply_pid(city) or pid
        cpu = _cpu_seconds(pid) - cpu0 if pid else float("nan")
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; PostgreSQL {c.bindir.parent.name}")
        print(f"written on the county during the outage: {args.cases} cases + {args.cases * 8} actions + "
              f"{args.pings} pings = {rows} rows in {write_s:.1f} s; WAL {wal / 1e6:.1f} MB ({wal / rows:.0f} B/row)")
        print(f"city caught up in {catch_up:.1f} s after the link returned: {rows / catch_up:,.0f} rows/s; "
              f"apply worker CPU {cpu:.1f} s ({cpu / rows * 1e6:.1f} us/row)")
        proxy.close()
        rollup.unsubscribe(city, "taicang")
        city.dispose()
        county.dispose()
    finally:
        for cluster in reversed(made):
            cluster.destroy()


if __name__ == "__main__":
    main()
