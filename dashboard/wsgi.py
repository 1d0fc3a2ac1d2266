"""WSGI entry point: ``gunicorn dashboard.wsgi:server``."""

from dashboard.app import create_app

app = create_app()
server = app.server

# Dash learns which script files it may serve while rendering its index page, in each process. A
# gunicorn worker that has not rendered it yet refuses the scripts of a page another worker served
# ('"dash" is not a registered library'), so every worker renders it once at start.
with server.test_request_context("/"):
    app._setup_server()
    app.index()
