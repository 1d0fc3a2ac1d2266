"""The body of ``gridwall warn`` (``--loop``, ``--once``, ``--replay``); dashboard/cli.py declares it."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime

import click

from data_access.db import get_engine, init_db
from data_access.moment import Moment, parse_moment
from data_access.regions import NoRoot, find_root
from data_access.scope import Scope

from dashboard.core.config import get_settings
from .engine import RunReport, run_engine
from .lock import make_lock, run_loop
from .replay import parse_step, replay


def warn_command(mode: str | None, at: str | None, from_: str | None, to: str | None, step: str,
                 interval: float, lock_kind: str, on_raised=None) -> None:
    """``on_raised``: ``--loop`` calls it for each alert it inserts, in the inserting transaction (the
    CLI passes push's hook when ``[push]`` has routes); ``--once`` and ``--replay`` push nothing."""
    if mode is None:
        raise click.UsageError("choose one of --loop, --once, --replay")
    settings = get_settings()
    tz = settings.tz
    engine = get_engine(settings.effective_database_url)
    init_db(engine, contract=False)  # gw_warn_state; the platform tables are the platform's
    if mode == "loop":
        _logging(logging.INFO)
        try:
            lock = make_lock(engine, lock_kind, redis_url=settings.redis_url)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"gridwall warn: every {interval:g} s, {lock.kind} lock (Ctrl-C stops)", err=True)
        try:
            run_loop(engine, tz=tz, root=settings.root, interval=interval, stop=stop, lock=lock,
                     run=lambda eng, scope, m, state: run_engine(eng, scope, m, state=state, on_raised=on_raised))
        except KeyboardInterrupt:
            stop.set()
        return
    _logging(logging.WARNING)
    root = _root(engine, settings.root)
    if mode == "once":
        m = Moment(_moment(at, tz, "--at"), tz) if at else Moment.now(tz)
        report = run_engine(engine, root, m)
        _print(report, tz)
        return
    if not from_ or not to:
        raise click.UsageError("--replay needs --from and --to")
    try:
        delta = parse_step(step)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--step") from exc
    start, end = _moment(from_, tz, "--from"), _moment(to, tz, "--to")
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    reports = replay(engine, root, start, end, delta, tz, on_step=lambda r: _print(r, tz))
    raised = sum(len(r.raised) for r in reports)
    click.echo(f"replay: {len(reports)} steps, {raised} alerts raised", err=True)


def _print(report: RunReport, tz) -> None:
    for alert in report.raised:
        click.echo(json.dumps({**alert, "created_at": alert["created_at"].astimezone(tz).isoformat()},
                              ensure_ascii=False, default=str))
    click.echo(report.summary(), err=True)


def _moment(text: str, tz, option: str) -> datetime:
    try:
        return parse_moment(text, tz)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint=option) from exc


def _root(engine, configured: str | None) -> Scope:
    try:
        with engine.connect() as conn:
            code = find_root(conn, configured)
    except NoRoot as exc:
        raise click.ClickException(str(exc)) from exc
    return Scope.whole_deployment(code)


def _logging(level: int) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("gridwall").setLevel(level)
