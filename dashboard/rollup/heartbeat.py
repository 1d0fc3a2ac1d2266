"""The county's heartbeat duty (``gridwall worker``, duty ``rollup``): every 10 s, on a database that
publishes to a roll-up, "my data is complete up to now". Idle where nothing is published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from data_access import rollup
from data_access.moment import Moment
from data_access.scope import Scope

LOCK_NAME = "gridwall.rollup"


@dataclass
class BeatReport:
    county: str | None
    at: datetime | None

    def summary(self) -> str:
        return f"heartbeat {self.county} at {self.at:%H:%M:%S}" if self.county else "nothing published here"


class Heartbeat:
    """The duty's run, ``(engine, scope, moment, state) -> BeatReport`` as run_loop calls it."""

    def __call__(self, engine: Engine, scope: Scope, m: Moment, _state=None) -> BeatReport | None:
        if engine.dialect.name != "postgresql":
            return None
        with engine.begin() as conn:
            county = rollup.published_county(conn)
            if county is None:
                return None
            return BeatReport(county, rollup.beat(conn, county))
