"""Login throttling: locks per user name and address, per address, and a growing delay per user name.

The store is the audit table itself: every failed login is a ``login_failed`` row with the client
address, so the rules hold across workers, hosts and restarts, and every refusal is audited by
construction. Three rules:
- ``max_failures`` failures of one user name from one address within ``window`` lock that pair
  for ``lock`` (a successful login from that address clears the count);
- ``4 x max_failures`` failures from one address over any user names lock the address (password
  spraying), whatever it gets right in between;
- ``2 x max_failures`` checked failures of one user name from any addresses within ``window`` put
  that name under a delay: each further attempt must wait ``delay_base`` (2 s), then twice as long
  after each new failure, up to ``delay_max`` (5 min), so guesses on a name do not scale with the
  number of addresses. It is a delay, not a lock: only attempts that were checked count, and an
  address the name logged in from within ``known_for`` (30 days) is not delayed, so the real user
  still gets in under a flood.
Attempts refused by a lock are failures too (``"locked": true``), so hammering keeps the lock on;
attempts refused by the delay are ``login_delayed`` rows and count for nothing.

A refused attempt is refused before any password hash is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from data_access.users import login_events

ADDRESS_FACTOR = 4
NAME_FACTOR = 2


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)
    delay_base: timedelta = timedelta(seconds=2)
    delay_max: timedelta = timedelta(minutes=5)
    known_for: timedelta = timedelta(days=30)

    @property
    def name_budget(self) -> int:
        return self.max_failures * NAME_FACTOR

    @classmethod
    def from_settings(cls, settings) -> "Policy":
        return cls(max(1, settings.login_max_failures), timedelta(minutes=max(1, settings.login_window_minutes)),
                   timedelta(minutes=max(1, settings.login_lock_minutes)))


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused without checking its password, and until when."""

    until: datetime
    locked: bool  # True: a lock (counts as a failure); False: the per-name delay


def _lock_end(failures: list[datetime], threshold: int, policy: Policy) -> datetime | None:
    """The end of the latest lock earned by ``failures`` (oldest first), if any."""
    end = None
    for k in range(threshold - 1, len(failures)):
        if failures[k] - failures[k - threshold + 1] <= policy.window:
            end = failures[k] + policy.lock
    return end


def locked_until(conn: Connection, policy: Policy, username: str, ip: str, now: datetime) -> datetime | None:
    """When the lock on (user name, address) or on the address ends; None when not locked."""
    since = now - policy.window - policy.lock
    ends = []

    own = [e for e in reversed(login_events(conn, since, username=username, ip=ip)) if e["ip"] == ip]
    last_success = max((i for i, e in enumerate(own) if e["action"] == "login"), default=-1)
    failures = [e["ts"] for e in own[last_success + 1:] if e["action"] == "login_failed"]
    ends.append(_lock_end(failures, policy.max_failures, policy))

    threshold = policy.max_failures * ADDRESS_FACTOR
    spray = [e["ts"] for e in reversed(login_events(conn, since, ip=ip, limit=threshold * 50))
             if e["action"] == "login_failed" and e["ip"] == ip]
    ends.append(_lock_end(spray, threshold, policy))

    latest = max((e for e in ends if e is not None), default=None)
    return latest if latest is not None and latest > now else None


def delayed_until(conn: Connection, policy: Policy, username: str, ip: str, now: datetime) -> datetime | None:
    """When the next attempt on ``username`` from ``ip`` may be checked; None when it may be now."""
    budget = policy.name_budget
    steps = 1
    while policy.delay_base * 2 ** (steps - 1) < policy.delay_max:
        steps += 1  # failures beyond budget + steps all wait delay_max: no need to read them
    failures = [e["ts"] for e in login_events(conn, now - policy.window, username=username,
                                              actions=("login_failed",), checked_only=True, limit=budget + steps)]
    excess = len(failures) - budget
    if excess < 0:
        return None
    until = failures[0] + min(policy.delay_base * 2 ** excess, policy.delay_max)
    if until <= now:
        return None
    known = login_events(conn, now - policy.known_for, username=username, ip=ip, actions=("login",), limit=1)
    return None if known else until


def refusal(conn: Connection, policy: Policy, username: str, ip: str, now: datetime) -> Refusal | None:
    """Whether this attempt is refused before its password is checked (a lock first, then the delay)."""
    until = locked_until(conn, policy, username, ip, now)
    if until is not None:
        return Refusal(until, locked=True)
    until = delayed_until(conn, policy, username, ip, now)
    return Refusal(until, locked=False) if until is not None else None
