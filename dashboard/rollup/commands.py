"""``gridwall rollup publish | subscribe | status | unsubscribe`` (interfaces.md) and the roll-up's init-db."""

from __future__ import annotations

import json
import sys

import click

from dashboard.core.config import get_settings
from data_access import rollup


def _engine():
    from data_access.db import get_engine

    return get_engine(get_settings().effective_database_url)


def _fail(exc: Exception) -> None:
    click.echo(f"gridwall rollup: {exc}", err=True)
    sys.exit(2)


def init_rollup_db(engine, root: str) -> None:
    from .names import default_categories, rollup_regions

    try:
        regions = rollup_regions(root)
        rollup.init_rollup(engine, root, regions, default_categories())
    except (ValueError, rollup.RollupError) as exc:
        _fail(exc)
    counties = sum(1 for r in regions if r["level"] == "county")
    click.echo(f"roll-up database for {root}: {len(regions)} regions ({counties} counties) from the bundled "
               "GB/T 2260 list; next: `gridwall rollup subscribe NAME --source URL` for each county")


@click.group("rollup")
def rollup_group() -> None:
    """City and province walls: counties' databases rolled up by PostgreSQL logical replication."""


@rollup_group.command("publish")
@click.option("--county", default=None, help="the county's code (default: GRIDWALL_ROOT, else the single county)")
def publish_cmd(county: str | None) -> None:
    """On a county's database: publish the contract tables and the heartbeat row.

    Moves the contract tables into schema gw_<county> (public keeps views of the same names and the
    database's search_path points there), creates the publication gridwall_rollup; `gridwall worker`
    (duty rollup) then beats every 10 s."""
    from data_access.regions import NoRoot, find_root

    engine = _engine()
    try:
        if county is None:
            with engine.connect() as conn:
                county = find_root(conn, get_settings().root)
        published = rollup.publish(engine, county)
    except (NoRoot, rollup.RollupError) as exc:
        _fail(exc)
    moved = f"; moved {', '.join(published.moved)} into {published.schema}" if published.moved else ""
    click.echo(f"county {published.county}: publication {rollup.PUBLICATION} of {len(published.tables)} tables in "
               f"schema {published.schema}{moved}. Keep `gridwall worker` running (duty rollup beats every 10 s).")


@rollup_group.command("subscribe")
@click.argument("name")
@click.option("--source", "source_url", required=True,
              help="the county's libpq URI as this server reaches it: postgresql://user@host:port/db")
def subscribe_cmd(name: str, source_url: str) -> None:
    """On the city's or province's database (GRIDWALL_DATABASE_URL): a county's tables and the subscription."""
    try:
        src = rollup.subscribe(_engine(), name, source_url)
    except rollup.RollupError as exc:
        _fail(exc)
    click.echo(f"{src.name}: county {src.county} (slot {src.slot}, schema {src.schema}) subscribed from {src.source}; "
               "its rows are being copied, then streamed (`gridwall rollup status`)")


@rollup_group.command("unsubscribe")
@click.argument("name")
def unsubscribe_cmd(name: str) -> None:
    """Drop a county from this roll-up (its subscription, schema and rows here)."""
    try:
        rollup.unsubscribe(_engine(), name)
    except rollup.RollupError as exc:
        _fail(exc)
    click.echo(f"{name}: unsubscribed")


@rollup_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="print a JSON list, one object per source")
def status_cmd(as_json: bool) -> None:
    """Each source's state, replication lag and row counts."""
    engine = _engine()
    with engine.connect() as conn:
        if not rollup.is_rollup(conn):
            published = rollup.published_county(conn) if conn.dialect.name == "postgresql" else None
            if published:
                click.echo(f"county {published}: publishing ({rollup.PUBLICATION}); this is not a roll-up database")
                return
            _fail(rollup.RollupError("this database is not a roll-up (GRIDWALL_ROOT 2 or 4 digits + `gridwall init-db`)"))
        rows = rollup.status(conn, stale_after=get_settings().rollup_stale_seconds)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no sources: `gridwall rollup subscribe NAME --source URL`")
        return
    click.echo(f"{'name':<14} {'county':<7} {'state':<10} {'stale':<6} {'lag':>8}  {'data as of':<26} rows (cases/actions/pings)")
    for r in rows:
        lag = "-" if r["lag_seconds"] is None else f"{r['lag_seconds']:.1f}s"
        n = r["rows"]
        click.echo(f"{r['name']:<14} {r['county']:<7} {r['state']:<10} {str(r['stale']).lower():<6} {lag:>8}  "
                   f"{(r['data_as_of'] or '-'):<26} {n['cases']}/{n['case_actions']}/{n['staff_pings']}")
