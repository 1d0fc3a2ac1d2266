"""The scope of an operator at the command line (``gridwall report``): whoever holds the database URL
and runs gridwall's commands on the server acts for the whole deployment, narrowed to the region the
command names. Made here, beside the users' scopes, so that every Scope still comes from identity."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from data_access.regions import find_root
from data_access.scope import Scope


def operator_scope(conn: Connection, configured_root: str | None, region: str | None) -> Scope:
    """The deployment's root scope narrowed to ``region``. Raises NoRoot (no root region in the
    database), BadRegionCode (malformed) or ScopeError (outside the root)."""
    root = find_root(conn, configured_root)
    return Scope(region=root, root=root).narrow(region)
