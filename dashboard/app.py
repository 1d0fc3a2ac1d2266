"""The Dash app factory: one Flask server with authentication, the HTTP API and several pages.

Each page is its own Dash app on the same server: the wall at ``/`` (with the live machinery), the
review page at ``/review`` and the operations page at ``/ops``. Not Dash Pages: its router renders the
whole page again on every change of ``location.search``, and the wall drills down by changing it.
The other pages share the wall's theme (wall.css) and their header (layouts/shell.py), and do not
load the wall's scripts (``PAGE_ASSETS_IGNORE``).

Everything the browser loads is served by this server (``serve_locally``; no CDN, fonts or map
tiles from outside): the wall runs on government intranets.
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import Flask, has_request_context, request

from callbacks.live.cache import init_cache
from dashboard.core.config import Settings, get_settings
from layouts.shell import OPS, PAGES, REVIEW, Page

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
TITLE = "网格化联动指挥中心"
# The live machinery and the wall's own clientside functions stay on the wall; pages.* off it.
PAGE_ASSETS_IGNORE = r"^(live\.js|live\.css|dash_adapter\.js|gridwall\.js|heartbeat\.js)$"
WALL_ASSETS_IGNORE = r"^pages\.(js|css)$"
DASH_APPS = "gridwall_dash_apps"  # server.extensions key: routes prefix -> Dash app

INDEX_STRING = """<!DOCTYPE html>
<html lang="zh-CN">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def _dash(server: Flask, **kw) -> Dash:
    return Dash(__name__, server=server, assets_folder=str(ASSETS_DIR), serve_locally=True, update_title=None,
                index_string=INDEX_STRING,
                meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}], **kw)


def _for_session_user(build):
    """A layout function: ``build(username, role)`` for the user of the request (Dash also calls it
    once without a request, to validate the layout)."""
    def layout():
        from dashboard.identity.auth import auth_enabled, current_user

        user = current_user() if has_request_context() and auth_enabled() else None
        return build(user.username if user else None, user.role if user else None)

    return layout


def _page_app(server: Flask, page: Page, build, register) -> Dash:
    app = _dash(server, url_base_pathname=page.path + "/", assets_ignore=PAGE_ASSETS_IGNORE,
                title=f"{page.label} · {TITLE}")
    app.layout = _for_session_user(build)
    register(app)
    # "/review" answers the page itself: a redirect to "/review/" would be one more round trip.
    server.add_url_rule(page.path, endpoint=f"{page.path.strip('/')}_index_no_slash", view_func=app.index)
    return app


def _page_roles() -> None:
    """Each page (with its callbacks and assets) only for its roles (``layouts.shell.PAGES``)."""
    from dashboard.identity.auth import require_role

    for page in PAGES:
        if page.roles is not None and (request.path == page.path or request.path.startswith(page.path + "/")):
            require_role(*page.roles)


def dash_apps(server: Flask) -> list[Dash]:
    """Every Dash app on the server, the wall last."""
    return list(server.extensions.get(DASH_APPS, {}).values())


def render_indexes(server: Flask) -> None:
    """Render every app's index page once, outside any request (dashboard/wsgi.py says why)."""
    for dash_app in dash_apps(server):
        with server.test_request_context(dash_app.config.routes_pathname_prefix):
            dash_app._setup_server()
            dash_app.index()


def create_app(settings: Settings | None = None, *, auth: bool = True) -> Dash:
    """The server with every page on it; returns the wall's Dash app (``.server`` is the Flask app)."""
    settings = settings or get_settings()
    server = Flask(__name__)
    server.config.update(
        GRIDWALL_DATABASE_URL=settings.effective_database_url,
        GRIDWALL_ROOT=settings.root,
        GRIDWALL_TIMEZONE=settings.timezone,
        GRIDWALL_REVIEW_SCORE=settings.review.score,
        GRIDWALL_PUBLIC_URL=settings.public_url.rstrip("/"),
        GRIDWALL_STAFFING_DETAIL=settings.staffing.detail,
        GRIDWALL_REDIS_URL=settings.redis_url,
        GRIDWALL_METRICS_TOKEN=settings.metrics_token or None,
        GRIDWALL_WALL_HEAP_MB=settings.wall_heap_mb,
        GRIDWALL_ROLLUP_STALE_SECONDS=settings.rollup_stale_seconds,
        GRIDWALL_FEED_STALL_HOURS=settings.feed_stall_hours,
        # /ops lists these (names, kinds, URLs without their keys); data_access.push knows their state.
        GRIDWALL_OPS_CHANNELS=[{"name": c.name, "kind": c.kind, "url": c.display_url}
                               for c in getattr(getattr(settings, "push", None), "channel", [])],
    )
    server.secret_key = settings.effective_secret_key()

    from dashboard.web.metrics import init_metrics

    init_metrics(server)  # first: its timer starts before every other hook

    from callbacks import (
        register_callbacks,
        register_ops,
        register_push,
        register_review,
    )
    from layouts import ops, review
    from layouts.wall import layout

    pages = [_page_app(server, REVIEW, review.layout, register_review),
             _page_app(server, OPS, ops.layout, register_ops)]
    # The wall last: Dash keeps the last app made as the module-wide one (dash.get_relative_path, which
    # the wall's map uses, and dash.get_app()).
    app = _dash(server, title=TITLE, assets_ignore=WALL_ASSETS_IGNORE)
    server.extensions[DASH_APPS] = {a.config.routes_pathname_prefix: a for a in [*pages, app]}
    init_cache(server)

    from dashboard.identity.auth import init_auth
    from dashboard.web.api import register_api

    init_auth(server, settings, enabled=auth)
    server.before_request(_page_roles)  # after the login requirement: no user yet is a login, not a 403
    register_api(server)

    from dashboard.web.alert_page import init_alert_page

    init_alert_page(server)

    from dashboard.web.heartbeat import register_heartbeat

    register_heartbeat(server)  # the code version is computed here, once per process
    app.layout = _for_session_user(
        lambda _username, role: layout(role, scale=settings.scale, seams=settings.seams,
                                       code_version=server.config["GRIDWALL_CODE_VERSION"],
                                       heartbeat_ms=server.config["GRIDWALL_HEARTBEAT_MS"]))
    register_callbacks(app)
    register_push(server)

    from dashboard.web.security import install_security

    install_security(server, dash_apps(server), settings)

    from callbacks.live.response_cache import install_response_cache

    install_response_cache(server, app)  # after the guards: it answers only requests they let through
    return app
