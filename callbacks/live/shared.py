"""Results shared per data version: computed once per (kind, region, version) for every viewer and
worker (``callbacks.live.cache``), and rendered outputs with their digests, so that a callback sends
only what the browser does not already show.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Sequence, TypeVar

from dash import no_update
from plotly.utils import PlotlyJSONEncoder

from callbacks.live.cache import caching_enabled, shared_static, shared_versioned
from callbacks.live.outage import read
from callbacks.live.versions import live_enabled
from data_access.scope import Scope

T = TypeVar("T")


def cached_static(key: str, compute: Callable[[], T], timeout: int = 300) -> T:
    return shared_static(key, compute, timeout)


def bundle(kind: str, scope: Scope, version: str, compute: Callable[[Any], T]) -> T:
    """``compute(conn)`` once per (kind, region, version), shared by every viewer and worker."""
    return shared_versioned(f"{kind}:{scope.region}:{version}", lambda: read(compute))


def digest(value: Any) -> str:
    """A short fingerprint of an output value (components included) as the browser receives it."""
    text = json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def shared_outputs(kind: str, scope: Scope, version: str,
                   render: Callable[[], Sequence[Any]]) -> tuple[list[Any], list[str]]:
    """``render()`` (a callback's output values) once per (kind, region, version), with their digests."""
    def compute() -> tuple[list[Any], list[str]]:
        values = list(render())
        return values, [digest(v) for v in values]

    if not caching_enabled():
        return compute()
    return shared_versioned(f"{kind}:{scope.region}:{version}", compute)


def only_changed(values: Sequence[Any], digests: Sequence[str], shown: Any) -> list[Any]:
    """``values`` with ``no_update`` wherever the browser's digest (``shown``) says it has the same."""
    if not isinstance(shown, list) or len(shown) != len(values) or not live_enabled():
        return list(values)
    return [no_update if d == s else v for v, d, s in zip(values, digests, shown)]
