"""Login throttling: repeated failures lock a user name (per client address) for a while.

The store is the audit table itself: every failed login is a ``login_failed`` row with the client
address, so a lock holds across workers, hosts and restarts, and every lock is audited by
construction. Two rules:
- ``max_failures`` failures of one user name from one address within ``window`` lock that pair
  for ``lock`` (a successful login from that address clears the count);
- ``4 x max_failures`` failures from one address over any user names lock the address (password
  spraying), whatever it gets right in between.
Attempts made while locked are failures too, so hammering keeps the lock on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from data_access.users import login_events

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings) -> "Policy":
        return cls(max(1, settings.login_max_failures), timedelta(minutes=max(1, settings.login_window_minutes)),
                   timedelta(minutes=max(1, settings.login_lock_minutes)))


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

    own = [e for e in reversed(login_events(conn, since, username=username)) if e["ip"] == ip]
    last_success = max((i for i, e in enumerate(own) if e["action"] == "login"), default=-1)
    failures = [e["ts"] for e in own[last_success + 1:] if e["action"] == "login_failed"]
    ends.append(_lock_end(failures, policy.max_failures, policy))

    threshold = policy.max_failures * ADDRESS_FACTOR
    limit = threshold * 50  # enough rows to see the threshold even under a flood from other addresses
    spray = [e["ts"] for e in reversed(login_events(conn, since, limit=limit))
             if e["action"] == "login_failed" and e["ip"] == ip]
    ends.append(_lock_end(spray, threshold, policy))

    latest = max((e for e in ends if e is not None), default=None)
    return latest if latest is not None and latest > now else None
