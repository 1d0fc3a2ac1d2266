"""``gridwall warn --replay``: prospective replay over history.

The engine runs as of each step from ``start`` to ``end`` (both included), in time order, exactly
as the live loop would have run then: every read is "as of T" and each raised alert gets
``created_at`` = that step. Alerts are episodes keyed by the moment they began, so replaying the
same span again writes nothing new. Families whose data is too coarse at a step (the offline
detector over the seed's hourly pings of older days) report that they did not run and leave their
alerts alone.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from data_access.moment import Moment
from data_access.scope import Scope

from .engine import EngineState, RunReport, run_engine
from .families import Family

_STEP_PART = re.compile(r"(\d+(?:\.\d+)?)(min|d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}


def parse_step(text: str) -> timedelta:
    """``1d``, ``6h``, ``30m`` (or ``30min``), ``90s`` and sums of them (``1h30m``). Raises ValueError."""
    compact = text.strip().replace(" ", "")
    parts = _STEP_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ValueError(f"not a step: {text!r} (use e.g. 1d, 6h, 30m)")
    step = timedelta(seconds=sum(float(n) * _UNITS[u.lower()] for n, u in parts))
    if step < timedelta(minutes=1):
        raise ValueError("the step must be at least one minute")
    return step


def steps(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    t = start
    while t <= end:
        yield t
        t += step


def replay(engine: Engine, root: Scope, start: datetime, end: datetime, step: timedelta, tz: ZoneInfo, *,
           on_step: Callable[[RunReport], None] | None = None, forecast: bool = True,
           families: list[Family] | None = None) -> list[RunReport]:
    """Run the engine as of each step; returns the reports of the steps in order."""
    if end < start:
        raise ValueError("--to is before --from")
    state = EngineState(families=families) if families is not None else EngineState()
    reports = []
    for t in steps(start, end, step):
        report = run_engine(engine, root, Moment(t, tz), state=state, forecast=forecast)
        reports.append(report)
        if on_step is not None:
            on_step(report)
    return reports
