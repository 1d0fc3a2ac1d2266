"""The walls' heartbeats (``gw_walls``): written by ``POST /live/heartbeat``, read by ``/ops`` and by the
``walls`` duty (a kiosk wall silent for two minutes raises an alert, ended when it reports again).

One row per wall id (upserted). Times are explicit (``now``); nothing here reads the clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .models import Alert, GwWall, Grid, Region
from .scope import Scope
from .scoped import in_scope
from .types import UTCDateTime

w = GwWall.__table__.c


@dataclass(frozen=True)
class Heartbeat:
    """One heartbeat as the server records it: identity from the session, region already clamped."""

    wall_id: str
    username: str | None
    kiosk: bool
    region_code: str | None
    layout: dict[str, Any]
    frame_age: float | None
    heap_mb: float | None
    version: str | None
    remote_addr: str | None


def record_heartbeat(conn: Connection, beat: Heartbeat, now: datetime, dark_after: timedelta) -> None:
    """Upsert the wall's row. ``live_since`` restarts when the wall was silent for more than ``dark_after``."""
    values = {"username": beat.username, "kiosk": beat.kiosk, "region_code": beat.region_code,
              "layout": json.dumps(beat.layout, ensure_ascii=False, sort_keys=True),
              "frame_age": beat.frame_age, "heap_mb": beat.heap_mb, "version": beat.version,
              "remote_addr": beat.remote_addr}
    came_back = or_(w.last_seen_at.is_(None), w.last_seen_at < now - dark_after)
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"gw_walls upsert on {dialect}")
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(GwWall.__table__)
    stmt = ins.values(wall_id=beat.wall_id, first_seen_at=now, last_seen_at=now, live_since=now, **values)
    live_since = case((came_back, literal(now, UTCDateTime())), else_=w.live_since)
    conn.execute(stmt.on_conflict_do_update(index_elements=["wall_id"],
                                            set_={**values, "last_seen_at": now, "live_since": live_since}))


def walls_of_user(conn: Connection, username: str, *, since: datetime, beyond: str) -> int:
    """How many walls ``username`` has reported since ``since``, when ``beyond`` would be a new one
    (0 when the wall ``beyond`` is known already: its heartbeat adds no row)."""
    if conn.execute(select(w.wall_id).where(w.wall_id == beyond)).first() is not None:
        return 0
    return conn.execute(select(func.count()).select_from(GwWall.__table__)
                        .where(w.username == username, w.last_seen_at >= since)).scalar_one()


def _row(r) -> dict[str, Any]:
    row = dict(r)
    try:
        layout = json.loads(row.get("layout") or "{}")
    except ValueError:
        layout = {}
    row["layout"] = layout if isinstance(layout, dict) else {}
    return row


def recent_walls(conn: Connection, scope: Scope, since: datetime) -> list[dict[str, Any]]:
    """Walls heard from since ``since`` whose region lies in ``scope`` (and, at the root, walls without
    a region: auth off), most recently heard first."""
    inside = in_scope(scope, GwWall.__table__)
    if scope.is_root:
        inside = or_(inside, w.region_code.is_(None))
    stmt = (select(GwWall.__table__).where(w.last_seen_at >= since, inside)
            .order_by(w.last_seen_at.desc(), w.wall_id))
    return [_row(r) for r in conn.execute(stmt).mappings()]


def silent_kiosk_walls(conn: Connection, silent_since: datetime) -> list[dict[str, Any]]:
    """Kiosk walls last heard before ``silent_since`` that have no open dark alert yet."""
    stmt = (select(GwWall.__table__)
            .where(w.kiosk.is_(True), w.last_seen_at < silent_since, w.dark_alert_id.is_(None))
            .order_by(w.last_seen_at, w.wall_id))
    return [_row(r) for r in conn.execute(stmt).mappings()]


def returned_walls(conn: Connection, heard_since: datetime) -> list[dict[str, Any]]:
    """Walls with an open dark alert that have reported since ``heard_since``."""
    stmt = (select(GwWall.__table__)
            .where(w.dark_alert_id.is_not(None), w.last_seen_at >= heard_since)
            .order_by(w.wall_id))
    return [_row(r) for r in conn.execute(stmt).mappings()]


def set_dark_alert(conn: Connection, wall_id: str, alert_id: int | None) -> None:
    conn.execute(update(GwWall.__table__).where(w.wall_id == wall_id).values(dark_alert_id=alert_id))


def prune_walls(conn: Connection, unseen_before: datetime) -> int:
    """Forget walls not heard from since ``unseen_before``, except those with an open dark alert."""
    return conn.execute(delete(GwWall.__table__).where(
        and_(w.last_seen_at < unseen_before, w.dark_alert_id.is_(None)))).rowcount


def alert_id_for_key(conn: Connection, dedup_key: str) -> int | None:
    """The alert written under ``dedup_key`` (a dark episode raised by an earlier run)."""
    return conn.execute(select(Alert.__table__.c.id).where(Alert.__table__.c.dedup_key == dedup_key)).scalar()


def place_names(conn: Connection, codes: list[str]) -> dict[str, str]:
    """Names of the regions and grids among ``codes`` (codes the caller has already scoped); an unknown
    code is missing from the answer."""
    regions = [c for c in set(codes) if c and len(c) < 15]
    grids = [c for c in set(codes) if c and len(c) == 15]
    names: dict[str, str] = {}
    for table, wanted in ((Region.__table__, regions), (Grid.__table__, grids)):
        if wanted:
            names.update((code, name or code) for code, name in
                         conn.execute(select(table.c.code, table.c.name).where(table.c.code.in_(wanted))))
    return names
