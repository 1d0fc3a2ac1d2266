"""``gridwall simulate``: the synthetic county goes on living in (simulated) real time.

Each tick covers ``tick_seconds`` of simulated time and writes, in one transaction: new cases at
the county's rate for that hour and weekday, the lifecycle steps of open cases whose time has
come (a case_actions row and a bumped ``updated_at`` for every change), the day's duty roster
when a day begins, and a ping a minute from every grid worker on duty.

Open cases continue the plan the seed drew for them: the plan is a pure function of the case's
row (see lifecycle.py), so the simulator rebuilds it and writes the steps after ``updated_at``.

``speed`` multiplies simulated time (speed 60: an hour a minute; the clock then runs ahead of
the wall clock). ``catch_up`` first fills the gap since the database's last data, at most
CATCH_UP_LIMIT back, in big ticks with sparse pings, then goes live. A database error is logged
and the tick retried later; it never ends the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
from sqlalchemy import Engine

from data_access import sim_reads, writes
from data_access.db import transaction

from .local_calendar import DAY, LocalCalendar, to_datetime, to_epoch
from .casegen import CaseFactory
from .catalog import Category, load_categories
from .geography import LocalProjection, grid_table_from_rows
from .lifecycle import CaseFacts, Step, deadlines, plan_case, state_after, steps_until
from .org_chart import Directory
from .rhythm import REFERENCE_GRIDS, DayNoise, draw_arrivals
from .roster import Walkers, day_roster
from .seed import DUPLICATE_WINDOW

log = logging.getLogger("gridwall.simulate")
UTC = timezone.utc
TICK_SECONDS = 20.0
CATCH_UP_LIMIT = 2 * DAY
CATCH_UP_TICK = 600
CATCH_UP_SPARSE_PINGS = 10      # minutes between pings while catching up, until the last half hour
RECENTLY_CLOSED = 2 * DAY       # closed cases still waiting for their callback are followed this long
P_PING_LOST = 0.01
# A case is continued only when its rebuilt plan reproduces these columns of its row.
REBUILT_COLUMNS = ("status", "handler_org_id", "escalations", "returns", "reworks", "urges")


@dataclass
class LiveCase:
    id: int
    steps: list[Step]
    applied: int

    @property
    def next_ts(self) -> int | None:
        return self.steps[self.applied].ts if self.applied < len(self.steps) else None


@dataclass
class _Pending:
    """What a tick changes in memory; applied only once its transaction has committed."""

    live: dict[int, LiveCase] = field(default_factory=dict)
    seq: dict[date, int] = field(default_factory=dict)
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)
    rostered: set[date] = field(default_factory=set)
    ping_floor: int | None = None


class Simulator:
    def __init__(self, engine: Engine, *, seed: int | None = None, county: str | None = None, tz=None):
        self.engine = engine
        self.rng = np.random.default_rng(seed)
        self.noise = DayNoise(self.rng)
        self.county = county
        if tz is None:
            from dashboard.core.config import get_settings

            tz = get_settings().tz
        self.cal = LocalCalendar(tz)
        self.loaded = False

    # --- loading ------------------------------------------------------------------------------

    def load(self, now_ts: int) -> None:
        with self.engine.connect() as conn:
            if self.county is None:
                found = sim_reads.counties(conn)
                if not found:
                    raise LookupError("no county with grids in the database: run `gridwall seed` first")
                self.county = found[0]
            county = self.county
            names = sim_reads.region_names(conn, county)
            grids = grid_table_from_rows(sim_reads.grid_rows(conn, county), names)
            if len(grids) == 0:
                raise LookupError(f"county {county} has no grids with a usable boundary")
            orgs = sim_reads.org_rows(conn, county)
            staff = sim_reads.staff_rows(conn, [o["id"] for o in orgs])
            cats = [Category(**{k: r.get(k) for k in ("code", "parent_code", "name", "tier", "accept_minutes",
                                                      "dispatch_minutes", "resolve_hours", "dept_type")})
                    for r in sim_reads.category_rows(conn) if r.get("code")] or load_categories()
            counts = sim_reads.case_counts_by_grid(conn, county, to_datetime(now_ts - 28 * DAY))
            live_rows = sim_reads.live_cases(conn, county, to_datetime(now_ts - RECENTLY_CLOSED))
            dups = {r["id"]: sim_reads.duplicate_target(conn, r["grid_code"], r["category_code"], r["reported_at"],
                                                        timedelta(seconds=DUPLICATE_WINDOW))
                    for r in live_rows if r["status"] == "reported" and r["grid_code"] and r["reported_at"]}
            last_ping = sim_reads.last_ping_time(conn, county)
            self.county_name = sim_reads.county_name(conn, county) or county
        self.categories = {c.code: c for c in cats}
        self.directory = Directory(orgs, staff)
        self.staff = staff
        self.grids = grids
        index = {code: i for i, code in enumerate(grids.codes)}
        weight = grids.population / max(1.0, float(np.mean(grids.population))) * 0.2
        patrol_weight = weight.copy()
        for grid, patrol, n in counts:
            if grid in index:
                (patrol_weight if patrol else weight)[index[grid]] += n
        self.factory = CaseFactory(county, self.county_name, grids, list(self.categories.values()),
                                   {g: w[0] for g, w in self.directory.workers.items()}, weight + 0.05,
                                   patrol_weight + 0.05)
        self.scale = len(grids) / REFERENCE_GRIDS
        bounds = np.array([p.bounds for p in grids.polygons])
        centre = (float(bounds[:, [0, 2]].mean()), float(bounds[:, [1, 3]].mean()))
        self.walkers = Walkers(staff, grids, LocalProjection(centre), self.rng)
        self.positions: dict[int, tuple[float, float]] = {}
        self.ping_floor = to_epoch(last_ping) if last_ping else None
        self.seq: dict[date, int] = {}
        self.rostered: set[date] = set()
        self.duty_day: date | None = None
        self.duty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.live: dict[int, LiveCase] = {}
        skipped = 0
        for row in live_rows:
            case = self._rebuild(row, dups.get(row["id"]))
            if case is None:
                skipped += 1
            elif case.next_ts is not None:
                self.live[case.id] = case
        self.loaded = True
        log.info("simulating county %s: %d grids, %d live cases (%d not ours or inconsistent)",
                 county, len(grids), len(self.live), skipped)

    def _facts(self, row: dict, dup_of: int | None) -> CaseFacts:
        return CaseFacts(row["code"], to_epoch(row["reported_at"]), row["category_code"], row["source"],
                         row["grid_code"], row["reporter_staff_id"], dup_of)

    def _rebuild(self, row: dict, dup_of: int | None) -> LiveCase | None:
        if not row.get("code") or row.get("reported_at") is None or row.get("updated_at") is None:
            return None
        steps = plan_case(self._facts(row, dup_of), self.categories.get(row["category_code"]), self.directory,
                          self.cal)
        applied = steps_until(steps, to_epoch(row["updated_at"]))
        state = state_after(steps[:applied]) if applied else None
        if state is None or any(state[k] != row.get(k) for k in REBUILT_COLUMNS):
            return None  # not a case this generator planned (or changed by someone else): leave it alone
        return LiveCase(row["id"], steps, applied)


    def last_data_time(self) -> int | None:
        with self.engine.connect() as conn:
            values = [sim_reads.last_case_time(conn, self.county), sim_reads.last_ping_time(conn, self.county)]
        values = [to_epoch(v) for v in values if v is not None]
        return max(values) if values else None

    # --- one tick -----------------------------------------------------------------------------

    def step(self, t0: int, t1: int, ping_every: int = 1) -> dict:
        """Simulate (t0, t1] in one transaction; returns counts of what was written."""
        pending = _Pending(ping_floor=self.ping_floor)
        with transaction(self.engine) as conn:
            counts = {"cases": 0, "new_case_actions": 0, "actions": 0, "updates": 0, "shifts": 0, "pings": 0}
            counts.update(self._new_cases(conn, t0, t1, pending))
            counts.update(self._progress(conn, t1, pending))
            counts["shifts"] = self._roster(conn, t0, t1, pending)
            counts["pings"] = self._pings(conn, t0, t1, ping_every, pending)
        self._commit(pending, t1)
        return counts

    def _next_code(self, conn, ts: int, pending: _Pending) -> str:
        day = self.cal.local_date(ts)
        prefix = f"{self.county}-{day:%Y%m%d}-"
        seq = pending.seq.get(day, self.seq.get(day))
        if seq is None:
            top = sim_reads.max_case_code(conn, prefix)
            try:
                seq = int(top[len(prefix):]) if top else 0
            except ValueError:
                seq = 0
        pending.seq[day] = seq + 1
        return f"{prefix}{seq + 1:05d}"

    def _new_cases(self, conn, t0: int, t1: int, pending: _Pending) -> dict:
        times, sources = draw_arrivals(self.cal, t0 + 1, t1 + 1, self.rng, self.noise, self.scale)
        if len(times) == 0:
            return {"cases": 0}
        new = self.factory.make(times, sources, self.rng)
        n_actions = 0
        for i in range(len(new)):
            reported = int(new.reported[i])
            code = self._next_code(conn, reported, pending)
            dup = sim_reads.duplicate_target(conn, new.grid_code[i], new.category[i], to_datetime(reported),
                                             timedelta(seconds=DUPLICATE_WINDOW))
            facts = CaseFacts(code, reported, new.category[i], new.source[i], new.grid_code[i], new.reporter[i], dup)
            cat = self.categories.get(new.category[i])
            steps = plan_case(facts, cat, self.directory, self.cal)
            applied = steps_until(steps, t1)
            state = state_after(steps[:applied])
            due = deadlines(reported, cat)
            row = {"code": code, "title": new.title[i], "description": new.description[i],
                   "category_code": new.category[i], "source": new.source[i], "urgency": new.urgency[i],
                   "reported_at": to_datetime(reported), "lon": float(new.lon[i]), "lat": float(new.lat[i]),
                   "grid_code": new.grid_code[i], "address": new.address[i], "reporter_staff_id": new.reporter[i],
                   "accept_due_at": to_datetime(due[0]), "dispatch_due_at": to_datetime(due[1]),
                   "resolve_due_at": to_datetime(due[2]), **_state_row(state)}
            (case_id,) = writes.insert_cases_returning_ids(conn, [row])
            n_actions += writes.insert_rows(conn, "case_actions", [_action_row(case_id, s) for s in steps[:applied]])
            if applied < len(steps):
                pending.live[case_id] = LiveCase(case_id, steps, applied)
        return {"cases": len(new), "new_case_actions": n_actions}

    def _progress(self, conn, t1: int, pending: _Pending) -> dict:
        updates, actions = [], []
        for case_id, case in self.live.items():
            if case.next_ts is None or case.next_ts > t1:
                continue
            applied = steps_until(case.steps, t1)
            state = state_after(case.steps[:applied])
            updates.append({"id": case_id, **_state_row(state)})
            actions += [_action_row(case_id, s) for s in case.steps[case.applied:applied]]
            pending.live[case_id] = LiveCase(case_id, case.steps, applied)
        writes.update_case_states(conn, updates)
        writes.insert_rows(conn, "case_actions", actions)
        return {"updates": len(updates), "actions": len(actions)}

    def _roster(self, conn, t0: int, t1: int, pending: _Pending) -> int:
        """Write the duty roster of each local day the tick touches, unless it is there already."""
        written = 0
        for day in {self.cal.local_date(t0), self.cal.local_date(t1)}:
            if day in self.rostered or day in pending.rostered:
                continue
            start, end = self.cal.midnight(day), self.cal.midnight(day + timedelta(days=1))
            if sim_reads.shifts_starting(conn, self.county, to_datetime(start), to_datetime(end)) == 0:
                shifts = day_roster(self.staff, day, self.cal, self.rng, self.directory.center)
                written += writes.insert_rows(conn, "staff_shifts", [
                    {"staff_id": int(s), "starts_at": to_datetime(a), "ends_at": to_datetime(b)}
                    for s, a, b in zip(shifts.staff_id, shifts.starts, shifts.ends)])
            pending.rostered.add(day)
        return written

    def _on_duty(self, conn, ts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        day = self.cal.local_date(ts)
        if self.duty_day != day:
            start = self.cal.midnight(day)
            rows = sim_reads.shifts_between(conn, self.county, to_datetime(start - DAY // 2),
                                            to_datetime(start + DAY))
            rows = [(s, to_epoch(a), to_epoch(b)) for s, a, b in rows if s is not None and a and b]
            self.duty = tuple(np.array([r[k] for r in rows], dtype=np.int64) for k in range(3))
            self.duty_day = day
        return self.duty

    def _pings(self, conn, t0: int, t1: int, every: int, pending: _Pending) -> int:
        """Pings in (t0, t1] of grid workers on duty: phone k pings at minute boundaries + its phase."""
        rows = []
        step = 60 * every
        floor = max(t0, self.ping_floor or 0)
        for m in range(((t0 - 59) // step) * step, t1 + 1, step):
            staff, starts, ends = self._on_duty(conn, max(m, t0))
            wrows = self.walkers.rows_of(staff)
            ts = m + np.where(wrows >= 0, self.walkers.phase[np.maximum(wrows, 0)], 0)
            on = (wrows >= 0) & (starts <= ts) & (ts < ends) & (ts > floor) & (ts <= t1)
            if not on.any():
                continue
            ids, wrows, ts = staff[on], wrows[on], ts[on]
            known = [pending.positions.get(int(s)) or self.positions.get(int(s)) for s in ids]
            cur_x = np.array([p[0] if p else np.nan for p in known])
            cur_y = np.array([p[1] if p else np.nan for p in known])
            cur_x = np.where(np.isnan(cur_x), self.walkers.base_lon[wrows], cur_x)
            cur_y = np.where(np.isnan(cur_y), self.walkers.base_lat[wrows], cur_y)
            x, y = self.walkers.walk(wrows, 1, float(every), self.rng, start=(cur_x, cur_y))
            lost = self.rng.random(len(ids)) < P_PING_LOST
            for s, t, lon, lat, gone in zip(ids.tolist(), ts.tolist(), x[:, 0].tolist(), y[:, 0].tolist(), lost):
                pending.positions[s] = (lon, lat)
                if not gone:
                    rows.append({"staff_id": s, "ts": to_datetime(t), "lon": lon, "lat": lat})
        if rows:
            writes.insert_pings(conn, rows)
            pending.ping_floor = max(floor, max(to_epoch(r["ts"]) for r in rows))
        return len(rows)

    def forget_cached_reads(self) -> None:
        """After a failed tick: read case numbers and the roster afresh (another writer may have moved them)."""
        self.seq.clear()
        self.rostered.clear()
        self.duty_day = None

    def _commit(self, pending: _Pending, t1: int) -> None:
        for case_id, case in pending.live.items():
            if case.next_ts is None:
                self.live.pop(case_id, None)
            else:
                self.live[case_id] = case
        self.seq.update(pending.seq)
        self.positions.update(pending.positions)
        self.rostered |= pending.rostered
        self.ping_floor = pending.ping_floor
        for day in [d for d in self.seq if (self.cal.local_date(t1) - d).days > 2]:
            del self.seq[day]


def _state_row(state: dict) -> dict:
    row = dict(state)
    for k in ("accepted_at", "dispatched_at", "closed_at", "resolve_due_at", "updated_at"):
        row[k] = to_datetime(row[k])
    return row


def _action_row(case_id: int, s: Step) -> dict:
    return {"case_id": case_id, "ts": to_datetime(s.ts), "action": s.action, "from_org_id": s.from_org,
            "to_org_id": s.to_org, "actor_staff_id": s.actor, "note": s.note}


def run_simulator(engine: Engine, *, speed: float = 1.0, seed: int | None = None,
                  stop: threading.Event | None = None, catch_up: bool = False, max_ticks: int | None = None,
                  start: datetime | None = None, tick_seconds: float = TICK_SECONDS, county: str | None = None,
                  retry_seconds: float = 2.0, clock=None) -> Simulator:
    """Run until ``stop`` is set (or ``max_ticks`` ticks were attempted). ``start``: the simulated
    clock's origin (default: now, or the database's last data with ``catch_up``)."""
    stop = stop or threading.Event()
    clock = clock or (lambda: time.time())
    speed = max(float(speed), 1e-6)
    tick = max(1, int(tick_seconds))
    sim = Simulator(engine, seed=seed, county=county)
    failures = 0
    while not stop.is_set():
        try:
            sim.load(int(clock()))
            break
        except Exception:  # noqa: BLE001 - a database that is down or empty must not end the loop
            failures += 1
            log.exception("simulator: cannot load the county (attempt %d)", failures)
            if stop.wait(min(60.0, retry_seconds * 2 ** min(failures - 1, 5))):
                return sim
    now = int(clock())
    if start is not None:
        t = to_epoch(start)
    elif catch_up:
        last = sim.last_data_time()
        t = now if last is None else min(now, max(last, now - CATCH_UP_LIMIT))
        if last is not None and last < now - CATCH_UP_LIMIT:
            log.warning("simulator: the data ends %.1f days ago; catching up the last %d days only",
                        (now - last) / DAY, CATCH_UP_LIMIT // DAY)
    else:
        t = now
    catching_up = catch_up and start is None and t < now - tick
    pace = None if catching_up else (t, time.monotonic())
    ticks = failures = 0
    while not stop.is_set() and (max_ticks is None or ticks < max_ticks):
        if catching_up:
            now = int(clock())
            if t >= now - tick:
                catching_up, pace = False, (t, time.monotonic())
                log.info("simulator: caught up, live from %s", to_datetime(t).isoformat())
                continue
            t1 = min(t + CATCH_UP_TICK, now)
            every = 1 if now - t1 < 1800 else CATCH_UP_SPARSE_PINGS
        else:
            t1 = t + tick
            wait = pace[1] + (t1 - pace[0]) / speed - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            every = 1
        ticks += 1
        try:
            counts = sim.step(t, t1, every)
            log.debug("tick %s: %s", to_datetime(t1).isoformat(), counts)
            t, failures = t1, 0
        except Exception:  # noqa: BLE001 - log, back off, retry the same interval
            failures += 1
            log.exception("simulator: tick up to %s failed (attempt %d); retrying", to_datetime(t1), failures)
            sim.forget_cached_reads()
            if stop.wait(min(60.0, retry_seconds * 2 ** min(failures - 1, 5))):
                break
            if failures % 5 == 0:
                try:
                    sim.load(t)
                except Exception:  # noqa: BLE001
                    log.exception("simulator: reload failed")
    return sim
