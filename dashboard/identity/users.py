"""Users of the wall and their API tokens: validation, password hashing (argon2), token issue.

Roles (interfaces.md): ``center`` duty officer, ``leader``, ``street`` (read-only, bound to its
street), ``wall`` (display account, logs in through its kiosk token). Only a token's SHA-256 is
stored; the token itself is shown once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from data_access import users as db
from data_access.scope import REGION_CODE
from data_access.users import User

ROLES = ("center", "leader", "street", "wall")
PASSWORD_ROLES = ("center", "leader", "street")
USERNAME = re.compile(r"^[^\s\x00-\x1f]{1,64}$")

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a miss costs as much as a hit.
_dummy_hash: str | None = None


class UserError(ValueError):
    """A readable reason why a user command cannot be done."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_region(conn, role: str, region: str | None) -> str | None:
    region = (region or "").strip() or None
    if region is not None and (not REGION_CODE.fullmatch(region) or len(region) > 12):
        raise UserError(f"malformed region code {region!r}: 4, 6, 9 or 12 digits")
    if role == "street" and (region is None or len(region) != 9):
        raise UserError("a street user needs --region with its 9-digit street code")
    if role == "wall" and region is None:
        raise UserError("a wall user needs --region with the region it shows")
    if region is not None and not db.region_exists(conn, region):
        raise UserError(f"unknown region code {region} (not in table regions)")
    return region


def add_user(engine: Engine, name: str, *, role: str, region: str | None = None,
             password: str | None = None) -> None:
    """Create the user, or update the role, region and password of an existing one."""
    if not name or not USERNAME.match(name):
        raise UserError("a user name is 1 to 64 characters without spaces")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if password is not None and password == "":
        password = None
    with engine.begin() as conn:
        region = _check_region(conn, role, region)
        existing = db.password_hash(conn, name)
        has_password = existing is not None and existing[1] is not None
        if role in PASSWORD_ROLES and password is None and not has_password:
            raise UserError(f"a {role} user needs a password (--password-stdin)")
        hashed = _hasher.hash(password) if password is not None else None
        db.save_user(conn, name, role=role, region_code=region, hashed=hashed, now=_now())
        db.write_audit(conn, None, "user_save", {"user": name, "role": role, "region": region})


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
    """The active user with this name and password, else None."""
    global _dummy_hash
    with engine.begin() as conn:
        found = db.password_hash(conn, name) if name else None
        if found is None or found[1] is None or not found[0].active:
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
            db.set_password_hash(conn, user.id, _hasher.hash(password))
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
    """Disable (or enable again) a user: its sessions and tokens stop working at once."""
    with engine.begin() as conn:
        if not db.set_active(conn, name, active):
            raise UserError(f"unknown user {name!r}")
        db.write_audit(conn, None, "user_enable" if active else "user_disable", {"user": name})


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
