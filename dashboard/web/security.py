"""HTTP hardening on the Flask server under Dash: headers, CSP, cross-site POSTs, callback input.

``install_security(server, dash_apps)`` is called by the app factory (and by test servers) with every
Dash app on the server (the wall and the other pages, each under its own path prefix):
- a Content-Security-Policy without any external origin: scripts only from this server plus the
  hashes of Dash's inline scripts (the renderer bootstrap and inline clientside callbacks);
  ``frame-ancestors 'self'``; no plugins; forms post only here;
- the usual companions (nosniff, no referrer, no camera/microphone/geolocation), no ``Server``
  banner from the application (waitress runs with ``ident=None``; gunicorn reads
  ``dashboard/gunicorn_conf.py``);
- state-changing requests carried by the session cookie must come from this site's own pages
  (``Origin``/``Referer`` checked; SameSite=Lax cookies already stop most cross-site posts);
- each app's ``<prefix>_dash-update-component`` only accepts a well-formed callback request for a
  server callback of that app: anything else answers 400, so that forged bodies never reach a
  callback as a 500;
- before any other work (authentication included): a body over ``MAX_CONTENT_LENGTH`` answers 413,
  and with auth off (the loopback demo) a Host that is not a loopback name answers 403 (DNS
  rebinding: a web page whose name resolves to 127.0.0.1 would otherwise read the wall);
- an unknown file under ``_dash-component-suites`` answers 404, not Dash's exception as a 500.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from dashboard.identity.addresses import is_trusted_proxy, trusted_networks

log = logging.getLogger(__name__)

DASH_UPDATE = "/_dash-update-component"
COMPONENT_SUITES = "_dash-component-suites/"
UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
# Exceptions a callback raises when a forged request hands it values of the wrong type or shape
# (RecursionError: a value nested deeper than the guard's limit lets through, should one get past).
_BAD_INPUT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError)
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024  # GRIDWALL_MAX_REQUEST_BYTES; a callback body is a few kB
# A callback body nests about 6 deep (a wildcard input's id inside its list inside "inputs"); far
# below Python's recursion limit, so that nothing that walks a value recursively can fail on it.
MAX_CALLBACK_DEPTH = 100
# What the browser sends for these properties of any component (None too). Another type is forged.
PROPERTY_TYPES: dict[str, type] = {"search": str, "pathname": str, "hash": str, "href": str,
                                   "n_clicks": int, "n_intervals": int}
_HOST_CHARS = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")

BASE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    # Dash components and Leaflet set element styles from script (allowed without this); the
    # login and audit pages carry one <style> block each, and some components inject <style>.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'self'"],
}

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    # The kiosk link carries a token in its path: never send a URL of this site elsewhere (but
    # keep Origin on same-site posts: with no-referrer browsers send "Origin: null").
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# Responses that carry data or credentials are never stored by browsers or proxies (the Dash routes
# of every app, whatever its prefix).
NO_STORE_PREFIXES = (DASH_UPDATE, "/_dash-layout", "/api/", "/login", "/logout", "/kiosk/", "/audit")
NO_STORE_SUFFIXES = (DASH_UPDATE, "/_dash-layout")


def content_security_policy(script_hashes: list[str] | tuple[str, ...] = ()) -> str:
    policy = {k: list(v) for k, v in BASE_POLICY.items()}
    policy["script-src"] += list(script_hashes)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


# --- request checks ----------------------------------------------------------------------------

def loopback_host(host: str | None) -> bool:
    """Whether a Host header names this machine by loopback: ``localhost``, 127.0.0.0/8 or ``[::1]``,
    with any port."""
    if not host or not _HOST_CHARS.fullmatch(host):
        return False
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:host.index("]")]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_edge():
    """The first check of every request, before authentication does any work."""
    if not current_app.config.get("GRIDWALL_AUTH_ENABLED", True) and not loopback_host(request.host):
        # Auth off is served on loopback only (``gridwall serve`` refuses another bind address), so any
        # other Host is a page of another site whose name was rebound to 127.0.0.1.
        log.warning("request for host %r refused: auth is off, only loopback names are served",
                    request.host[:100])
        return jsonify(error="with authentication off only localhost is served"), 403
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        # A body without a length (chunked) is read up to the limit only (Werkzeug's LimitedStream).
        return jsonify(error=f"request body over {limit} bytes"), 413
    return None


def _same_site(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    hosts = {request.host.lower()}
    forwarded = request.headers.get("X-Forwarded-Host")
    if forwarded and is_trusted_proxy(request.remote_addr):
        hosts.add(forwarded.split(",")[0].strip().lower())
    return parts.netloc.lower() in hosts


def _check_origin():
    """A state-changing request riding on the session cookie must come from this site's pages.

    Requests without Origin and Referer (command-line clients) and bearer-token API calls (a
    browser never attaches those by itself) pass.
    """
    if request.method not in UNSAFE_METHODS or request.headers.get("Authorization"):
        return None
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is None:
        return None
    if source == "null" or not _same_site(source):
        log.warning("cross-site %s %s from %r refused", request.method, request.path, source[:100])
        return jsonify(error="cross-site request refused"), 403
    return None


def _bad_callback(message: str):
    return jsonify(error=message), 400


def _is_dash_update(path: str) -> bool:
    return path.endswith(DASH_UPDATE)


def _check_dash_callback(dash_apps: dict[str, Any]):
    """Only a well-formed request for an existing server-side callback of that app reaches Dash.

    ``dash_apps``: update path -> app. A callback path of no app is left to routing (404 or 405).
    """
    if request.method != "POST" or not _is_dash_update(request.path):
        return None
    dash_app = dash_apps.get(request.path)
    if dash_app is None:
        return None
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes
        return _bad_callback("malformed callback request: nested too deeply")
    if not isinstance(body, dict):
        return _bad_callback("malformed callback request: a JSON object expected")
    if not _depth_ok(body, MAX_CALLBACK_DEPTH):
        return _bad_callback("malformed callback request: nested too deeply")
    output = body.get("output")
    if not isinstance(output, str) or not output:
        return _bad_callback("malformed callback request: no output")
    callback = dash_app.callback_map.get(output)
    if callback is None or not callable(callback.get("callback")):
        return _bad_callback("no such server callback")
    for key in ("inputs", "state"):
        items = body.get(key, [])
        if not isinstance(items, list) or not all(_dependency_ok(i) for i in items):
            return _bad_callback(f"malformed callback request: {key}")
    if len(body.get("inputs", [])) != len(callback.get("inputs", [])) or \
            len(body.get("state", [])) != len(callback.get("state", [])):
        return _bad_callback("malformed callback request: wrong number of inputs")
    if not isinstance(body.get("outputs"), (dict, list)):
        return _bad_callback("malformed callback request: outputs")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return _bad_callback("malformed callback request: changedPropIds")
    return None


def _dependency_ok(item: Any) -> bool:
    if isinstance(item, list):  # pattern-matching (ALL / ALLSMALLER) inputs
        return all(_dependency_ok(i) for i in item)
    return (isinstance(item, dict) and isinstance(item.get("id"), (str, dict))
            and isinstance(item.get("property"), str) and _value_ok(item["property"], item.get("value")))


def _value_ok(prop: str, value: Any) -> bool:
    expected = PROPERTY_TYPES.get(prop)
    return expected is None or value is None or (isinstance(value, expected) and not isinstance(value, bool))


def _depth_ok(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests at most ``limit`` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


# --- responses ---------------------------------------------------------------------------------

def _headers_hook(policy_for):
    def add_headers(response):
        response.headers.pop("Server", None)
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = policy_for()
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith(NO_STORE_PREFIXES) or request.path.endswith(NO_STORE_SUFFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response

    return add_headers


def _unexpected_error(exc: Exception):
    """No traceback ever reaches a client. A callback fed forged values of the wrong type says 400."""
    if isinstance(exc, HTTPException):
        return exc
    if _is_dash_update(request.path) and isinstance(exc, _BAD_INPUT_ERRORS):
        log.warning("callback request refused: %s: %s", type(exc).__name__, exc, exc_info=True)
        return jsonify(error="invalid callback input"), 400
    if request.url_rule is not None and COMPONENT_SUITES in request.url_rule.rule:
        # Dash raises (DependencyException) for a package or file it does not serve.
        log.info("no component file %s: %s", request.path[:200], type(exc).__name__)
        return jsonify(error="not found"), 404
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return jsonify(error="internal error"), 500


def _as_apps(dash_app) -> list:
    if dash_app is None:
        return []
    return list(dash_app) if isinstance(dash_app, (list, tuple)) else [dash_app]


def install_security(server: Flask, dash_app=None, settings=None) -> None:
    """Install the headers, the cross-site check and (with Dash apps) the callback guard.

    ``dash_app``: one Dash app or every Dash app on the server.
    """
    apps = _as_apps(dash_app)
    updates = {app.config.routes_pathname_prefix + DASH_UPDATE.lstrip("/"): app for app in apps}
    if settings is not None:
        server.config["GRIDWALL_TRUSTED_PROXIES"] = trusted_networks(settings.proxy_trusted_ips)
        server.config["SESSION_COOKIE_SECURE"] = bool(settings.secure_cookies)
        server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    server.config.setdefault("GRIDWALL_TRUSTED_PROXIES", [])
    if server.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default: no limit
        server.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_REQUEST_BYTES
    cached: dict[str, str] = {}

    def policy() -> str:
        # Computed at the first response, after every callback (and its inline script) exists.
        if "csp" not in cached:
            hashes = [h for app in apps for h in app.csp_hashes()]
            cached["csp"] = content_security_policy(list(dict.fromkeys(hashes)))
        return cached["csp"]

    # First of all before_request functions (the login requirement was installed before this).
    server.before_request_funcs.setdefault(None, []).insert(0, _check_edge)
    server.before_request(_check_origin)
    if updates:
        server.before_request(lambda: _check_dash_callback(updates))
    server.after_request(_headers_hook(policy))
    server.register_error_handler(Exception, _unexpected_error)
