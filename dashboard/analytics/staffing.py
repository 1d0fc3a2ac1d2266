"""在岗在线: on-duty grid workers offline, grids with nobody on duty, patrol coverage behind by noon.

Pure functions over the frames of ``data_access.feeds_ops``. The wall hangs in a room, so each
situation is rolled up: offline workers and patrol coverage per street (镇街), uncovered grids per
community (村社区); a county-wide gap (a holiday, or a roster feed that stopped) is one alert at
the root instead of one per community.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from .findings import Finding


@dataclass(frozen=True)
class StaffingRules:
    work_start: time = time(9, 0)      # working hours, Monday to Friday (the roster is 08:30-17:30)
    work_end: time = time(17, 0)
    offline_after: timedelta = timedelta(minutes=30)
    min_ping_rate: float = 2.0         # pings per worker and hour needed to tell 30 minutes offline apart
    # Offline workers in a street that raise its alert: this many and this share of those on duty
    # (a few phones are always silent: 2-3 % of workers in the synthetic county, every day) ...
    offline_min: int = 3
    offline_share: float = 0.05
    offline_keep: int = 2              # ... and that keep an open one open
    offline_keep_share: float = 0.03
    offline_critical_share: float = 0.25
    uncovered_min: int = 3             # uncovered grids that raise a community's alert,
    uncovered_whole_min: int = 2       # or all of its grids when it has at least this many
    outage_share: float = 0.5          # county-wide share of uncovered grids read as one outage
    patrol_by: time = time(12, 0)
    patrol_expected: float = 0.8       # share of rostered grids patrolled by noon
    patrol_critical: float = 0.5
    patrol_min_grids: int = 5
    max_listed: int = 30


def in_working_hours(at: datetime, tz: ZoneInfo, rules: StaffingRules = StaffingRules()) -> bool:
    local = at.astimezone(tz)
    return local.weekday() < 5 and rules.work_start <= local.time() < rules.work_end


def pings_dense_enough(pings: int, workers: int, window: timedelta, rules: StaffingRules = StaffingRules()) -> bool:
    """Whether the ping feed is fine enough to judge offline spells (the seed keeps one ping an hour
    on older days; a platform may thin old pings too)."""
    hours = window.total_seconds() / 3600
    return workers > 0 and pings / workers / hours >= rules.min_ping_rate


def offline_workers(workers: pd.DataFrame, at: pd.Timestamp, rules: StaffingRules = StaffingRules()) -> pd.DataFrame:
    """On-duty workers whose last ping in this shift (or the shift start, when none) is more than
    ``offline_after`` before ``at``; adds offline_minutes, street, community."""
    at = pd.Timestamp(at)
    since = workers["last_ping"].fillna(workers["shift_start"])
    minutes = (at - since).dt.total_seconds() / 60
    out = workers.assign(offline_minutes=minutes.round(0),
                         street=workers["grid_code"].str[:9], community=workers["grid_code"].str[:12])
    return out[minutes > rules.offline_after.total_seconds() / 60]


def offline_findings(offline: pd.DataFrame, on_duty: pd.DataFrame, at: pd.Timestamp, root: str,
                     names: dict[str, str], open_keys: frozenset[str] = frozenset(),
                     rules: StaffingRules = StaffingRules()) -> list[Finding]:
    """One finding per street with at least ``offline_min`` on-duty workers offline who are at least
    ``offline_share`` of those on duty (``offline_keep``, ``offline_keep_share`` while its alert is
    open); critical when they are ``offline_critical_share`` of those on duty."""
    on_duty_by_street = on_duty["grid_code"].str[:9].value_counts()
    out = []
    for street, group in offline.groupby("street", sort=True):
        key = f"staffing:offline:{street}"
        n = len(group)
        total = max(n, int(on_duty_by_street.get(street, n)))
        share = n / total
        least, least_share = ((rules.offline_keep, rules.offline_keep_share) if key in open_keys
                              else (rules.offline_min, rules.offline_share))
        if n < least or share < least_share:
            continue
        group = group.sort_values("offline_minutes", ascending=False)
        out.append(Finding(
            kind="staffing", severity="critical" if share >= rules.offline_critical_share else "warning",
            region_code=street if street.startswith(root) else root,
            title=f"{n}名在岗网格员离线超过{_minutes(rules.offline_after)}分钟 · {names.get(street, street)}",
            dedup_key=key,
            detail={"observed": n, "on_duty": total, "share": round(share, 3), "threshold": rules.offline_min,
                    "score": round(share, 3), "window": {"to": at.isoformat()}, "case_ids": [],
                    "workers": [{"staff_id": int(r.staff_id), "grid_code": r.grid_code,
                                 "community": names.get(r.community, r.community),
                                 "offline_minutes": int(r.offline_minutes),
                                 "last_ping": None if pd.isna(r.last_ping) else r.last_ping.isoformat()}
                                for r in group.head(rules.max_listed).itertuples()]}))
    return out


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def uncovered_findings(grids: pd.DataFrame, at: pd.Timestamp, root: str, names: dict[str, str],
                       rules: StaffingRules = StaffingRules()) -> list[Finding]:
    """Grids with no grid worker on duty (in working hours: the caller decides when), per community.

    A community is reported when ``uncovered_min`` of its grids are uncovered, or all of them (at
    least ``uncovered_whole_min``). A single grid's gap shows in the wall's staffing figures; an
    alert for each would flood the wall (on an ordinary weekday of the synthetic county about one
    community in three has one: leave without cover). When ``outage_share`` of all grids are
    uncovered, one root finding instead.
    """
    if grids.empty:
        return []
    at = pd.Timestamp(at)
    uncovered = grids[~grids["on_duty"]]
    window = {"to": at.isoformat()}
    share = len(uncovered) / len(grids)
    if share >= rules.outage_share:
        return [Finding(
            kind="staffing", severity="critical", region_code=root,
            title=f"{len(uncovered)}个网格无人在岗（占{share:.0%}），请核实排班 · {names.get(root, root)}",
            dedup_key="staffing:uncovered:all",
            detail={"observed": len(uncovered), "grids": len(grids), "share": round(share, 3),
                    "threshold": rules.outage_share, "score": round(share, 3), "window": window, "case_ids": []})]
    out = []
    sizes = grids.groupby("community_code").size()
    for community, group in uncovered.groupby("community_code", sort=True):
        n, total = len(group), int(sizes[community])
        if n < rules.uncovered_min and not (n == total >= rules.uncovered_whole_min):
            continue
        vacant = group[~group["staffed"]]
        out.append(Finding(
            kind="staffing", severity="warning" if n == total else "info",
            region_code=community if community.startswith(root) else root,
            title=f"{n}个网格无人在岗 · {names.get(community, community)}",
            dedup_key=f"staffing:uncovered:{community}",
            detail={"observed": n, "grids": total, "share": round(n / total, 3), "threshold": rules.uncovered_min,
                    "score": round(n / total, 3), "window": window, "case_ids": [],
                    "vacant": [str(c) for c in vacant["grid_code"]],          # no active worker assigned
                    "absent": [str(c) for c in group.loc[group["staffed"], "grid_code"]]}))  # assigned, not on duty
    return out


def patrol_findings(grids: pd.DataFrame, at: pd.Timestamp, since: pd.Timestamp, root: str, names: dict[str, str],
                    rules: StaffingRules = StaffingRules()) -> list[Finding]:
    """Per street: the share of today's rostered grids patrolled since ``since`` (local midnight), below
    ``patrol_expected`` (critical below ``patrol_critical``). The caller runs it from ``patrol_by``
    on a working day."""
    at = pd.Timestamp(at)
    rostered = grids[grids["rostered_today"]].assign(street=lambda d: d["grid_code"].str[:9])
    out = []
    for street, group in rostered.groupby("street", sort=True):
        n = len(group)
        done = int(group["patrolled_today"].sum())
        share = done / n
        if n < rules.patrol_min_grids or share >= rules.patrol_expected:
            continue
        missing = group.loc[~group["patrolled_today"], "grid_code"]
        out.append(Finding(
            kind="staffing", severity="critical" if share < rules.patrol_critical else "warning",
            region_code=street if street.startswith(root) else root,
            title=f"今日巡查覆盖{share:.0%}（{done}/{n}个网格），低于预期 · {names.get(street, street)}",
            dedup_key=f"staffing:patrol:{street}",
            detail={"observed": round(share, 3), "expected": rules.patrol_expected, "patrolled": done,
                    "rostered": n, "score": round(share - rules.patrol_expected, 3),
                    "window": {"from": pd.Timestamp(since).isoformat(), "to": at.isoformat()}, "case_ids": [],
                    "unpatrolled": [str(c) for c in missing.head(rules.max_listed)]}))
    return out
