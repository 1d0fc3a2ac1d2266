"""The archive of meeting packs (周报归档, issue 15 part 4): ``gw_packs``.

One row per region x period x format. The row is also the scheduled duty's claim: a worker inserts
it as ``building`` (``claim_pack``); the unique key (region, period kind, period start, format)
refuses a second worker, so two workers, on one host or several, never both build one pack. The
worker then stores the file and marks it ``ready`` (``finish_pack``), or ``failed`` with the error
(``fail_pack``). A claim left ``building`` longer than ``stale_after`` (its worker died) is taken
over by one worker (a conditional UPDATE on the old claim); a ``failed`` one is claimed again after a
backoff that doubles with each attempt. Works the same on SQLite and PostgreSQL.

Reads (``list_packs``, ``pack_content``, ``pack_states``) are scoped like every read: a street sees
its own street's packs only; ``audiences`` keeps the county's ``leader`` pack (with the concealment
watch) from roles that may not see it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .models import GwPack
from .scope import Scope
from .scoped import in_scope

STATUSES = ("building", "ready", "failed")
FORMATS = ("pdf", "xlsx")
AUDIENCES = ("leader", "street")
# A failed pack is tried again after retry_base, 2x, 4x ... at most this long.
MAX_RETRY = timedelta(hours=6)
MAX_ERROR = 2000

p = GwPack.__table__.c
# Every column but the file itself: what a listing shows.
LISTED = [c for c in GwPack.__table__.c if c.name != "content"]


def retry_delay(attempts: int, base: timedelta) -> timedelta:
    """How long after its last failure a pack that failed ``attempts`` times is tried again."""
    return min(MAX_RETRY, base * 2 ** max(0, min(attempts - 1, 16)))


def claim_pack(conn: Connection, *, region_code: str, period_kind: str, period_start: date, period_end: date,
               fmt: str, audience: str, worker: str, now: datetime, stale_after: timedelta,
               retry_base: timedelta = timedelta(minutes=5)) -> int | None:
    """Claim the pack (region, period, format) for ``worker``: its row id, or None when another has it.

    A new pack is inserted as ``building``; when the row exists (the unique key), it is ours only if
    it is ``building`` and its claim is older than ``stale_after`` (a worker that died: taken over),
    or ``failed`` and its backoff has run out (tried again). Both take-overs are conditional UPDATEs
    on the row as read, so of two workers racing for it one wins. Call it in its own short
    transaction: the claim must be visible to other workers before the pack is built."""
    if fmt not in FORMATS or audience not in AUDIENCES:
        raise ValueError(f"unknown format {fmt!r} or audience {audience!r}")
    values = {"region_code": region_code, "period_kind": period_kind, "period_start": period_start,
              "period_end": period_end, "fmt": fmt, "audience": audience, "status": "building",
              "claimed_by": worker, "claimed_at": now, "attempts": 1}
    key = ["region_code", "period_kind", "period_start", "fmt"]
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(GwPack.__table__)
        new_id = conn.execute(ins.values(**values).on_conflict_do_nothing(index_elements=key)
                              .returning(p.id)).scalar()
    else:  # pragma: no cover - another backend: a unique violation rolls back the whole transaction
        try:
            new_id = conn.execute(insert(GwPack.__table__).values(**values).returning(p.id)).scalar()
        except IntegrityError:
            return None
    if new_id is not None:
        return int(new_id)
    row = conn.execute(select(p.id, p.status, p.claimed_by, p.claimed_at, p.finished_at, p.attempts)
                       .where(p.region_code == region_code, p.period_kind == period_kind,
                              p.period_start == period_start, p.fmt == fmt)).first()
    if row is None:
        return None
    if row.status == "building":
        if row.claimed_at is not None and row.claimed_at > now - stale_after:
            return None
        cond = [p.status == "building", p.claimed_at == row.claimed_at if row.claimed_at is not None
                else p.claimed_at.is_(None)]
    elif row.status == "failed":
        attempts = row.attempts or 1
        if row.finished_at is not None and row.finished_at > now - retry_delay(attempts, retry_base):
            return None
        cond = [p.status == "failed", p.finished_at == row.finished_at if row.finished_at is not None
                else p.finished_at.is_(None)]
    else:
        return None
    taken = conn.execute(update(GwPack.__table__).where(p.id == row.id, *cond).values(
        status="building", claimed_by=worker, claimed_at=now, finished_at=None, error=None,
        attempts=(row.attempts or 0) + 1))
    return int(row.id) if taken.rowcount == 1 else None


def finish_pack(conn: Connection, pack_id: int, worker: str, content: bytes, filename: str | None,
                now: datetime) -> bool:
    """Store the built file and mark the pack ``ready``; False when the claim is no longer ``worker``'s
    (it was taken over as stale and the other worker owns it now)."""
    done = conn.execute(update(GwPack.__table__)
                        .where(p.id == pack_id, p.status == "building", p.claimed_by == worker)
                        .values(status="ready", content=content, size=len(content), filename=filename,
                                finished_at=now, error=None))
    return done.rowcount == 1


def fail_pack(conn: Connection, pack_id: int, worker: str, error: str, now: datetime) -> bool:
    """Mark the pack ``failed`` with the error (it is claimed again after its backoff)."""
    done = conn.execute(update(GwPack.__table__)
                        .where(p.id == pack_id, p.status == "building", p.claimed_by == worker)
                        .values(status="failed", error=(error or "")[:MAX_ERROR], finished_at=now))
    return done.rowcount == 1


def pack_states(conn: Connection, scope: Scope, period_kind: str, first_start: date) -> dict[tuple, dict]:
    """The packs of the scope's regions of ``period_kind`` starting on or after ``first_start``, by
    (region_code, period_start, fmt): status, claimed_at, finished_at, attempts (what the duty needs
    to see what is due without trying a claim for every pack every minute)."""
    rows = conn.execute(select(p.region_code, p.period_start, p.fmt, p.status, p.claimed_at, p.finished_at,
                               p.attempts)
                        .where(in_scope(scope, GwPack), p.period_kind == period_kind,
                               p.period_start >= first_start)).mappings()
    return {(r["region_code"], r["period_start"], r["fmt"]): dict(r) for r in rows}


def list_packs(conn: Connection, scope: Scope, *, audiences: Iterable[str],
               since: date | None = None, period_kind: str | None = "week", limit: int = 500,
               made_by: datetime | None = None) -> list[dict[str, Any]]:
    """The ready packs of the scope's regions (their files left out), newest period first, then by
    region and format. ``audiences``: those the reader may see (no default: the county's ``leader``
    pack must be asked for); ``since`` keeps periods starting then or later; ``made_by`` keeps the
    packs finished by then (a past view lists what the archive held at that moment)."""
    stmt = (select(*LISTED).where(in_scope(scope, GwPack), p.status == "ready",
                                  p.audience.in_([a for a in audiences if a in AUDIENCES])))
    if period_kind is not None:
        stmt = stmt.where(p.period_kind == period_kind)
    if since is not None:
        stmt = stmt.where(p.period_start >= since)
    if made_by is not None:
        stmt = stmt.where(p.finished_at <= made_by)
    stmt = stmt.order_by(p.period_start.desc(), p.region_code, p.fmt).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def pack_content(conn: Connection, scope: Scope, pack_id: int, *, audiences: Iterable[str]) -> dict[str, Any] | None:
    """A ready pack of the scope with its file, or None (unknown, another region's, not ready, or an
    audience the reader may not see: all look the same)."""
    row = conn.execute(select(GwPack.__table__)
                       .where(p.id == pack_id, in_scope(scope, GwPack), p.status == "ready",
                              p.audience.in_([a for a in audiences if a in AUDIENCES]))).mappings().first()
    return dict(row) if row is not None else None
