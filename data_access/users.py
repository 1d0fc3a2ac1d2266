"""gridwall's own users, API tokens and audit log (tables gw_users, gw_tokens, gw_audit).

Failed logins are audit rows (``login_failed`` with the client address in ``detail``); the login
throttle counts them here, so a lockout holds across workers, hosts and restarts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, insert, inspect, or_, select, update
from sqlalchemy.engine import Connection

from .models import GwAudit, GwToken, GwUser, Region
from .scope import Scope
from .scoped import select_in

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
              hashed: str | None, now: datetime, enable: bool = False, clear_password: bool = False) -> int:
    """Insert a user (active), or update one: a None hash keeps the stored password (unless
    ``clear_password``); an existing user's active flag changes only with ``enable``."""
    existing = conn.execute(select(u.id).where(u.username == username)).scalar()
    values = {"role": role, "region_code": region_code}
    if hashed is not None or clear_password:
        values["password_hash"] = hashed
    if existing is None:
        return conn.execute(insert(GwUser).values(username=username, created_at=now, active=True, **values)
                            .returning(u.id)).scalar_one()
    if enable:
        values["active"] = True
    conn.execute(update(GwUser).where(u.id == existing).values(**values))
    return existing


def region_exists(conn: Connection, code: str) -> bool:
    r = Region.__table__.c
    return conn.execute(select(r.code).where(r.code == code)).first() is not None


def add_token(conn: Connection, user_id: int, token_hash: str, now: datetime) -> None:
    conn.execute(insert(GwToken).values(user_id=user_id, token_hash=token_hash, created_at=now))


def token_by_hash(conn: Connection, token_hash: str) -> tuple[int, User] | None:
    """(token id, user) for an unrevoked token of an active user."""
    row = conn.execute(
        select(t.id.label("token_id"), *_USER_COLS)
        .select_from(GwToken.__table__.join(GwUser.__table__, t.user_id == u.id))
        .where(t.token_hash == token_hash, t.revoked_at.is_(None), u.active.is_(True))
    ).first()
    return (row.token_id, _user(row)) if row else None


def token_is_live(conn: Connection, token_id: int, user_id: int) -> bool:
    """The token exists, belongs to the user and is not revoked (a kiosk session's link)."""
    row = conn.execute(select(t.id).where(t.id == token_id, t.user_id == user_id, t.revoked_at.is_(None))).first()
    return row is not None


def session_user(conn: Connection, user_id: int) -> tuple[User, str | None] | None:
    """The user behind a session and their password hash (to notice a changed password)."""
    row = conn.execute(select(*_USER_COLS, u.password_hash).where(u.id == user_id)).first()
    return (_user(row), row.password_hash) if row else None


def list_users(conn: Connection) -> list[dict]:
    live = (select(func.count()).select_from(GwToken.__table__)
            .where(t.user_id == u.id, t.revoked_at.is_(None)).scalar_subquery())
    stmt = select(u.id, u.username, u.role, u.region_code, u.active, u.created_at,
                  live.label("tokens")).order_by(u.username)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def set_active(conn: Connection, username: str, active: bool) -> bool:
    """Enable or disable a user; False when there is no such user."""
    return conn.execute(update(GwUser).where(u.username == username).values(active=active)).rowcount > 0


def list_tokens(conn: Connection, user_id: int) -> list[dict]:
    stmt = select(t.id, t.created_at, t.revoked_at).where(t.user_id == user_id).order_by(t.id)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def revoke_tokens(conn: Connection, now: datetime, *, user_id: int | None = None, token_id: int | None = None,
                  token_hash: str | None = None) -> int:
    """Revoke tokens picked by user, id or hash (at least one); returns how many were revoked."""
    conds = [t.revoked_at.is_(None)]
    if user_id is not None:
        conds.append(t.user_id == user_id)
    if token_id is not None:
        conds.append(t.id == token_id)
    if token_hash is not None:
        conds.append(t.token_hash == token_hash)
    if len(conds) == 1:
        raise ValueError("pick the tokens to revoke")
    return conn.execute(update(GwToken).where(*conds).values(revoked_at=now)).rowcount


def save_external_user(conn: Connection, username: str, *, role: str, region_code: str | None,
                       now: datetime) -> tuple[User | None, bool]:
    """Create or update a single-sign-on user (no password); a disabled one stays disabled.

    Returns (the user or None when disabled, whether a row was written).
    """
    row = conn.execute(select(*_USER_COLS).where(u.username == username)).first()
    if row is None:
        uid = conn.execute(insert(GwUser).values(username=username, role=role, region_code=region_code,
                                                 active=True, created_at=now).returning(u.id)).scalar_one()
        return User(uid, username, role, region_code, True), True
    user = _user(row)
    if not user.active:
        return None, False
    if (user.role, user.region_code) == (role, region_code):
        return user, False
    conn.execute(update(GwUser).where(u.id == user.id).values(role=role, region_code=region_code))
    return User(user.id, username, role, region_code, True), True


# Engines (by URL) whose gw_audit has its region column. A table made by an older gridwall under a
# role that may not add columns lacks it until its owner runs init-db (``db._add_missing_columns``):
# audit rows are still written there (the login throttle counts them), and read at the root only.
_AUDIT_REGION_SEEN: set[str] = set()


def _audit_has_region(conn: Connection) -> bool:
    key = str(conn.engine.url)
    if key not in _AUDIT_REGION_SEEN:
        if "region_code" not in {col["name"] for col in inspect(conn).get_columns(GwAudit.__tablename__)}:
            return False
        _AUDIT_REGION_SEEN.add(key)  # columns are never dropped: no need to look again
    return True


def write_audit(conn: Connection, username: str | None, action: str, detail: dict | None = None,
                now: datetime | None = None) -> None:
    """One audit row. Its region, by which audit reads are scoped, is the region of the user named
    ``username`` as stored when the row is written: the acting user's (a login, an acknowledgement,
    an export) or the account tried (a failed login). NULL (seen at the root only) for a root user,
    for no user (the system, the command line, a bad kiosk link) and for a name that is no user."""
    values = {"ts": now or datetime.now(timezone.utc), "username": username, "action": action,
              "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail is not None else None}
    if username is not None and _audit_has_region(conn):
        values["region_code"] = select(u.region_code).where(u.username == username).scalar_subquery()
    conn.execute(insert(GwAudit).values(**values))


def audit_rows(conn: Connection, scope: Scope, action: str | None = None, limit: int = 100, *,
               username: str | None = None, before_id: int | None = None) -> list[dict]:
    """Audit rows inside ``scope``, newest first (rows without a region at the root only);
    ``before_id`` pages back."""
    a = GwAudit.__table__.c
    columns = (a.id, a.ts, a.username, a.action, a.detail)
    if _audit_has_region(conn):
        stmt = select_in(scope, GwAudit, *columns)
    elif scope.is_root:
        stmt = select(*columns)  # no region recorded: the whole log, at the root only
    else:
        return []
    stmt = stmt.order_by(a.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(a.action == action)
    if username is not None:
        stmt = stmt.where(a.username == username)
    if before_id is not None:
        stmt = stmt.where(a.id < before_id)
    return [dict(row) for row in conn.execute(stmt).mappings()]


LOGIN_EVENTS = ("login", "login_failed")
# A refused attempt's detail carries ``"locked": true`` (it was never checked against a password).
_LOCKED = '%"locked": true%'


def login_detail(ip: str, **flags) -> dict:
    """The detail of a login event: the client address first (``login_events`` finds it by prefix)."""
    return {"ip": ip, **flags}


def _ip_prefix(ip: str) -> str:
    """A LIKE pattern for details written by ``login_detail(ip)`` (json.dumps, as ``write_audit``)."""
    prefix = '{"ip": ' + json.dumps(ip, ensure_ascii=False)
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def login_events(conn: Connection, since: datetime, *, username: str | None = None, ip: str | None = None,
                 actions: tuple[str, ...] = LOGIN_EVENTS, checked_only: bool = False,
                 limit: int = 2000) -> list[dict]:
    """Logins and failed logins since ``since`` (newest first), of one user name, one client address,
    both, or everyone; ``checked_only`` leaves out attempts refused as locked.

    ``detail`` is parsed (it holds the client address as ``ip``). Filtering by name and address in
    the statement keeps a flood of other rows from pushing the ones asked for out of ``limit``: the
    throttle only needs to know whether a threshold is reached.
    """
    a = GwAudit.__table__.c
    stmt = (select(a.ts, a.username, a.action, a.detail)
            .where(a.ts >= since, a.action.in_(actions)).order_by(a.ts.desc(), a.id.desc()).limit(limit))
    if username is not None:
        stmt = stmt.where(a.username == username)
    if ip is not None:
        stmt = stmt.where(a.detail.like(_ip_prefix(ip), escape="\\"))
    if checked_only:
        stmt = stmt.where(or_(a.detail.is_(None), ~a.detail.like(_LOCKED)))
    out = []
    for row in conn.execute(stmt).mappings():
        try:
            detail = json.loads(row["detail"]) if row["detail"] else {}
        except (TypeError, ValueError):
            detail = {}
        out.append({"ts": row["ts"], "username": row["username"], "action": row["action"],
                    "ip": detail.get("ip") if isinstance(detail, dict) else None})
    return out
