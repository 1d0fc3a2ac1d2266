"""Server-side login sessions (table gw_sessions): identity data, not regional.

The browser's cookie holds a random session id; only its SHA-256 (``id_hash``) is stored. A session
is live while ``ended_at`` is NULL: logout ends one, disabling a user or giving it a new password ends
all of the user's. ``live_login_session`` is what every request runs: the session, its user and (for a
kiosk session) its token, in one statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from .models import GwSession, GwToken, GwUser
from .users import _USER_COLS, User, _user

s = GwSession.__table__.c
t = GwToken.__table__.c
u = GwUser.__table__.c


@dataclass(frozen=True)
class LiveSession:
    id: int
    user: User
    via: str
    created_at: datetime | None
    last_seen_at: datetime | None
    token_live: bool  # the kiosk link it came from still exists, is the user's and is not revoked


def start_login_session(conn: Connection, id_hash: str, *, user_id: int, via: str, token_id: int | None,
                        now: datetime) -> int:
    return conn.execute(insert(GwSession).values(
        id_hash=id_hash, user_id=user_id, via=via, token_id=token_id, created_at=now, last_seen_at=now,
    ).returning(s.id)).scalar_one()


def live_login_session(conn: Connection, id_hash: str) -> LiveSession | None:
    """The unended session with this id hash, with its user and its token's state; None when there is none.

    Whether the user is active and the session young enough is the caller's rule (it knows the
    configuration); everything it needs comes back from this one round trip.
    """
    joined = (GwSession.__table__.join(GwUser.__table__, u.id == s.user_id)
              .outerjoin(GwToken.__table__, and_(t.id == s.token_id, t.user_id == s.user_id)))
    row = conn.execute(
        select(s.id.label("session_id"), s.via, s.created_at, s.last_seen_at, t.id.label("token_row"),
               t.revoked_at, *_USER_COLS)
        .select_from(joined).where(s.id_hash == id_hash, s.ended_at.is_(None))
    ).first()
    if row is None:
        return None
    return LiveSession(id=row.session_id, user=_user(row), via=row.via, created_at=row.created_at,
                       last_seen_at=row.last_seen_at,
                       token_live=row.token_row is not None and row.revoked_at is None)


def touch_login_session(conn: Connection, session_id: int, now: datetime, *, seen_before: datetime) -> None:
    """Record that the session was used, unless another request did so since ``seen_before``."""
    stale = or_(s.last_seen_at.is_(None), s.last_seen_at < seen_before)
    conn.execute(update(GwSession).where(s.id == session_id, stale).values(last_seen_at=now))


def end_login_session(conn: Connection, id_hash: str, now: datetime) -> bool:
    """End one session (logout); False when it was not live."""
    return conn.execute(update(GwSession).where(s.id_hash == id_hash, s.ended_at.is_(None))
                        .values(ended_at=now)).rowcount > 0


def end_user_login_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    """End every live session of a user (disabled, or a new password); returns how many."""
    return conn.execute(update(GwSession).where(s.user_id == user_id, s.ended_at.is_(None))
                        .values(ended_at=now)).rowcount


def prune_login_sessions(conn: Connection, *, ended_before: datetime, started_before: datetime,
                         unseen_before: datetime) -> int:
    """Delete sessions that can never be used again: ended before ``ended_before``, non-kiosk sessions
    started before ``started_before``, and any session not seen since ``unseen_before``."""
    dead = or_(s.ended_at < ended_before,
               and_(s.via != "kiosk", s.created_at < started_before),
               s.last_seen_at < unseen_before)
    return conn.execute(delete(GwSession).where(dead)).rowcount
