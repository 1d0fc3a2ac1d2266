"""One chunk of the file (strings) to contract case rows, with the rows skipped and the values cleared.

Pure pandas/numpy; no database. The rules, in the order they are applied:

**Skipped rows** (the first reason that applies; ``skipped`` in the report):

| reason | when |
|---|---|
| ``missing_code`` | the case code is empty |
| ``missing_opened`` | the report time is empty |
| ``unparseable_opened`` | the report time is not a timestamp |
| ``opened_in_future`` | reported later than now + ``future_days`` |
| ``unparseable_closed`` | a close time is given but is not a timestamp (importing it as open would invent a backlog) |
| ``closed_in_future`` | closed later than now + ``future_days`` |
| ``closed_without_date`` | the status is closed/rejected/merged but there is no close time |
| ``closed_before_opened`` | the close time is before the report time |
| ``duplicate_in_file`` | a valid row with the same code came earlier in the file (the first one is imported) |

**Cleared values** (the row is imported without them; ``cleared`` in the report, by field):

| field | when |
|---|---|
| ``location`` | lon/lat unparseable, out of range or (0, 0); a placeholder point (``location.placeholders``); a point outside every area when the mapping has polygons |
| ``resolve_due_at`` | unparseable; before the report time; more than ``max_due_days`` after it ("years out") |
| ``accept_due_at``, ``dispatch_due_at``, ``accepted_at``, ``dispatched_at`` | unparseable or before the report time |
| ``closed_at`` | given while the file's status is an open one (the status wins); the fallback columns of a ``closed_at`` list (a last-update time) are read only for a closed case without the first, so they are never cleared |
| ``status`` | a status value not in ``[values.status]`` (the status is then derived from the close time) |
| ``satisfaction`` | not in ``[values.satisfaction]`` and not a whole number 1-5 |
| ``district`` | a district value the mapping does not know, on a case without a usable point |
| ``category`` | the category's name was lost to the overflow code of a full major (categories.py) |

**Derived values**: status, when the file has none (or an unknown one): ``closed`` with a close
time, else ``defaults.open_status``. ``accepted_at`` = ``reported_at`` unless a column gives it or
``defaults.accepted_at = "none"`` (rejected cases: NULL). ``resolve_due_at`` from the category's
``resolve_hours`` with ``categories.due_from_category`` when the file has no due value.
``updated_at`` = the latest of the row's report, acceptance, dispatch and close times (so a
re-import of the same file writes the same row). Source and urgency values not in the value tables
take ``[defaults]``. Escalations, returns, reworks and urges are 0: an export has no flow log.
Timestamps without an offset are local times in ``timezone`` (an ambiguous hour at the end of
daylight saving time is taken as the first; a missing one is shifted forward); a date without a time
of day gets ``date_only_time``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .categories import CategoryBook
from .coords import to_wgs84
from .geography import Geography
from .mapping import FINAL_STATUSES, Column, Mapping

UTC = timezone.utc

SKIP_REASONS = ("missing_code", "missing_opened", "unparseable_opened", "opened_in_future", "unparseable_closed",
                "closed_in_future", "closed_without_date", "closed_before_opened", "duplicate_in_file")
NULL_TOKENS = {"null", "none", "nan", "nat", "n/a", "na", "-", "--"}
OFFSET_RE = r"(?:[zZ]|[+-]\d{2}:?\d{2})$"
DATE_ONLY_RE = r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$"
CHINESE_DATE_RE = r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*"

# the columns written to ``cases`` (all but id), in this order
CASE_COLUMNS = ("code", "title", "description", "category_code", "source", "urgency", "reported_at", "lon", "lat",
                "grid_code", "address", "reporter_staff_id", "status", "level", "handler_org_id", "accept_due_at",
                "dispatch_due_at", "resolve_due_at", "accepted_at", "dispatched_at", "closed_at", "escalations",
                "returns", "reworks", "urges", "satisfaction", "merged_into", "updated_at")


@dataclass
class ChunkResult:
    rows: list[dict]
    skipped: Counter = field(default_factory=Counter)
    cleared: Counter = field(default_factory=Counter)


def column(df: pd.DataFrame, spec: Column | None) -> pd.Series:
    """The file's value for a mapped column: one column, or several joined with " / " (blanks left out)."""
    if spec is None:
        return pd.Series("", index=df.index, dtype=object)
    if isinstance(spec, str):
        return df[spec].astype(str)
    parts = [df[c].astype(str) for c in spec]
    joined = parts[0]
    for part in parts[1:]:
        joined = np.where((joined != "") & (part != ""), joined + " / " + part, joined + part)
        joined = pd.Series(joined, index=df.index, dtype=object)
    return joined


def first_given(df: pd.DataFrame, spec: Column | None) -> pd.Series:
    """A time column's value: one column, or the first non-blank of several (a fallback, e.g. the close
    time, else the last update), never a join: joined times would not parse."""
    if spec is None or isinstance(spec, str):
        return column(df, spec)
    out = _blank_nulls(df[spec[0]].astype(str))
    for c in spec[1:]:
        out = out.where(out != "", _blank_nulls(df[c].astype(str)))
    return out


def _split_fallback(spec: Column | None) -> tuple[Column | None, Column | None]:
    """A time column list as (its first column, the rest or None)."""
    if spec is None or isinstance(spec, str):
        return spec, None
    return spec[0], (list(spec[1:]) or None)


def _times_or_none(df: pd.DataFrame, spec: Column | None, m: Mapping) -> tuple[pd.Series, pd.Series]:
    """parse_times of a time column, or all NaT (and nothing unparseable) when the mapping has none."""
    if spec is None:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]"), pd.Series(False, index=df.index)
    return parse_times(first_given(df, spec), m)


def _blank_nulls(s: pd.Series) -> pd.Series:
    return s.where(~s.str.lower().isin(NULL_TOKENS), "")


def parse_times(raw: pd.Series, m: Mapping) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps with NaT, mask of present but unparseable values)."""
    raw = _blank_nulls(raw)
    present = raw != ""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if not present.any():
        return out, present
    if m.datetime_format is None:  # "2023年5月1日 8:03", as Chinese platforms write it
        raw = raw.str.replace(CHINESE_DATE_RE, r"\1-\2-\3 ", regex=True).str.strip()
    fmt = m.datetime_format or "ISO8601"
    has_offset = present & raw.str.contains(OFFSET_RE, regex=True)
    if has_offset.any():
        out[has_offset] = _to_datetime(raw[has_offset], fmt, utc=True)
    naive = present & ~has_offset
    if naive.any():
        values = _to_datetime(raw[naive], fmt, utc=False)
        date_only = raw[naive].str.match(DATE_ONLY_RE)
        if date_only.any():
            hh, mm = (int(x) for x in m.date_only_time.split(":"))
            values = values.where(~date_only, values + pd.Timedelta(hours=hh, minutes=mm))
        local = values.dt.tz_localize(m.tz, ambiguous=np.ones(len(values), dtype=bool), nonexistent="shift_forward")
        out[naive] = local.dt.tz_convert("UTC")
    return out, present & out.isna()


def _to_datetime(values: pd.Series, fmt: str, utc: bool) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", format=fmt, utc=utc)
    failed = parsed.isna()
    if failed.any() and fmt == "ISO8601":  # other layouts ("07/01/2011 8:30 AM"), element by element
        retry = pd.to_datetime(values[failed], errors="coerce", format="mixed", utc=utc)
        parsed = parsed.copy()
        parsed[failed] = retry
    if utc:
        return parsed
    if getattr(parsed.dt, "tz", None) is not None:  # pragma: no cover - "mixed" found an offset after all
        parsed = parsed.dt.tz_convert(None)
    return parsed


def _lookup(values: pd.Series, table: dict) -> pd.Series:
    """Each value through ``table`` (exact, then ignoring case); None when absent."""
    if not table:
        return pd.Series(None, index=values.index, dtype=object)
    folded = {str(k).strip().casefold(): v for k, v in table.items()}
    exact = values.map(table)
    return exact.where(exact.notna(), values.str.casefold().map(folded)).astype(object).where(lambda s: s.notna(), None)


def _pydatetimes(s: pd.Series) -> list:
    """Naive UTC datetimes (the contract's storage rule; UTCDateTime binds them as UTC), None for NaT."""
    return s.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(object).tolist()


class RowMapper:
    """Maps chunks one after the other; remembers the codes seen (duplicates across chunks)."""

    def __init__(self, m: Mapping, geo: Geography, book: CategoryBook, now: datetime | None = None):
        self.m, self.geo, self.book = m, geo, book
        now = now or datetime.now(UTC)
        self.future = pd.Timestamp(now).tz_convert("UTC") + pd.Timedelta(days=m.future_days)
        self.seen: set[str] = set()
        placeholders = m.location.placeholders
        self.placeholders = np.array([[p.lon, p.lat] for p in placeholders], dtype=float).reshape(-1, 2)

    def category_pairs(self, df: pd.DataFrame) -> set[tuple[str, str]]:
        """The (category value, group value) pairs of a chunk (for CategoryBook.plan)."""
        cats = column(df, self.m.columns.category)
        groups = column(df, self.m.columns.category_group)
        return set(zip(cats.tolist(), groups.tolist()))

    def map(self, df: pd.DataFrame) -> ChunkResult:
        m, cols = self.m, self.m.columns
        df = df.reset_index(drop=True)
        n = len(df)
        result = ChunkResult(rows=[])
        reason = pd.Series("", index=df.index, dtype=object)

        def skip(mask: pd.Series, why: str) -> None:
            hit = mask & (reason == "")
            reason[hit] = why

        code = m.code_prefix + column(df, cols.code)
        skip(column(df, cols.code) == "", "missing_code")
        rep_raw = _blank_nulls(first_given(df, cols.reported_at))
        reported, rep_bad = parse_times(rep_raw, m)
        skip(rep_raw == "", "missing_opened")
        skip(rep_bad, "unparseable_opened")
        skip(reported > self.future, "opened_in_future")
        # The close time is the first column of closed_at; the others (a last-update time) stand in only
        # for a closed case without it: on an open case they are not a close time at all.
        primary, fallback = _split_fallback(cols.closed_at)
        closed, closed_bad = _times_or_none(df, primary, m)
        late, late_bad = _times_or_none(df, fallback, m)

        cleared = Counter()
        status_raw = column(df, cols.status)
        status = _lookup(status_raw, m.values.status)
        unknown_status = (status_raw != "") & status.isna()
        derived = pd.Series(np.where(closed.notna(), "closed", m.defaults.open_status), index=df.index, dtype=object)
        status = status.where(status.notna(), derived)
        is_final = status.isin(FINAL_STATUSES)
        stand_in = is_final & closed.isna() & ~closed_bad
        closed = closed.where(~stand_in, late)
        skip(closed_bad | (stand_in & late_bad), "unparseable_closed")
        skip(closed > self.future, "closed_in_future")
        stale_close = ~is_final & closed.notna()
        closed = closed.where(~stale_close)
        skip(is_final & closed.isna(), "closed_without_date")
        skip(closed.notna() & (closed < reported), "closed_before_opened")

        ok = reason == ""
        # duplicates among the valid rows: the first one (in this chunk or an earlier one) wins
        dup = ok & (code.duplicated(keep="first") | code.isin(self.seen))
        skip(dup, "duplicate_in_file")
        ok = reason == ""
        result.skipped.update(reason[~ok].tolist())
        if not ok.any():
            return result
        self.seen.update(code[ok].tolist())

        v = ok.to_numpy()
        sub = df[v].reset_index(drop=True)
        code, reported, closed = code[v].reset_index(drop=True), reported[v].reset_index(drop=True), closed[v].reset_index(drop=True)
        status = status[v].reset_index(drop=True)
        cleared["closed_at"] += int(stale_close[v].sum())
        cleared["status"] += int(unknown_status[v].sum())

        # deadlines and flow times
        times = {}
        for name in ("resolve_due_at", "accept_due_at", "dispatch_due_at", "accepted_at", "dispatched_at"):
            spec = getattr(cols, name)
            if spec is None:
                times[name] = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns, UTC]")
                continue
            raw = _blank_nulls(first_given(sub, spec))
            value, bad = parse_times(raw, m)
            absurd = value.notna() & (value < reported)
            if name == "resolve_due_at":
                absurd |= value.notna() & (value > reported + pd.Timedelta(days=m.max_due_days))
            cleared[name] += int((bad | absurd).sum())
            times[name] = value.where(~absurd)
            if name == "resolve_due_at":
                times["_due_given"] = raw != ""

        # categories
        cat_values = column(sub, cols.category)
        groups = column(sub, cols.category_group)
        codes = [self.book.code(c, g) for c, g in zip(cat_values.tolist(), groups.tolist())]
        category = pd.Series(codes, index=sub.index, dtype=object)
        if self.book.overflow:
            cleared["category"] += int(category.isin(self.book.overflow).sum())

        due = times["resolve_due_at"]
        if m.categories.due_from_category:
            hours = category.map(lambda c: self.book.resolve_hours(c)).astype(float)
            given = times.get("_due_given", pd.Series(False, index=sub.index))
            fill = due.isna() & ~given & hours.notna()
            due = due.where(~fill, reported + pd.to_timedelta(hours.fillna(0), unit="h"))

        accepted = times["accepted_at"]
        if cols.accepted_at is None and m.defaults.accepted_at == "reported_at":
            accepted = reported.copy()
        accepted = accepted.where(status != "rejected")

        # place
        grid = pd.Series(None, index=sub.index, dtype=object)
        lon = pd.Series(np.nan, index=sub.index)
        lat = pd.Series(np.nan, index=sub.index)
        if cols.lon:
            lon_raw, lat_raw = _blank_nulls(sub[cols.lon].astype(str)), _blank_nulls(sub[cols.lat].astype(str))
            lon = pd.to_numeric(lon_raw, errors="coerce")
            lat = pd.to_numeric(lat_raw, errors="coerce")
            given = (lon_raw != "") | (lat_raw != "")
            usable = lon.notna() & lat.notna() & lon.between(-180, 180) & lat.between(-90, 90) & ~((lon == 0) & (lat == 0))
            if len(self.placeholders):
                usable &= ~self._placeholder(lon, lat)
            cleared["location"] += int((given & ~usable).sum())
            lon, lat = lon.where(usable), lat.where(usable)
            if m.location.crs != "wgs84" and usable.any():
                wl, wa = to_wgs84(lon[usable].to_numpy(), lat[usable].to_numpy(), m.location.crs)
                lon[usable], lat[usable] = wl, wa
            if self.geo.can_locate_points and usable.any():
                idx = np.flatnonzero(usable.to_numpy())
                found = self.geo.locate(lon.to_numpy()[idx], lat.to_numpy()[idx])
                grid.iloc[idx] = found
                outside = usable & grid.isna()
                cleared["location"] += int(outside.sum())
                lon, lat = lon.where(~outside), lat.where(~outside)
            lon, lat = lon.round(6), lat.round(6)
        if cols.district:
            dvalues = column(sub, cols.district)
            need = grid.isna()
            if need.any():
                districts = self.geo.district_of(dvalues[need].tolist())
                dgrid = [self.geo.district_grid.get(d) if d else None for d in districts]
                if cols.area:  # the community and grid by name, else the district's own grid
                    named = self.geo.named_grid_of(districts, column(sub, cols.area)[need].tolist(),
                                                   column(sub, cols.grid)[need].tolist())
                    dgrid = [n or d for n, d in zip(named, dgrid)]
                grid[need] = dgrid
                unknown_district = [bool(val) and d is None for val, d in zip(dvalues[need].tolist(), districts)]
                cleared["district"] += int(sum(unknown_district))

        # values
        source = _lookup(column(sub, cols.source), m.values.source).fillna(m.defaults.source) if cols.source \
            else pd.Series(m.defaults.source, index=sub.index, dtype=object)
        urgency = _lookup(column(sub, cols.urgency), m.values.urgency).fillna(m.defaults.urgency) if cols.urgency \
            else pd.Series(m.defaults.urgency, index=sub.index, dtype=object)
        satisfaction = pd.Series(None, index=sub.index, dtype=object)
        if cols.satisfaction:
            raw = column(sub, cols.satisfaction)
            mapped = _lookup(raw, m.values.satisfaction)
            numeric = pd.to_numeric(raw, errors="coerce")
            numeric = numeric.where(numeric.isin([1, 2, 3, 4, 5]))
            value = mapped.where(mapped.notna(), numeric)
            value = value.where(value.notna(), None)
            cleared["satisfaction"] += int(((raw != "") & value.isna()).sum())
            satisfaction = value

        def text(spec) -> list:
            return [v or None for v in column(sub, spec).tolist()]

        title = [t or c or None for t, c in zip(column(sub, cols.title).tolist(), cat_values.tolist())]

        updated = pd.concat([reported, accepted, times["dispatched_at"], closed], axis=1).max(axis=1)

        data = {
            "code": code.tolist(),
            "title": title,
            "description": text(cols.description),
            "category_code": category.tolist(),
            "source": [str(v) for v in source.tolist()],
            "urgency": [str(v) for v in urgency.tolist()],
            "reported_at": _pydatetimes(reported),
            "lon": [None if pd.isna(x) else float(x) for x in lon],
            "lat": [None if pd.isna(x) else float(x) for x in lat],
            "grid_code": [g if isinstance(g, str) else None for g in grid.tolist()],
            "address": text(cols.address),
            "status": status.tolist(),
            "level": [m.defaults.level] * len(sub),
            "accept_due_at": _pydatetimes(times["accept_due_at"]),
            "dispatch_due_at": _pydatetimes(times["dispatch_due_at"]),
            "resolve_due_at": _pydatetimes(due),
            "accepted_at": _pydatetimes(accepted),
            "dispatched_at": _pydatetimes(times["dispatched_at"]),
            "closed_at": _pydatetimes(closed),
            "satisfaction": [None if v is None or pd.isna(v) else int(v) for v in satisfaction],
            "updated_at": _pydatetimes(updated),
        }
        constants = {"reporter_staff_id": None, "handler_org_id": None, "escalations": 0, "returns": 0,
                     "reworks": 0, "urges": 0, "merged_into": None}
        rows = []
        for i in range(len(sub)):
            row = {name: (data[name][i] if name in data else constants[name]) for name in CASE_COLUMNS}
            rows.append(row)
        result.rows = rows
        result.cleared = Counter({k: v for k, v in cleared.items() if v})
        assert len(rows) + sum(result.skipped.values()) == n
        return result

    def _placeholder(self, lon: pd.Series, lat: pd.Series) -> pd.Series:
        radius = max(self.m.location.placeholder_radius_m, 0.5)
        hit = pd.Series(False, index=lon.index)
        for plon, plat in self.placeholders:
            dy = (lat - plat) * 111_320.0
            dx = (lon - plon) * 111_320.0 * np.cos(np.radians(plat))
            hit |= (dx * dx + dy * dy) <= radius * radius
        return hit.fillna(False)
