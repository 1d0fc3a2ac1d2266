"""Callbacks of the operations page (``/ops``, duty officers only): the walls' health, the push channels
and the worker duties, every 30 s.

Walls are those of the user's scope (a wall's region is clamped to its user's scope when it reports);
channels and duties are the deployment's. States are judged at one moment (``status_at``, which tests
call with a set time) by dashboard/core/wall_health.py and dashboard/core/duty_status.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dash import Input, Output
from flask import current_app

from callbacks.live.outage import DataUnavailable, read
from dashboard.core.code_version import code_version
from dashboard.core.duty_status import KNOWN_DUTIES, duty_statuses
from dashboard.core.wall_health import SHOWN_FOR, wall_state
from dashboard.identity.auth import current_scope, require_role
from dashboard.usecases.alert_quality import detector_quality
from data_access import duties as duties_db
from data_access import push as push_db
from data_access import walls as walls_db
from layouts import ops as page
from layouts import review_alert_quality
from layouts.shell import OPS

UTC = timezone.utc


def register(app) -> None:
    app.callback(
        Output("ops-walls", "children"),
        Output("ops-channels", "children"),
        Output("ops-duties", "children"),
        Input("ops-tick", "n_intervals"),
    )(show_status)
    app.callback(Output("ops-alert-quality", "children"), Input("ops-tick", "n_intervals"))(show_alert_quality)


QUALITY_DAYS = 30


def show_alert_quality(_n):
    """Each detector's record from the dispositions of the last 30 days, in the officer's scope."""
    require_role(*OPS.roles)
    now = datetime.now(UTC)
    scope = read(lambda _conn: current_scope(), connect=False)
    try:
        rows = read(lambda conn: detector_quality(conn, scope, now - timedelta(days=QUALITY_DAYS), now))
    except DataUnavailable:
        return [page.empty(page.DATABASE_DOWN)]
    return [review_alert_quality.quality_table(rows)]


def show_status(_n):
    require_role(*OPS.roles)
    return status_at(datetime.now(UTC))


def status_at(now: datetime):
    """The three lists as of ``now`` (the caller has checked the role)."""
    cfg = current_app.config
    tz = ZoneInfo(cfg.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai")
    version = cfg.get("GRIDWALL_CODE_VERSION") or code_version()
    channels = cfg.get("GRIDWALL_OPS_CHANNELS") or []
    scope = read(lambda _conn: current_scope(), connect=False)

    def fetch(conn):
        walls = walls_db.recent_walls(conn, scope, now - SHOWN_FOR)
        names = walls_db.place_names(conn, [w["region_code"] for w in walls if w["region_code"]])
        states = push_db.channel_states(conn, [c["name"] for c in channels], now)
        return walls, names, states, push_db.outbox_depth(conn), duties_db.duty_instances(conn)

    try:
        walls, names, states, depth, instances = read(fetch)
    except DataUnavailable:
        down = [page.empty(page.DATABASE_DOWN)]
        return down, down, down
    for wall in walls:
        wall["state"] = wall_state(wall["last_seen_at"], wall["frame_age"], wall["version"], version, now)
        wall["outdated"] = wall["version"] != version
        wall["place"] = names.get(wall["region_code"] or "")
    return (page.wall_rows(walls, now, tz), page.channel_rows(channels, states, depth, now, tz),
            page.duty_rows(duty_statuses(KNOWN_DUTIES, instances, now), now, tz))
