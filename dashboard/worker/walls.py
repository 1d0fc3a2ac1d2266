"""The worker duty ``walls``: a kiosk wall silent for two minutes raises an alert (kind ``wall``,
大屏离线), ended when the wall reports again.

Run by ``dashboard.warning.lock.run_loop`` every 30 s (one active instance across workers and hosts, by
its own lock). Only kiosk walls (sessions of a ``wall`` user, started from a kiosk link) count: a
person's browser that closes is not an outage. The alert is an episode like the engine's
(``data_access.alerts_write``): its dedup key is ``wall:dark:<wall id>`` plus the moment the wall was
last heard, so a run that repeats itself writes nothing twice, and a wall that goes dark again later
raises a new one. It is written as a ``gridwall`` alert in the wall's region, so the push dispatcher
sends it like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from dashboard.core.wall_health import DARK_AFTER
from data_access import alerts_write
from data_access import walls as walls_db
from data_access.moment import Moment
from data_access.scope import Scope

log = logging.getLogger("gridwall.walls")
KIND = "wall"
SEVERITY = "warning"
SITUATION = "wall:dark:"
FORGET_AFTER = timedelta(days=30)  # a wall not heard from for this long is dropped (unless its alert is open)


@dataclass
class WatchReport:
    raised: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    forgotten: int = 0

    def summary(self) -> str:
        return f"{len(self.raised)} dark kiosk walls raised, {len(self.ended)} back, {self.forgotten} forgotten"


def dark_title(username: str | None, place: str) -> str:
    return f"大屏离线：{username or '未知账号'}（{place}）超过 2 分钟无心跳"


class DarkWallWatch:
    """The duty's run: ``(engine, scope, moment, state) -> WatchReport`` as run_loop calls it."""

    def __init__(self, dark_after: timedelta = DARK_AFTER, forget_after: timedelta = FORGET_AFTER):
        self.dark_after = dark_after
        self.forget_after = forget_after

    def __call__(self, engine: Engine, scope: Scope, m: Moment, _state=None) -> WatchReport:
        now = m.at
        report = WatchReport()
        with engine.begin() as conn:
            silent = walls_db.silent_kiosk_walls(conn, now - self.dark_after)
            names = walls_db.place_names(conn, [w["region_code"] for w in silent if w["region_code"]])
            for wall in silent:
                region = wall["region_code"] if wall["region_code"] and scope.contains(wall["region_code"]) \
                    else scope.root
                key = alerts_write.episode_key(SITUATION + wall["wall_id"], wall["last_seen_at"])
                detail = {"wall_id": wall["wall_id"], "username": wall["username"], "region": region,
                          "last_seen_at": wall["last_seen_at"].isoformat(), "remote_addr": wall["remote_addr"],
                          "layout": wall["layout"], "version": wall["version"]}
                alert_id = alerts_write.insert_alert(
                    conn, dedup_key=key, created_at=now, kind=KIND, severity=SEVERITY, region_code=region,
                    category_code=None, title=dark_title(wall["username"], names.get(region, region)),
                    detail=detail)
                if alert_id is None:  # raised by an earlier run whose bookkeeping did not land
                    alert_id = walls_db.alert_id_for_key(conn, key)
                else:
                    report.raised.append(alert_id)
                    log.warning("walls: kiosk wall %s of %s silent since %s: alert %s", wall["wall_id"],
                                wall["username"], wall["last_seen_at"].isoformat(), alert_id)
                walls_db.set_dark_alert(conn, wall["wall_id"], alert_id)
            for wall in walls_db.returned_walls(conn, now - self.dark_after):
                back = wall["live_since"] or wall["last_seen_at"]
                alerts_write.end_episode(conn, wall["dark_alert_id"], back)
                walls_db.set_dark_alert(conn, wall["wall_id"], None)
                report.ended.append(wall["dark_alert_id"])
                log.info("walls: wall %s reports again since %s: alert %s ended", wall["wall_id"],
                         back.isoformat(), wall["dark_alert_id"])
            report.forgotten = walls_db.prune_walls(conn, now - self.forget_after)
        return report
