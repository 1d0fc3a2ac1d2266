"""The scheduled meeting packs (周报归档): each week's pack for the county and each of its streets.

Every minute (``gridwall worker``, or the demo's thread) the duty asks which weeks are due
(``schedule.due_weeks``), reads what the archive already holds, and for each missing pack (region x
week x format) claims it (``data_access.packs.claim_pack``: the row's unique key makes it
exactly-once across workers and hosts, whatever lock they hold), builds it
(``dashboard.pack.build_pack``), and stores it in the archive (``gw_packs``) as ``ready``, or
``failed`` with the error, to be tried again after a backoff. A claim whose worker died while
building is taken over once it is older than ``stale_after``.

The county's pack is the leaders' (``audience = leader``: built for the role ``leader``, with the
concealment watch); a street's pack is built for the role ``street`` (without it). Each archived pack
is handed to ``on_ready``: with push channels ``dashboard.push.packs.PackAnnouncer``, which announces
the run's packs with their links, one message per channel.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dashboard.analytics import scoring
from data_access import packs as archive
from data_access.moment import Moment
from data_access.period import Period
from data_access.regions import children, region_name
from data_access.scope import Scope

from .schedule import due_weeks

log = logging.getLogger("gridwall.packs")
UTC = timezone.utc
KIND = "week"
LOCK_NAME = "gridwall.packs"
DEFAULT_STALE_AFTER = timedelta(minutes=15)  # longer than any pack takes to build
DEFAULT_RETRY_BASE = timedelta(minutes=5)


def worker_id() -> str:
    """This process, as a claim names it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Target:
    code: str
    name: str
    audience: str  # leader (the county) or street

    @property
    def role(self) -> str:
        return "leader" if self.audience == "leader" else "street"


@dataclass(frozen=True)
class ArchivedPack:
    """What ``announce`` gets: the pack as archived, and its link."""

    id: int
    region_code: str
    region_name: str
    audience: str
    period: Period
    fmt: str
    size: int
    link: str


@dataclass
class PackReport:
    built: list[tuple[str, date, str]] = field(default_factory=list)
    failed: list[tuple[str, date, str]] = field(default_factory=list)
    taken: int = 0  # packs another worker had claimed, found while trying

    def summary(self) -> str:
        return f"{len(self.built)} built, {len(self.failed)} failed, {self.taken} claimed by another worker"


def announce(pack: ArchivedPack) -> None:
    """The default ``on_ready`` without push channels: log only. With ``[[push.channel]]``,
    ``from_settings`` hands the packs to ``dashboard.push.packs.PackAnnouncer`` instead."""
    log.debug("packs: would announce %s %s %s: %s", pack.region_code, pack.period.first, pack.fmt, pack.link)


def _build_pack(*args, **kwargs) -> bytes:
    from dashboard.pack import build_pack  # the renderer (WeasyPrint, xlsxwriter): loaded only when used

    return build_pack(*args, **kwargs)


def _pack_filename(target: Target, period: Period, fmt: str) -> str:
    try:
        from dashboard.pack import pack_filename
    except ImportError:
        pack_filename = None
    if pack_filename is not None:
        try:
            return pack_filename(target.code, period, fmt, name=target.name)
        except Exception:  # noqa: BLE001 - a name is a nicety: the fallback below is a fine name
            log.warning("packs: pack_filename failed; using the default name", exc_info=True)
    return f"{target.name}_{period.first.isoformat()}_{period.last.isoformat()}.{fmt}"


class PackDuty:
    """One worker's pack duty. Call ``run(scope, now)`` (or hand the object to ``run_loop``, which
    calls it with the whole deployment's scope and the moment)."""

    def __init__(self, engine: Engine, *, tz: ZoneInfo, weekday: int = 1, at: str = "07:00",
                 catch_up_weeks: int = 4, formats=("pdf", "xlsx"), enabled: bool = True,
                 rules: list | None = None, public_url: str = "http://127.0.0.1:8050", worker: str | None = None,
                 stale_after: timedelta = DEFAULT_STALE_AFTER, retry_base: timedelta = DEFAULT_RETRY_BASE,
                 build: Callable[..., bytes] | None = None,
                 filename: Callable[[Target, Period, str], str] | None = None,
                 on_ready: Callable[[ArchivedPack], None] | None = None,
                 stop: threading.Event | None = None):
        self.engine = engine
        self.tz = tz
        self.weekday, self.at, self.catch_up_weeks = weekday, at, catch_up_weeks
        self.formats = tuple(formats)
        self.enabled = enabled
        self.rules = rules
        self.public_url = public_url.rstrip("/")
        self.worker = worker or worker_id()
        self.stale_after, self.retry_base = stale_after, retry_base
        self.build = build or _build_pack
        self.filename = filename or _pack_filename
        self.on_ready = on_ready or announce
        self.stop = stop or threading.Event()

    @classmethod
    def from_settings(cls, engine: Engine, settings, **kw) -> "PackDuty":
        """The duty as ``[packs]``, ``[review.score]``, the time zone and the public URL configure it."""
        packs = settings.packs
        configured = dict(tz=settings.tz, weekday=packs.weekday, at=packs.time, catch_up_weeks=packs.catch_up_weeks,
                          formats=packs.formats, enabled=packs.enabled,
                          rules=scoring.rules_from_settings(settings.review.score),
                          public_url=settings.public_url)
        if settings.push.channel and "on_ready" not in kw:  # announce through push (dashboard/push/packs.py)
            from dashboard.push.packs import PackAnnouncer

            configured["on_ready"] = PackAnnouncer(engine, settings, stop=kw.get("stop"))
        return cls(engine, **{**configured, **kw})

    # run_loop's signature: (engine, scope, moment, state) -> report (None: nothing to log)
    def __call__(self, engine: Engine, scope: Scope, m: Moment, _state=None) -> PackReport | None:
        report = self.run(scope, m.at)
        flush = getattr(self.on_ready, "flush", None)
        if flush is not None and report.built:
            try:
                flush()  # one announcement per channel for the packs of this run
            except Exception:  # noqa: BLE001 - the packs are archived; announcing is a courtesy
                log.exception("packs: announcing the packs of this run failed")
        return report if report.built or report.failed else None

    def targets(self, scope: Scope) -> list[Target]:
        """The root county (the leaders' pack) and each of its streets."""
        with self.engine.connect() as conn:
            name = region_name(conn, scope, scope.region) or scope.region
            streets = children(conn, scope)
        return [Target(scope.region, name, "leader")] + [Target(s["code"], s["name"], "street") for s in streets]

    def due(self, scope: Scope, now: datetime) -> list[tuple[Target, date, str]]:
        """The packs to try now, newest week first: due, and not ready, not being built by a live
        worker, not failed within their backoff."""
        if not self.enabled:
            return []
        weeks = due_weeks(now, self.tz, weekday=self.weekday, at=self.at, catch_up_weeks=self.catch_up_weeks)
        targets = self.targets(scope)
        with self.engine.connect() as conn:
            states = archive.pack_states(conn, scope, KIND, min(weeks))
        out = []
        for monday in weeks:
            for target in targets:
                for fmt in self.formats:
                    state = states.get((target.code, monday, fmt))
                    if state is None or self._open(state, now):
                        out.append((target, monday, fmt))
        return out

    def _open(self, state: dict, now: datetime) -> bool:
        if state["status"] == "building":
            return state["claimed_at"] is None or state["claimed_at"] <= now - self.stale_after
        if state["status"] == "failed":
            delay = archive.retry_delay(state["attempts"] or 1, self.retry_base)
            return state["finished_at"] is None or state["finished_at"] <= now - delay
        return False

    def run(self, scope: Scope, now: datetime) -> PackReport:
        """Make every pack due at ``now`` that no worker has made or is making."""
        report = PackReport()
        for target, monday, fmt in self.due(scope, now):
            if self.stop.is_set():
                break
            self.make(scope, target, monday, fmt, now, report)
        return report

    def make(self, scope: Scope, target: Target, monday: date, fmt: str, now: datetime,
             report: PackReport) -> int | None:
        """Claim, build and archive one pack; its id, or None when another worker has it."""
        period = Period.week(monday, self.tz)
        with self.engine.begin() as conn:
            pack_id = archive.claim_pack(conn, region_code=target.code, period_kind=KIND, period_start=period.first,
                                         period_end=period.last, fmt=fmt, audience=target.audience,
                                         worker=self.worker, now=now, stale_after=self.stale_after,
                                         retry_base=self.retry_base)
        if pack_id is None:
            report.taken += 1
            return None
        started = time.monotonic()
        region_scope = scope.narrow(target.code)
        try:
            content = self.build(self.engine, region_scope, period, now, role=target.role, fmt=fmt, rules=self.rules,
                                 public_url=self.public_url, tz=self.tz)
            if not isinstance(content, (bytes, bytearray)) or not content:
                raise ValueError("the pack builder returned no file")
            name = self.filename(target, period, fmt)
        except Exception as exc:  # noqa: BLE001 - archived as failed, tried again after the backoff
            log.exception("packs: %s %s %s failed", target.code, period.first, fmt)
            with self.engine.begin() as conn:
                archive.fail_pack(conn, pack_id, self.worker, f"{type(exc).__name__}: {exc}", datetime.now(UTC))
            report.failed.append((target.code, monday, fmt))
            return pack_id
        seconds = time.monotonic() - started
        with self.engine.begin() as conn:
            stored = archive.finish_pack(conn, pack_id, self.worker, bytes(content), name, datetime.now(UTC))
        if not stored:
            log.warning("packs: %s %s %s was taken over while building; the other worker's stands",
                        target.code, period.first, fmt)
            return None
        report.built.append((target.code, monday, fmt))
        log.info("packs: built %s %s week %s (%s to %s) %s, %d bytes in %.1f s", target.code, target.name,
                 period.first.isocalendar().week, period.first, period.last, fmt, len(content), seconds)
        pack = ArchivedPack(pack_id, target.code, target.name, target.audience, period, fmt, len(content),
                            f"{self.public_url}/api/v1/packs/{pack_id}")
        try:
            self.on_ready(pack)
        except Exception:  # noqa: BLE001 - the pack is archived; announcing is the push dispatcher's
            log.exception("packs: announcing pack %d failed", pack_id)
        return pack_id
