"""The caller's address: the peer, or behind trusted reverse proxies the last untrusted
X-Forwarded-For hop (login throttling, audit rows and the web guards all use it)."""

from __future__ import annotations

import ipaddress
import logging

from flask import current_app, request

log = logging.getLogger(__name__)


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
