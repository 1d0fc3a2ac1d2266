"""`gridwall import` of 120,000 real-shaped rows into a fresh SQLite file (issue 17 §1: at most 60 s).

The rows are the Boston 311 export (../shared/realdata/boston311_2011/, 58,251 rows) repeated with new
case ids (``<id>`` for the first copy, ``<id>-1``, ``<id>-2`` for the next) up to --rows, written as a
plain CSV beside copies of the neighbourhood and ward polygons; the mapping is the shipped
examples/import/boston311.toml. Each run is the real command line in a new process
(``python -m dashboard.cli import FILE --mapping ... --json``) on a new SQLite file, so it includes
Python's start, building the hierarchy (26 neighbourhoods x 22 wards, 500 m cells), parsing, point in
polygon and the writes; the median of --repeat runs is reported, then one re-import of the same file
(idempotent: nothing to write).

The comparison is the simplest alternative: the same mapped rows written one by one through the ORM
(look the code up, add or update, commit), on a --sample of rows, extrapolated to --rows.

    .venv/bin/python bench/import_rows.py [--rows 120000] [--repeat 3] [--sample 5000] [--pg URL]

--pg URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) also times one import into a new
schema of that PostgreSQL database (dropped afterwards), for information.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "realdata" / "boston311_2011"
SAMPLE = REPO / "tests" / "data" / "realdata" / "boston311_2011"
MAPPING = REPO / "examples" / "import" / "boston311.toml"


def make_rows(folder: Path, rows: int) -> Path:
    source = SHARED if (SHARED / "boston311_2011H2_complete.csv.gz").exists() else SAMPLE
    for name in ("boston_neighborhoods_26.geojson", "boston_wards_22.geojson"):
        shutil.copy(source / name, folder / name)
    with gzip.open(source / "boston311_2011H2_complete.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        base = list(reader)
    out = folder / "boston_x.csv"
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        written, copy = 0, 0
        while written < rows:
            for row in base:
                if written >= rows:
                    break
                if copy:
                    row = [f"{row[0]}-{copy}"] + row[1:]
                writer.writerow(row)
                written += 1
            copy += 1
    print(f"{rows} rows from {source} -> {out} ({out.stat().st_size / 1e6:.1f} MB)", flush=True)
    return out


def cli_import(file: Path, db: Path | str) -> tuple[float, dict]:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    env = {**os.environ, "GRIDWALL_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", "import", str(file), "--mapping", str(MAPPING),
                           "--json"], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def orm_row_by_row(file: Path, db: Path, sample: int) -> float:
    """Seconds to write ``sample`` mapped rows one by one through the ORM (mapping time excluded)."""
    from sqlalchemy.orm import Session

    from dashboard.importer import load_mapping
    from dashboard.importer.categories import CategoryBook
    from dashboard.importer.geography import build_geography
    from dashboard.importer.reading import read_chunks
    from dashboard.importer.rows import RowMapper
    from data_access.db import init_db, make_engine
    from data_access.models import Case

    m = load_mapping(MAPPING)
    geo = build_geography(m, file, MAPPING)
    book = CategoryBook(m.categories, [])
    mapper = RowMapper(m, geo, book)
    chunk = next(read_chunks(file, m.file, m.columns.file_columns(), sample))
    book.plan(mapper.category_pairs(chunk))
    rows = mapper.map(chunk).rows
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    started = time.perf_counter()
    with Session(engine) as session:
        for row in rows:
            case = session.query(Case).filter_by(code=row["code"]).one_or_none()
            if case is None:
                session.add(Case(**row))
            else:
                for k, v in row.items():
                    setattr(case, k, v)
            session.commit()
    engine.dispose()
    return time.perf_counter() - started


def pg_import(file: Path, base: str) -> None:
    from sqlalchemy import text

    from data_access.db import make_engine

    schema = f"gw_import_bench_{os.getpid()}"
    admin = make_engine(base, pool_size=1, max_overflow=0)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{base}?options=-csearch_path%3D{schema}"
        seconds, report = cli_import(file, url)
        print(f"PostgreSQL: {seconds:.1f} s  {json.dumps(report)}", flush=True)
        seconds, report = cli_import(file, url)
        print(f"PostgreSQL re-import: {seconds:.1f} s  {json.dumps(report)}", flush=True)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=120_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sample", type=int, default=5_000)
    ap.add_argument("--pg", default=None, help="also one import into a new schema of this PostgreSQL database")
    args = ap.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gw-import-bench-") as tmp:
        folder = Path(tmp)
        file = make_rows(folder, args.rows)
        times = []
        for i in range(args.repeat):
            db = folder / f"run{i}.db"
            seconds, report = cli_import(file, db)
            times.append(seconds)
            print(f"run {i + 1}: {seconds:.1f} s  {json.dumps(report)}  (db {db.stat().st_size / 1e6:.0f} MB, "
                  f"load {os.getloadavg()[0]:.2f})", flush=True)
        seconds, report = cli_import(file, folder / f"run{args.repeat - 1}.db")
        print(f"re-import of the same file into the last database: {seconds:.1f} s  {json.dumps(report)}", flush=True)
        orm = orm_row_by_row(file, folder / "orm.db", args.sample)
        per_row = orm / args.sample
        print(f"ORM row by row (query, add, commit), {args.sample} rows: {orm:.1f} s = {per_row * 1000:.2f} ms a row "
              f"-> {per_row * args.rows:.0f} s for {args.rows} rows (writes only, mapping excluded)", flush=True)
        if args.pg:
            pg_import(file, args.pg)
        print(f"median of {args.repeat}: {statistics.median(times):.1f} s for {args.rows} rows "
              f"({args.rows / statistics.median(times):.0f} rows/s); target 60 s")


if __name__ == "__main__":
    main()
