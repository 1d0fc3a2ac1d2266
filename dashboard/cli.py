"""The ``gridwall`` command line (interfaces.md, "Command line")."""

from __future__ import annotations

import ipaddress
import sys
import threading

import click

from dashboard.core.config import get_settings
from data_access.db import get_engine, init_db

ROLES = ("center", "leader", "street", "wall")


def _engine():
    return get_engine(get_settings().effective_database_url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group()
@click.version_option(package_name="gridwall")
def main() -> None:
    """gridwall: 网格化联动指挥中心大屏 / the grid-linkage command-center wall."""


@main.command("init-db")
def init_db_cmd() -> None:
    """Create the contract tables (standalone use) and gridwall's gw_* tables; idempotent.

    With GRIDWALL_ROOT a province (2 digits) or a city (4 digits), make a roll-up database instead
    (PostgreSQL): the province, city and county names from the bundled Jiangsu GB/T 2260 list, ready
    for `gridwall rollup subscribe`."""
    root = get_settings().root
    if root and len(root) < 6:
        from dashboard.rollup.commands import init_rollup_db

        init_rollup_db(_engine(), root)
        return
    created = init_db(_engine())
    click.echo(f"created: {', '.join(created)}" if created else "all tables exist; nothing to do")


@main.command("check-db")
def check_db_cmd() -> None:
    """Check a platform database against the contract; exit 1 when gridwall cannot run on it."""
    from dashboard.core.checkdb import run_check

    report = run_check(_engine())
    click.echo(report.render())
    sys.exit(1 if report.fatal else 0)


@main.command("seed")
@click.option("--county", default="320585", show_default=True, help="county code (太仓市 320585)")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--seed", "seed_", default=20261126, show_default=True, type=int, help="random seed")
@click.option("--realistic", is_flag=True, help="domain volume, seasons, holidays, storms, trends and hotspot episodes")
def seed_cmd(county: str, days: int, seed_: int, realistic: bool) -> None:
    """Write a synthetic county and its history (replaces an earlier synthetic county)."""
    from dashboard.synth.seasons import Realism
    from dashboard.synth.seed import seed_county

    engine = _engine()
    init_db(engine)
    stats = seed_county(engine, county=county, days=days, seed=seed_, realism=Realism() if realistic else None)
    click.echo(" ".join(f"{k}={v}" for k, v in stats.items()))


@main.command("simulate")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.01, 10000),
              help="simulated seconds per real second")
@click.option("--seed", "seed_", default=None, type=int)
def simulate_cmd(speed: float, seed_: int | None) -> None:
    """Keep writing new cases, lifecycle steps, shifts and pings in real time."""
    from dashboard.synth.simulate import run_simulator

    run_simulator(_engine(), speed=speed, seed=seed_)


@main.command("warn")
@click.option("--loop", "mode", flag_value="loop", help="run as a service: one active instance when several run")
@click.option("--once", "mode", flag_value="once", help="run once; print the alerts raised as JSON lines")
@click.option("--replay", "mode", flag_value="replay", help="run as of each step from --from to --to")
@click.option("--at", default=None, help="--once: the moment (ISO 8601; no offset = local time)")
@click.option("--from", "from_", default=None, help="--replay: first step (ISO 8601)")
@click.option("--to", default=None, help="--replay: last step (ISO 8601)")
@click.option("--step", default="1d", show_default=True, help="--replay: 1d, 6h, 30m ...")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400),
              help="--loop: seconds between runs")
@click.option("--lock", "lock_kind", default="auto", show_default=True,
              type=click.Choice(("auto", "postgres", "lease", "redis")), help="--loop: single-instance lock")
def warn_cmd(mode, at, from_, to, step, interval, lock_kind) -> None:
    """The early-warning engine (智能预警)."""
    from dashboard.push.routes import raised_hook
    from dashboard.warning.commands import warn_command

    hook = raised_hook(get_settings().push) if mode == "loop" else None  # alerts owed to [push] channels as written
    warn_command(mode, at, from_, to, step, interval, lock_kind, on_raised=hook)


@main.command("worker")
@click.option("--duties", default="warning,packs,walls,push,rollup", show_default=True,
              help="comma-separated: warning (the early-warning engine), packs (the scheduled meeting packs), "
                   "walls (an alert for a silent kiosk wall), push (the alert push dispatcher and its escalations), "
                   "rollup (a publishing county's heartbeat every 10 s)")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400),
              help="seconds between runs of the early-warning engine")
@click.option("--lock", "lock_kind", default="auto", show_default=True,
              type=click.Choice(("auto", "postgres", "lease", "redis")), help="each duty's single-instance lock")
def worker_cmd(duties: str, interval: float, lock_kind: str) -> None:
    """Every background duty in one process; one active instance of each across workers and hosts."""
    import signal

    from dashboard.warning.commands import _logging
    from dashboard.worker.run import run_worker

    settings = get_settings()
    engine = _engine()
    init_db(engine, contract=False)  # gw_warn_state, gw_packs; the platform tables are the platform's
    _logging(20)  # INFO: each pack built, each duty's role
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    names = tuple(d.strip() for d in duties.split(",") if d.strip())
    click.echo(f"gridwall worker: {', '.join(names)} ({lock_kind} locks; SIGTERM or Ctrl-C stops)", err=True)
    try:
        run_worker(engine, settings, stop, duties=names, lock_kind=lock_kind, warning_interval=interval)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


# The demo's history: 13 months and a few days, so every month's 同比 (the same month a year earlier) has data.
DEMO_DAYS = 400


@main.command("demo")
@click.option("--port", default=8050, show_default=True, type=int)
def demo_cmd(port: int) -> None:
    """Embedded database + synthetic county + live simulator + the wall on 127.0.0.1, auth off."""
    from dashboard.app import create_app
    from dashboard.synth.seed import county_exists, seed_county
    from dashboard.synth.simulate import run_simulator
    from dashboard.warning.lock import run_loop

    settings = get_settings()
    engine = _engine()
    init_db(engine)
    if not county_exists(engine):
        click.echo(f"seeding a synthetic county (太仓市, {DEMO_DAYS} days) ...")
        seed_county(engine, county="320585", days=DEMO_DAYS, seed=20261126)
    stop = threading.Event()
    threading.Thread(target=run_simulator, args=(engine,), kwargs={"stop": stop, "catch_up": True},
                     name="simulator", daemon=True).start()
    from dashboard.push.routes import raised_hook
    from dashboard.warning.engine import run_engine

    hook = raised_hook(settings.push)  # alerts the engine raises are owed to [push] channels as they are written
    threading.Thread(target=run_loop, args=(engine,), name="warning", daemon=True,
                     kwargs={"tz": settings.tz, "root": settings.root, "stop": stop, "first_delay": 30.0,
                             "run": lambda eng, scope, m, state: run_engine(eng, scope, m, state=state,
                                                                            on_raised=hook)}).start()
    # The scheduled meeting packs (周报归档) as gridwall worker runs them; in the demo only last week's
    # (no catch-up), after the simulator and the engine have had their start. And the walls duty (an
    # alert for a silent kiosk wall; with auth off no wall is a kiosk one, so it only keeps gw_walls tidy).
    # And the push dispatcher, when [push] has a channel.
    from dashboard.worker.packs import PackDuty
    from dashboard.worker.run import start_duties

    start_duties(engine, settings, stop, duties=("packs", "walls", "push"), first_delay=60.0,
                 pack_duty=PackDuty.from_settings(engine, settings, stop=stop, catch_up_weeks=0))
    app = create_app(settings, auth=False)
    click.echo(f"gridwall demo: http://127.0.0.1:{port}/  (Ctrl-C stops)")
    try:
        _serve(app.server, "127.0.0.1", port)
    finally:
        stop.set()


def _serve(server, host: str, port: int) -> None:
    from waitress import serve

    threads = 16
    server.config.setdefault("GRIDWALL_PUSH_SLOTS", threads - 4)  # each open wall holds a thread
    # waitress reads a whole body before the app sees it: it must refuse an oversized one itself.
    max_body = server.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024
    serve(server, host=host, port=port, threads=threads, ident=None, _quiet=True, max_request_body_size=max_body)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
def serve_cmd(host: str, port: int) -> None:
    """The production server (also: gunicorn dashboard.wsgi:server)."""
    from dashboard.app import create_app

    settings = get_settings()
    if settings.auth == "off" and not _is_loopback(host):
        raise click.UsageError("GRIDWALL_AUTH=off is accepted only on a loopback address")
    app = create_app(settings, auth=settings.auth == "on")
    click.echo(f"gridwall serving on http://{host}:{port}/")
    _serve(app.server, host, port)


@main.command("report")
@click.option("--region", required=True, help="region code (county, street, community or grid)")
@click.option("--period", "kind", default="week", show_default=True,
              type=click.Choice(["week", "month", "quarter", "custom"]))
@click.option("--date", "day", required=True, help="YYYY-MM-DD: a day of the period (custom: its first day)")
@click.option("--end", default=None, help="custom periods: the last day, YYYY-MM-DD")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="FILE.pdf or FILE.xlsx")
def report_cmd(region: str, kind: str, day: str, end: str | None, out: str) -> None:
    """The meeting pack (研判会商材料) of a region and period: PDF or Excel by the file's ending."""
    import os
    import tempfile
    import time
    from pathlib import Path

    from dashboard.analytics.scoring import rules_from_settings
    from dashboard.pack import build_pack
    from data_access.moment import Moment
    from data_access.period import PeriodError, parse_period
    from dashboard.identity.operator import operator_scope
    from data_access.regions import NoRoot, region_name
    from data_access.scope import BadRegionCode, ScopeError

    started = time.perf_counter()
    path = Path(out)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "xlsx"):
        raise click.BadParameter("FILE must end in .pdf or .xlsx", param_hint="--out")
    settings = get_settings()
    engine = _engine()
    moment = Moment.now(settings.tz)
    try:
        period = parse_period(kind, day, end, settings.tz, moment.at)
    except PeriodError as exc:
        raise click.BadParameter(f"{exc} (period {exc.reason})", param_hint="--period/--date/--end")
    try:
        with engine.connect() as conn:
            scope = operator_scope(conn, settings.root, region)
            name = region_name(conn, scope, scope.region)
    except (BadRegionCode, ScopeError, NoRoot) as exc:
        raise click.BadParameter(f"region {region!r}: {exc}", param_hint="--region")
    if name is None:
        raise click.BadParameter(f"unknown region {region}", param_hint="--region")
    data = build_pack(engine, scope, period, moment, role="leader", fmt=fmt,
                      rules=rules_from_settings(settings.review.score),
                      public_url=settings.public_url, tz=settings.tz)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"{path} {len(data)} bytes {time.perf_counter() - started:.1f} s")


@main.group("user")
def user_group() -> None:
    """Users of the wall."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--region", default=None, help="region code (required for street and wall users)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (not for wall users)")
@click.option("--enable", is_flag=True, help="also enable the user if it was disabled (otherwise it stays disabled)")
def user_add_cmd(name: str, role: str, region: str | None, password_stdin: bool, enable: bool) -> None:
    """Create a user, or update an existing one's role, region and password.

    A disabled user stays disabled unless --enable is given. A new password ends the user's
    sessions. Wall users have no password: they log in through their kiosk link (token create).
    """
    from dashboard.identity.users import UserError
    from dashboard.usecases.users import save_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    engine = _engine()
    init_db(engine, contract=False)
    try:
        saved = save_user(engine, name, role=role, region=region, password=password, enable=enable)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    state = "" if saved.active else " (disabled: add --enable to enable it)"
    click.echo(f"user {name} ({role}{' ' + region if region else ''}) saved{state}")


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("name")
def token_create_cmd(name: str) -> None:
    """Print a new API token for that user (only its hash is stored)."""
    from dashboard.identity.users import UserError, create_token

    engine = _engine()
    init_db(engine, contract=False)
    try:
        click.echo(create_token(engine, name))
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc


@user_group.command("list")
def user_list_cmd() -> None:
    """Users, their roles, regions and live tokens."""
    from dashboard.identity.users import list_users

    engine = _engine()
    init_db(engine, contract=False)
    for u in list_users(engine):
        state = "active" if u["active"] else "disabled"
        click.echo(f"{u['username']}\t{u['role']}\t{u['region_code'] or '-'}\t{state}\ttokens={u['tokens']}")


@user_group.command("disable")
@click.argument("name")
def user_disable_cmd(name: str) -> None:
    """Disable a user: its sessions, kiosk links and API tokens stop working at once."""
    _set_active(name, False)


@user_group.command("enable")
@click.argument("name")
def user_enable_cmd(name: str) -> None:
    """Enable a disabled user again."""
    _set_active(name, True)


def _set_active(name: str, active: bool) -> None:
    from dashboard.identity.users import UserError, set_user_active

    try:
        set_user_active(_engine(), name, active)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {name} {'enabled' if active else 'disabled'}")


@token_group.command("list")
@click.argument("name")
def token_list_cmd(name: str) -> None:
    """The tokens of a user (id, issued, revoked); the tokens themselves are not stored."""
    from dashboard.identity.users import UserError, list_tokens

    try:
        rows = list_tokens(_engine(), name)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    for row in rows:
        revoked = row["revoked_at"].isoformat(timespec="seconds") if row["revoked_at"] else "live"
        created = row["created_at"].isoformat(timespec="seconds") if row["created_at"] else "-"
        click.echo(f"{row['id']}\t{created}\t{revoked}")


@token_group.command("revoke")
@click.argument("name")
@click.option("--id", "token_id", type=int, default=None, help="the token id (gridwall token list NAME)")
@click.option("--token-stdin", is_flag=True, help="read the token itself from standard input")
@click.option("--all", "all_", is_flag=True, help="every token of the user")
def token_revoke_cmd(name: str, token_id: int | None, token_stdin: bool, all_: bool) -> None:
    """Revoke a token: API calls and kiosk sessions started from it stop at once."""
    from dashboard.identity.users import UserError, revoke_tokens

    if sum((token_id is not None, token_stdin, all_)) != 1:
        raise click.UsageError("pick exactly one of --id, --token-stdin, --all")
    token = sys.stdin.readline().strip() if token_stdin else None
    try:
        count = revoke_tokens(_engine(), name, token_id=token_id, token=token)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {count} token(s) of {name}")
    if count == 0:
        sys.exit(1)


@main.group("push")
def push_group() -> None:
    """Alert push (告警推送) through the channels of [push]."""


@push_group.command("test")
@click.argument("channel")
def push_test_cmd(channel: str) -> None:
    """Send one test message through CHANNEL: exit 0 sent, 1 failed, 2 no such channel."""
    from dashboard.push.duty import send_probe

    engine = _engine()
    init_db(engine, contract=False)  # gw_push_sends
    outcome = send_probe(engine, get_settings(), channel)
    if outcome.status == "ok":
        click.echo(f"{channel}: ok")
        return
    click.echo(f"{channel}: {outcome.status}: {outcome.reason}", err=True)
    sys.exit(2 if outcome.status == "unknown" else 1)


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False),
              help="the TOML mapping file (docs/interfaces.md, \"The import mapping file\")")
@click.option("--dry-run", is_flag=True, help="read, map and report; write nothing")
@click.option("--json", "as_json", is_flag=True,
              help='print {"read", "imported", "updated", "skipped": {reason: n}, "cleared": {field: n}}')
def import_cmd(file: str, mapping_path: str, dry_run: bool, as_json: bool) -> None:
    """Load a CSV/XLSX case export into the contract tables (standalone database); idempotent.

    Exit 2 for a malformed mapping or an unreadable FILE.
    """
    import json

    from dashboard.importer import MappingError, SourceError, run_import

    try:
        report = run_import(_engine(), file, mapping_path, dry_run=dry_run)
    except (MappingError, SourceError) as exc:
        click.echo(f"gridwall import: {exc}", err=True)
        sys.exit(2)
    if as_json:  # stdout stays the five keys; the notes go to stderr
        for note in report.notes():
            click.echo(f"gridwall import: note: {note}", err=True)
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        click.echo(report.render())


@main.command("backtest")
@click.option("--from", "from_", required=True, help="first day of the first week scored (YYYY-MM-DD, local)")
@click.option("--to", "to", required=True, help="last day scored (YYYY-MM-DD); the last week ends by it")
@click.option("--region", default=None, help="region code (default: the root)")
@click.option("--json", "as_json", is_flag=True,
              help='print {"weeks", "forecast": {"mae": {...}}, "hotspots": {"hit_rate": {...}, "pai": {...}}}')
def backtest_cmd(from_: str, to: str, region: str | None, as_json: bool) -> None:
    """Replay the forecast and the hotspots week by week over the database's history against naive rules.

    For each week: the forecast made from the days before it against what happened (MAE of gridwall's
    forecast and of naive baselines, per region level), and the predicted top 5 % grids against where
    the week's cases fell (hit rate and PAI, against the naive counts of the last 1, 4 and 12 weeks).
    """
    import json
    from datetime import date

    from dashboard.identity.operator import operator_scope
    from dashboard.warning.backtest import render, run_backtest
    from data_access.regions import NoRoot
    from data_access.scope import BadRegionCode, ScopeError

    try:
        first, last = date.fromisoformat(from_), date.fromisoformat(to)
    except ValueError as exc:
        raise click.BadParameter(f"{exc} (YYYY-MM-DD)", param_hint="--from/--to")
    if (last - first).days < 6:
        raise click.BadParameter("--to must be at least 6 days after --from (one week)", param_hint="--to")
    settings = get_settings()
    engine = _engine()
    try:
        with engine.connect() as conn:
            scope = operator_scope(conn, settings.root, region)
    except (BadRegionCode, ScopeError, NoRoot) as exc:
        raise click.BadParameter(f"region {region!r}: {exc}", param_hint="--region")
    result = run_backtest(engine, scope, settings.tz, first, last)
    click.echo(json.dumps(result, ensure_ascii=False) if as_json else render(result))


from dashboard.rollup.commands import rollup_group  # noqa: E402 - the group's commands import lazily

main.add_command(rollup_group)


@main.group("db")
def db_group() -> None:
    """Database administration."""


@db_group.command("grant")
@click.argument("role")
@click.option("--print", "print_only", is_flag=True, help="print the SQL instead of running it")
def db_grant_cmd(role: str, print_only: bool) -> None:
    """Give a PostgreSQL ROLE exactly gridwall's privileges (run as the tables' owner).

    SELECT on the platform tables; SELECT, INSERT, UPDATE on alerts; read and write on gw_*.
    """
    from data_access.privileges import apply_grants, grant_statements

    engine = _engine()
    if engine.dialect.name != "postgresql":
        raise click.ClickException("database roles exist on PostgreSQL only")
    with engine.begin() as conn:
        statements = grant_statements(conn, role) if print_only else apply_grants(conn, role)
    click.echo("\n".join(s + ";" for s in statements))


@db_group.command("privileges")
def db_privileges_cmd() -> None:
    """Check the configured connection's role: exit 1 when it lacks a privilege gridwall needs."""
    from data_access.privileges import check_privileges

    with _engine().connect() as conn:
        report = check_privileges(conn)
    if report is None:
        click.echo("SQLite: no database roles to check")
        return
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
