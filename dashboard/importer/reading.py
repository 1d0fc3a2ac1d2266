"""Reading a case export in chunks: CSV (optionally gzipped) through pandas, XLSX through openpyxl.

Every cell comes out as a stripped string ("" when empty), so the mapping logic sees one kind of
value whatever the file format: XLSX numbers that are whole become integers ("101000295613", not
"101000295613.0"), XLSX dates become ISO text ("2011-07-01 08:30:00"; a date cell at midnight whose
format shows no time becomes "2011-07-01", a date without a time of day). Memory stays bounded by
``chunk_rows`` for CSV; openpyxl's read-only mode streams XLSX rows too. openpyxl is slow (it parses
every cell of a row, wanted or not), so an import reads a workbook once, into a temporary CSV of the
mapped columns (``xlsx_to_csv``), and makes its two passes over that.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterator

import pandas as pd

from .mapping import FileSpec, MappingError


def file_format(path: Path, spec: FileSpec) -> str:
    if spec.format:
        return spec.format
    name = path.name.lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    return "csv"


def header(path: Path, spec: FileSpec) -> list[str]:
    """The file's column names."""
    if file_format(path, spec) == "xlsx":
        wb = _open_xlsx(path)
        try:
            ws = _sheet(wb, spec)
            for row in ws.iter_rows(min_row=spec.header_row, max_row=spec.header_row, values_only=True):
                return [_text(v) for v in row]
            return []
        finally:
            wb.close()
    frame = pd.read_csv(path, dtype=str, nrows=0, encoding=spec.encoding, sep=spec.delimiter,
                        skiprows=spec.header_row - 1)
    return [str(c).strip() for c in frame.columns]


def read_chunks(path: Path, spec: FileSpec, columns: list[str], chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of at most ``chunk_rows`` rows holding ``columns`` as stripped strings."""
    rows = chunk_rows or spec.chunk_rows
    if file_format(path, spec) == "xlsx":
        yield from _xlsx_chunks(path, spec, columns, rows)
        return
    reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding=spec.encoding,
                         sep=spec.delimiter, usecols=lambda c: str(c).strip() in columns, chunksize=rows,
                         skiprows=spec.header_row - 1)
    for frame in reader:
        frame.columns = [str(c).strip() for c in frame.columns]
        yield frame.apply(lambda s: s.str.strip())


def _open_xlsx(path: Path):
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise MappingError("reading .xlsx needs openpyxl (pip install openpyxl)") from exc
    return load_workbook(path, read_only=True, data_only=True)


def _sheet(wb, spec: FileSpec):
    if spec.sheet is None:
        return wb.worksheets[0]
    if spec.sheet not in wb.sheetnames:
        raise MappingError(f"file.sheet: no sheet {spec.sheet!r} (sheets: {', '.join(wb.sheetnames)})")
    return wb[spec.sheet]


def _text(value, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and number_format is not None and "h" not in number_format.lower():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value).strip()


def _xlsx_chunks(path: Path, spec: FileSpec, columns: list[str], rows: int) -> Iterator[pd.DataFrame]:
    wb = _open_xlsx(path)
    try:
        ws = _sheet(wb, spec)
        it = ws.iter_rows(min_row=spec.header_row)
        head = next(it, None)
        if head is None:
            return
        names = [_text(c.value) for c in head]
        keep = [(i, n) for i, n in enumerate(names) if n in columns]
        buffer: list[list[str]] = []
        for row in it:
            cells = list(row)
            values = []
            for i, _ in keep:
                cell = cells[i] if i < len(cells) else None
                values.append(_text(getattr(cell, "value", None), getattr(cell, "number_format", None)))
            if any(getattr(c, "value", None) not in (None, "") for c in cells):  # blank rows are not rows
                buffer.append(values)
            if len(buffer) >= rows:
                yield pd.DataFrame(buffer, columns=[n for _, n in keep], dtype=str)
                buffer = []
        if buffer:
            yield pd.DataFrame(buffer, columns=[n for _, n in keep], dtype=str)
    finally:
        wb.close()


def xlsx_to_csv(path: Path, spec: FileSpec, columns: list[str], out: Path) -> Path:
    """The workbook's ``columns`` as a UTF-8 CSV at ``out`` (cells as ``read_chunks`` gives them)."""
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        wrote_header = False
        for frame in _xlsx_chunks(path, spec, columns, spec.chunk_rows):
            if not wrote_header:
                writer.writerow(list(frame.columns))
                wrote_header = True
            writer.writerows(frame.itertuples(index=False, name=None))
        if not wrote_header:
            writer.writerow([c for c in header(path, spec) if c in columns])
    return out
