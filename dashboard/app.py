"""The Dash app factory: the wall at ``/`` plus authentication and the HTTP API on its Flask server.

Everything the browser loads is served by this server (``serve_locally``; no CDN, fonts or map
tiles from outside): the wall runs on government intranets.
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash

from callbacks.live.cache import init_cache
from dashboard.core.config import Settings, get_settings

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"

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


def create_app(settings: Settings | None = None, *, auth: bool = True) -> Dash:
    settings = settings or get_settings()
    app = Dash(
        __name__,
        assets_folder=str(ASSETS_DIR),
        serve_locally=True,
        title="网格化联动指挥中心",
        update_title=None,
        index_string=INDEX_STRING,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    server = app.server
    server.config.update(
        GRIDWALL_DATABASE_URL=settings.effective_database_url,
        GRIDWALL_ROOT=settings.root,
        GRIDWALL_TIMEZONE=settings.timezone,
        GRIDWALL_REDIS_URL=settings.redis_url,
    )
    server.secret_key = settings.effective_secret_key()
    init_cache(server)

    from dashboard.identity.auth import init_auth
    from dashboard.web.api import register_api

    init_auth(server, settings, enabled=auth)
    register_api(server)

    from callbacks import register_callbacks, register_push
    from layouts.wall import layout

    app.layout = layout
    register_callbacks(app)
    register_push(server)

    from dashboard.web.security import install_security

    install_security(server, app, settings)

    from callbacks.live.response_cache import install_response_cache

    install_response_cache(server, app)  # after the guards: it answers only requests they let through
    return app
