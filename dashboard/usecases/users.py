"""Saving a user of the wall (``gridwall user add``): checked, its password hashed, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine

from dashboard.identity.users import (
    PASSWORD_ROLES,
    ROLES,
    USERNAME,
    UserError,
    hash_password,
)
from data_access import sessions as session_db
from data_access import users as db
from data_access.scope import REGION_CODE
from data_access.users import User


@dataclass(frozen=True)
class SavedUser:
    user_id: int
    created: bool  # False: an existing user was updated
    active: bool  # an existing disabled user stays disabled unless saved with ``enable``


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


def save_user(engine: Engine, name: str, *, role: str, region: str | None = None, password: str | None = None,
              enable: bool = False, by: User | None = None, now: datetime | None = None) -> SavedUser:
    """Create the user, or update the role, region and password of an existing one.

    A None or empty ``password`` keeps the stored one; ``center``, ``leader`` and ``street`` users need
    one; a ``wall`` user never has one (it logs in only through its kiosk link: a stored password is
    dropped). A new password ends the user's sessions. A disabled user stays disabled unless
    ``enable`` (then ``user_enable`` is audited too). The audit row (``user_save``, by ``by``; None
    from the command line) is written in the same transaction. Raises UserError with a readable reason.
    """
    if not name or not USERNAME.match(name):
        raise UserError("a user name is 1 to 64 characters without spaces")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    password = password or None
    if role not in PASSWORD_ROLES and password is not None:
        raise UserError(f"a {role} user has no password: it logs in only through its kiosk link "
                        "(gridwall token create)")
    now = now or datetime.now(timezone.utc)
    hashed = hash_password(password) if password is not None else None  # before the transaction: it may wait
    by_name = by.username if by is not None else None
    with engine.begin() as conn:
        region = _check_region(conn, role, region)
        existing = db.password_hash(conn, name)
        has_password = existing is not None and existing[1] is not None
        if role in PASSWORD_ROLES and password is None and not has_password:
            raise UserError(f"a {role} user needs a password (--password-stdin)")
        user_id = db.save_user(conn, name, role=role, region_code=region, hashed=hashed, now=now, enable=enable,
                               clear_password=role not in PASSWORD_ROLES)
        if existing is not None and (hashed is not None or (has_password and role not in PASSWORD_ROLES)):
            session_db.end_user_login_sessions(conn, user_id, now)
        db.write_audit(conn, by_name, "user_save", {"user": name, "role": role, "region": region}, now)
        was_active = existing is None or existing[0].active
        if enable and not was_active:
            db.write_audit(conn, by_name, "user_enable", {"user": name}, now)
    return SavedUser(user_id, existing is None, was_active or enable)
