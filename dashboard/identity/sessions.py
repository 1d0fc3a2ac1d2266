"""Server-side browser sessions: the cookie holds a random id, ``gw_sessions`` says whether it is live.

- ``start_session(user, via=..., token_id=...)``: a fresh session (password login, OIDC, kiosk link);
  the browser's previous session, if any, is ended.
- ``session_user()``: the user of the request's session, checked in one statement: the session row
  not ended, the user active, a kiosk session's token not revoked, a password or OIDC session younger
  than ``session_hours``. ``last_seen_at`` is written at most once a minute.
- ``end_session()``: logout; the row is ended, so a copy of the cookie is refused everywhere at once.

Disabling a user and a new password end all of its sessions (``identity.users.set_user_active``,
``usecases.users.save_user``). Only the SHA-256 of the session id is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import current_app, g, session
from sqlalchemy.exc import SQLAlchemyError

from data_access import sessions as session_db
from data_access import users as user_db
from data_access.db import get_engine
from data_access.users import User

SESSION_ID = "sid"
VIAS = ("password", "oidc", "kiosk")
TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)  # ended rows are deleted after this (logins stay in gw_audit)


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def _cookie_sid() -> str | None:
    sid = session.get(SESSION_ID)
    return sid if isinstance(sid, str) and 20 <= len(sid) <= 100 else None


def _session_hours() -> float:
    return float(current_app.config.get("GRIDWALL_SESSION_HOURS", 12.0))


def start_session(user: User, *, via: str, token_id: int | None = None) -> None:
    """A fresh session for ``user``: a row in gw_sessions and its id in the cookie (the old one ends)."""
    if via not in VIAS:
        raise ValueError(f"unknown login method {via!r}")
    now = _now()
    sid = secrets.token_urlsafe(32)
    old = _cookie_sid()
    kiosk_lifetime = current_app.permanent_session_lifetime
    with _engine().begin() as conn:
        if old is not None:
            session_db.end_login_session(conn, _id_hash(old), now)
        session_db.start_login_session(conn, _id_hash(sid), user_id=user.id, via=via, token_id=token_id, now=now)
        session_db.prune_login_sessions(conn, ended_before=now - KEEP_ENDED,
                                        started_before=now - timedelta(hours=_session_hours()) - KEEP_ENDED,
                                        unseen_before=now - kiosk_lifetime - KEEP_ENDED)
    session.clear()
    session[SESSION_ID] = sid
    # Kiosk sessions survive browser and server restarts (the token can end them); others end with the
    # browser or after session_hours.
    session.permanent = via == "kiosk"
    g.gw_user = user


def session_user() -> User | None:
    """The user of the request's live session, else None (and the cookie is cleared)."""
    sid = _cookie_sid()
    if sid is None:
        return _legacy_kiosk_session() if session.get("via") == "kiosk" else _forget()
    now = _now()
    with _engine().connect() as conn:
        live = session_db.live_login_session(conn, _id_hash(sid))
    if live is None or not _holds(live, now):
        return _forget()
    if live.last_seen_at is None or now - live.last_seen_at >= TOUCH_EVERY:
        try:
            with _engine().begin() as conn:
                session_db.touch_login_session(conn, live.id, now, seen_before=now - TOUCH_EVERY)
        except SQLAlchemyError:
            current_app.logger.warning("session %s: last seen not recorded", live.id)
    return live.user


def _holds(live: session_db.LiveSession, now: datetime) -> bool:
    if not live.user.active or live.via not in VIAS:
        return False
    if live.via == "kiosk":
        return live.token_live
    return live.created_at is not None and now - live.created_at <= timedelta(hours=_session_hours())


def _legacy_kiosk_session() -> User | None:
    """A wall's signed cookie from before server-side sessions (uid, via=kiosk, tid): moved to a server-side
    session once when its token is still live, so that displays need not open their links again."""
    uid, tid = session.get("uid"), session.get("tid")
    if not isinstance(uid, int) or not isinstance(tid, int):
        return _forget()
    with _engine().connect() as conn:
        user = user_db.user_by_id(conn, uid)
        live = user is not None and user.active and user.role == "wall" and user_db.token_is_live(conn, tid, uid)
    if not live:
        return _forget()
    start_session(user, via="kiosk", token_id=tid)
    return user


def _forget() -> None:
    if session:
        session.clear()


def end_session() -> None:
    """Logout: end the request's session row and clear the cookie."""
    sid = _cookie_sid()
    if sid is not None:
        with _engine().begin() as conn:
            session_db.end_login_session(conn, _id_hash(sid), _now())
    session.clear()
    g.pop("gw_user", None)


def confirmation_code(purpose: str) -> str | None:
    """A code bound to the request's session and ``purpose``, for a page that asks before acting (CSRF:
    another site cannot read it); None without a session."""
    sid = _cookie_sid()
    if sid is None:
        return None
    key = current_app.secret_key
    key = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key, f"{sid}\n{purpose}".encode(), hashlib.sha256).hexdigest()


def confirmed(purpose: str, code: str | None) -> bool:
    expected = confirmation_code(purpose)
    return expected is not None and isinstance(code, str) and hmac.compare_digest(expected, code)


def safe_next(value: str | None) -> str:
    """Where to go after a login: only a local path, never another host (//host, /\\host, or tricks
    browsers normalise)."""
    if not value or not value.startswith("/") or len(value) > 2000:
        return "/"
    if any(c in value for c in "\\\t\r\n\x00") or value.startswith("//"):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value
