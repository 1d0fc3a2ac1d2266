"""The ``gridwall`` command line (interfaces.md, "Command line")."""

from __future__ import annotations

import ipaddress
import sys
import threading

import click

from data_access.db import get_engine, init_db

from .config import get_settings

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
    """Create the contract tables (standalone use) and gridwall's gw_* tables; idempotent."""
    created = init_db(_engine())
    click.echo(f"created: {', '.join(created)}" if created else "all tables exist; nothing to do")


@main.command("check-db")
def check_db_cmd() -> None:
    """Check a platform database against the contract; exit 1 when gridwall cannot run on it."""
    from .checkdb import run_check

    report = run_check(_engine())
    click.echo(report.render())
    sys.exit(1 if report.fatal else 0)


@main.command("seed")
@click.option("--county", default="320585", show_default=True, help="county code (太仓市 320585)")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--seed", "seed_", default=20261126, show_default=True, type=int, help="random seed")
def seed_cmd(county: str, days: int, seed_: int) -> None:
    """Write a synthetic county and its history (replaces an earlier synthetic county)."""
    from .synth.seed import seed_county

    engine = _engine()
    init_db(engine)
    stats = seed_county(engine, county=county, days=days, seed=seed_)
    click.echo(" ".join(f"{k}={v}" for k, v in stats.items()))


@main.command("simulate")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.01, 10000),
              help="simulated seconds per real second")
@click.option("--seed", "seed_", default=None, type=int)
def simulate_cmd(speed: float, seed_: int | None) -> None:
    """Keep writing new cases, lifecycle steps, shifts and pings in real time."""
    from .synth.simulate import run_simulator

    run_simulator(_engine(), speed=speed, seed=seed_)


@main.command("demo")
@click.option("--port", default=8050, show_default=True, type=int)
def demo_cmd(port: int) -> None:
    """Embedded database + synthetic county + live simulator + the wall on 127.0.0.1, auth off."""
    from .app import create_app
    from .synth.seed import county_exists, seed_county
    from .synth.simulate import run_simulator

    settings = get_settings()
    engine = _engine()
    init_db(engine)
    if not county_exists(engine):
        click.echo("seeding a synthetic county (太仓市, 90 days) ...")
        seed_county(engine, county="320585", days=90, seed=20261126)
    stop = threading.Event()
    threading.Thread(target=run_simulator, args=(engine,), kwargs={"stop": stop, "catch_up": True},
                     name="simulator", daemon=True).start()
    app = create_app(settings, auth=False)
    click.echo(f"gridwall demo: http://127.0.0.1:{port}/  (Ctrl-C stops)")
    try:
        _serve(app.server, "127.0.0.1", port)
    finally:
        stop.set()


def _serve(server, host: str, port: int) -> None:
    from waitress import serve

    serve(server, host=host, port=port, threads=16, ident=None, _quiet=True)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
def serve_cmd(host: str, port: int) -> None:
    """The production server (also: gunicorn dashboard.wsgi:server)."""
    from .app import create_app

    settings = get_settings()
    if settings.auth == "off" and not _is_loopback(host):
        raise click.UsageError("GRIDWALL_AUTH=off is accepted only on a loopback address")
    app = create_app(settings, auth=settings.auth == "on")
    click.echo(f"gridwall serving on http://{host}:{port}/")
    _serve(app.server, host, port)


@main.group("user")
def user_group() -> None:
    """Users of the wall."""


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--region", default=None, help="region code (required for street and wall users)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def user_add_cmd(name: str, role: str, region: str | None, password_stdin: bool) -> None:
    from .users import UserError, add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    engine = _engine()
    init_db(engine, contract=False)
    try:
        add_user(engine, name, role=role, region=region, password=password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {name} ({role}{' ' + region if region else ''}) saved")


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@click.argument("name")
def token_create_cmd(name: str) -> None:
    """Print a new API token for that user (only its hash is stored)."""
    from .users import UserError, create_token

    engine = _engine()
    init_db(engine, contract=False)
    try:
        click.echo(create_token(engine, name))
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
