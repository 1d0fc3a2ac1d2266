"""WSGI entry point: ``gunicorn dashboard.wsgi:server``."""

from dashboard.app import create_app, render_indexes

app = create_app()
server = app.server

# Dash learns which script files it may serve while rendering its index page, in each process and
# for each app (the wall and every other page). A gunicorn worker that has not rendered a page yet
# refuses the scripts of that page when another worker served it ('"dash" is not a registered
# library'), so every worker renders each app's index once at start.
render_indexes(server)
