"""gridwall's own users, API tokens and audit log (tables gw_users, gw_tokens, gw_audit)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from .models import GwAudit, GwToken, GwUser, Region

u = GwUser.__table__.c
t = GwToken.__table__.c


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    region_code: str | None
    active: bool


def _user(row) -> User:
    return User(id=row.id, username=row.username, role=row.role, region_code=row.region_code,
                active=bool(row.active))


_USER_COLS = (u.id, u.username, u.role, u.region_code, u.active)


def user_by_name(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(*_USER_COLS).where(u.username == username)).first()
    return _user(row) if row else None


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(*_USER_COLS).where(u.id == user_id)).first()
    return _user(row) if row else None


def password_hash(conn: Connection, username: str) -> tuple[User, str | None] | None:
    """The user and their stored password hash (None when they have no password)."""
    row = conn.execute(select(*_USER_COLS, u.password_hash).where(u.username == username)).first()
    return (_user(row), row.password_hash) if row else None


def set_password_hash(conn: Connection, user_id: int, hashed: str) -> None:
    conn.execute(update(GwUser).where(u.id == user_id).values(password_hash=hashed))


def save_user(conn: Connection, username: str, *, role: str, region_code: str | None,
              hashed: str | None, now: datetime) -> int:
    """Insert or update (and reactivate) a user; a None hash keeps the stored password."""
    existing = conn.execute(select(u.id).where(u.username == username)).scalar()
    values = {"role": role, "region_code": region_code, "active": True}
    if hashed is not None:
        values["password_hash"] = hashed
    if existing is None:
        return conn.execute(insert(GwUser).values(username=username, created_at=now, **values)
                            .returning(u.id)).scalar_one()
    conn.execute(update(GwUser).where(u.id == existing).values(**values))
    return existing


def region_exists(conn: Connection, code: str) -> bool:
    r = Region.__table__.c
    return conn.execute(select(r.code).where(r.code == code)).first() is not None


def add_token(conn: Connection, user_id: int, token_hash: str, now: datetime) -> None:
    conn.execute(insert(GwToken).values(user_id=user_id, token_hash=token_hash, created_at=now))


def user_by_token_hash(conn: Connection, token_hash: str) -> User | None:
    """The active user holding this unrevoked token."""
    row = conn.execute(
        select(*_USER_COLS).select_from(GwToken.__table__.join(GwUser.__table__, t.user_id == u.id))
        .where(t.token_hash == token_hash, t.revoked_at.is_(None), u.active.is_(True))
    ).first()
    return _user(row) if row else None


def write_audit(conn: Connection, username: str | None, action: str, detail: dict | None = None,
                now: datetime | None = None) -> None:
    conn.execute(insert(GwAudit).values(
        ts=now or datetime.now(timezone.utc), username=username, action=action,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail is not None else None,
    ))


def audit_rows(conn: Connection, action: str | None = None, limit: int = 100) -> list[dict]:
    a = GwAudit.__table__.c
    stmt = select(a.id, a.ts, a.username, a.action, a.detail).order_by(a.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(a.action == action)
    return [dict(row) for row in conn.execute(stmt).mappings()]
