"""The scoped-query entry point: the one place where a Scope becomes SQL.

Like a DAO's base filter, it keeps a table's rows inside the scope by default:

- ``in_scope(scope, table)``: the condition, for the table's registered region column;
- ``select_in(scope, table, *columns)``: a select with that condition already applied;
- ``in_scope_param(key, table)`` with ``scope_params(scope)``: the same condition with the region as
  bound parameters, for statements built once and cached (``key = params_key(scope)``);
- ``in_scope_or_above(scope, table)`` and ``visible_code``: the scope plus the regions above it up to
  the root, whose names a breadcrumb or a title may show (never their rows).

A row belongs to region R when its code starts with R's code (contract.md), written as a code range
so that a B-tree index serves it. Cases with a NULL grid code (未定位) count only at the deployment's
root; on a roll-up database (a root above the county) in the county they came from (the cases
view's ``home_code``) and above. A table without a registered region column is read joined to one that has one, or by the
engine (named ``engine_*``); ``tests/test_scope_entry.py`` keeps every query function to this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import String, and_, bindparam, func, literal_column, or_, select
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.selectable import Alias

from .scope import CHILD_LENGTH, COUNTY_LENGTH, Scope, validate_code
from .sqlfuncs import no_index


@dataclass(frozen=True)
class RegionColumn:
    """The column of a table that carries the region code of its rows."""

    name: str
    unlocated_at_root: bool = False  # a NULL code belongs to the root (cases without a grid)
    home: str | None = None  # on a roll-up database, the column naming the county a NULL-code row came from


REGION_COLUMNS: dict[str, RegionColumn] = {
    "cases": RegionColumn("grid_code", unlocated_at_root=True, home="home_code"),
    "grids": RegionColumn("code"),
    "regions": RegionColumn("code"),
    "staff": RegionColumn("grid_code"),
    "orgs": RegionColumn("region_code"),
    "alerts": RegionColumn("region_code"),
    "gw_forecasts": RegionColumn("region_code"),
    "gw_hotspots": RegionColumn("grid_code"),
    "gw_commitments": RegionColumn("region_code"),
    "gw_packs": RegionColumn("region_code"),
    "gw_alert_dispositions": RegionColumn("region_code"),
    "gw_walls": RegionColumn("region_code"),
    "gw_audit": RegionColumn("region_code", unlocated_at_root=True),  # NULL: a root user's or the system's row
}


def _upper_bound(code: str) -> str | None:
    """The smallest code of the same length after every code with this prefix, or None."""
    nxt = str(int(code) + 1)
    return nxt.zfill(len(code)) if len(nxt) <= len(code) else None


def _prefix(column, code: str) -> ColumnElement[bool]:
    """``column`` starts with ``code``, as a range."""
    upper = _upper_bound(code)
    cond = column >= code
    return and_(cond, column < upper) if upper is not None else cond


def _region_column(table) -> tuple[Any, RegionColumn]:
    """(the region column of ``table``, its rule); ``table`` is a model, a Table or an alias of one."""
    from_ = getattr(table, "__table__", table)
    base = from_
    while isinstance(base, Alias):
        base = base.element
    spec = REGION_COLUMNS.get(getattr(base, "name", None))
    if spec is None:
        raise LookupError(f"no region column registered for table {getattr(base, 'name', base)!r}")
    return from_.c[spec.name], spec


def home_column(table, spec: RegionColumn) -> ColumnClause:
    """The roll-up view's column naming the county a row came from (not a contract column: only the
    roll-up database's views have it)."""
    return ColumnClause(spec.home, String(), _selectable=getattr(table, "__table__", table))


def in_scope(scope: Scope, table, *, index: bool = True) -> ColumnElement[bool]:
    """The rows of ``table`` inside ``scope`` (cases with a NULL grid code too, at the root).

    ``index=False`` keeps SQLite from driving the statement by the region column's index (see
    ``sqlfuncs.no_index``): for statements whose time windows select far fewer rows than the region.
    """
    column, spec = _region_column(table)
    col = column if index else no_index(column)
    inside = _prefix(col, scope.region)
    if spec.unlocated_at_root and scope.rollup and spec.home:
        if scope.includes_unlocated:
            return or_(inside, and_(col.is_(None), _prefix(home_column(table, spec), scope.region)))
        return inside
    if spec.unlocated_at_root and scope.is_root:
        return or_(inside, col.is_(None))
    return inside


def select_in(scope: Scope, table, *columns, index: bool = True) -> Select:
    """``SELECT columns`` (default: every column of ``table``) of the rows of ``table`` inside ``scope``."""
    from_ = getattr(table, "__table__", table)
    return select(*(columns or (from_,))).where(in_scope(scope, from_, index=index))


def child_key(scope: Scope, table, column=None, *, literal_length: bool = False):
    """The code of the scope's child a row falls in (the first n characters of its region column),
    or None below the grid level. On a roll-up database above the county, a case with a NULL grid
    code falls in the child holding the county it came from. ``literal_length`` writes n as a literal
    so that the same expression may appear in SELECT, GROUP BY and GROUPING."""
    n = CHILD_LENGTH.get(len(scope.region))
    if n is None:
        return None
    col, spec = _region_column(table)
    col = col if column is None else column
    one, length = (literal_column("1"), literal_column(str(n))) if literal_length else (1, n)
    key = func.substr(col, one, length)
    if scope.rollup and spec.home and n <= COUNTY_LENGTH:
        key = func.coalesce(key, func.substr(home_column(table, spec), one, length))
    return key


# --- the same filter with the region as bound parameters ---------------------------------------

_LO = bindparam("gw_lo", type_=String())
_HI = bindparam("gw_hi", type_=String())


class ParamsKey(NamedTuple):
    """What a statement built by ``in_scope_param`` depends on besides its parameters."""

    bounded: bool  # the region's code range has an upper end (not 99..9)
    root: bool  # the scope is the root (cases with a NULL grid code count)
    home: bool = False  # roll-up database, county or above: NULL-grid cases count by their home county


def params_key(scope: Scope) -> ParamsKey:
    home = scope.rollup and scope.includes_unlocated
    return ParamsKey(_upper_bound(scope.region) is not None, scope.is_root, home)


def scope_params(scope: Scope) -> dict[str, Any]:
    """The bound parameters of ``in_scope_param`` for ``scope``."""
    upper = _upper_bound(scope.region)
    return {"gw_lo": scope.region, **({"gw_hi": upper} if upper is not None else {})}


def in_scope_param(key: ParamsKey, table, *, index: bool = True) -> ColumnElement[bool]:
    """``in_scope`` with the region as the parameters ``scope_params`` gives, for a cached statement
    (building a statement anew costs about as much as PostgreSQL takes to run it)."""
    column, spec = _region_column(table)
    col = column if index else no_index(column)
    inside = _param_range(col, key)
    if spec.unlocated_at_root and key.home and spec.home:
        return or_(inside, and_(col.is_(None), _param_range(home_column(table, spec), key)))
    if spec.unlocated_at_root and key.root:
        return or_(inside, col.is_(None))
    return inside


def _param_range(col, key: ParamsKey) -> ColumnElement[bool]:
    return and_(col >= _LO, col < _HI) if key.bounded else col >= _LO


# --- names above the scope ---------------------------------------------------------------------

def above(scope: Scope) -> list[str]:
    """The codes of the regions above the scope's region up to the root (root first)."""
    region, root = scope.region, scope.root
    return [region[:n] for n in (2, 4, 6, 9, 12) if len(root) <= n < len(region)]


def visible_code(scope: Scope, code: str) -> str:
    """``code`` when it lies in the scope or is a region above it up to the root; else ScopeError."""
    validate_code(code)
    if code in above(scope):
        return code
    return scope.narrow(code).region


def in_scope_or_above(scope: Scope, table) -> ColumnElement[bool]:
    """The rows of ``table`` inside ``scope``, and those of the regions above it up to the root (for
    their names: a breadcrumb, the county's name on the wall)."""
    cond = in_scope(scope, table)
    ups = above(scope)
    if not ups:
        return cond
    column, _ = _region_column(table)
    return or_(cond, column.in_(ups))

