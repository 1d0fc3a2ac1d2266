"""The early-warning engine: one run as of a moment T turns the detectors' findings into alerts.

Per situation (a finding's ``dedup_key``), as of T (``data_access.alerts_write`` holds the episode
rules):
- no running episode: a new alert, status ``new``, ``created_at`` = T: it is *raised*;
- a running episode (new or acknowledged): its severity, title and evidence are brought up to
  date, nothing is raised; an acknowledged alert stays acknowledged;
- a running episode that was dismissed: nothing (dismissal mutes the situation until it clears);
- a running episode that its family, having run, no longer reports: it ended at T (resolved).
A family that did not run (its data too coarse, its module absent) or failed resolves nothing.
A new alert beyond its kind's alarm budget (``[warning.budget]``: at most N a street and ISO week)
is not raised: the strongest are, the rest are logged and reported (``dashboard/warning/budget.py``).
Each family runs on its own connection inside its own try/except: one failing never stops the
others. The writes of a run are one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from data_access import alerts_write
from data_access.forecasts import write_forecast
from data_access.moment import Moment
from data_access.scope import REGION_CODE, Scope

from dashboard.core.config import get_settings

from ..analytics.findings import Finding
from . import budget as alarm_budget
from . import case_detectors
from .families import Context, Family, default_families

log = logging.getLogger("gridwall.warning")
RaisedHook = Callable[[Connection, dict, datetime], Any]


@dataclass
class EngineState:
    """What one engine (a loop, a replay) keeps between its runs: the families and their caches."""

    families: list[Family] = field(default_factory=default_families)
    cache: dict[Any, Any] = field(default_factory=dict)
    # Each kind's alarm budget, new alerts per street and ISO week (``[warning.budget]``; dashboard/warning/budget.py)
    budget: dict[str, int] = field(default_factory=lambda: dict(get_settings().warning.budget))


@dataclass
class RunReport:
    at: datetime
    raised: list[dict] = field(default_factory=list)
    suppressed: list[dict] = field(default_factory=list)   # over the alarm budget: kind, region, key, title
    updated: int = 0
    resolved: int = 0
    findings: int = 0
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    forecast: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    label: str = ""

    def summary(self) -> str:
        return (f"at {self.label or self.at.isoformat()}: {len(self.raised)} raised, {self.updated} updated, "
                f"{self.resolved} resolved; "
                + (f"{len(self.suppressed)} over budget; " if self.suppressed else "") +
                f"ran {','.join(self.ran) or '-'}; skipped {','.join(self.skipped) or '-'}; "
                f"failed {','.join(self.failed) or '-'}; forecast {self.forecast or '-'}; {self.seconds:.2f} s")


def run_once(engine: Engine, root_scope: Scope, m: Moment, state: EngineState | None = None) -> list[dict]:
    """Run every detector family as of ``m``; returns the alerts raised (see ``run_engine``)."""
    return run_engine(engine, root_scope, m, state=state).raised


def run_engine(engine: Engine, root_scope: Scope, m: Moment, *, state: EngineState | None = None,
               forecast: bool = True, on_raised: RaisedHook | None = None) -> RunReport:
    """One run as of ``m`` (the module's docstring says what it writes); ``state`` carries the
    families and their caches between the runs of a loop or a replay; ``forecast``: also the
    daily forecast. ``on_raised(conn, alert, at)`` is called for each alert inserted, on the
    inserting connection, so that what it writes commits with the alert (push owes the alert to
    its channels: ``dashboard.push.routes.raised_hook``)."""
    started = time.perf_counter()
    state = state or EngineState()
    report = RunReport(at=m.at, label=m.local_iso())
    with engine.connect() as conn:
        active, superseded = _by_situation(alerts_write.engine_active_alerts(conn, m))
    ctx = Context(root=root_scope, m=m, open_since={k: r["created_at"] for k, r in active.items()},
                  cache=state.cache)

    findings: dict[str, Finding] = {}
    for family in state.families:
        if root_scope.rollup and family.county_only:
            continue
        began = time.perf_counter()
        try:
            with engine.connect() as conn:
                found = family.run(conn, ctx)
        except Exception:  # noqa: BLE001 - one family failing never stops the others
            log.exception("warning: detector family %s failed at %s", family.name, m.local_iso())
            report.failed.append(family.name)
            continue
        finally:
            report.timings[family.name] = round(time.perf_counter() - began, 3)
        if found is None:
            report.skipped.append(family.name)
            continue
        report.ran.append(family.name)
        for f in found:
            f = _checked(f, root_scope)
            if f is None or (root_scope.rollup and not cross_county(f)):
                continue
            if f.dedup_key in findings:
                log.warning("warning: %s reported %s twice; keeping the first", family.name, f.dedup_key)
                continue
            findings[f.dedup_key] = f
    report.findings = len(findings)

    ran = [f for f in state.families if f.name in report.ran]
    over = _over_budget(engine, findings, active, state, m, report)
    raised_ids = []
    with engine.begin() as conn:
        for key, f in findings.items():
            row = active.get(key)
            if row is None and key in over:
                continue
            if row is None:
                new_id = alerts_write.insert_alert(
                    conn, dedup_key=alerts_write.episode_key(key, m.at), created_at=m.at, kind=f.kind,
                    severity=f.severity, region_code=f.region_code, category_code=f.category_code, title=f.title,
                    detail=_evidence(f, m))
                if new_id is not None:
                    raised_ids.append(new_id)
                    if on_raised is not None:
                        on_raised(conn, {"id": new_id, "kind": f.kind, "severity": f.severity,
                                         "region_code": f.region_code, "created_at": m.at}, m.at)
            elif row["status"] in alerts_write.OPEN_STATUSES and _newer_evidence(row, f, m):
                alerts_write.update_alert(conn, row["id"], severity=f.severity, title=f.title, detail=_evidence(f, m))
                report.updated += 1
        for row, began in superseded:
            alerts_write.end_episode(conn, row["id"], began)
        for key, row in active.items():
            if key in findings:
                continue
            if any(family.owns(key, row["kind"]) for family in ran):
                alerts_write.end_episode(conn, row["id"], m.at)
                report.resolved += 1
    with engine.connect() as conn:
        report.raised = [_public(r) for r in alerts_write.engine_alert_rows(conn, raised_ids)]
    if forecast:
        report.forecast = _daily_forecast(engine, root_scope, m)
    report.seconds = time.perf_counter() - started
    return report


def _over_budget(engine: Engine, findings: dict[str, Finding], active: dict[str, dict], state: EngineState,
                 m: Moment, report: RunReport) -> set[str]:
    """The situations that would raise a new alert beyond their kind's budget for their street this
    ISO week (dashboard/warning/budget.py): left out of this run, logged (once a week each) and reported."""
    caps = {k: n for k, n in (state.budget or {}).items() if n and n > 0}
    fresh = [f for key, f in findings.items() if key not in active and f.kind in caps]
    if not fresh:
        return set()
    since = alarm_budget.week_start(m.at, m.tz)
    with engine.connect() as conn:
        used = alerts_write.engine_raised_counts(conn, sorted({f.kind for f in fresh}), since, m.at)
    _kept, suppressed = alarm_budget.apply_budget(fresh, caps, used)
    logged = state.cache.setdefault(("budget.logged", since.date().isoformat()), set())
    for old in [k for k in state.cache if isinstance(k, tuple) and k[0] == "budget.logged" and k[1] != since.date().isoformat()]:
        del state.cache[old]
    for f in suppressed:
        street = alarm_budget.street_of(f.region_code)
        report.suppressed.append({"kind": f.kind, "region_code": f.region_code, "dedup_key": f.dedup_key,
                                  "severity": f.severity, "title": f.title})
        level = logging.DEBUG if f.dedup_key in logged else logging.WARNING
        logged.add(f.dedup_key)
        log.log(level, "warning: alarm budget %s = %d a week reached in %s (%d used): suppressed %s %s (%s)",
                f.kind, caps[f.kind], street, used.get((f.kind, street), 0), f.severity, f.dedup_key, f.title)
    return {f.dedup_key for f in suppressed}


def _by_situation(rows: list[dict]) -> tuple[dict[str, dict], list[tuple[dict, datetime]]]:
    """Running episodes by situation. Two run at once only after runs out of time order (a replay
    over history the live loop has seen): the older then ends where the newer began."""
    out: dict[str, dict] = {}
    superseded = []
    for row in rows:  # oldest first
        key = alerts_write.situation_of(row["dedup_key"])
        if key in out:
            superseded.append((out[key], row["created_at"]))
        out[key] = row
    return out, superseded


def _checked(f: Finding, root: Scope) -> Finding | None:
    """A finding fit to store: a key, and a region inside the root (else the root itself)."""
    if not isinstance(f, Finding) or not f.dedup_key:
        log.warning("warning: dropped a finding without a dedup key: %r", f)
        return None
    region = f.region_code
    if not isinstance(region, str) or not REGION_CODE.fullmatch(region) or not region.startswith(root.root):
        f = Finding(kind=f.kind, severity=f.severity, region_code=root.root, title=f.title, dedup_key=f.dedup_key,
                    detail=f.detail, category_code=f.category_code)
    return f


def cross_county(f: Finding) -> bool:
    """What a roll-up's own engine raises: above any one county (a rise or a cluster over the city or
    the province), or a county's feed that stopped. The rest is each county's engine's, replicated."""
    return len(f.region_code) < 6 or f.dedup_key.startswith("stale:county:")


def _evidence(f: Finding, m: Moment) -> dict:
    # through JSON once, so that what is compared is what is stored
    return json.loads(alerts_write.dump_detail({**f.detail, "as_of": m.local_iso()}))


def _newer_evidence(row: dict, f: Finding, m: Moment) -> bool:
    """Whether the finding changes the stored alert, and is not older evidence than it holds (a
    replay over a moment before the last update must not roll the evidence back)."""
    stored = alerts_write.load_detail(row["detail"])
    as_of = stored.pop("as_of", None)
    if as_of is not None:
        try:
            if datetime.fromisoformat(as_of) > m.at:
                return False
        except (TypeError, ValueError):
            pass
    new = _evidence(f, m)
    new.pop("as_of")
    return (row["severity"], row["title"], stored) != (f.severity, f.title, new)


def _public(row: dict) -> dict:
    """An alert as ``warn --once`` prints it."""
    return {"id": row["id"], "kind": row["kind"], "severity": row["severity"], "region_code": row["region_code"],
            "category_code": row["category_code"], "title": row["title"], "dedup_key": row["dedup_key"],
            "created_at": row["created_at"], "detail": alerts_write.load_detail(row["detail"])}


def _daily_forecast(engine: Engine, root: Scope, m: Moment) -> str | None:
    """The forecast (预测研判) and hotspots, once per local day: the first run of the day."""
    name = f"forecast:{root.region}"
    day = m.at.astimezone(m.tz).date().isoformat()
    try:
        with engine.connect() as conn:
            if alerts_write.engine_read_state(conn, name) == day:
                return "done"
            rows = case_detectors.forecast_outputs(conn, root, m)
        with engine.begin() as conn:
            write_forecast(conn, rows)
            alerts_write.write_state(conn, name, day, m.at)
        return "written"
    except Exception:  # noqa: BLE001 - a forecast failing never stops the warnings
        log.exception("warning: the daily forecast failed at %s", m.local_iso())
        return "failed"
