"""Users of the wall and their API tokens: validation, password hashing (argon2), token issue.

Roles (interfaces.md): ``center`` duty officer, ``leader``, ``street`` (read-only, bound to its
street), ``wall`` (display account, logs in through its kiosk token). Only a token's SHA-256 is
stored; the token itself is shown once.

Password hashing is bounded per process: at most ``HASH_SLOTS`` argon2 computations (64 MiB each) run
at once; a caller that cannot get a slot within ``HASH_WAIT_SECONDS`` gets ``HashingBusy`` (the login
page answers 503), so a burst of logins cannot starve the wall's requests of CPU and memory.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from data_access import sessions as session_db
from data_access import users as db
from data_access.users import User

ROLES = ("center", "leader", "street", "wall")
PASSWORD_ROLES = ("center", "leader", "street")
USERNAME = re.compile(r"^[^\s\x00-\x1f]{1,64}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a miss costs as much as a hit.
_dummy_hash: str | None = None

HASH_SLOTS = 2
HASH_WAIT_SECONDS = 3.0
_hash_slots = threading.BoundedSemaphore(HASH_SLOTS)


class HashingBusy(RuntimeError):
    """Every password-hashing slot stayed taken for ``HASH_WAIT_SECONDS``: try again shortly."""


@contextmanager
def _hashing_slot():
    if not _hash_slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise HashingBusy("password hashing is busy")
    try:
        yield
    finally:
        _hash_slots.release()


class UserError(ValueError):
    """A readable reason why a user command cannot be done."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hash_password(password: str) -> str:
    """The argon2 hash stored for ``password`` (in a hashing slot: may raise HashingBusy)."""
    with _hashing_slot():
        return _hasher.hash(password)


def create_token(engine: Engine, name: str) -> str:
    """A new API token for an existing, active user; only its hash is stored."""
    with engine.begin() as conn:
        user = db.user_by_name(conn, name)
        if user is None:
            raise UserError(f"unknown user {name!r} (add it first: gridwall user add)")
        if not user.active:
            raise UserError(f"user {name!r} is disabled")
        token = secrets.token_urlsafe(32)
        db.add_token(conn, user.id, token_hash(token), _now())
        db.write_audit(conn, None, "token_create", {"user": name})
    return token


def authenticate(engine: Engine, name: str, password: str) -> User | None:
    """The active password user (center, leader, street) with this name and password, else None.

    Exactly one argon2 check whatever the outcome (an unknown name, a user without a password, a
    disabled or a ``wall`` user are checked against a dummy hash), in a hashing slot: raises
    HashingBusy when none frees up in time. No database connection is held while waiting.
    """
    global _dummy_hash
    with engine.connect() as conn:
        found = db.password_hash(conn, name) if name else None
    usable = found is not None and found[1] is not None and found[0].active and found[0].role in PASSWORD_ROLES
    new_hash = None
    with _hashing_slot():
        if not usable:
            if _dummy_hash is None:
                _dummy_hash = _hasher.hash(secrets.token_hex(8))
            try:
                _hasher.verify(_dummy_hash, password or "x")
            except VerificationError:
                pass
            return None
        user, hashed = found
        try:
            _hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(hashed):
            new_hash = _hasher.hash(password)
    if new_hash is not None:
        with engine.begin() as conn:
            db.set_password_hash(conn, user.id, new_hash)
    return user


def user_for_token(engine: Engine, token: str) -> User | None:
    found = token_for(engine, token)
    return found[1] if found else None


def token_for(engine: Engine, token: str) -> tuple[int, User] | None:
    """(token id, user) for a live token of an active user, else None."""
    if not token or len(token) > 200:
        return None
    with engine.connect() as conn:
        return db.token_by_hash(conn, token_hash(token))


def set_user_active(engine: Engine, name: str, active: bool) -> None:
    """Disable (or enable again) a user: disabling ends its sessions (for good: enabling it again does
    not bring them back) and its tokens stop working at once."""
    now = _now()
    with engine.begin() as conn:
        user = db.user_by_name(conn, name)
        if user is None or not db.set_active(conn, name, active):
            raise UserError(f"unknown user {name!r}")
        if not active:
            session_db.end_user_login_sessions(conn, user.id, now)
        db.write_audit(conn, None, "user_enable" if active else "user_disable", {"user": name}, now)


def list_users(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return db.list_users(conn)


def list_tokens(engine: Engine, name: str) -> list[dict]:
    with engine.connect() as conn:
        user = db.user_by_name(conn, name)
        if user is None:
            raise UserError(f"unknown user {name!r}")
        return db.list_tokens(conn, user.id)


def revoke_tokens(engine: Engine, name: str, *, token_id: int | None = None, token: str | None = None) -> int:
    """Revoke one token of a user (by id or by the token itself), or all of them; returns the count.

    A kiosk session started from a revoked token ends at its next request.
    """
    with engine.begin() as conn:
        user = db.user_by_name(conn, name)
        if user is None:
            raise UserError(f"unknown user {name!r}")
        count = db.revoke_tokens(conn, _now(), user_id=user.id, token_id=token_id,
                                 token_hash=token_hash(token) if token else None)
        db.write_audit(conn, None, "token_revoke", {"user": name, "token_id": token_id, "count": count})
    return count


def user_by_id(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        return db.user_by_id(conn, user_id)
