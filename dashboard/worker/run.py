"""Running the duties: one thread each, through the engine's single-instance loop, until ``stop``."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from dashboard.warning.lock import LOCK_NAME as WARNING_LOCK
from dashboard.warning.lock import make_lock, run_loop

from .packs import LOCK_NAME as PACKS_LOCK
from .packs import PackDuty

log = logging.getLogger("gridwall.worker")
DUTIES = ("warning", "packs")
PACKS_INTERVAL = 60.0  # seconds between the pack duty's looks at what is due


def start_duties(engine: Engine, settings, stop: threading.Event, *, duties=DUTIES, lock_kind: str = "auto",
                 warning_interval: float = 60.0, packs_interval: float = PACKS_INTERVAL,
                 first_delay: float = 0.0, pack_duty: PackDuty | None = None) -> list[threading.Thread]:
    """Start each duty's thread; each holds its own single-instance lock while active (another
    worker's duty stands by). ValueError for an unknown duty or a lock that cannot be had here."""
    unknown = sorted(set(duties) - set(DUTIES))
    if unknown:
        raise ValueError(f"unknown duties {unknown}; known: {', '.join(DUTIES)}")
    plans = []
    if "warning" in duties:
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=WARNING_LOCK)
        plans.append(("warning", dict(interval=warning_interval, lock=lock)))
    if "packs" in duties:
        duty = pack_duty or PackDuty.from_settings(engine, settings, stop=stop)
        lock = make_lock(engine, lock_kind, redis_url=settings.redis_url, name=PACKS_LOCK)
        plans.append(("packs", dict(interval=packs_interval, lock=lock, run=duty, label="packs",
                                    standby_poll=min(packs_interval, 15.0))))
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
