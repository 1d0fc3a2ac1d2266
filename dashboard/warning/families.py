"""The detector families the engine runs: each reads its feed through ``data_access``, hands the
frames to the pure detectors of ``dashboard.analytics`` and returns their findings.

A family's ``run`` returns ``None`` when it did not run at this moment (its open alerts are then
left alone), and a list (possibly empty) when it did (its open alerts that the list no longer
names are resolved). A family owns the alerts whose situation key starts with one of its
``prefixes`` or whose kind is one of its ``kinds``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from dashboard.core.config import get_settings
from data_access import feeds_ops, rollup
from data_access.moment import Moment
from data_access.scope import Scope

from ..analytics import sla, staffing, stale
from ..analytics.county_feeds import county_feed_findings
from ..analytics.findings import Finding
from . import case_detectors

log = logging.getLogger("gridwall.warning")

CASE_KINDS = ("spike", "cluster", "repeat", "underreport", "sensitive")


@dataclass
class Context:
    """What a family sees of one engine run."""

    root: Scope
    m: Moment
    open_since: dict[str, Any] = field(default_factory=dict)   # situation -> when its running episode began
    memo: dict[str, Any] = field(default_factory=dict)     # reads shared by the families of this run
    cache: dict[str, Any] = field(default_factory=dict)    # kept across the runs of one engine loop

    @property
    def open_keys(self) -> frozenset[str]:
        return frozenset(self.open_since)

    @property
    def at(self) -> pd.Timestamp:
        return pd.Timestamp(self.m.at)

    def names(self, conn: Connection) -> dict[str, str]:
        if "names" not in self.memo:
            self.memo["names"] = feeds_ops.region_names(conn, self.root)
        return self.memo["names"]

    def grid_duty(self, conn: Connection) -> pd.DataFrame:
        if "grid_duty" not in self.memo:
            self.memo["grid_duty"] = feeds_ops.grid_duty(conn, self.root, self.m)
        return self.memo["grid_duty"]


class Family:
    name = ""
    prefixes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    # Its findings are a county's own (an org, a grid, a street): on a roll-up database the county's
    # engine raises them and the city sees them replicated, so the family does not run there.
    county_only = False

    def owns(self, situation: str, kind: str | None) -> bool:
        return situation.startswith(self.prefixes) if self.prefixes else kind in self.kinds

    def run(self, conn: Connection, ctx: Context) -> list[Finding] | None:
        raise NotImplementedError


class SlaRisk(Family):
    """Cases about to breach with no progress, per holding org (4)."""

    county_only = True

    name, prefixes = "sla.risk", ("sla:risk:",)

    def __init__(self, rules: sla.SlaRules = sla.SlaRules()):
        self.rules = rules

    def run(self, conn, ctx):
        cases = feeds_ops.sla_candidates(conn, ctx.root, ctx.m, used_share=self.rules.used_share,
                                         due_soon=self.rules.due_soon)
        risky = sla.at_risk_cases(cases, ctx.at, self.rules)
        orgs = feeds_ops.engine_org_rows(conn, risky["holder_org_id"].dropna().tolist())
        return sla.sla_risk_findings(risky, orgs, ctx.at, ctx.root.root, ctx.open_keys, self.rules)


class Backlog(Family):
    """An org's open cases far above its usual count at this time on the previous 4 weeks (4)."""

    county_only = True

    name, prefixes = "sla.backlog", ("sla:backlog:",)

    def __init__(self, rules: sla.BacklogRules = sla.BacklogRules(), days: int = 28):
        self.rules, self.days = rules, days

    def run(self, conn, ctx):
        backlog = feeds_ops.backlog_by_org(conn, ctx.root, ctx.m, self.days)
        flagged = sla.backlog_growth(backlog, self.rules)
        orgs = feeds_ops.engine_org_rows(conn, flagged.index.tolist())
        return sla.backlog_findings(flagged, orgs, ctx.at, ctx.root.root, self.days)


PING_WINDOW = timedelta(hours=1)


class Offline(Family):
    """On-duty grid workers offline for more than 30 minutes, per street (5).

    Does not run while the ping feed is too coarse to tell (the seed's older days keep one ping
    an hour; a replay over them skips this family) or silent (the stale family reports that)."""

    county_only = True

    name, prefixes = "staffing.offline", ("staffing:offline:",)

    def __init__(self, rules: staffing.StaffingRules = staffing.StaffingRules()):
        self.rules = rules

    def run(self, conn, ctx):
        workers = feeds_ops.on_duty_workers(conn, ctx.root, ctx.m)
        if workers.empty:
            return []
        activity = feeds_ops.ping_activity(conn, ctx.root, ctx.m, PING_WINDOW)
        if not staffing.pings_dense_enough(activity["pings"], activity["workers"], PING_WINDOW, self.rules):
            return None
        offline = staffing.offline_workers(workers, ctx.at, self.rules)
        return staffing.offline_findings(offline, workers, ctx.at, ctx.root.root, ctx.names(conn), ctx.open_keys,
                                         self.rules)


class Uncovered(Family):
    """Grids with nobody on duty in working hours, per community (5)."""

    county_only = True

    name, prefixes = "staffing.uncovered", ("staffing:uncovered:",)

    def __init__(self, rules: staffing.StaffingRules = staffing.StaffingRules()):
        self.rules = rules

    def run(self, conn, ctx):
        if not staffing.in_working_hours(ctx.m.at, ctx.m.tz, self.rules):
            return []
        return staffing.uncovered_findings(ctx.grid_duty(conn), ctx.at, ctx.root.root, ctx.names(conn), self.rules)


class Patrol(Family):
    """Patrol coverage behind by noon on a working day, per street (5): judged from noon to the end
    of working hours; its alerts are resolved when coverage catches up or the working day ends."""

    county_only = True

    name, prefixes = "staffing.patrol", ("staffing:patrol:",)

    def __init__(self, rules: staffing.StaffingRules = staffing.StaffingRules()):
        self.rules = rules

    def run(self, conn, ctx):
        local = ctx.m.at.astimezone(ctx.m.tz)
        if not staffing.in_working_hours(ctx.m.at, ctx.m.tz, self.rules) or local.time() < self.rules.patrol_by:
            return []
        return staffing.patrol_findings(ctx.grid_duty(conn), ctx.at, pd.Timestamp(ctx.m.midnight), ctx.root.root,
                                        ctx.names(conn), self.rules)


class Stale(Family):
    """No new cases, flow steps or pings for unusually long in working hours (8). Outside working
    hours nothing is judged, but an open alert is resolved once cases and steps flow again."""

    name, prefixes = "stale", ("stale:feed",)
    key = "stale:feed"

    def __init__(self, rules: stale.StaleRules = stale.StaleRules(),
                 hours: staffing.StaffingRules = staffing.StaffingRules()):
        self.rules, self.hours = rules, hours

    def run(self, conn, ctx):
        if not staffing.in_working_hours(ctx.m.at, ctx.m.tz, self.hours):
            since = ctx.open_since.get(self.key)
            if since is None:
                return []
            last = feeds_ops.feed_last(conn, ctx.root, ctx.m)
            flowing = all(last[f] is not None and last[f] > since for f in ("cases", "actions"))
            return [] if flowing else None
        history = self._history(conn, ctx)
        last = feeds_ops.feed_last(conn, ctx.root, ctx.m)
        at = ctx.m.at.timestamp()
        verdicts = [stale.judge_feed(feed, history[feed], None if last[feed] is None else last[feed].timestamp(),
                                     at, self.rules) for feed in ("cases", "actions")]
        pings = feeds_ops.ping_activity(conn, ctx.root, ctx.m, self.rules.pings_window)
        on_duty = len(feeds_ops.on_duty_workers(conn, ctx.root, ctx.m))
        verdicts.append(stale.judge_pings(pings["pings"], on_duty, self.rules))
        if all(v.threshold is None for v in verdicts):
            return None  # no history to judge by: the family did not run
        found = stale.stale_finding(verdicts, ctx.m.local_iso(), ctx.root.root)
        return [found] if found else []

    def _history(self, conn, ctx) -> dict:
        """The feeds' event times over the weeks the usual ages are sampled from, read once a local day
        (the samples of any moment of the day lie in (midnight - 29 d, midnight - 5 d])."""
        day = ctx.m.at.astimezone(ctx.m.tz).date()
        key = ("stale.history", ctx.root.region, day)
        if key not in ctx.cache:
            for old in [k for k in ctx.cache if isinstance(k, tuple) and k[0] == "stale.history"]:
                del ctx.cache[old]
            end = Moment(ctx.m.midnight - timedelta(days=5), ctx.m.tz)
            ctx.cache[key] = feeds_ops.feed_times(conn, ctx.root, end, days=7 * self.rules.weeks + 1)
        return ctx.cache[key]


class CaseDetectors(Family):
    """The case-based detectors of ``dashboard.warning.case_detectors`` (1 rises, 2 clusters,
    3 repeats, 6 concealment, 7 sensitive signs); they own the alerts of their kinds."""

    name, kinds = "cases", CASE_KINDS

    def run(self, conn, ctx):
        return list(case_detectors.case_findings(conn, ctx.root, ctx.m))


class CountyFeeds(Family):
    """A roll-up's county feeds: a county whose data stopped arriving (数据中断), on that county."""

    name, prefixes = "feeds", ("stale:county:",)

    def __init__(self, stale_after: float | None = None):
        self.stale_after = stale_after

    def run(self, conn, ctx):
        if not ctx.root.rollup:
            return None
        stale_after = self.stale_after if self.stale_after is not None else get_settings().rollup_stale_seconds
        fresh = rollup.freshness(conn, now=ctx.m.at, stale_after=stale_after)
        feeds = {county: (f.stale, f.data_as_of) for county, f in fresh.items()}
        return county_feed_findings(feeds, ctx.m.at, ctx.names(conn), lambda t: t.astimezone(ctx.m.tz))


def default_families() -> list[Family]:
    return [SlaRisk(), Backlog(), Offline(), Uncovered(), Patrol(), Stale(), CaseDetectors(), CountyFeeds()]
