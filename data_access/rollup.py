"""Roll-up databases (contract 1.1): many counties' platform databases in one city or provincial
database, by PostgreSQL's own logical replication (interfaces.md, ``gridwall rollup ...``).

How it is laid out, and why:

- PostgreSQL's logical replication applies a published table to the subscriber's table of the
  **same schema and name**; it cannot rename. Ten counties' ``public.cases`` would all land in one
  ``public.cases`` and their ids (each county has its own sequences) would collide. So a county
  publishes from a schema named after it: ``publish`` moves the county's contract tables into
  ``gw_<county code>`` (with their indexes and sequences), points the database's ``search_path``
  there and leaves ``public.<table>`` views, so every program that reads or writes the county's
  tables by their old names goes on working.
- The roll-up database holds one schema per county (``gw_320585`` ...), each the subscription's
  target, and its own rows in ``gw_own`` (the province, city and county names of the bundled GB/T
  2260 list, the default categories, the alerts of its own cross-county detectors).
- ``public.<contract table>`` is a view: ``UNION ALL`` of the schemas. Every id (and every column
  naming one: case_id, staff_id, org ids, merged_into) becomes ``id * 1000 + slot``, the source's
  slot (1-999, 0 for ``gw_own``), so ids stay unique and every join stays within one county. Each
  county schema carries expression indexes on those mapped ids, so a join or a lookup by mapped id
  is an index scan per county. ``cases`` gains ``home_code``: the county a case came from, where a
  case with a NULL grid counts (contract 1.1).
- ``alerts`` is writable: INSTEAD OF triggers send the roll-up's own alerts to ``gw_own.alerts``;
  a county's alerts are that county's to acknowledge (error GWR01). At the roll-up their ``source``
  reads ``<source>@<county>`` and their ``dedup_key`` ``<county>:<key>``, so the roll-up's own
  engine never takes them for its own episodes.
- Each county updates ``gw_rollup_heartbeat`` every 10 s; replicated like any row, its ``beat_at`` is
  the moment up to which the roll-up has that county's data (``data_as_of``). A county whose beat is
  older than 60 s is stale.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from .models import CONTRACT_TABLES, GW_TABLES, Base

PUBLICATION = "gridwall_rollup"
HEARTBEAT = "gw_rollup_heartbeat"
OWN_SCHEMA = "gw_own"
SOURCES = "gw_rollup_sources"
SLOT_FACTOR = 1000  # mapped id = id * SLOT_FACTOR + slot
MAX_SLOT = SLOT_FACTOR - 1
COUNTY_REFUSED = "GWR01"  # SQLSTATE of a write to a county's alert at the roll-up
STALE_AFTER_SECONDS = 60.0

CONTRACT = [m.__table__ for m in CONTRACT_TABLES]
# The columns holding ids, per table: mapped to id * 1000 + slot in the views.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs": ("id",),
    "staff": ("id", "org_id"),
    "staff_shifts": ("id", "staff_id"),
    "staff_pings": ("staff_id",),
    "cases": ("id", "reporter_staff_id", "handler_org_id", "merged_into"),
    "case_actions": ("id", "case_id", "from_org_id", "to_org_id", "actor_staff_id"),
    "alerts": ("id",),
}
# Expression indexes on the mapped ids in each county schema (lookups and joins by id at the roll-up).
MAPPED_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "orgs": (("id",),),
    "staff": (("id",),),
    "staff_shifts": (("staff_id", "starts_at"),),
    "staff_pings": (("staff_id", "ts"),),
    "cases": (("id",),),
    "case_actions": (("case_id",),),
    "alerts": (("id",),),
}
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
COUNTY = re.compile(r"[0-9]{6}")


class RollupError(RuntimeError):
    """A roll-up step that cannot be done here; the message says why and what fixes it."""


def county_schema(county: str) -> str:
    if not COUNTY.fullmatch(county or ""):
        raise RollupError(f"a roll-up source must be a county (6 digits), not {county!r}")
    return f"gw_{county}"


def is_county_refusal(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == COUNTY_REFUSED


# --- what a server allows ------------------------------------------------------------------------

def _server_problems(conn: Connection, *, publishing: bool) -> list[str]:
    problems = []
    wal_level = conn.exec_driver_sql("SHOW wal_level").scalar()
    if publishing and wal_level != "logical":
        problems.append(
            f"wal_level is '{wal_level}' on this server; logical replication needs 'logical'. As a superuser: "
            "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (and keep max_replication_slots and "
            "max_wal_senders above the number of roll-ups that will subscribe)")
    if publishing:
        for setting in ("max_replication_slots", "max_wal_senders"):
            if int(conn.exec_driver_sql(f"SHOW {setting}").scalar() or 0) < 1:
                problems.append(f"{setting} is 0 on this server: ALTER SYSTEM SET {setting} = 10; then restart")
    role = conn.execute(text("SELECT rolname, rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user")).one()
    if publishing and not (role.rolsuper or role.rolreplication):
        problems.append(
            f"role {role.rolname} may not stream changes: as a superuser run ALTER ROLE {role.rolname} WITH REPLICATION "
            "(the roll-up connects as this role), or give the roll-up a role that has it")
    if not publishing and not role.rolsuper:
        has = conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_create_subscription') "
            "AND pg_has_role(current_user, 'pg_create_subscription', 'MEMBER')")).scalar()
        if not has:
            problems.append(
                f"role {role.rolname} may not create subscriptions: PostgreSQL 15 allows only superusers "
                f"(16 and later: GRANT pg_create_subscription TO {role.rolname}); run `gridwall rollup subscribe` "
                "with a superuser's GRIDWALL_DATABASE_URL")
    return problems


def _require(conn: Connection, *, publishing: bool) -> None:
    if conn.dialect.name != "postgresql":
        raise RollupError("roll-up needs PostgreSQL (logical replication); this database is "
                          f"{conn.dialect.name}")
    problems = _server_problems(conn, publishing=publishing)
    if problems:
        raise RollupError("; ".join(problems))


# --- the county side -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Published:
    county: str
    schema: str
    moved: list[str]
    tables: list[str]


def _table_schema(conn: Connection, name: str) -> str | None:
    """The schema where ``name`` resolves as a table for this session (None: no such table)."""
    return conn.execute(text(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(:n) AND c.relkind IN ('r', 'p')"), {"n": name}).scalar()


def _in_schema(conn: Connection, schema: str, name: str) -> bool:
    return conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relname = :t AND c.relkind IN ('r', 'p'))"), {"s": schema, "t": name}).scalar()


def publish(engine: Engine, county: str) -> Published:
    """Make this county database publishable (idempotent): its contract tables in ``gw_<county>``
    (moved there from wherever they are, with ``public`` views and the database's search_path so
    that nothing reading or writing them by name breaks), the heartbeat row, and the publication of
    exactly the contract's columns."""
    schema = county_schema(county)
    with engine.begin() as conn:
        _require(conn, publishing=True)
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        moved = []
        for table in CONTRACT:
            if _in_schema(conn, schema, table.name):
                continue
            where = _table_schema(conn, table.name)
            if where is None:
                raise RollupError(f"no table {table.name} here: run `gridwall init-db` (or have the DBA create the "
                                  "contract's tables; views cannot be published)")
            conn.exec_driver_sql(f'ALTER TABLE "{where}"."{table.name}" SET SCHEMA "{schema}"')
            moved.append(f"{where}.{table.name}")
        missing_pk = [t.name for t in CONTRACT if not conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass(:t) AND i.indisprimary)"),
            {"t": f'"{schema}"."{t.name}"'}).scalar()]
        if missing_pk:
            raise RollupError(f"tables without a primary key cannot replicate their updates: {', '.join(missing_pk)}")
        for table in CONTRACT:
            # Old names keep working for programs that name the schema; simple views are updatable.
            if not conn.execute(text("SELECT to_regclass(:n)"), {"n": f'public."{table.name}"'}).scalar():
                conn.exec_driver_sql(f'CREATE VIEW public."{table.name}" AS SELECT * FROM "{schema}"."{table.name}"')
        db = conn.exec_driver_sql("SELECT current_database()").scalar()
        conn.exec_driver_sql(f'ALTER DATABASE "{db}" SET search_path TO "{schema}", public')
        conn.exec_driver_sql(f'SET search_path TO "{schema}", public')
        conn.exec_driver_sql(
            f'CREATE TABLE IF NOT EXISTS "{schema}".{HEARTBEAT} (county_code varchar(6) PRIMARY KEY, '
            "beat_at timestamptz NOT NULL)")
        conn.execute(text(f'INSERT INTO "{schema}".{HEARTBEAT} VALUES (:c, now()) '
                          "ON CONFLICT (county_code) DO UPDATE SET beat_at = now()"), {"c": county})
        tables = [f'"{schema}"."{t.name}" ({", ".join(c.name for c in t.columns)})' for t in CONTRACT]
        tables.append(f'"{schema}".{HEARTBEAT}')
        exists = conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = :p)"),
                              {"p": PUBLICATION}).scalar()
        verb = f"ALTER PUBLICATION {PUBLICATION} SET TABLE" if exists else f"CREATE PUBLICATION {PUBLICATION} FOR TABLE"
        conn.exec_driver_sql(f"{verb} {', '.join(tables)}")
    # Pooled sessions still resolve the old names through public's views: new ones go to the tables.
    engine.dispose()
    return Published(county, schema, moved, [t.name for t in CONTRACT] + [HEARTBEAT])


def published_county(conn: Connection) -> str | None:
    """The county this database publishes as, or None (no publication here)."""
    schema = conn.execute(text(
        "SELECT schemaname FROM pg_publication_tables WHERE pubname = :p AND tablename = :t"),
        {"p": PUBLICATION, "t": HEARTBEAT}).scalar()
    return schema[3:] if schema else None


def beat(conn: Connection, county: str) -> datetime:
    """The county's heartbeat: 'my data is complete up to now' (every 10 s, by the worker's rollup duty)."""
    schema = county_schema(county)
    return conn.execute(text(
        f'INSERT INTO "{schema}".{HEARTBEAT} VALUES (:c, now()) '
        "ON CONFLICT (county_code) DO UPDATE SET beat_at = now() RETURNING beat_at"), {"c": county}).scalar()


# --- the roll-up side ----------------------------------------------------------------------------

_VIEW_WRITERS: dict[str, bool] = {}


def writes_through_view(conn: Connection) -> bool:
    """``alerts`` is the roll-up's view here (ON CONFLICT cannot be used on it); once per database."""
    key = conn.engine.url.render_as_string(hide_password=False)
    if key not in _VIEW_WRITERS:
        _VIEW_WRITERS[key] = conn.execute(text(
            "SELECT relkind = 'v' FROM pg_class WHERE oid = to_regclass('alerts')")).scalar() or False
    return _VIEW_WRITERS[key]


def is_rollup(conn: Connection) -> bool:
    """This database is a roll-up (``init_rollup`` made it)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"public.{SOURCES}"}).scalar())


def init_rollup(engine: Engine, root: str, regions: list[dict], categories: list[dict]) -> None:
    """Make this PostgreSQL database a roll-up rooted at ``root`` (a province or city code):
    ``gw_own`` with the contract tables, ``regions`` (the province, city and county names) and
    ``categories`` (the default tree), the sources table, gridwall's own tables and the views.
    Idempotent."""
    if len(root) not in (2, 4):
        raise RollupError(f"a roll-up's root is a province (2 digits) or a city (4 digits), not {root!r}")
    with engine.begin() as conn:
        if conn.dialect.name != "postgresql":
            raise RollupError("a roll-up database needs PostgreSQL (logical replication); "
                              f"GRIDWALL_DATABASE_URL is {conn.dialect.name}")
        for table in CONTRACT:
            kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"),
                                {"t": f'public."{table.name}"'}).scalar()
            if kind in ("r", "p") and conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM public."{table.name}")')).scalar():
                raise RollupError(f"public.{table.name} is a table with rows: a roll-up database starts empty "
                                  "(create a new database for the roll-up)")
            if kind in ("r", "p"):
                conn.exec_driver_sql(f'DROP TABLE public."{table.name}"')
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {OWN_SCHEMA}")
        _create_contract_tables(conn, OWN_SCHEMA)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS public.{SOURCES} (name text PRIMARY KEY, county_code varchar(6) NOT NULL UNIQUE, "
            "slot int NOT NULL UNIQUE CHECK (slot BETWEEN 1 AND 999), subscription text NOT NULL, "
            "slot_name text NOT NULL, source text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS public.gw_rollup_root (id int PRIMARY KEY CHECK (id = 1), code text NOT NULL)")
        conn.execute(text("INSERT INTO public.gw_rollup_root VALUES (1, :c) ON CONFLICT (id) DO UPDATE SET code = :c"),
                     {"c": root})
        for row in regions:
            conn.execute(text(
                f"INSERT INTO {OWN_SCHEMA}.regions (code, name, level, parent_code, boundary) "
                "VALUES (:code, :name, :level, :parent_code, :boundary) ON CONFLICT (code) DO UPDATE "
                "SET name = EXCLUDED.name, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code"), row)
        for row in categories:
            conn.execute(text(
                f"INSERT INTO {OWN_SCHEMA}.categories (code, parent_code, name, tier, accept_minutes, dispatch_minutes, "
                "resolve_hours, dept_type) VALUES (:code, :parent_code, :name, :tier, :accept_minutes, "
                ":dispatch_minutes, :resolve_hours, :dept_type) ON CONFLICT (code) DO NOTHING"), row)
        rebuild_views(conn)
    Base.metadata.create_all(engine, tables=[m.__table__ for m in GW_TABLES], checkfirst=True)


def _create_contract_tables(conn: Connection, schema: str) -> None:
    """The contract tables, with gridwall's indexes, in ``schema``."""
    schemed = conn.execution_options(schema_translate_map={None: schema})
    Base.metadata.create_all(schemed, tables=CONTRACT, checkfirst=True)


def _mapped_index_sql(schema: str, slot: int) -> list[str]:
    out = []
    for table, indexes in MAPPED_INDEXES.items():
        for cols in indexes:
            exprs = [f"(({c}::bigint * {SLOT_FACTOR}) + {slot})" if c in ID_COLUMNS[table] else c for c in cols]
            name = f"gwx_{table}_{'_'.join(cols)}"
            out.append(f'CREATE INDEX IF NOT EXISTS {name} ON "{schema}"."{table}" ({", ".join(exprs)})')
    return out


@dataclass(frozen=True)
class Source:
    name: str
    county: str
    slot: int
    subscription: str
    slot_name: str
    source: str

    @property
    def schema(self) -> str:
        return county_schema(self.county)


def sources(conn: Connection) -> list[Source]:
    if not is_rollup(conn):
        return []
    rows = conn.execute(text(f"SELECT name, county_code, slot, subscription, slot_name, source FROM public.{SOURCES} "
                             "ORDER BY slot")).all()
    return [Source(r.name, r.county_code, r.slot, r.subscription, r.slot_name, r.source) for r in rows]


def _branch(table, schema: str, slot: int, county: str | None) -> str:
    ids = ID_COLUMNS.get(table.name, ())
    cols = []
    for col in table.columns:
        name = col.name
        if name in ids:
            cols.append(f'({name}::bigint * {SLOT_FACTOR} + {slot}) AS {name}')
        elif table.name == "alerts" and county and name == "source":
            cols.append(f"(coalesce(source, '') || '@{county}') AS source")
        elif table.name == "alerts" and county and name == "dedup_key":
            cols.append(f"('{county}:' || dedup_key) AS dedup_key")
        else:
            cols.append(name)
    if table.name == "cases":
        cols.append(f"'{county}'::varchar(6) AS home_code" if county else "NULL::varchar(6) AS home_code")
    where = ""
    if table.name == "regions" and county:
        # The county's own streets and communities; the names above them are the bundled list's.
        where = f" WHERE starts_with(code, '{county}') AND length(code) > 6"
    return f'SELECT {", ".join(cols)} FROM "{schema}"."{table.name}"{where}'


def rebuild_views(conn: Connection) -> None:
    """(Re)create ``public.<contract table>`` over ``gw_own`` and every source's schema."""
    srcs = sources(conn)
    for table in CONTRACT:
        branches = [_branch(table, OWN_SCHEMA, 0, None)] + [_branch(table, s.schema, s.slot, s.county) for s in srcs]
        body = "\nUNION ALL\n".join(branches)
        if table.name == "categories":
            cols = ", ".join(c.name for c in table.columns)
            prio = [f"SELECT {cols}, 0 AS gw_prio FROM {OWN_SCHEMA}.categories"] + [
                f'SELECT {cols}, {s.slot} AS gw_prio FROM "{s.schema}".categories' for s in srcs]
            body = (f"SELECT DISTINCT ON (code) {cols} FROM ({' UNION ALL '.join(prio)}) u "
                    "ORDER BY code, gw_prio")
        conn.exec_driver_sql(f'DROP VIEW IF EXISTS public."{table.name}" CASCADE')
        conn.exec_driver_sql(f'CREATE VIEW public."{table.name}" AS {body}')
    _alert_triggers(conn)


def _alert_triggers(conn: Connection) -> None:
    cols = [c.name for c in CONTRACT[[t.name for t in CONTRACT].index("alerts")].columns if c.name != "id"]
    new = ", ".join(f"NEW.{c}" for c in cols)
    sets = ", ".join(f"{c} = NEW.{c}" for c in cols)
    conn.exec_driver_sql(f"""
CREATE OR REPLACE FUNCTION {OWN_SCHEMA}.alerts_write() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE new_id bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO {OWN_SCHEMA}.alerts ({", ".join(cols)}) VALUES ({new})
      ON CONFLICT (dedup_key) DO NOTHING RETURNING id INTO new_id;
    IF new_id IS NULL THEN RETURN NULL; END IF;
    NEW.id := new_id * {SLOT_FACTOR};
    RETURN NEW;
  END IF;
  IF mod(OLD.id, {SLOT_FACTOR}) <> 0 THEN
    RAISE EXCEPTION USING ERRCODE = '{COUNTY_REFUSED}',
      MESSAGE = 'alert ' || OLD.id || ' is a county''s (replicated): acknowledge or change it at that county''s center';
  END IF;
  IF TG_OP = 'UPDATE' THEN
    UPDATE {OWN_SCHEMA}.alerts SET {sets} WHERE id = OLD.id / {SLOT_FACTOR};
    RETURN NEW;
  END IF;
  DELETE FROM {OWN_SCHEMA}.alerts WHERE id = OLD.id / {SLOT_FACTOR};
  RETURN OLD;
END $f$""")
    conn.exec_driver_sql(
        f"CREATE TRIGGER alerts_write INSTEAD OF INSERT OR UPDATE OR DELETE ON public.alerts "
        f"FOR EACH ROW EXECUTE FUNCTION {OWN_SCHEMA}.alerts_write()")


def _source_engine(url: str) -> Engine:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return create_engine(u, connect_args={"connect_timeout": 5})


def libpq_uri(url: str) -> str:
    """The libpq form of a URL (what CREATE SUBSCRIPTION's CONNECTION takes)."""
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


def masked(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)


def inspect_source(url: str) -> str:
    """The county a source publishes as; RollupError (with the fix) when it cannot be subscribed to."""
    try:
        eng = _source_engine(url)
        with eng.connect() as conn:
            problems = _server_problems(conn, publishing=True)
            county = published_county(conn)
    except OperationalError as exc:
        raise RollupError(f"cannot reach the source {masked(url)}: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        try:
            eng.dispose()
        except Exception:  # noqa: BLE001 - nothing to dispose when the URL itself was bad
            pass
    if problems:
        raise RollupError(f"the source {masked(url)} cannot publish: " + "; ".join(problems))
    if county is None:
        raise RollupError(f"the source {masked(url)} has no publication {PUBLICATION}: run `gridwall rollup publish` "
                          "on the county's database first")
    return county


def subscribe(engine: Engine, name: str, source_url: str, *, county: str | None = None) -> Source:
    """Subscribe this roll-up to a county: its schema, tables and indexes, the subscription (which
    copies the existing rows, then streams), the views. ``county`` is read from the source."""
    if not NAME.fullmatch(name or ""):
        raise RollupError(f"a source name is lower-case letters, digits and _ (start with a letter): {name!r}")
    with engine.connect() as conn:
        if not is_rollup(conn):
            raise RollupError("this database is not a roll-up: set GRIDWALL_ROOT to the province (32) or a city "
                              "(e.g. 3205) and run `gridwall init-db` on a new PostgreSQL database first")
        _require(conn, publishing=False)
        root = conn.execute(text("SELECT code FROM public.gw_rollup_root")).scalar()
        taken = sources(conn)
    county = county or inspect_source(source_url)
    if not county.startswith(root):
        raise RollupError(f"the source publishes county {county}, outside this roll-up's root {root}")
    for s in taken:
        if s.name == name:
            raise RollupError(f"a source named {name} exists already (county {s.county})")
        if s.county == county:
            raise RollupError(f"county {county} is subscribed already, as {s.name}")
    with engine.begin() as conn:
        src = add_source(conn, name, county, masked(source_url))
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        dsn = libpq_uri(source_url).replace("'", "''")
        try:
            conn.exec_driver_sql(
                f"CREATE SUBSCRIPTION {src.subscription} CONNECTION '{dsn}' PUBLICATION {PUBLICATION} "
                f"WITH (slot_name = '{src.slot_name}', copy_data = true)")
        except DBAPIError as exc:
            with engine.begin() as undo:
                undo.execute(text(f"DELETE FROM public.{SOURCES} WHERE name = :n"), {"n": name})
                rebuild_views(undo)
                undo.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{src.schema}" CASCADE')
            raise RollupError(f"CREATE SUBSCRIPTION failed: {str(exc.orig).strip().splitlines()[0]}") from None
    return src


def add_source(conn: Connection, name: str, county: str, source: str) -> Source:
    """A county's place in the roll-up, without its subscription: the next free slot, its schema with
    the contract tables, gridwall's indexes and the mapped-id indexes, and the views' new branch.
    (``subscribe`` then points the subscription at it; bench/rollup_city.py fills it directly.)"""
    taken = sources(conn)
    slot = min(set(range(1, MAX_SLOT + 1)) - {s.slot for s in taken})
    schema = county_schema(county)
    db = conn.exec_driver_sql("SELECT current_database()").scalar()
    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    _create_contract_tables(conn, schema)
    conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{schema}".{HEARTBEAT} (county_code varchar(6) PRIMARY KEY, '
                         "beat_at timestamptz NOT NULL)")
    for sql in _mapped_index_sql(schema, slot):
        conn.exec_driver_sql(sql)
    subscription = f"gw_{name}"
    slot_name = f"gw_{name}_{re.sub(r'[^a-z0-9_]', '_', db.lower())[:20]}_{secrets.token_hex(3)}"
    conn.execute(text(f"INSERT INTO public.{SOURCES} (name, county_code, slot, subscription, slot_name, source) "
                      "VALUES (:n, :c, :s, :sub, :slot, :src)"),
                 {"n": name, "c": county, "s": slot, "sub": subscription, "slot": slot_name, "src": source})
    rebuild_views(conn)
    return Source(name, county, slot, subscription, slot_name, source)


def unsubscribe(engine: Engine, name: str) -> None:
    """Drop a source: its subscription (and its slot on the county, when the county answers), its
    schema and its branch of the views."""
    with engine.connect() as conn:
        src = next((s for s in sources(conn) if s.name == name), None)
    if src is None:
        raise RollupError(f"no source named {name}")
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = :s)"),
                        {"s": src.subscription}).scalar():
            conn.exec_driver_sql(f"ALTER SUBSCRIPTION {src.subscription} DISABLE")
            try:
                conn.exec_driver_sql("SET statement_timeout = '10s'")
                conn.exec_driver_sql(f"DROP SUBSCRIPTION {src.subscription}")
            except DBAPIError:
                # The county does not answer: drop here and leave its slot for its DBA to drop.
                conn.exec_driver_sql(f"ALTER SUBSCRIPTION {src.subscription} SET (slot_name = NONE)")
                conn.exec_driver_sql(f"DROP SUBSCRIPTION {src.subscription}")
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM public.{SOURCES} WHERE name = :n"), {"n": name})
        rebuild_views(conn)
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{src.schema}" CASCADE')


# --- freshness and status ------------------------------------------------------------------------

@dataclass(frozen=True)
class Freshness:
    county: str
    data_as_of: datetime | None  # the county's last heartbeat that reached the roll-up
    stale: bool


def freshness(conn: Connection, now: datetime | None = None,
              stale_after: float = STALE_AFTER_SECONDS) -> dict[str, Freshness]:
    """Each subscribed county's freshness, by county code ({} on a county's own database)."""
    srcs = sources(conn)
    if not srcs:
        return {}
    body = " UNION ALL ".join(
        f"SELECT '{s.county}' AS county, max(beat_at) AS beat_at FROM \"{s.schema}\".{HEARTBEAT}" for s in srcs)
    now = now or conn.execute(text("SELECT now()")).scalar()
    out = {}
    for county, beat_at in conn.execute(text(body)).all():
        stale = beat_at is None or (now - beat_at).total_seconds() > stale_after
        out[county] = Freshness(county, beat_at, stale)
    return out


def status(conn: Connection, stale_after: float = STALE_AFTER_SECONDS) -> list[dict[str, Any]]:
    """Each source: subscription state, replication lag (by heartbeat) and row counts."""
    out = []
    fresh = freshness(conn, stale_after=stale_after)
    now = conn.execute(text("SELECT now()")).scalar()
    for s in sources(conn):
        sub = conn.execute(text(
            "SELECT s.subenabled, st.pid, st.received_lsn, st.latest_end_lsn, st.last_msg_receipt_time, "
            "st.latest_end_time FROM pg_subscription s LEFT JOIN pg_stat_subscription st "
            "ON st.subid = s.oid AND st.relid IS NULL WHERE s.subname = :n"), {"n": s.subscription}).first()
        tables = conn.execute(text(
            "SELECT c.relname, r.srsubstate FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid "
            "JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = :n"), {"n": s.subscription}).all()
        syncing = sorted(name for name, state in tables if state != "r")
        counts = {t.name: int(conn.execute(text(f'SELECT count(*) FROM "{s.schema}"."{t.name}"')).scalar())
                  for t in CONTRACT}
        f = fresh.get(s.county)
        if sub is None:
            state = "missing"
        elif not sub.subenabled:
            state = "disabled"
        elif sub.pid is None:
            state = "down"  # no apply worker: the county is unreachable (it retries by itself)
        elif syncing:
            state = "copying"
        else:
            state = "streaming"
        lag = None if f is None or f.data_as_of is None else max(0.0, (now - f.data_as_of).total_seconds())
        out.append({
            "name": s.name, "county": s.county, "slot": s.slot, "source": s.source, "state": state,
            "stale": True if f is None else f.stale,
            "data_as_of": None if f is None or f.data_as_of is None else f.data_as_of.isoformat(),
            "lag_seconds": lag,
            "last_message_at": None if sub is None or sub.last_msg_receipt_time is None
            else sub.last_msg_receipt_time.isoformat(),
            "tables_copying": syncing, "rows": counts,
        })
    return out
