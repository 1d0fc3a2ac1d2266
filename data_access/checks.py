"""Introspection and data checks of a platform database against the contract (``gridwall check-db``).

This module holds every query of the check; ``dashboard/checkdb.py`` words the results and decides
their severity. Each data check is one aggregate query (a COUNT plus at most five example keys)
so that it stays cheap on a million cases; only the GeoJSON check reads rows, and only the small
``regions`` and ``grids`` tables.

A check declares the columns it reads (``Check.needs``); the caller skips a check whose columns
are missing, runs each check on its own connection and catches its errors, so one failing check
never stops the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import (Boolean, DateTime, Engine, Float, Integer, Numeric, String, and_, cast, exists, func,
                        inspect, not_, or_, select, text)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from .models import CONTRACT_TABLES, GW_TABLES, Case, Category, Grid, Region, Staff
from .scope import Scope
from .scoped import in_scope

UTC = timezone.utc
EXAMPLES = 5
# Clock skew between the platform's servers and ours is not a defect.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Exact COUNT(*) above this (PostgreSQL's own estimate) is slow and pointless for a report.
EXACT_COUNT_LIMIT = 5_000_000

CONTRACT_TABLE_NAMES = tuple(m.__tablename__ for m in CONTRACT_TABLES)
GW_TABLE_NAMES = tuple(m.__tablename__ for m in GW_TABLES)
MODEL_TABLES = {m.__tablename__: m.__table__ for m in CONTRACT_TABLES}
_ALL_TABLES = {m.__tablename__: m.__table__ for m in CONTRACT_TABLES + GW_TABLES}

# Columns the figures, the drill-down and the alert engine read or write: without one of them
# gridwall cannot run. Every other contract column is optional (a feature degrades without it).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": ("code", "name", "level", "parent_code"),
    "grids": ("code", "community_code", "name"),
    "orgs": ("id", "name"),
    "staff": ("id", "role", "grid_code", "active"),
    "staff_shifts": ("staff_id", "starts_at", "ends_at"),
    "staff_pings": ("staff_id", "ts"),
    "categories": ("code", "name"),
    "cases": ("id", "code", "title", "category_code", "source", "reported_at", "grid_code", "status",
              "level", "accept_due_at", "dispatch_due_at", "resolve_due_at", "accepted_at",
              "dispatched_at", "closed_at", "escalations", "satisfaction"),
    "case_actions": ("case_id", "ts", "action"),
    # gridwall inserts and updates its alerts: it needs every column.
    "alerts": tuple(col.name for col in MODEL_TABLES["alerts"].columns),
}

# Indexes the figures rely on; (table, column) -> the statement that adds one.
RECOMMENDED_INDEXES: tuple[tuple[str, str], ...] = (
    ("cases", "grid_code"),
    ("cases", "reported_at"),
    ("cases", "closed_at"),
    ("cases", "resolve_due_at"),
)
# Composite (and partial) indexes of data_access/models.py the figures and the review rely on
# (data_access/figures.py, review.py): recommended when no index starts with their columns, with the model's own
# CREATE INDEX statement. `gridwall init-db` creates them with a new table, never on an existing one.
RECOMMENDED_MODEL_INDEXES: tuple[str, ...] = (
    "ix_cases_dispatched_at_grid", "ix_cases_open_late", "ix_case_actions_action_ts", "ix_staff_pings_ts_staff",
)

# The contract's closed vocabularies.
CASE_STATUSES = ("reported", "accepted", "dispatched", "handling", "verifying", "closed", "rejected", "merged")
TERMINAL_STATUSES = ("closed", "rejected", "merged")
OPEN_STATUSES = tuple(s for s in CASE_STATUSES if s not in TERMINAL_STATUSES)
ALLOWED_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("cases", "status"): CASE_STATUSES,
    ("cases", "source"): ("patrol", "hotline", "resident", "video", "sensor", "department", "superior", "other"),
    ("cases", "urgency"): ("normal", "urgent", "critical"),
    ("cases", "level"): ("grid", "community", "street", "county"),
    ("regions", "level"): ("city", "county", "street", "community"),
    ("grids", "kind"): ("basic", "special"),
    ("orgs", "kind"): ("center", "street", "community", "department"),
    ("staff", "role"): ("grid_worker", "grid_leader", "handler", "dispatcher"),
    ("case_actions", "action"): ("report", "accept", "reject", "dispatch", "sign", "escalate", "return", "urge",
                                 "extend", "handle", "verify", "rework", "close", "merge", "reopen", "comment"),
    ("alerts", "kind"): ("spike", "cluster", "repeat", "sla", "staffing", "underreport", "sensitive", "stale",
                         "external"),
    ("alerts", "severity"): ("info", "warning", "critical"),
    ("alerts", "status"): ("new", "acknowledged", "resolved", "dismissed"),
}
TIERS = ("U", "A", "B", "C", "D")
REGION_CODE_LENGTH = {"city": 4, "county": 6, "street": 9, "community": 12}

# Code formats: (table, column) -> allowed lengths (all digits).
CODE_FORMATS: dict[tuple[str, str], tuple[int, ...]] = {
    ("regions", "code"): (2, 4, 6, 9, 12),
    ("regions", "parent_code"): (4, 6, 9),
    ("grids", "code"): (15,),
    ("grids", "community_code"): (12,),
    ("categories", "code"): (2, 4),
    ("cases", "grid_code"): (15,),
    ("staff", "grid_code"): (15,),
    ("orgs", "region_code"): (4, 6, 9, 12),
}

# Keys that identify a row; duplicates are looked for where the database does not forbid them.
UNIQUE_KEYS: tuple[tuple[str, str], ...] = (
    ("regions", "code"), ("grids", "code"), ("categories", "code"), ("orgs", "id"), ("staff", "id"),
    ("cases", "id"), ("cases", "code"), ("alerts", "dedup_key"),
)

# How a row is named in examples.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "regions": ("code",), "grids": ("code",), "orgs": ("id",), "staff": ("id",), "staff_shifts": ("id",),
    "staff_pings": ("staff_id", "ts"), "categories": ("code",), "cases": ("code",), "case_actions": ("id",),
    "alerts": ("id",),
}

# Timestamps that can never lie in the future (rosters and deadlines can).
PAST_TIMESTAMPS: tuple[tuple[str, str], ...] = (
    ("cases", "reported_at"), ("cases", "accepted_at"), ("cases", "dispatched_at"), ("cases", "closed_at"),
    ("cases", "updated_at"), ("case_actions", "ts"), ("staff_pings", "ts"),
)

# Longitude/latitude box around China (with the South China Sea), for "is this WGS-84 lon/lat?".
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """What one check found: ``count`` rows (or values) and up to five ``examples``."""

    id: str
    subject: str
    count: int | None  # None for findings about the schema, not about rows
    examples: tuple[str, ...] = ()
    note: str | None = None


@dataclass
class Schema:
    """What the database holds, as the SQLAlchemy inspector sees it (tables and views alike)."""

    dialect: str
    relations: dict[str, str] = field(default_factory=dict)  # name -> "table" | "view"
    columns: dict[str, dict[str, TypeEngine]] = field(default_factory=dict)
    unique: dict[str, set[str]] = field(default_factory=dict)  # single columns the database keeps unique
    index_leads: dict[str, set[str]] = field(default_factory=dict)  # leading columns of indexes and the PK
    index_columns: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # every index's columns
    errors: dict[str, str] = field(default_factory=dict)  # table -> why it could not be introspected

    def has(self, table: str, column: str | None = None) -> bool:
        if table not in self.columns:
            return False
        return column is None or column in self.columns[table]

    def missing(self, needs: tuple[str, ...]) -> list[str]:
        """The entries of ``needs`` ("table" or "table.column") that the database lacks."""
        out = []
        for need in needs:
            table, _, column = need.partition(".")
            if not self.has(table, column or None):
                out.append(need)
        return out


@dataclass(frozen=True)
class Context:
    schema: Schema
    now: datetime
    root: str | None


@dataclass(frozen=True)
class Check:
    """One data check: ``run`` returns the problems found (an empty list when the data is clean)."""

    id: str
    subject: str
    needs: tuple[str, ...]
    run: Callable[[Connection, Context], list[Problem]]


# --- introspection ---------------------------------------------------------------------------

def read_schema(engine: Engine) -> Schema:
    """Tables, views, columns, unique keys and indexes of the contract and ``gw_*`` tables."""
    insp = inspect(engine)
    schema = Schema(dialect=engine.dialect.name)
    for name in insp.get_table_names():
        schema.relations[name] = "table"
    for getter in ("get_view_names", "get_materialized_view_names"):
        try:
            names = getattr(insp, getter)()
        except (NotImplementedError, AttributeError):
            continue
        for name in names:
            schema.relations.setdefault(name, "view")
    for name in CONTRACT_TABLE_NAMES:
        if name not in schema.relations:
            continue
        try:
            schema.columns[name] = {col["name"].lower(): col["type"] for col in insp.get_columns(name)}
        except Exception as exc:  # noqa: BLE001 - a broken view must not stop the report
            schema.errors[name] = short_error(exc)
            continue
        schema.unique[name], schema.index_leads[name], schema.index_columns[name] = _keys_and_indexes(insp, name)
    return schema


def _keys_and_indexes(insp, name: str) -> tuple[set[str], set[str], list[tuple[str, ...]]]:
    unique: set[str] = set()
    leads: set[str] = set()
    columns: list[tuple[str, ...]] = []
    try:
        pk = insp.get_pk_constraint(name).get("constrained_columns") or []
        if pk:
            leads.add(pk[0])
            if len(pk) == 1:
                unique.add(pk[0])
        for uc in insp.get_unique_constraints(name):
            cols = uc.get("column_names") or []
            if len(cols) == 1:
                unique.add(cols[0])
        for ix in insp.get_indexes(name):
            cols = [c for c in ix.get("column_names") or [] if c]
            if not cols:
                continue
            leads.add(cols[0])
            columns.append(tuple(c.lower() for c in cols))
            if ix.get("unique") and len(cols) == 1:
                unique.add(cols[0])
    except Exception:  # noqa: BLE001 - views have none, some dialects raise: report without them
        pass
    return {c.lower() for c in unique}, {c.lower() for c in leads}, columns


def _family(type_: TypeEngine) -> str | None:
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance if hasattr(type_, "impl_instance") else type_.impl
    if isinstance(type_, NullType):
        return None
    if isinstance(type_, DateTime):
        return "timestamp"
    if isinstance(type_, Boolean):
        return "boolean"
    if isinstance(type_, (Integer, Numeric, Float)):
        return "number"
    if isinstance(type_, String):
        return "text"
    return type(type_).__name__.lower()


def type_mismatches(schema: Schema) -> list[Problem]:
    """Columns whose type family differs from the contract's, and (PostgreSQL) naive timestamps.

    SQLite columns have affinities, not types: nothing to compare there.
    """
    if schema.dialect == "sqlite":
        return []
    out = []
    for table, columns in schema.columns.items():
        model = MODEL_TABLES[table]
        for col in model.columns:
            actual = columns.get(col.name)
            if actual is None:
                continue
            want, got = _family(col.type), _family(actual)
            if got is None or want is None:
                continue
            if want != got:
                out.append(Problem("type-mismatch", f"{table}.{col.name}", None,
                                   (f"is {actual}, contract: {want}",)))
            elif want == "timestamp" and schema.dialect == "postgresql" and not getattr(actual, "timezone", True):
                out.append(Problem("naive-timestamp", f"{table}.{col.name}", None, (f"is {actual}",)))
    return out


def missing_indexes(schema: Schema) -> list[Problem]:
    """Recommended indexes that are absent, each with the CREATE INDEX statement that adds it."""
    out = []
    for table, column in RECOMMENDED_INDEXES:
        if not schema.has(table, column):
            continue
        if schema.relations.get(table) == "view":
            out.append(Problem("index-on-view", f"{table}.{column}", None,
                               (f"{table} is a view: index {column} on its base table",)))
        elif column not in schema.index_leads.get(table, set()):
            out.append(Problem("missing-index", f"{table}.{column}", None,
                               (f"CREATE INDEX ix_{table}_{column} ON {table} ({column});",)))
    out += _missing_model_indexes(schema)
    return out


def _missing_model_indexes(schema: Schema) -> list[Problem]:
    """``RECOMMENDED_MODEL_INDEXES`` that no index of the table starts like, each with its statement
    (CONCURRENTLY on PostgreSQL: a live platform database keeps taking writes while it builds)."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex

    dialect = postgresql.dialect() if schema.dialect == "postgresql" else sqlite.dialect()
    wanted = {ix.name: ix for t in MODEL_TABLES.values() for ix in t.indexes if ix.name in RECOMMENDED_MODEL_INDEXES}
    out = []
    for name in RECOMMENDED_MODEL_INDEXES:
        ix = wanted[name]
        table, cols = ix.table.name, tuple(c.name for c in ix.columns)
        if not all(schema.has(table, col) for col in cols) or schema.relations.get(table) == "view":
            continue
        if any(have[:len(cols)] == cols for have in schema.index_columns.get(table, [])):
            continue
        statement = " ".join(str(CreateIndex(ix).compile(dialect=dialect)).split())
        if schema.dialect == "postgresql":
            statement = statement.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        out.append(Problem("missing-index", f"{table}.{name}", None, (statement + ";",)))
    return out


# --- counts and ranges -----------------------------------------------------------------------

def row_count(conn: Connection, table: str, dialect: str) -> tuple[int, bool]:
    """(rows, exact). On PostgreSQL a huge table is reported by the planner's estimate."""
    if dialect == "postgresql":
        estimate = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t) AND relkind IN ('r', 'p', 'm')"),
            {"t": table}).scalar()
        if estimate is not None and estimate > EXACT_COUNT_LIMIT:
            return int(estimate), False
    n = conn.execute(select(func.count()).select_from(_ALL_TABLES[table])).scalar_one()
    return int(n), True


def case_time_range(conn: Connection) -> tuple[datetime | None, datetime | None]:
    """First and last ``reported_at`` (two queries: SQLite answers each from the index)."""
    c = Case.__table__.c
    first = conn.execute(select(func.min(c.reported_at))).scalar()
    last = conn.execute(select(func.max(c.reported_at))).scalar()
    return _as_datetime(first), _as_datetime(last)


def region_label(conn: Connection, code: str) -> str | None:
    r = Region.__table__.c
    return conn.execute(select(r.name).where(r.code == code).limit(1)).scalar()


def alerts_writable(conn: Connection) -> bool | None:
    """Whether the role may INSERT and UPDATE ``alerts`` (PostgreSQL); None where not knowable."""
    if conn.dialect.name != "postgresql":
        return None
    return bool(conn.execute(text(
        "SELECT has_table_privilege(to_regclass('alerts'), 'INSERT')"
        " AND has_table_privilege(to_regclass('alerts'), 'UPDATE')")).scalar())


# --- SQL helpers -----------------------------------------------------------------------------

class digits_only(FunctionElement):
    """A text value made of ASCII digits only (and not empty)."""

    type = Boolean()
    inherit_cache = True
    name = "digits_only"


@compiles(digits_only)
def _digits_default(element, compiler, **kw):
    return "(%s ~ '^[0-9]+$')" % compiler.process(element.clauses, **kw)


@compiles(digits_only, "sqlite")
def _digits_sqlite(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"({arg} <> '' AND {arg} NOT GLOB '*[^0-9]*')"


def _table(name: str):
    return MODEL_TABLES[name]


def _col(table: str, column: str):
    return MODEL_TABLES[table].c[column]


def _as_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from what MIN/MAX hand back (a view on SQLite may give text)."""
    if value is not None and not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _fmt(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value.tzinfo else value.isoformat(" ")
    return str(value)


def short_error(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = msg[0] if msg else type(exc).__name__
    return first[:200]


def _rows_where(conn: Connection, table: str, cond, *, key: tuple[str, ...] | None = None) -> tuple[int, list[str]]:
    """COUNT of the rows matching ``cond`` and the keys of the first few."""
    t = _table(table)
    n = conn.execute(select(func.count()).select_from(t).where(cond)).scalar_one()
    if not n:
        return 0, []
    key_cols = [t.c[k] for k in (key or ROW_KEYS[table])]
    rows = conn.execute(select(*key_cols).where(cond).order_by(*key_cols).limit(EXAMPLES)).all()
    return int(n), [" @ ".join(_fmt(v) for v in row) for row in rows]


def _values_where(conn: Connection, table: str, column: str, cond) -> tuple[int, list[str]]:
    """COUNT of the rows matching ``cond`` and the commonest offending values, each with an example row."""
    t = _table(table)
    col = t.c[column]
    n = conn.execute(select(func.count()).select_from(t).where(cond)).scalar_one()
    if not n:
        return 0, []
    key = t.c[ROW_KEYS[table][0]]
    rows = conn.execute(
        select(col, func.count().label("n"), func.min(key)).where(cond).group_by(col)
        .order_by(func.count().desc(), col).limit(EXAMPLES)).all()
    examples = [f"{_fmt(v) if v is None else repr(v)} ×{k} (first: {_fmt(first)})" for v, k, first in rows]
    return int(n), examples


def _problem(check_id: str, subject: str, found: tuple[int, list[str]], note: str | None = None) -> list[Problem]:
    n, examples = found
    return [Problem(check_id, subject, n, tuple(examples), note)] if n else []


# --- the data checks -------------------------------------------------------------------------

r = Region.__table__.c
g = Grid.__table__.c
c = Case.__table__.c
cat = Category.__table__.c
s = Staff.__table__.c


def _orphan_grids(conn, ctx):
    cond = or_(g.community_code.is_(None), ~exists().where(r.code == g.community_code))
    return _problem("orphan-grid", "grids.community_code", _rows_where(conn, "grids", cond))


def _grid_code_mismatch(conn, ctx):
    cond = and_(g.community_code.is_not(None), func.substr(g.code, 1, 12) != g.community_code)
    return _problem("grid-code-mismatch", "grids.code", _rows_where(conn, "grids", cond))


def _region_parent_missing(conn, ctx):
    parent = Region.__table__.alias("parent")
    cond = and_(r.parent_code.is_not(None), ~exists().where(parent.c.code == r.parent_code))
    return _problem("region-parent-missing", "regions.parent_code", _rows_where(conn, "regions", cond))


def _region_parent_not_prefix(conn, ctx):
    cond = and_(r.parent_code.is_not(None), func.substr(r.code, 1, func.length(r.parent_code)) != r.parent_code)
    return _problem("region-parent-not-prefix", "regions.parent_code", _rows_where(conn, "regions", cond))


def _region_level_mismatch(conn, ctx):
    cond = or_(*(and_(r.level == level, func.length(r.code) != n) for level, n in REGION_CODE_LENGTH.items()))
    return _problem("region-level-mismatch", "regions.level", _rows_where(conn, "regions", cond, key=("code", "level")))


def _unknown_category(conn, ctx):
    cond = or_(c.category_code.is_(None), ~exists().where(cat.code == c.category_code))
    return _problem("unknown-category", "cases.category_code", _values_where(conn, "cases", "category_code", cond))


def _null_reported_at(conn, ctx):
    return _problem("null-reported-at", "cases.reported_at", _rows_where(conn, "cases", c.reported_at.is_(None)))


def _closed_before_reported(conn, ctx):
    cond = c.closed_at < c.reported_at
    return _problem("closed-before-reported", "cases.closed_at", _rows_where(conn, "cases", cond))


def _terminal_without_closed_at(conn, ctx):
    cond = and_(c.status.in_(TERMINAL_STATUSES), c.closed_at.is_(None))
    return _problem("terminal-without-closed-at", "cases.closed_at", _rows_where(conn, "cases", cond))


def _open_with_closed_at(conn, ctx):
    cond = and_(c.status.in_(OPEN_STATUSES), c.closed_at.is_not(None))
    return _problem("open-with-closed-at", "cases.closed_at", _rows_where(conn, "cases", cond))


def _open_without_due(conn, ctx):
    cond = and_(c.closed_at.is_(None), c.reported_at.is_not(None), c.resolve_due_at.is_(None))
    return _problem("open-without-due", "cases.resolve_due_at", _rows_where(conn, "cases", cond))


def _case_unknown_grid(conn, ctx):
    cond = and_(c.grid_code.is_not(None), ~exists().where(g.code == c.grid_code))
    return _problem("case-unknown-grid", "cases.grid_code", _values_where(conn, "cases", "grid_code", cond))


def _case_outside_root(conn, ctx):
    if ctx.root is None:
        return []
    cond = and_(c.grid_code.is_not(None), not_(in_scope(Scope.whole_deployment(ctx.root), Case)))
    return _problem("case-outside-root", "cases.grid_code", _values_where(conn, "cases", "grid_code", cond),
                    note=ctx.root)


def _case_outside_china(conn, ctx):
    cond = and_(c.lon.is_not(None), c.lat.is_not(None),
                or_(c.lon < CHINA_LON[0], c.lon > CHINA_LON[1], c.lat < CHINA_LAT[0], c.lat > CHINA_LAT[1]))
    return _problem("case-outside-china", "cases.lon/lat", _rows_where(conn, "cases", cond))


def _staff_unknown_grid(conn, ctx):
    cond = and_(s.grid_code.is_not(None), ~exists().where(g.code == s.grid_code))
    return _problem("staff-unknown-grid", "staff.grid_code", _rows_where(conn, "staff", cond, key=("id", "grid_code")))


def _worker_without_grid(conn, ctx):
    cond = and_(s.role == "grid_worker", s.active.is_(True), s.grid_code.is_(None))
    return _problem("worker-without-grid", "staff.grid_code", _rows_where(conn, "staff", cond))


def _category_incomplete(conn, ctx):
    cond = and_(func.length(cat.code) == 4, or_(
        cat.tier.is_(None), cat.tier.notin_(TIERS), cat.accept_minutes.is_(None),
        cat.dispatch_minutes.is_(None), cat.resolve_hours.is_(None)))
    return _problem("category-incomplete", "categories", _rows_where(conn, "categories", cond))


def _grids_without_boundary(conn, ctx):
    return _problem("grid-without-boundary", "grids.boundary", _rows_where(conn, "grids", g.boundary.is_(None)))


def _unknown_value(table: str, column: str, allowed: tuple[str, ...]):
    def run(conn, ctx):
        col = _col(table, column)
        cond = or_(col.is_(None), col.notin_(allowed))
        return _problem("unknown-value", f"{table}.{column}", _values_where(conn, table, column, cond))
    return run


def _future(table: str, column: str):
    def run(conn, ctx):
        cond = _col(table, column) > ctx.now + FUTURE_TOLERANCE
        key = ROW_KEYS[table] if table == "staff_pings" else ROW_KEYS[table] + (column,)
        return _problem("future-timestamp", f"{table}.{column}", _rows_where(conn, table, cond, key=key))
    return run


def _malformed(table: str, column: str, lengths: tuple[int, ...]):
    def run(conn, ctx):
        value = cast(_col(table, column), String)
        cond = and_(value.is_not(None), or_(not_(digits_only(value)), func.length(value).notin_(lengths)))
        key = ROW_KEYS[table] if ROW_KEYS[table] == (column,) else ROW_KEYS[table] + (column,)
        return _problem("malformed-code", f"{table}.{column}", _rows_where(conn, table, cond, key=key),
                        note="/".join(map(str, lengths)))
    return run


def _duplicates(table: str, column: str):
    def run(conn, ctx):
        if column in ctx.schema.unique.get(table, set()):
            return []  # the database forbids them
        col = _col(table, column)
        dup = select(col, func.count().label("n")).where(col.is_not(None)).group_by(col).having(func.count() > 1)
        n = conn.execute(select(func.count()).select_from(dup.subquery())).scalar_one()
        if not n:
            return []
        rows = conn.execute(dup.order_by(func.count().desc(), col).limit(EXAMPLES)).all()
        return [Problem("duplicate-key", f"{table}.{column}", int(n), tuple(f"{v!r} ×{k}" for v, k in rows))]
    return run


def _geojson(table: str):
    def run(conn, ctx):
        t = _table(table)
        found: dict[str, list[str]] = {}
        stmt = select(t.c.code, t.c.boundary).where(t.c.boundary.is_not(None)).order_by(t.c.code)
        for code, boundary in conn.execution_options(yield_per=500).execute(stmt):
            verdict = geojson_problem(boundary)
            if verdict is not None:
                kind, reason = verdict
                found.setdefault(kind, []).append(f"{code}: {reason}")
        order = ("geojson-json", "geojson-type", "geojson-invalid", "geojson-coords")
        return [Problem(kind, f"{table}.boundary", len(found[kind]), tuple(found[kind][:EXAMPLES]))
                for kind in order if kind in found]
    return run


def geojson_problem(value: Any) -> tuple[str, str] | None:
    """(kind, reason) of what is wrong with a boundary, or None when it is a valid lon/lat polygon.

    Kinds: ``geojson-json`` (not JSON), ``geojson-type`` (not a Polygon/MultiPolygon geometry),
    ``geojson-invalid`` (shapely says invalid: self-intersection, ...), ``geojson-coords`` (not
    longitude/latitude in China: projected, swapped or garbage coordinates). GCJ-02 offsets
    (a few hundred metres) cannot be told from the data alone.
    """
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            obj = json.loads(value)
        except ValueError as exc:
            return "geojson-json", f"not JSON ({exc})"[:120]
    else:
        obj = value  # PostgreSQL json/jsonb columns arrive parsed
    if not isinstance(obj, dict):
        return "geojson-type", f"a JSON {type(obj).__name__}, not a geometry object"
    kind = obj.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        hint = " (store the geometry, not the Feature)" if kind in ("Feature", "FeatureCollection") else ""
        return "geojson-type", f"type {kind!r}, expected Polygon or MultiPolygon{hint}"
    try:
        geom = shape(obj)
    except Exception as exc:  # noqa: BLE001 - shapely raises several kinds on malformed coordinates
        return "geojson-invalid", f"malformed coordinates ({short_error(exc)})"[:120]
    if geom.is_empty:
        return "geojson-invalid", "empty geometry"
    minx, miny, maxx, maxy = geom.bounds
    if not (CHINA_LON[0] <= minx and maxx <= CHINA_LON[1] and CHINA_LAT[0] <= miny and maxy <= CHINA_LAT[1]):
        if CHINA_LON[0] <= miny and maxy <= CHINA_LON[1] and CHINA_LAT[0] <= minx and maxx <= CHINA_LAT[1]:
            why = "longitude and latitude swapped?"
        elif minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            why = "outside lon/lat ranges: projected coordinates (metres)?"
        else:
            why = "not in China"
        return "geojson-coords", f"bounds {_bounds(geom)}: {why}"
    if not geom.is_valid:
        return "geojson-invalid", explain_validity(geom)
    return None


def _bounds(geom) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in geom.bounds) + ")"


def data_checks() -> list[Check]:
    """Every data check, in report order."""
    checks = [
        Check("orphan-grid", "grids.community_code", ("grids.code", "grids.community_code", "regions.code"),
              _orphan_grids),
        Check("grid-code-mismatch", "grids.code", ("grids.code", "grids.community_code"), _grid_code_mismatch),
        Check("region-parent-missing", "regions.parent_code", ("regions.code", "regions.parent_code"),
              _region_parent_missing),
        Check("region-parent-not-prefix", "regions.parent_code", ("regions.code", "regions.parent_code"),
              _region_parent_not_prefix),
        Check("region-level-mismatch", "regions.level", ("regions.code", "regions.level"), _region_level_mismatch),
        Check("geojson", "regions.boundary", ("regions.code", "regions.boundary"), _geojson("regions")),
        Check("geojson", "grids.boundary", ("grids.code", "grids.boundary"), _geojson("grids")),
        Check("grid-without-boundary", "grids.boundary", ("grids.code", "grids.boundary"), _grids_without_boundary),
        Check("unknown-category", "cases.category_code", ("cases.code", "cases.category_code", "categories.code"),
              _unknown_category),
        Check("null-reported-at", "cases.reported_at", ("cases.code", "cases.reported_at"), _null_reported_at),
        Check("closed-before-reported", "cases.closed_at", ("cases.code", "cases.closed_at", "cases.reported_at"),
              _closed_before_reported),
        Check("terminal-without-closed-at", "cases.closed_at", ("cases.code", "cases.status", "cases.closed_at"),
              _terminal_without_closed_at),
        Check("open-with-closed-at", "cases.closed_at", ("cases.code", "cases.status", "cases.closed_at"),
              _open_with_closed_at),
        Check("open-without-due", "cases.resolve_due_at",
              ("cases.code", "cases.closed_at", "cases.reported_at", "cases.resolve_due_at"), _open_without_due),
        Check("case-unknown-grid", "cases.grid_code", ("cases.code", "cases.grid_code", "grids.code"),
              _case_unknown_grid),
        Check("case-outside-root", "cases.grid_code", ("cases.code", "cases.grid_code"), _case_outside_root),
        Check("case-outside-china", "cases.lon/lat", ("cases.code", "cases.lon", "cases.lat"), _case_outside_china),
        Check("staff-unknown-grid", "staff.grid_code", ("staff.id", "staff.grid_code", "grids.code"),
              _staff_unknown_grid),
        Check("worker-without-grid", "staff.grid_code", ("staff.id", "staff.role", "staff.active", "staff.grid_code"),
              _worker_without_grid),
        Check("category-incomplete", "categories",
              ("categories.code", "categories.tier", "categories.accept_minutes", "categories.dispatch_minutes",
               "categories.resolve_hours"), _category_incomplete),
    ]
    for (table, column), allowed in ALLOWED_VALUES.items():
        checks.append(Check("unknown-value", f"{table}.{column}", (f"{table}.{ROW_KEYS[table][0]}", f"{table}.{column}"),
                            _unknown_value(table, column, allowed)))
    for table, column in PAST_TIMESTAMPS:
        needs = tuple(f"{table}.{k}" for k in ROW_KEYS[table]) + (f"{table}.{column}",)
        checks.append(Check("future-timestamp", f"{table}.{column}", needs, _future(table, column)))
    for (table, column), lengths in CODE_FORMATS.items():
        needs = tuple(f"{table}.{k}" for k in ROW_KEYS[table]) + (f"{table}.{column}",)
        checks.append(Check("malformed-code", f"{table}.{column}", needs, _malformed(table, column, lengths)))
    for table, column in UNIQUE_KEYS:
        checks.append(Check("duplicate-key", f"{table}.{column}", (f"{table}.{column}",), _duplicates(table, column)))
    return checks
