"""The shared result cache: many viewers of the same region see one computation.

``cache`` is configured by the app factory: Redis when ``GRIDWALL_REDIS_URL`` is set (shared by all
workers and hosts), else an in-process SimpleCache. Keys carry a hash of the database URL so
several deployments may share one Redis.

A Redis that fails is never fatal: the failing call falls back to a process-local SimpleCache,
and for ``BREAKER_SECONDS`` every call goes there directly (no connection timeouts per viewer);
then Redis is tried again. Each process then computes for itself, still once per key.

``shared_versioned`` adds a short lock so that the viewers who all see a new data version at the
same moment do not all compute it: the threads of a process queue on a local lock, processes on
``cache.add`` (SET NX in Redis); the losers wait for the winner's result. Its entries never change
(the key names a version), so each process also keeps the latest ones in memory: a hundred
viewers in one worker fetch and unpickle a result from Redis once, not a hundred times.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import zlib
from collections import OrderedDict
from typing import Callable, TypeVar

from cachelib import SimpleCache
from flask import Flask, current_app
from flask_caching import Cache

from data_access.moment import Moment
from data_access.scope import Scope

log = logging.getLogger(__name__)

cache = Cache()

T = TypeVar("T")

LIVE_TIMEOUT = 2  # seconds; a live entry is keyed by its one-second bucket anyway
PAST_TIMEOUT = 60  # a past moment's figures change only when the history is corrected
VERSIONED_TIMEOUT = 30  # an entry keyed by a data version; a newer version makes it unused
BREAKER_SECONDS = 5.0  # after a Redis failure, stay on the local cache this long
LOCK_SECONDS = 5  # the compute lock expires by itself should its holder die
LOCK_WAIT = 3.0  # the longest a viewer waits for another process's result before computing itself
_MISS = object()

_local = SimpleCache(threshold=5000, default_timeout=LIVE_TIMEOUT)
_redis_down_until: dict[str, float] = {}  # Redis URL -> time.monotonic() until which it is skipped
_warned_at = 0.0
_state_lock = threading.Lock()
_stripes = [threading.Lock() for _ in range(64)]
MEMORY_ENTRIES = 512
_memory: OrderedDict[str, tuple[float, object]] = OrderedDict()  # key -> (expires, value); newest last
_memory_lock = threading.Lock()


def init_cache(server: Flask) -> None:
    url = server.config.get("GRIDWALL_REDIS_URL")
    db_hash = hashlib.sha1(str(server.config.get("GRIDWALL_DATABASE_URL", "")).encode()).hexdigest()[:10]
    prefix = f"gridwall:{db_hash}:"
    config = {"CACHE_KEY_PREFIX": prefix, "CACHE_DEFAULT_TIMEOUT": LIVE_TIMEOUT}
    if url:
        config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=url,
                      CACHE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1})
    else:
        config.update(CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=5000)
    cache.init_app(server, config=config)
    server.config["GRIDWALL_CACHE_KIND"] = "redis" if url else "local"
    server.config["GRIDWALL_CACHE_PREFIX"] = prefix
    # A benchmark switch (bench/walls.py): "off" turns off the change signal and every shared
    # result, so that each viewer recomputes everything every second.
    server.config.setdefault("GRIDWALL_LIVE_SIGNAL", os.environ.get("GRIDWALL_LIVE_SIGNAL", "on"))


def caching_enabled() -> bool:
    return "cache" in current_app.extensions and current_app.config.get("GRIDWALL_LIVE_SIGNAL", "on") != "off"


def cache_in_use() -> str:
    """``redis``, ``local`` (configured so) or ``local-fallback`` (Redis failed a moment ago)."""
    if current_app.config.get("GRIDWALL_CACHE_KIND") != "redis":
        return "local"
    until = _redis_down_until.get(current_app.config["GRIDWALL_REDIS_URL"], 0.0)
    return "local-fallback" if time.monotonic() < until else "redis"


def _warn(exc: Exception) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at > 60:
        _warned_at = now
        log.warning("shared cache unavailable, using the local cache for %.0f s: %s", BREAKER_SECONDS, exc)


def _call(op: str, key: str, *args):
    """``op`` on the configured cache; on the local fallback while Redis is failing."""
    if cache_in_use() == "redis":
        try:
            return getattr(cache, op)(key, *args)
        except Exception as exc:  # noqa: BLE001 - a broken cache must not break the wall
            with _state_lock:
                _redis_down_until[current_app.config["GRIDWALL_REDIS_URL"]] = time.monotonic() + BREAKER_SECONDS
            _warn(exc)
    elif current_app.config.get("GRIDWALL_CACHE_KIND") != "redis":
        return getattr(cache, op)(key, *args)
    return getattr(_local, op)(current_app.config.get("GRIDWALL_CACHE_PREFIX", "") + key, *args)


def _get(key: str):
    if not caching_enabled():
        return _MISS
    # A stored None would be indistinguishable from a miss: values are wrapped in a tuple.
    hit = _call("get", key)
    return hit[0] if isinstance(hit, tuple) and len(hit) == 1 else _MISS


def _set(key: str, value, timeout: int) -> None:
    if caching_enabled():
        _call("set", key, (value,), timeout)


def _add(key: str, timeout: int) -> bool:
    return bool(_call("add", key, 1, timeout)) if caching_enabled() else True


def _delete(key: str) -> None:
    if caching_enabled():
        _call("delete", key)


def moment_bucket(m: Moment, live: bool) -> str:
    """Live moments share a one-second bucket; a past moment is its own bucket."""
    return str(int(m.at.timestamp())) if live else m.at.isoformat()


def shared(kind: str, scope: Scope, m: Moment, compute: Callable[[], T], *, live: bool,
           timeout: int | None = None) -> T:
    """``compute()`` memoised per (kind, scope region, moment bucket).

    Exceptions from ``compute`` propagate and are never cached.
    """
    key = f"{kind}:{scope.region}:{moment_bucket(m, live)}"
    return _memo(key, compute, timeout if timeout is not None else (LIVE_TIMEOUT if live else PAST_TIMEOUT))


def shared_static(key: str, compute: Callable[[], T], timeout: int = 300) -> T:
    """``compute()`` memoised under ``key`` for ``timeout`` seconds (slow-changing data: names, boundaries)."""
    return _memo(key, compute, timeout)


def _memo(key: str, compute: Callable[[], T], timeout: int) -> T:
    value = _get(key)
    if value is not _MISS:
        return value
    value = compute()
    _set(key, value, timeout)
    return value


def shared_versioned(key: str, compute: Callable[[], T], timeout: int = VERSIONED_TIMEOUT) -> T:
    """``compute()`` once per ``key`` across threads and processes (the key names a data version).

    Exceptions from ``compute`` propagate and are never cached; the lock is released.
    """
    if not caching_enabled():
        return compute()
    full_key = current_app.config.get("GRIDWALL_CACHE_PREFIX", "") + key
    value = _remembered(full_key)
    if value is not _MISS:
        return value
    with _stripes[zlib.crc32(key.encode()) % len(_stripes)]:
        value = _remembered(full_key)
        if value is _MISS:
            value = _get(key)
        if value is _MISS:
            lock_key = f"lock:{key}"
            if not _add(lock_key, LOCK_SECONDS):
                value = _wait_for(key, lock_key)
            if value is _MISS:
                try:
                    value = compute()
                    _set(key, value, timeout)
                finally:
                    _delete(lock_key)
        _remember(full_key, value, timeout)
        return value


def _remembered(key: str):
    with _memory_lock:
        hit = _memory.get(key)
        if hit is None:
            return _MISS
        if hit[0] < time.monotonic():
            del _memory[key]
            return _MISS
        return hit[1]


def _remember(key: str, value, timeout: int) -> None:
    with _memory_lock:
        _memory[key] = (time.monotonic() + timeout, value)
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_ENTRIES:
            _memory.popitem(last=False)


def _wait_for(key: str, lock_key: str):
    """The value another process is computing; _MISS when it gave up (lock gone) or took too long."""
    deadline = time.monotonic() + LOCK_WAIT
    while time.monotonic() < deadline:
        time.sleep(0.01)
        value = _get(key)
        if value is not _MISS:
            return value
        if _call("get", lock_key) is None:
            return _get(key)
    return _MISS
