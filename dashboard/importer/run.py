"""``gridwall import``: one run, from FILE and mapping to the report.

1. the mapping is read and checked (MappingError: exit 2), the file's header must hold every column
   it names;
2. the hierarchy is built from the mapping and its polygons (geography.py); a workbook (XLSX) is read
   once into a temporary CSV of the mapped columns, which the passes below read;
3. the file's category values are collected in a first pass over the category columns only, so
   unknown categories get their codes from the whole file (categories.py);
4. unless ``dry_run``: the tables are created if missing (``init_db``), the root, districts, areas and
   grids are upserted by code and the missing categories inserted, in one transaction;
5. the file is read in chunks (``file.chunk_rows``); each chunk is mapped (rows.py), compared with
   the cases already stored under the same codes, and only the new and changed rows are upserted, one
   transaction per chunk (an interrupted import is completed by running it again).

``dry_run`` does all of it but the writes: it reads the database (when there is one) to tell imported
from updated, and never creates a table or a SQLite file.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from data_access import imports as db
from data_access.db import init_db

from .categories import CategoryBook
from .geography import add_named_places, build_geography
from .mapping import FileSpec, Mapping, MappingError, column_names, load_mapping
from .reading import file_format, header, read_chunks, xlsx_to_csv
from .rows import CASE_COLUMNS, RowMapper, column


class SourceError(ValueError):
    """FILE cannot be read."""


@dataclass
class ImportReport:
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)
    cleared: Counter = field(default_factory=Counter)
    dry_run: bool = False
    geography: dict = field(default_factory=dict)
    categories_added: list[str] = field(default_factory=list)
    seconds: float = 0.0
    mapped: int = 0           # rows mapped (imported, updated or unchanged)
    with_due: int = 0         # of those, rows with a resolve_due_at
    patrol: int = 0           # of those, rows with source patrol
    due_from_category: bool = False

    def notes(self) -> list[str]:
        """What the operator should know about the mapping's effect on the figures (not errors)."""
        out = []
        unparseable = self.skipped.get("unparseable_opened", 0)
        if self.read and unparseable > self.read / 2:
            out.append(f"{unparseable} of {self.read} rows have a reported_at that does not parse: set "
                       "datetime_format (e.g. \"%m/%d/%Y %I:%M:%S %p\") to the file's layout")
        if self.mapped and not self.with_due:
            out.append("no row has a due date: 超期, 临期 and 按期结案率 stay empty or 0 %"
                       + ("; due_from_category is on, but no case's category has resolve_hours: map the file's "
                          "categories to the tree's in [categories.map]" if self.due_from_category else
                          "; [categories] due_from_category = true gives each case its category's resolve_hours"))
        if self.mapped and not self.patrol:
            out.append("no row has source patrol: 巡查发现占比 is 0 and the concealment watch has nothing to test; "
                       "map the city's own staff channels to patrol in [values.source]")
        located = self.cleared.get("location", 0)
        if self.read and located > self.read / 2:
            out.append(f"{located} of {self.read} rows lost their point: check that lon and lat are not swapped, "
                       "[location] crs, and that the points fall inside the district polygons")
        return out

    def as_json(self) -> dict:
        """The report of ``--json``: exactly these five keys."""
        return {"read": self.read, "imported": self.imported, "updated": self.updated,
                "skipped": dict(sorted(self.skipped.items())), "cleared": dict(sorted(self.cleared.items()))}

    def render(self) -> str:
        def listing(counter: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"

        head = "dry run (nothing written): " if self.dry_run else ""
        g = self.geography
        return "\n".join([
            f"{head}read {self.read} rows: imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {sum(self.skipped.values())}",
            f"skipped: {listing(self.skipped)}",
            f"cleared: {listing(self.cleared)}",
            f"hierarchy: root {g.get('root')}, {g.get('districts', 0)} districts, {g.get('areas', 0)} areas, "
            f"{g.get('grids', 0)} grids (+ {g.get('catch_all', 0)} catch-all area/grid pairs); "
            f"new category codes: {len(self.categories_added)}",
            *[f"note: {n}" for n in self.notes()],
            f"{self.seconds:.1f} s",
        ])


def _sqlite_file_missing(engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return False
    name = url.database
    return bool(name) and name != ":memory:" and not Path(name).exists()


def _same(stored: tuple, row: dict) -> bool:
    for name, old in zip(CASE_COLUMNS, stored):
        new = row[name]
        if old is None or new is None:
            if old is not new:
                return False
        elif isinstance(new, datetime):  # naive UTC (rows.py); the stored one is aware UTC
            if old.replace(tzinfo=None) != new:
                return False
        elif isinstance(new, float):
            if abs(float(old) - new) > 1e-9:
                return False
        elif old != new:
            return False
    return True


def run_import(engine: Engine, file: str | Path, mapping: str | Path | Mapping, *, dry_run: bool = False,
               now: datetime | None = None, chunk_rows: int | None = None) -> ImportReport:
    """Import FILE through the mapping (a path or a Mapping) into ``engine``'s database."""
    started = time.perf_counter()
    mapping_path = None
    if not isinstance(mapping, Mapping):
        mapping_path = Path(mapping)
        mapping = load_mapping(mapping_path)
    m = mapping
    path = Path(file)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    try:
        names = header(path, m.file)
    except MappingError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader error is the file's problem
        raise SourceError(f"{path}: cannot read: {exc}") from None
    wanted = m.columns.file_columns()
    missing = [c for c in wanted if c not in names]
    if missing:
        raise MappingError(f"{path} has no column {', '.join(map(repr, missing))} (its columns: "
                           f"{', '.join(names[:40])})")

    geo = build_geography(m, path, mapping_path)
    report = ImportReport(dry_run=dry_run, geography={"root": m.root.code, **geo.counts()},
                          due_from_category=m.categories.due_from_category)

    readable = not (dry_run and _sqlite_file_missing(engine))
    existing_cats: list[dict] = []
    existing_places: tuple[list[dict], list[dict]] = ([], [])
    has_cases = False
    if readable:
        with engine.connect() as conn:
            existing_cats = db.existing_categories(conn)
            has_cases = db.has_contract_tables(conn)
            if m.columns.area:
                existing_places = db.existing_places(conn, m.root.code)
    book = CategoryBook(m.categories, existing_cats)
    mapper = RowMapper(m, geo, book, now=now)

    with contextlib.ExitStack() as stack:
        source, spec = path, m.file
        if file_format(path, m.file) == "xlsx":  # read the workbook once (reading.py)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gridwall-import-")))
            try:
                source = xlsx_to_csv(path, m.file, wanted, tmp / "rows.csv")
            except MappingError:
                raise
            except Exception as exc:  # noqa: BLE001 - any reader error is the file's problem
                raise SourceError(f"{path}: cannot read: {exc}") from None
            spec = FileSpec(format="csv", encoding="utf-8", delimiter=",", chunk_rows=m.file.chunk_rows)
        _run(engine, m, geo, book, mapper, source, spec, wanted, report, dry_run, has_cases, chunk_rows, path,
             existing_places)
    report.seconds = time.perf_counter() - started
    return report


def _run(engine, m: Mapping, geo, book: CategoryBook, mapper: RowMapper, source: Path, spec: FileSpec,
         wanted: list[str], report: ImportReport, dry_run: bool, has_cases: bool, chunk_rows: int | None,
         path: Path, existing_places: tuple[list[dict], list[dict]]) -> None:
    """Steps 3 to 5 of the module docstring on ``source`` (FILE, or the CSV made of a workbook)."""
    cat_cols = column_names(m.columns.category, m.columns.category_group)
    place_specs = [m.columns.district, m.columns.area, m.columns.grid] if m.columns.area else []
    place_cols = column_names(*place_specs)
    pairs: set[tuple[str, str]] = set()
    places: set[tuple[str, str, str]] = set()
    try:
        if cat_cols or place_cols:
            for chunk in read_chunks(source, spec, column_names(*cat_cols, *place_cols), chunk_rows):
                if cat_cols:
                    pairs |= mapper.category_pairs(chunk)
                if place_cols:
                    places |= set(zip(*(column(chunk, col).tolist() for col in place_specs)))
        if not cat_cols:
            pairs.add(("", ""))
    except MappingError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SourceError(f"{path}: cannot read: {exc}") from None
    book.plan(pairs)
    report.categories_added = book.new_codes()
    if m.columns.area:
        add_named_places(geo, m, places, *existing_places)
        report.geography.update(geo.counts())

    if not dry_run:
        if _sqlite_file_missing(engine):  # sqlite:///var/boston.db before var/ exists
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        init_db(engine)
        has_cases = True
        with db.import_transaction(engine) as conn:
            db.prepare_ids(conn)
            db.upsert_by_code(conn, "regions", [geo.root])
            db.upsert_by_code(conn, "regions", geo.regions)
            db.upsert_by_code(conn, "grids", geo.grids)
            db.insert_missing_categories(conn, book.to_write)

    try:
        for chunk in read_chunks(source, spec, wanted, chunk_rows):
            report.read += len(chunk)
            result = mapper.map(chunk)
            report.skipped.update(result.skipped)
            report.cleared.update(result.cleared)
            report.mapped += len(result.rows)
            report.with_due += sum(1 for r in result.rows if r.get("resolve_due_at") is not None)
            report.patrol += sum(1 for r in result.rows if r.get("source") == "patrol")
            if not result.rows:
                continue
            if has_cases and not dry_run:
                with db.import_transaction(engine) as conn:
                    _store(conn, result.rows, report, write=True)
            elif has_cases:
                with engine.connect() as conn:
                    _store(conn, result.rows, report, write=False)
            else:
                report.imported += len(result.rows)
    except (MappingError, SourceError):
        raise
    except (UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
        raise SourceError(f"{path}: cannot read: {exc}") from None


def _store(conn, rows: list[dict], report: ImportReport, *, write: bool) -> None:
    stored = db.existing_cases(conn, [r["code"] for r in rows], CASE_COLUMNS)
    changed = []
    for row in rows:
        old = stored.get(row["code"])
        if old is None:
            report.imported += 1
            changed.append(row)
        elif _same(old, row):
            report.unchanged += 1
        else:
            report.updated += 1
            changed.append(row)
    if write and changed:
        db.upsert_cases(conn, changed)


__all__ = ["ImportReport", "SourceError", "run_import"]
