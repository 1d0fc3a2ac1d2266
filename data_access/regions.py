"""Regions and grids: names, the drill-down tree, the deployment root."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .models import Grid, Region
from .scope import REGION_CODE, Scope
from .scoped import in_scope_or_above, select_in, visible_code

r = Region.__table__.c
g = Grid.__table__.c


class NoRoot(LookupError):
    """The database holds no single county to serve as the root region."""


def find_root(conn: Connection, configured: str | None = None) -> str:
    """The deployment's root region: the configured one, else the single county in the database."""
    if configured:
        return configured
    counties = [code for (code,) in conn.execute(
        select(r.code).where(r.level == "county", func.length(r.code) == 6).order_by(r.code))]
    if len(counties) == 1:
        return counties[0]
    if not counties:
        cities = [code for (code,) in conn.execute(select(r.code).where(r.level == "city"))]
        if len(cities) == 1:
            return cities[0]
        raise NoRoot("no county in table regions: set GRIDWALL_ROOT or run `gridwall seed`")
    raise NoRoot(f"{len(counties)} counties in table regions ({', '.join(counties[:5])} ...): set GRIDWALL_ROOT")


def region_name(conn: Connection, scope: Scope, code: str) -> str | None:
    """The name of a region or grid inside the scope, or of a region above it up to the root (the
    county's name on a street's wall); None when unknown. ScopeError for any other code."""
    target = visible_code(scope, code)
    table, col = (Grid.__table__, g) if len(target) == 15 else (Region.__table__, r)
    row = conn.execute(select(col.code, col.name).select_from(table)
                       .where(col.code == target, in_scope_or_above(scope, table))).first()
    if row is None:
        return None
    return row.name or row.code  # a NULL name (a bad row) still names an existing region


def region_path(conn: Connection, scope: Scope, code: str) -> list[tuple[str, str]]:
    """(code, name) from the scope's root down to ``code``, for the breadcrumb."""
    target = scope.narrow(code).region
    prefixes = [target[:n] for n in (2, 4, 6, 9, 12, 15) if n <= len(target) and len(target[:n]) >= len(scope.root)]
    names = {code: name for code, name in conn.execute(
        select(r.code, r.name).where(r.code.in_(prefixes), in_scope_or_above(scope, Region)))}
    if len(target) == 15:
        names.update(conn.execute(select_in(scope, Grid, g.code, g.name).where(g.code == target)).all())
    return [(p, names.get(p) or p) for p in prefixes if p.startswith(scope.root)]


def _children_of(conn: Connection, scope: Scope, code: str) -> list[dict]:
    """The child regions (or grids, below a community) of ``code`` that lie in the scope, by code."""
    if len(code) == 12:
        stmt = select_in(scope, Grid, g.code, g.name).where(g.community_code == code).order_by(g.code)
    elif len(code) == 15:
        return []
    else:
        stmt = select_in(scope, Region, r.code, r.name).where(r.parent_code == code).order_by(r.code)
    return [{"code": c, "name": n or c} for c, n in conn.execute(stmt) if c and REGION_CODE.fullmatch(c)]


def children(conn: Connection, scope: Scope) -> list[dict]:
    """The child regions (or grids, below a community) of the scope's region, by code."""
    return _children_of(conn, scope, scope.region)


def rotation_streets(conn: Connection, scope: Scope) -> list[str]:
    """The codes ``?rotate=`` cycles through: the root's children (a county's streets) inside the
    scope: all of them for a root scope, a street scope's own street, none below a street."""
    return [row["code"] for row in _children_of(conn, scope, scope.root)]
