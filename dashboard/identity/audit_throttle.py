"""Audit rows of refused requests that anyone can send (an invalid kiosk link), bounded.

Every ``/kiosk/<junk>`` used to write one ``gw_audit`` row: a loop of requests filled the table and
the audit page. Now one address writes at most one row of an action per ``PER_ADDRESS_SECONDS``,
and the process at most ``PER_MINUTE`` rows of it a minute, whatever the number of addresses. The
rows that are written say how many refusals from that address were not (``"repeats"``), so the
audit still shows a flood and where it came from. The requests themselves are refused every time.

Kept in the process (each worker has its own budget): the point is bounding the writes, which a
database-backed count would not do any cheaper.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

PER_ADDRESS_SECONDS = 60.0
PER_MINUTE = 30
MAX_ADDRESSES = 10_000  # remembered at once; the oldest are forgotten first
EXTENSION = "gridwall_audit_throttle"


@dataclass
class AuditThrottle:
    per_address_seconds: float = PER_ADDRESS_SECONDS
    per_minute: int = PER_MINUTE
    max_addresses: int = MAX_ADDRESSES
    _last: dict[str, float] = field(default_factory=dict)  # address -> when its last row was written
    _repeats: dict[str, int] = field(default_factory=dict)  # address -> refusals not written since
    _minute: tuple[int, int] = (0, 0)  # (minute, rows written in it)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, address: str, now: float | None = None) -> int | None:
        """None: write no row for this refusal; else write one, and this many earlier refusals from
        ``address`` were not written."""
        now = time.monotonic() if now is None else now
        with self._lock:
            minute, written = self._minute
            if int(now // 60) != minute:
                minute, written = int(now // 60), 0
            last = self._last.get(address)
            if (last is not None and now - last < self.per_address_seconds) or written >= self.per_minute:
                self._repeats[address] = self._repeats.get(address, 0) + 1
                self._forget_oldest()
                return None
            self._minute = (minute, written + 1)
            self._last.pop(address, None)
            self._last[address] = now  # re-inserted: the dict stays in order of the last row
            self._forget_oldest()
            return self._repeats.pop(address, 0)

    def _forget_oldest(self) -> None:
        while len(self._last) > self.max_addresses:
            self._last.pop(next(iter(self._last)))
        while len(self._repeats) > self.max_addresses:
            self._repeats.pop(next(iter(self._repeats)))


def admit(action: str, address: str) -> dict | None:
    """The extra detail of the audit row for a refused ``action`` from ``address``, or None when no
    row is to be written (the app's throttle for that action)."""
    throttles = current_app.extensions.setdefault(EXTENSION, {})
    throttle = throttles.get(action)
    if throttle is None:
        throttle = throttles.setdefault(action, AuditThrottle())
    repeats = throttle.admit(address)
    if repeats is None:
        return None
    return {"repeats": repeats} if repeats else {}
