"""Authentication and the user's scope (placeholder: auth off only; the auth work replaces the internals).

Public surface used by the app factory, callbacks and API:
- ``init_auth(server, settings, enabled)``: installs login requirement and routes on the Flask server.
- ``current_scope()``: the Scope of the user of the current request, from the server session.
"""

from __future__ import annotations

from flask import Flask, current_app

from data_access.db import get_engine
from data_access.regions import find_root
from data_access.scope import Scope


def deployment_root() -> str:
    """The root region of this deployment, resolved once per app."""
    cfg = current_app.config
    root = cfg.get("GRIDWALL_ROOT_CODE")
    if root is None:
        with get_engine(cfg["GRIDWALL_DATABASE_URL"]).connect() as conn:
            root = find_root(conn, cfg.get("GRIDWALL_ROOT"))
        cfg["GRIDWALL_ROOT_CODE"] = root
    return root


def init_auth(server: Flask, settings, enabled: bool) -> None:
    server.config["GRIDWALL_AUTH_ENABLED"] = enabled


def current_scope() -> Scope:
    root = deployment_root()
    return Scope(region=root, root=root)
