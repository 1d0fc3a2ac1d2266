"""What the wall reads: every panel's data for a view, through the outage guard and the shared cache.

Every read goes through ``callbacks.live.outage.read`` (outage handling) and a shared cache entry. Reads
that follow the data are keyed by the view's data version (``callbacks.live.shared.bundle``: computed
once per version for every viewer and worker); the trend and yesterday's figures move slowly and
are keyed by a one-minute bucket instead; names, shapes and a past day's counts are static.

Reads that carry free text (the stream, the alert list, the SLA board) pass through
``dashboard.core.outward`` before they are cached: layouts and the push channel see masked rows only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app

from callbacks.live.cache import shared, shared_static
from callbacks.live.outage import read
from callbacks.live.shared import bundle, cached_static, digest
from callbacks.view import View
from dashboard.usecases.feeds import region_freshness
from dashboard.core.outward import outward
from data_access.alerts import wall_alerts
from data_access.cases import data_as_of, latest_cases, sla_cases
from data_access.figures import case_figures, case_figures_by_child, summary
from data_access.geo import child_boundaries
from data_access.map_layers import (
    alert_points,
    alert_rows,
    anchor_points,
    case_points,
    own_outline,
)
from data_access.moment import Moment
from data_access import rollup
from data_access.regions import children, region_name, region_path
from data_access.scope import Scope
from data_access.sla import sla_board
from data_access.staffing_detail import (
    grid_profile,
    offline_on_duty,
    staffing_by_child,
    vacant_grids,
)
from data_access.trend import band, baseline_days, past_day, today_so_far

UTC = timezone.utc

SLOW_BUCKET = 60  # seconds
STATIC_TIMEOUT = 300


def bucketed(view: View, seconds: int) -> Moment:
    """The view's moment, floored to ``seconds`` when live (all walls share the bucket)."""
    m = view.moment()
    if not view.live:
        return m
    ts = int(m.at.timestamp())
    return Moment(datetime.fromtimestamp(ts - ts % seconds, UTC), m.tz)


def _bundle(kind: str, view: View, version: str, compute):
    """``compute(conn)`` once per (kind, region, moment, version): a past view's moment is part of the key."""
    return bundle(f"{kind}@{view.at.isoformat() if view.at else 'live'}", view.scope, version, compute)


# --- the tiles, the stream and the header -------------------------------------------------------

ALERT_LIST_LIMIT = 10  # more than fit at 4K; the panel says how many of the true total it leaves out


def figures_bundle(scope: Scope, m: Moment, version: str) -> dict[str, Any]:
    """Everything the tiles, the SLA board and the alert list show, from one connection."""
    def compute(conn) -> dict[str, Any]:
        figures = summary(conn, scope, m)  # one statement for cases, rates and staffing; per county on a roll-up
        return outward({
            "cases": figures["cases"],
            "rates": figures["rates_7d"],
            "staffing": figures["staffing"],
            "alerts": figures["alerts"],
            # The new alerts, most pressing first, with the true totals (#alerts data-total).
            "alert_list": wall_alerts(conn, scope, m, limit=ALERT_LIST_LIMIT),
            "sla": sla_cases(conn, scope, m, limit=12),
            "as_of": data_as_of(conn, scope, m),
            "at": m.at,
        })

    return bundle("figures", scope, version, compute)


def stream_bundle(scope: Scope, m: Moment, version: str, limit: int) -> list[dict[str, Any]]:
    return bundle(f"stream{limit}", scope, version, lambda conn: outward(latest_cases(conn, scope, m, limit)))


def data_age(scope: Scope, m: Moment, version: str) -> datetime | None:
    """The latest case change in the scope (``#freshness``): one small query per version."""
    return bundle("as_of", scope, version, lambda conn: data_as_of(conn, scope, m))


def header_names(base: Scope, scope: Scope) -> dict[str, Any]:
    def compute(conn) -> dict[str, Any]:
        return {"base_name": region_name(conn, base, base.region),
                "path": region_path(conn, base, scope.region)}

    return cached_static(f"names:{base.region}:{scope.region}", lambda: read(compute), timeout=60)


# --- the slower panels -----------------------------------------------------------------------------

def sla(view: View, version: str) -> dict[str, Any]:
    m = view.moment()
    return _bundle("sla-board", view, version, lambda conn: outward({"at": m.at, **sla_board(conn, view.scope, m)}))


def staffing_detail(view: View, version: str) -> dict[str, Any]:
    m = view.moment()
    data = _bundle("staff-detail", view, version,
                  lambda conn: {"at": m.at, "offline": offline_on_duty(conn, view.scope, m)})
    vacant = shared_static(f"vacant:{view.scope.region}",
                           lambda: read(lambda conn: vacant_grids(conn, view.scope)), timeout=60)
    return {**data, "vacant": vacant}


def root_name(view: View) -> str | None:
    """The deployment root's name (the county), left off the front of org names."""
    base = view.base  # the root is above (or is) the user's region: its name is visible to everyone
    return shared_static(f"name:{base.root}", lambda: read(lambda conn: region_name(conn, base, base.root)),
                         timeout=STATIC_TIMEOUT)


def child_names(scope: Scope) -> list[dict[str, str]]:
    return shared_static(f"children:{scope.region}", lambda: read(lambda conn: children(conn, scope)),
                         timeout=STATIC_TIMEOUT)


def children_rows(view: View, version: str) -> list[dict[str, Any]]:
    """Each child of the shown region with its case figures, staffing and population (map and table)."""
    m = view.moment()

    def compute(conn):
        return {"cases": case_figures_by_child(conn, view.scope, m), "staff": staffing_by_child(conn, view.scope, m)}

    data = _bundle("children-rows", view, version, compute)
    fresh = feeds(view) if view.scope.rollup else None
    rows = []
    for kid in child_names(view.scope):
        code = kid["code"]
        cases = data["cases"].get(code) or {}
        staff = data["staff"].get(code) or {}
        marks = {}
        if fresh is not None:
            stale, as_of = region_freshness(fresh, code)
            marks = {"stale": stale, "data_as_of": as_of}
        rows.append({"code": code, "name": kid["name"], **marks,
                     **{k: int(cases.get(k, 0)) for k in ("open", "overdue", "warning", "new_today", "closed_today")},
                     **{k: int(staff.get(k, 0)) for k in ("grids", "grids_staffed", "workers", "on_duty", "online",
                                                          "households", "population")}})
    return rows


def feeds(view: View) -> dict:
    """Each county feed's freshness on a roll-up (read every call: it changes when nothing else does)."""
    stale_after = current_app.config.get("GRIDWALL_ROLLUP_STALE_SECONDS", rollup.STALE_AFTER_SECONDS)
    return read(lambda conn: rollup.freshness(conn, stale_after=stale_after))


def profile(view: View, version: str) -> dict[str, Any]:
    m = view.moment()
    return _bundle("grid-profile", view, version,
                  lambda conn: {"at": m.at, "profile": grid_profile(conn, view.scope, m)})


def trend(view: View) -> dict[str, Any]:
    """Today by hour (refreshed once a minute) and the baseline band (once a day per region)."""
    m = bucketed(view, SLOW_BUCKET)
    today = shared("trend-today", view.scope, m, lambda: read(lambda conn: today_so_far(conn, view.scope, m)),
                   live=view.live, timeout=SLOW_BUCKET * 2)
    days = []
    for day in baseline_days(m):
        days.append(shared_static(f"trend-day:{view.scope.region}:{day.isoformat()}",
                                  lambda day=day: read(lambda conn: past_day(conn, view.scope, day, m.tz)),
                                  timeout=6 * 3600))
    return {"hour": m.at.astimezone(m.tz).hour, "today": today, "baseline": band(days),
            "live": view.live}


def yesterday(view: View, days: int = 1) -> dict[str, int]:
    """The case figures ``days`` days (24 h each) before the shown moment (1: yesterday, 7: the same
    time last week), computed at most once a minute per region."""
    m = bucketed(view, SLOW_BUCKET)
    before = Moment(m.at - timedelta(days=days), m.tz)
    return shared("yesterday" if days == 1 else f"days-before-{days}", view.scope, m,
                  lambda: read(lambda conn: case_figures(conn, view.scope, before)),
                  live=view.live, timeout=SLOW_BUCKET * 2)


def boundaries(view: View) -> dict[str, Any]:
    """The shapes the map draws: the children of the region, or at a grid the grid itself."""
    return shapes(view.scope)


def shapes(scope: Scope) -> dict[str, Any]:
    """``boundaries`` of a scope (also served to the browser as a cacheable file, callbacks.map_view)."""
    if len(scope.region) == 15:
        def outline(conn):
            return own_outline(conn, scope, region_name(conn, scope, scope.region))

        return shared_static(f"outline:{scope.region}", lambda: read(outline), timeout=STATIC_TIMEOUT)
    return shared_static(f"boundaries:{scope.region}", lambda: read(lambda conn: child_boundaries(conn, scope)),
                         timeout=STATIC_TIMEOUT)


def shapes_digest(scope: Scope) -> str:
    """A fingerprint of the shapes: part of their URL, so that the browser keeps them until they change."""
    return shared_static(f"shapes-digest:{scope.region}", lambda: digest(shapes(scope)), timeout=STATIC_TIMEOUT)


def markers(view: View, version: str) -> dict[str, Any]:
    """Open cases (points) and alerts (at their region's anchor point) for the map."""
    m = view.moment()

    def compute(conn):
        return {"cases": case_points(conn, view.scope, m), "alerts": alert_rows(conn, view.scope, m)}

    data = _bundle("markers", view, version, compute)
    anchors = {}
    for code in sorted({row["region_code"] for row in data["alerts"] if row.get("region_code")}):
        hit = shared_static(f"anchor:{code}", lambda code=code: read(
            lambda conn: anchor_points(conn, view.base, [code]).get(code)), timeout=STATIC_TIMEOUT)
        if hit:
            anchors[code] = hit
    return {"cases": data["cases"], "alerts": alert_points(data["alerts"], anchors)}

