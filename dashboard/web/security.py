"""HTTP hardening on the Flask server under Dash: headers, CSP, cross-site POSTs, callback input.

``install_security(server, dash_app)`` is called by the app factory (and by test servers):
- a Content-Security-Policy without any external origin: scripts only from this server plus the
  hashes of Dash's inline scripts (the renderer bootstrap and inline clientside callbacks);
  ``frame-ancestors 'self'``; no plugins; forms post only here;
- the usual companions (nosniff, no referrer, no camera/microphone/geolocation), no ``Server``
  banner from the application (waitress runs with ``ident=None``; gunicorn reads
  ``dashboard/gunicorn_conf.py``);
- state-changing requests carried by the session cookie must come from this site's own pages
  (``Origin``/``Referer`` checked; SameSite=Lax cookies already stop most cross-site posts);
- ``/_dash-update-component`` only accepts a well-formed callback request for a server callback
  that exists: anything else answers 400, so that forged bodies never reach a callback as a 500;
- ``client_ip()``: the caller's address, through a trusted reverse proxy's X-Forwarded-For.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

DASH_UPDATE = "/_dash-update-component"
UNSAFE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
# Exceptions a callback raises when a forged request hands it values of the wrong type or shape.
_BAD_INPUT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError)

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

# Responses that carry data or credentials are never stored by browsers or proxies.
NO_STORE_PREFIXES = (DASH_UPDATE, "/_dash-layout", "/api/", "/login", "/logout", "/kiosk/", "/audit")


def content_security_policy(script_hashes: list[str] | tuple[str, ...] = ()) -> str:
    policy = {k: list(v) for k, v in BASE_POLICY.items()}
    policy["script-src"] += list(script_hashes)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


# --- client address ----------------------------------------------------------------------------

def trusted_networks(values) -> list:
    nets = []
    for value in values or ():
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            log.warning("ignoring malformed proxy address %r", value)
    return nets


def is_trusted_proxy(addr: str | None) -> bool:
    nets = current_app.config.get("GRIDWALL_TRUSTED_PROXIES") or []
    if not addr or not nets:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_ip() -> str:
    """The caller's address: the peer, or behind trusted proxies the last untrusted X-Forwarded-For hop."""
    addr = request.remote_addr or "unknown"
    if not is_trusted_proxy(addr):
        return addr
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted_proxy(hop):
            return hop[:64]
    return addr


# --- request checks ----------------------------------------------------------------------------

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


def _check_dash_callback(dash_app):
    """Only a well-formed request for an existing server-side callback reaches Dash."""
    if request.path != DASH_UPDATE or request.method != "POST":
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad_callback("malformed callback request: a JSON object expected")
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
            and isinstance(item.get("property"), str))


# --- responses ---------------------------------------------------------------------------------

def _headers_hook(policy_for):
    def add_headers(response):
        response.headers.pop("Server", None)
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = policy_for()
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response

    return add_headers


def _unexpected_error(exc: Exception):
    """No traceback ever reaches a client. A callback fed forged values of the wrong type says 400."""
    if isinstance(exc, HTTPException):
        return exc
    if request.path == DASH_UPDATE and isinstance(exc, _BAD_INPUT_ERRORS):
        log.warning("callback request refused: %s: %s", type(exc).__name__, exc, exc_info=True)
        return jsonify(error="invalid callback input"), 400
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return jsonify(error="internal error"), 500


def install_security(server: Flask, dash_app=None, settings=None) -> None:
    """Install the headers, the cross-site check and (with ``dash_app``) the callback guard."""
    if settings is not None:
        server.config["GRIDWALL_TRUSTED_PROXIES"] = trusted_networks(settings.proxy_trusted_ips)
        server.config["SESSION_COOKIE_SECURE"] = bool(settings.secure_cookies)
    server.config.setdefault("GRIDWALL_TRUSTED_PROXIES", [])
    cached: dict[str, str] = {}

    def policy() -> str:
        # Computed at the first response, after every callback (and its inline script) exists.
        if "csp" not in cached:
            cached["csp"] = content_security_policy(dash_app.csp_hashes() if dash_app is not None else ())
        return cached["csp"]

    server.before_request(_check_origin)
    if dash_app is not None:
        server.before_request(lambda: _check_dash_callback(dash_app))
    server.after_request(_headers_hook(policy))
    server.register_error_handler(Exception, _unexpected_error)
