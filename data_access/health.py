"""Liveness of the database for ``/healthz``: a round trip and the age of the newest case change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select, text

from .models import Case

c = Case.__table__.c

STATEMENT_TIMEOUT_MS = 2000


def database_status(engine: Engine, now: datetime) -> tuple[bool, datetime | None]:
    """(reachable, newest ``cases.updated_at`` not after ``now``).

    The freshness of the feed is a property of the whole database, not of a region's figures,
    so it reads every case. Future timestamps (bad rows) are left out. Never raises.
    """
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            conn.execute(text("SELECT 1"))
            try:
                newest = conn.execute(select(func.max(c.updated_at)).where(c.updated_at <= now)).scalar()
            except Exception:  # reachable, but no readable cases table
                newest = None
            conn.rollback()
    except Exception:
        return False, None
    return True, newest
