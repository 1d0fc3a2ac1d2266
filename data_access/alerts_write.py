"""gridwall's own writes to ``alerts`` (source ``gridwall``) and to its engine state ``gw_warn_state``.

An alert is one *episode* of a situation. The situation is the detector's key (``sla:risk:org:12``);
the row's ``dedup_key`` is that key plus the moment the episode began (``...@20261126T020000Z``),
so the same situation raises one alert while it lasts and a new one when it comes back after it
cleared, and a replay of the same history writes the same keys (idempotent). ``resolved_at`` ends
an episode whatever the status: a dismissed alert keeps its status but gets ``resolved_at`` when
its situation clears, and until then the situation raises nothing.

Only the warning engine calls these: it works on the whole deployment, so its reads take no scope
and are named ``engine_*`` (the wall and the API read alerts through ``data_access.alerts``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, case, func, insert, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .rollup import writes_through_view
from .models import Alert, GwWarnState
from .moment import Moment

a = Alert.__table__.c
w = GwWarnState.__table__.c
SOURCE = "gridwall"
EPISODE_SEP = "@"
OPEN_STATUSES = ("new", "acknowledged")
_COLUMNS = (a.id, a.created_at, a.kind, a.severity, a.region_code, a.category_code, a.title, a.detail,
            a.status, a.resolved_at, a.dedup_key)


def situation_of(dedup_key: str) -> str:
    """The situation key of an episode's dedup_key (the key itself when it has no episode suffix)."""
    return dedup_key.rsplit(EPISODE_SEP, 1)[0] if EPISODE_SEP in dedup_key else dedup_key


def episode_key(situation: str, began: datetime) -> str:
    return f"{situation}{EPISODE_SEP}{began.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


def engine_active_alerts(conn: Connection, m: Moment) -> list[dict[str, Any]]:
    """gridwall's alerts whose episode is running at T: created by T and not ended by T (an alert
    marked resolved without a time counts as ended). Oldest first."""
    stmt = (select(*_COLUMNS)
            .where(a.source == SOURCE, a.dedup_key.is_not(None), a.created_at <= m.at,
                   or_(a.resolved_at.is_(None), a.resolved_at > m.at),
                   not_(and_(a.status == "resolved", a.resolved_at.is_(None))))
            .order_by(a.created_at, a.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def engine_raised_counts(conn: Connection, kinds: list[str], since: datetime, at: datetime) -> dict[tuple[str, str], int]:
    """gridwall's alerts of ``kinds`` created in [since, at], per (kind, street): the first 9 digits of
    the region (a shorter code as it is). What the alarm budget has used (dashboard/warning/budget.py)."""
    if not kinds:
        return {}
    street = func.substr(a.region_code, 1, 9)
    stmt = (select(a.kind, street, func.count())
            .where(a.source == SOURCE, a.kind.in_(kinds), a.created_at >= since, a.created_at <= at)
            .group_by(a.kind, street))
    return {(kind, code or ""): int(n) for kind, code, n in conn.execute(stmt)}


def insert_alert(conn: Connection, *, dedup_key: str, created_at: datetime, kind: str, severity: str,
                 region_code: str, category_code: str | None, title: str, detail: dict) -> int | None:
    """Insert a new alert; None (and nothing written) when its dedup_key exists already."""
    values = {"created_at": created_at, "kind": kind, "severity": severity, "region_code": region_code,
              "category_code": category_code, "title": title, "detail": dump_detail(detail), "status": "new",
              "source": SOURCE, "dedup_key": dedup_key}
    dialect = conn.dialect.name
    if dialect == "postgresql" and writes_through_view(conn):
        # A roll-up's alerts view: its INSTEAD OF trigger skips a duplicate dedup_key (no row returned).
        return conn.execute(insert(Alert.__table__).values(**values).returning(a.id)).scalar()
    if dialect in ("postgresql", "sqlite"):
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Alert.__table__)
        stmt = ins.values(**values).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(a.id)
        return conn.execute(stmt).scalar()
    if conn.execute(select(a.id).where(a.dedup_key == dedup_key)).first():
        return None
    return conn.execute(insert(Alert.__table__).values(**values).returning(a.id)).scalar()


def update_alert(conn: Connection, alert_id: int, *, severity: str, title: str, detail: dict) -> None:
    """New evidence for a running episode; its status (new/acknowledged) is left as it is."""
    conn.execute(update(Alert.__table__).where(a.id == alert_id)
                 .values(severity=severity, title=title, detail=dump_detail(detail)))


def end_episode(conn: Connection, alert_id: int, at: datetime) -> None:
    """The situation cleared at ``at``: a new or acknowledged alert becomes resolved; a dismissed one
    stays dismissed. Either way resolved_at = at."""
    conn.execute(update(Alert.__table__)
                 .where(a.id == alert_id, or_(a.resolved_at.is_(None), a.resolved_at > at))
                 .values(status=case((a.status.in_(OPEN_STATUSES), "resolved"), else_=a.status), resolved_at=at))


def engine_alert_rows(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return [dict(r) for r in conn.execute(select(*_COLUMNS).where(a.id.in_(ids)).order_by(a.id)).mappings()]


def dump_detail(detail: dict) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)


def load_detail(text: str | None) -> dict:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- gw_warn_state --------------------------------------------------------------------------

def engine_read_state(conn: Connection, name: str) -> str | None:
    return conn.execute(select(w.value).where(w.name == name)).scalar()


def write_state(conn: Connection, name: str, value: str, at: datetime) -> None:
    done = conn.execute(update(GwWarnState.__table__).where(w.name == name).values(value=value, updated_at=at))
    if done.rowcount == 0:
        conn.execute(insert(GwWarnState.__table__).values(name=name, value=value, updated_at=at))


def take_lease(conn: Connection, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Hold the lease ``name`` until ``until`` when it is free, expired or already ours."""
    taken = conn.execute(update(GwWarnState.__table__)
                         .where(w.name == name, or_(w.holder == holder, w.holder.is_(None), w.expires_at.is_(None),
                                                    w.expires_at < now))
                         .values(holder=holder, expires_at=until, updated_at=now))
    if taken.rowcount == 1:
        return True
    if conn.execute(select(w.name).where(w.name == name)).first():
        return False
    dialect = conn.dialect.name
    values = {"name": name, "holder": holder, "expires_at": until, "updated_at": now}
    if dialect in ("postgresql", "sqlite"):
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(GwWarnState.__table__)
        stmt = ins.values(**values).on_conflict_do_nothing(index_elements=["name"]).returning(w.name)
        return conn.execute(stmt).scalar() is not None
    conn.execute(insert(GwWarnState.__table__).values(**values))
    return True


def renew_lease(conn: Connection, name: str, holder: str, now: datetime, until: datetime) -> bool:
    """Extend our lease; False when it is no longer ours (expired and taken by another)."""
    return conn.execute(update(GwWarnState.__table__)
                        .where(w.name == name, w.holder == holder)
                        .values(expires_at=until, updated_at=now)).rowcount == 1


def drop_lease(conn: Connection, name: str, holder: str, now: datetime) -> None:
    conn.execute(update(GwWarnState.__table__).where(w.name == name, w.holder == holder)
                 .values(holder=None, expires_at=now, updated_at=now))
