"""Running the duties: one thread each, through the engine's single-instance loop, until ``stop``."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from dashboard.core.duty_status import KNOWN_DUTIES
from dashboard.push.duty import LOCK_NAME as PUSH_LOCK
from dashboard.push.duty import PushDuty
from dashboard.push.routes import raised_hook
from dashboard.warning.engine import run_engine
from dashboard.warning.lock import LOCK_NAME as WARNING_LOCK
from dashboard.warning.lock import make_lock, run_loop

from dashboard.rollup.heartbeat import LOCK_NAME as ROLLUP_LOCK
from dashboard.rollup.heartbeat import Heartbeat

from .packs import LOCK_NAME as PACKS_LOCK
from .packs import PackDuty
from .walls import DarkWallWatch

log = logging.getLogger("gridwall.worker")
DUTIES = KNOWN_DUTIES
PACKS_INTERVAL = 60.0  # seconds between the pack duty's looks at what is due
WALLS_INTERVAL = 30.0  # seconds between the walls duty's looks for silent kiosk walls
WALLS_LOCK = "gridwall.walls"
PUSH_STANDBY_POLL = 2.0  # a standby dispatcher takes over within this of the active one's lock freeing


def start_duties(engine: Engine, settings, stop: threading.Event, *, duties=DUTIES, lock_kind: str = "auto",
                 warning_interval: float = 60.0, packs_interval: float = PACKS_INTERVAL,
                 first_delay: float = 0.0, pack_duty: PackDuty | None = None,
                 walls_interval: float = WALLS_INTERVAL, push_duty: PushDuty | None = None) -> list[threading.Thread]:
    """Start each duty's thread; each holds its own single-instance lock while active (another
    worker's duty stands by). ValueError for an unknown duty or a lock that cannot be had here.
    The push duty starts only when ``[push]`` has a channel; with routes, the warning duty owes each
    alert it raises to its channels in the same transaction."""
    unknown = sorted(set(duties) - set(DUTIES))
    if unknown:
        raise ValueError(f"unknown duties {unknown}; known: {', '.join(DUTIES)}")
    plans = []
    if "warning" in duties:
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=WARNING_LOCK)
        hook = raised_hook(settings.push)
        run = (lambda eng, scope, m, state: run_engine(eng, scope, m, state=state, on_raised=hook)) if hook else None
        plans.append(("warning", dict(interval=warning_interval, lock=lock, run=run)))
    if "packs" in duties:
        duty = pack_duty or PackDuty.from_settings(engine, settings, stop=stop)
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=PACKS_LOCK)
        plans.append(("packs", dict(interval=packs_interval, lock=lock, run=duty, label="packs",
                                    standby_poll=min(packs_interval, 15.0))))
    if "walls" in duties:
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=WALLS_LOCK)
        plans.append(("walls", dict(interval=walls_interval, lock=lock, run=DarkWallWatch(), label="walls",
                                    standby_poll=min(walls_interval, 15.0))))
    if "rollup" in duties:
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=ROLLUP_LOCK)
        beat = settings.rollup_beat_seconds
        plans.append(("rollup", dict(interval=beat, lock=lock, run=Heartbeat(), label="rollup",
                                     standby_poll=min(beat, 5.0))))
    if "push" in duties:
        if settings.push.channel:
            duty = push_duty or PushDuty.from_settings(engine, settings)
            lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=PUSH_LOCK,
                             lease=settings.push.lease_seconds)
            plans.append(("push", dict(interval=settings.push.poll_seconds, lock=lock, run=duty, label="push",
                                       standby_poll=PUSH_STANDBY_POLL)))
        else:
            log.info("worker: duty push idle: no [[push.channel]] configured")
    threads = []
    for name, kw in plans:
        thread = threading.Thread(target=run_loop, args=(engine,), name=f"duty-{name}", daemon=True,
                                  kwargs={"tz": settings.tz, "root": settings.root, "stop": stop,
                                          "first_delay": first_delay, **kw})
        thread.start()
        threads.append(thread)
        log.info("worker: duty %s started (%s lock)", name, kw["lock"].kind)
    return threads


def run_worker(engine: Engine, settings, stop: threading.Event, **kw) -> None:
    """Run the duties until ``stop`` is set, then wait for each to finish what it is doing (a pack
    being built is finished and archived; its lock is released)."""
    threads = start_duties(engine, settings, stop, **kw)
    while not stop.wait(1.0):
        dead = [t.name for t in threads if not t.is_alive()]
        if dead:  # run_loop ends only on stop; a thread gone means a bug: stop the others and say so
            log.error("worker: %s ended unexpectedly; stopping", ", ".join(dead))
            stop.set()
    for thread in threads:
        thread.join(timeout=120)
        if thread.is_alive():
            log.warning("worker: %s did not stop within 120 s", thread.name)
