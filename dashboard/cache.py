"""The shared result cache: many viewers of the same region see one computation per second.

``cache`` is configured by the app factory: Redis when ``GRIDWALL_REDIS_URL`` is set (shared by all
workers and hosts), else an in-process SimpleCache. Keys carry a hash of the database URL so
several deployments may share one Redis. A cache that is down is bypassed, never fatal.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Callable, TypeVar

from flask import Flask, current_app
from flask_caching import Cache

from data_access.moment import Moment
from data_access.scope import Scope

log = logging.getLogger(__name__)

cache = Cache()

T = TypeVar("T")

LIVE_TIMEOUT = 2  # seconds; a live entry is keyed by its one-second bucket anyway
PAST_TIMEOUT = 60  # a past moment's figures change only when the history is corrected
_MISS = object()
_warned_at = 0.0


def init_cache(server: Flask) -> None:
    url = server.config.get("GRIDWALL_REDIS_URL")
    db_hash = hashlib.sha1(str(server.config.get("GRIDWALL_DATABASE_URL", "")).encode()).hexdigest()[:10]
    config = {"CACHE_KEY_PREFIX": f"gridwall:{db_hash}:", "CACHE_DEFAULT_TIMEOUT": LIVE_TIMEOUT}
    if url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url,
                      CACHE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1})
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=5000)
    cache.init_app(server, config=config)
    server.config["GRIDWALL_CACHE_KIND"] = "redis" if url else "local"


def _warn(exc: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at > 60:
        _warned_at = now
        log.warning("cache unavailable, computing directly: %s", exc)


def moment_bucket(m: Moment, live: bool) -> str:
    """Live moments share a one-second bucket; a past moment is its own bucket."""
    return str(int(m.at.timestamp())) if live else m.at.isoformat()


def shared(kind: str, scope: Scope, m: Moment, compute: Callable[[], T], *, live: bool,
           timeout: int | None = None) -> T:
    """``compute()`` memoised per (kind, scope region, moment bucket).

    Exceptions from ``compute`` propagate and are never cached.
    """
    key = f"{kind}:{scope.region}:{moment_bucket(m, live)}"
    value = _get(key)
    if value is not _MISS:
        return value
    value = compute()
    _set(key, value, timeout if timeout is not None else (LIVE_TIMEOUT if live else PAST_TIMEOUT))
    return value


def shared_static(key: str, compute: Callable[[], T], timeout: int = 300) -> T:
    """``compute()`` memoised under ``key`` for ``timeout`` seconds (slow-changing data: names, boundaries)."""
    value = _get(key)
    if value is not _MISS:
        return value
    value = compute()
    _set(key, value, timeout)
    return value


def _get(key: str):
    if "cache" not in current_app.extensions:
        return _MISS
    try:
        # A stored None would be indistinguishable from a miss: values are wrapped in a tuple.
        hit = cache.get(key)
    except Exception as exc:  # noqa: BLE001 - a broken cache must not break the wall
        _warn(exc)
        return _MISS
    return hit[0] if isinstance(hit, tuple) and len(hit) == 1 else _MISS


def _set(key: str, value, timeout: int) -> None:
    if "cache" not in current_app.extensions:
        return
    try:
        cache.set(key, (value,), timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        _warn(exc)
