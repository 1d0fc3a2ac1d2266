"""What the browser asked to see (``?region=``, ``?at=``), checked against the user's scope.

The user's scope comes from the server session (``dashboard.identity.auth.current_scope``); the URL can
only narrow it. A bad or foreign region code keeps the user's own region and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from flask import current_app

from callbacks.live.outage import read
from callbacks.live.shared import cached_static
from dashboard.identity.auth import current_scope
from data_access.moment import Moment, parse_moment
from data_access.regions import region_name
from data_access.scope import BadRegionCode, Scope, ScopeError

UTC = timezone.utc


@dataclass(frozen=True)
class View:
    scope: Scope  # what the wall shows
    base: Scope  # the user's own scope
    at: datetime | None  # None: live
    tz: ZoneInfo
    notices: tuple[str, ...] = field(default=())

    @property
    def live(self) -> bool:
        return self.at is None

    @property
    def key(self) -> str:
        return f"{self.scope.region}|{self.at.isoformat() if self.at else 'live'}"

    def moment(self) -> Moment:
        """T: the requested past moment, or now rounded up to the second (viewers share one-second
        buckets; rounding down would leave out a case reported within the current second)."""
        if self.at is not None:
            return Moment(self.at, self.tz)
        now = datetime.now(UTC)
        second = now.replace(microsecond=0)
        return Moment(second + timedelta(seconds=1) if now > second else second, self.tz)


def wall_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai")


# The longest URL query a wall or page asks with (region, at, period, kiosk, rotate, scale: < 200).
MAX_SEARCH = 400


class BadSearch(ValueError):
    """A URL query no page of gridwall sends: not a string, or too long. A forged request: 400
    (``dashboard.web.security`` answers a callback's ValueError with 400), for that request only."""


def checked_search(search: object) -> str:
    """``search`` (``location.search`` as the browser sends it back) if it can be one; else BadSearch.

    Its parameters are checked where they are read: ``region`` by ``Scope.narrow``, ``at`` by
    ``parse_moment`` (years MIN_YEAR..MAX_YEAR), the review's period by ``parse_period``.
    """
    if search is None:
        return ""
    if not isinstance(search, str):
        raise BadSearch(f"the URL query must be a string, not {type(search).__name__}")
    if len(search) > MAX_SEARCH:
        raise BadSearch(f"the URL query is longer than {MAX_SEARCH} characters")
    return search


def query_params(search: str | None) -> dict[str, str]:
    parsed = parse_qs(checked_search(search).lstrip("?"), keep_blank_values=False)
    return {k: v[0].strip() for k, v in parsed.items() if v}


# "+08:00" typed into a URL arrives as " 08:00" (a "+" in a query string is a space).
_SPACED_OFFSET = re.compile(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def at_text(value: str) -> str:
    return _SPACED_OFFSET.sub(r"\1+\2", value.strip())


def with_params(search: str | None, **changes: str | None) -> str:
    """The query string ``search`` with some parameters replaced (None removes one)."""
    params = query_params(search)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params) if params else "?"


def _known_region(base: Scope, code: str) -> bool:
    def lookup() -> bool:
        return read(lambda conn: region_name(conn, base, code)) is not None

    return cached_static(f"known:{base.region}:{code}", lookup, timeout=60)


def resolve_view(search: str | None) -> View:
    """The view for a URL query string. Raises DataUnavailable when the database cannot be read,
    BadSearch for a query no page sends. A bad or foreign region and a bad or out-of-range moment are
    a person's typing: the view falls back (own region, live) and says so in ``notices``."""
    params = query_params(search)
    tz = wall_tz()
    base = read_scope()
    scope, notices = base, []

    wanted = params.get("region")
    if wanted:
        shown = wanted[:20]
        try:
            scope = base.narrow(wanted)
        except (ScopeError, BadRegionCode):
            notices.append(f"区域代码 {shown} 无效或不在权限范围内")
        else:
            if scope.region != base.region and not _known_region(base, scope.region):
                scope = base
                notices.append(f"未找到区域 {shown}")

    at = None
    if params.get("at"):
        try:
            at = parse_moment(at_text(params["at"]), tz)
        except (ValueError, OverflowError):
            notices.append("时间参数无效，显示实时数据")
        else:
            if at >= datetime.now(UTC):
                at = None
                notices.append("时间在未来，显示实时数据")
    return View(scope=scope, base=base, at=at, tz=tz, notices=tuple(notices))


def read_scope() -> Scope:
    """The user's scope; resolving the deployment root may need the database."""
    return read(lambda _conn: current_scope(), connect=False)
