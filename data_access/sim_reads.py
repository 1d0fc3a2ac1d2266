"""Reads of the live simulator: the county it continues, its people and open cases.

These read the platform tables of one county (a code prefix) for the synthetic data's own
writer; they are not figures and take no Scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from .models import Case, Category, Grid, Org, Region, Staff, StaffPing, StaffShift

c = Case.__table__.c


def counties(conn: Connection) -> list[str]:
    """County codes (6 digits) that have grids."""
    rows = conn.execute(select(Region.code).where(Region.level == "county", func.length(Region.code) == 6)
                        .order_by(Region.code)).scalars().all()
    return [code for code in rows
            if conn.execute(select(Grid.code).where(Grid.code.like(f"{code}%")).limit(1)).first()]


def county_name(conn: Connection, county: str) -> str | None:
    return conn.execute(select(Region.name).where(Region.code == county)).scalar()


def region_names(conn: Connection, county: str) -> dict[str, str]:
    return {code: name for code, name in conn.execute(
        select(Region.code, Region.name).where(Region.code.like(f"{county}%")))}


def grid_rows(conn: Connection, county: str) -> list[dict]:
    t = Grid.__table__
    return [dict(r._mapping) for r in conn.execute(select(t).where(t.c.code.like(f"{county}%")).order_by(t.c.code))]


def org_rows(conn: Connection, county: str) -> list[dict]:
    t = Org.__table__
    return [dict(r._mapping) for r in conn.execute(select(t).where(t.c.region_code.like(f"{county}%")))]


def staff_rows(conn: Connection, org_ids: list[int]) -> list[dict]:
    t = Staff.__table__
    if not org_ids:
        return []
    return [dict(r._mapping) for r in conn.execute(select(t).where(t.c.org_id.in_(org_ids)))]


def category_rows(conn: Connection) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(select(Category.__table__))]


def live_cases(conn: Connection, county: str, closed_since: datetime) -> list[dict]:
    """Open cases of the county, and cases closed since ``closed_since`` still waiting for a rating."""
    cols = (c.id, c.code, c.reported_at, c.category_code, c.source, c.grid_code, c.reporter_staff_id, c.status,
            c.handler_org_id, c.escalations, c.returns, c.reworks, c.urges, c.updated_at)
    where = and_(c.grid_code.like(f"{county}%"),
                 or_(c.closed_at.is_(None),
                     and_(c.status == "closed", c.closed_at > closed_since, c.satisfaction.is_(None))))
    return [dict(r._mapping) for r in conn.execute(select(*cols).where(where).order_by(c.id))]


def duplicate_target(conn: Connection, grid_code: str, category: str, reported_at: datetime,
                     window: timedelta) -> int | None:
    """The latest earlier case (strictly earlier report) in the same grid and category within ``window``."""
    return conn.execute(
        select(c.id).where(c.grid_code == grid_code, c.category_code == category, c.reported_at < reported_at,
                           c.reported_at >= reported_at - window)
        .order_by(c.reported_at.desc(), c.id.desc()).limit(1)).scalar()


def last_case_time(conn: Connection, county: str) -> datetime | None:
    """The latest report or change of a case in the county."""
    return conn.execute(select(func.max(c.updated_at)).where(c.grid_code.like(f"{county}%"))).scalar()


def _county_staff(county: str, role: str | None = None):
    s = Staff.__table__.c
    orgs = select(Org.__table__.c.id).where(Org.__table__.c.region_code.like(f"{county}%"))
    q = select(s.id).where(s.org_id.in_(orgs))
    return q.where(s.role == role) if role else q


def last_ping_time(conn: Connection, county: str) -> datetime | None:
    """The latest ping of the county's staff."""
    t = StaffPing.__table__.c
    return conn.execute(select(func.max(t.ts)).where(t.staff_id.in_(_county_staff(county)))).scalar()


def max_case_code(conn: Connection, prefix: str) -> str | None:
    """The largest case code starting with ``prefix`` (e.g. '320585-20261126-')."""
    return conn.execute(select(func.max(c.code)).where(c.code.like(f"{prefix}%"))).scalar()


def shifts_between(conn: Connection, county: str, start: datetime, end: datetime) -> list[tuple]:
    """(staff_id, starts_at, ends_at) of the county's grid workers' shifts that overlap [start, end)."""
    t = StaffShift.__table__.c
    return [tuple(r) for r in conn.execute(
        select(t.staff_id, t.starts_at, t.ends_at).where(t.staff_id.in_(_county_staff(county, "grid_worker")),
                                                        t.starts_at < end, t.ends_at > start))]


def shifts_starting(conn: Connection, county: str, start: datetime, end: datetime) -> int:
    """How many shifts of the county's staff start in [start, end)."""
    t = StaffShift.__table__.c
    return int(conn.execute(select(func.count()).where(t.staff_id.in_(_county_staff(county)), t.starts_at >= start,
                                                       t.starts_at < end)).scalar())


def case_counts_by_grid(conn: Connection, county: str, since: datetime) -> list[tuple[str, bool, int]]:
    """(grid_code, is_patrol, cases) reported since ``since``."""
    patrol = c.source == "patrol"
    return [(g, bool(p), int(n)) for g, p, n in conn.execute(
        select(c.grid_code, patrol, func.count()).where(c.grid_code.like(f"{county}%"), c.reported_at >= since)
        .group_by(c.grid_code, patrol))]
