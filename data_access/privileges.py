"""Least privilege on PostgreSQL: the grants gridwall needs, and a check of what a role holds.

contract.md: gridwall only reads the platform tables, except ``alerts`` (it inserts its alerts and
updates their status); everything else it writes lives in ``gw_*``. ``grant_statements`` gives a
role exactly that (after revoking whatever it held on the schema's tables); ``check_privileges``
reports what the connected role lacks and what it holds beyond it. SQLite has no roles: both
answer nothing there.

Tables created later (a new ``gw_*`` table of a newer gridwall) need the grants run again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from .models import CONTRACT_TABLES, GW_TABLES, Alert

READ_ONLY_TABLES = tuple(m.__tablename__ for m in CONTRACT_TABLES if m is not Alert)
ALERTS = Alert.__tablename__
WRITE_PRIVILEGES = ("INSERT", "UPDATE")
FORBIDDEN_ON_PLATFORM = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")


@dataclass
class PrivilegeReport:
    role: str
    missing: list[str] = field(default_factory=list)  # gridwall cannot run without these
    excess: list[str] = field(default_factory=list)  # more than gridwall needs

    @property
    def ok(self) -> bool:
        return not self.missing

    def render(self) -> str:
        lines = [f"database role: {self.role}"]
        lines += [f"  missing: {m}" for m in self.missing] or ["  every privilege gridwall needs is granted"]
        lines += [f"  more than needed: {e}" for e in self.excess]
        return "\n".join(lines)


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _schema(conn: Connection) -> str:
    return conn.execute(text("SELECT current_schema()")).scalar_one()


def writable_tables(conn: Connection, schema: str) -> list[str]:
    """``alerts`` and every ``gw_*`` table present in the schema (gridwall's own and newer ones)."""
    names = set(inspect(conn).get_table_names(schema=schema))
    own = {m.__tablename__ for m in GW_TABLES} | {n for n in names if n.startswith("gw_")}
    return [t for t in [ALERTS, *sorted(own)] if t in names]


def _sequences(conn: Connection, schema: str, tables: list[str]) -> list[str]:
    """Sequences owned by ``tables`` (serial and identity columns)."""
    rows = conn.execute(text(
        "SELECT DISTINCT s.relname FROM pg_class s "
        "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
        "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE s.relkind = 'S' AND n.nspname = :schema AND t.relname = ANY(:tables) ORDER BY 1"
    ), {"schema": schema, "tables": tables})
    return [r[0] for r in rows]


def grant_statements(conn: Connection, role: str, schema: str | None = None) -> list[str]:
    """SQL giving ``role`` exactly gridwall's privileges on the schema (default: the current one)."""
    if not _is_postgres(conn):
        return []
    schema = schema or _schema(conn)
    q = conn.dialect.identifier_preparer.quote
    s, r = q(schema), q(role)
    present = set(inspect(conn).get_table_names(schema=schema))
    writable = writable_tables(conn, schema)
    stmts = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
    ]
    stmts += [f"GRANT SELECT ON {s}.{q(t)} TO {r}" for t in READ_ONLY_TABLES if t in present]
    for t in writable:
        privileges = "SELECT, INSERT, UPDATE" if t == ALERTS else "SELECT, INSERT, UPDATE, DELETE"
        stmts.append(f"GRANT {privileges} ON {s}.{q(t)} TO {r}")
    stmts += [f"GRANT USAGE, SELECT ON SEQUENCE {s}.{q(seq)} TO {r}" for seq in _sequences(conn, schema, writable)]
    return stmts


def apply_grants(conn: Connection, role: str, schema: str | None = None) -> list[str]:
    statements = grant_statements(conn, role, schema)
    for stmt in statements:
        conn.execute(text(stmt))
    return statements


def check_privileges(conn: Connection, schema: str | None = None) -> PrivilegeReport | None:
    """What the connected role lacks for gridwall, and what it holds beyond it (PostgreSQL only)."""
    if not _is_postgres(conn):
        return None
    schema = schema or _schema(conn)
    role = conn.execute(text("SELECT current_user")).scalar_one()
    report = PrivilegeReport(role=role)
    present = set(inspect(conn).get_table_names(schema=schema))
    q = conn.dialect.identifier_preparer.quote

    def has(table: str, privilege: str) -> bool:
        return bool(conn.execute(text("SELECT has_table_privilege(:t, :p)"),
                                 {"t": f"{q(schema)}.{q(table)}", "p": privilege}).scalar_one())

    for table in READ_ONLY_TABLES:
        if table not in present:
            continue
        if not has(table, "SELECT"):
            report.missing.append(f"SELECT on {table}")
        report.excess += [f"{p} on {table}" for p in FORBIDDEN_ON_PLATFORM if has(table, p)]
    for table in writable_tables(conn, schema):
        report.missing += [f"{p} on {table}" for p in ("SELECT", *WRITE_PRIVILEGES) if not has(table, p)]
    return report
