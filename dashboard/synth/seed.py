"""``gridwall seed``: a synthetic county and ``days`` of its history, ending at ``now``.

Everything is drawn from one numpy Generator seeded with ``seed`` (the case lifecycles from
per-case Generators keyed by the case), so the same seed and the same ``now`` give identical
rows. The whole county is replaced in one transaction.

Pings: a worker on duty pings once a minute, about 400,000 rows a working day for the county.
Only the last ``full_ping_days`` local days (default 3: today and the two before) keep that
resolution; older days keep one ping every ``sparse_ping_minutes`` (default 60), which still
answers "patrolled that day" but not "online at that minute", and days more than
``sparse_ping_days`` (default 92) back one every ``old_ping_minutes`` (default 240: a couple a
shift). This keeps the 90-day seed to about 1.9 million pings and the 400-day demo to about 2.5
million, well under a minute on SQLite.
"""

from __future__ import annotations

import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import numpy as np
from sqlalchemy import Engine

from data_access import sim_reads, writes

from .local_calendar import LocalCalendar
from .casegen import CaseFactory, NewCases, seed_grid_weights
from .catalog import load_categories
from .geography import LocalProjection, build_geography
from .lifecycle import CaseFacts, deadlines, plan_case, state_after, steps_until
from .org_chart import Directory, build_org_chart
from .profiles import county_profile
from .rhythm import REFERENCE_GRIDS, DayNoise, draw_arrivals
from .seasons import Realism, Shaper
from .roster import Pings, Shifts, Walkers, day_roster, shift_pings

log = logging.getLogger("gridwall.seed")
UTC = timezone.utc
EPOCH = date(1970, 1, 1)
DUPLICATE_WINDOW = 48 * 3600  # a report repeats an earlier one in the same grid and category within 48 h
CHUNK_CASES = 20_000  # cases planned, formatted and handed to the loading thread at a time
STATE_KEYS = ("status", "level", "handler_org_id", "accepted_at", "dispatched_at", "closed_at", "escalations",
              "returns", "reworks", "urges", "satisfaction", "merged_into", "updated_at")


def _timezone():
    from dashboard.core.config import get_settings

    return get_settings().tz


def county_exists(engine: Engine) -> bool:
    """A county region with grids is in the database."""
    with engine.connect() as conn:
        return bool(sim_reads.counties(conn))


def seed_county(engine: Engine, *, county: str = "320585", days: int = 90, seed: int = 20261126,
                now: datetime | None = None, full_ping_days: int = 3, sparse_ping_minutes: int = 60,
                sparse_ping_days: int = 92, old_ping_minutes: int = 240,
                realism: Realism | None = None, truth: dict | None = None) -> dict:
    """Write the synthetic county ``county`` with ``days`` local days of history up to ``now``.

    ``realism``: volume, seasons, holidays, storms, trends and hotspot episodes (seasons.py); None
    keeps the plain, stationary county. ``truth``, when a dict, receives the true expected cases per
    grid x major category x day (keys days, grids, majors, expected (G, K, D)) for benchmarks."""
    started = time.perf_counter()
    cal = LocalCalendar(_timezone())
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now_ts = int(now.timestamp())
    today = cal.local_date(now_ts)
    first_day = today - timedelta(days=max(1, days) - 1)
    rng = np.random.default_rng(seed)
    profile = county_profile(county)
    geo = build_geography(profile, rng)
    categories = load_categories()
    by_code = {c.code: c for c in categories}

    with _gc_paused(), writes.bulk_load(engine) as conn:
        writes.delete_county(conn, county)
        writes.upsert_categories(conn, [c.as_row() for c in categories])
        ids = writes.next_ids(conn)
        chart = build_org_chart(geo, rng, ids["orgs"], ids["staff"])
        directory = Directory(chart.orgs, chart.staff)

        # roster and pings
        walkers = Walkers(chart.staff, geo.table, LocalProjection(profile.centre), rng)
        shift_parts, ping_parts = [], []
        for day in cal.days(first_day, today):
            shifts = day_roster(chart.staff, day, cal, rng, directory.center)
            shift_parts.append(shifts)
            age = (today - day).days
            every = (1 if age < full_ping_days else sparse_ping_minutes if age < sparse_ping_days
                     else max(sparse_ping_minutes, old_ping_minutes))
            ping_parts.append(shift_pings(walkers, shifts, every, now_ts, rng))
        shifts = Shifts.concat(shift_parts)
        pings = Pings.concat(ping_parts)

        # One worker thread does every insert, in the order given: the map, people, shifts and pings
        # first, while this thread draws the cases and plans their lifecycles; then the cases and their
        # flow steps, a chunk at a time as they are planned. SQLite and the PostgreSQL driver work
        # without the GIL, so writing and planning overlap. Only the worker touches the connection.
        with ThreadPoolExecutor(1, thread_name_prefix="seed-load") as pool:
            jobs = [pool.submit(_load_people, conn, geo, chart, shifts, pings, ids["staff_shifts"])]
            new = _draw_cases(geo, categories, directory, cal, first_day, today, now_ts, seed, rng, realism, truth)
            cases = _CaseLoader(conn, len(new))
            jobs.append(pool.submit(cases.begin))
            open_cases = 0
            for case_cols, action_cols in _lifecycles(new, ids["cases"], ids["case_actions"], profile.code, by_code,
                                                      directory, cal, now_ts):
                open_cases += sum(1 for s in case_cols["status"] if s not in ("closed", "rejected", "merged"))
                jobs.append(pool.submit(cases.add, writes.prepare_rows(engine.dialect.name, "cases", case_cols),
                                        writes.prepare_rows(engine.dialect.name, "case_actions", action_cols)))
            jobs.append(pool.submit(cases.finish))
            try:
                counts = jobs[0].result()
                for job in jobs[1:]:
                    job.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        counts["categories"] = len(categories)
        counts["cases"], counts["actions"] = cases.cases, cases.actions
        writes.sync_sequences(conn)

    counts["open_cases"] = open_cases
    counts["workers"] = sum(1 for s in chart.staff if s["role"] == "grid_worker" and s["active"])
    counts["seconds"] = round(time.perf_counter() - started, 1)
    log.info("seeded %s: %s", county, counts)
    return counts


@contextmanager
def _gc_paused():
    """The cyclic garbage collector off while the seed holds millions of rows as tuples: it would
    walk them again and again (it tripled the time of the lifecycles); nothing here makes cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _draw_cases(geo, categories, directory: Directory, cal: LocalCalendar, first_day, today, now_ts: int, seed: int,
                rng: np.random.Generator, realism: Realism | None, truth: dict | None) -> NewCases:
    """The cases reported from ``first_day`` up to ``now_ts`` (no lifecycle yet)."""
    profile = geo.profile
    weight, patrol_weight = seed_grid_weights(geo.table, rng)
    factory = CaseFactory(profile.code, profile.name, geo.table, categories,
                          {g: w[0] for g, w in directory.workers.items()}, weight, patrol_weight)
    scale = len(geo.table) / REFERENCE_GRIDS
    shaper = Shaper(realism, geo.table, factory, cal, first_day, today, seed, scale)
    if realism is not None:
        scale *= realism.volume
    noise = DayNoise(rng)
    if realism is None:
        times, sources = draw_arrivals(cal, cal.midnight(first_day), now_ts + 1, rng, noise, scale=scale)
        new = factory.make(times, sources, rng)
    else:
        times, sources = draw_arrivals(cal, cal.midnight(first_day), now_ts + 1, rng, noise,
                                       scale=scale * shaper.m_max, rest_day=shaper.rest_day)
        grid_idx, cat_idx = factory.places(sources, rng)
        kept = shaper.keep(times, grid_idx, cat_idx, rng)
        extra = shaper.extras(now_ts, rng)
        times = np.concatenate([times[kept], extra.times])
        order = np.argsort(times, kind="stable")
        sources = np.concatenate([sources[kept], extra.source])[order]
        grid_idx = np.concatenate([grid_idx[kept], extra.grid])[order]
        cat_idx = np.concatenate([cat_idx[kept], extra.cat])[order]
        new = factory.make(times[order], sources, rng, grid_idx, cat_idx)
    if truth is not None:
        truth.update(days=shaper.days, grids=list(geo.table.codes), majors=shaper.majors,
                     expected=shaper.expected(noise.factors, scale * shaper.m_max),
                     expected_no_shock=shaper.expected(None, scale * shaper.m_max, shocks=False))
    return new


def _load_people(conn, geo, chart, shifts: Shifts, pings: Pings, first_shift_id: int) -> dict:
    counts = {"regions": writes.bulk_insert(conn, "regions", _columns(geo.regions)),
              "grids": writes.bulk_insert(conn, "grids", _columns(geo.grid_rows)),
              "orgs": writes.bulk_insert(conn, "orgs", _columns(chart.orgs)),
              "staff": writes.bulk_insert(conn, "staff", _columns(chart.staff))}
    dialect = conn.dialect.name
    counts["shifts"] = _load(conn, writes.prepare_rows(dialect, "staff_shifts", {
        "id": np.arange(first_shift_id, first_shift_id + len(shifts)),
        "staff_id": shifts.staff_id, "starts_at": shifts.starts, "ends_at": shifts.ends}))
    counts["pings"] = _load(conn, writes.prepare_rows(dialect, "staff_pings", {
        "staff_id": pings.staff_id, "ts": pings.ts, "lon": pings.lon, "lat": pings.lat}))
    return counts


def _load(conn, prepared: writes.Prepared) -> int:
    """A big table's rows in, its indexes built after them (on SQLite)."""
    rebuild = writes.drop_indexes(conn, prepared.table_name, len(prepared.rows))
    n = writes.insert_prepared(conn, prepared)
    writes.create_indexes(conn, rebuild)
    return n


class _CaseLoader:
    """The cases and their flow steps, inserted a chunk at a time (begin, add..., finish: all on the
    loading thread), the two tables' indexes built after the last chunk (on SQLite)."""

    def __init__(self, conn, expected_cases: int):
        self.conn, self.expected = conn, expected_cases
        self.rebuild: list[str] = []
        self.cases = self.actions = 0

    def begin(self) -> None:
        # a case has several steps: its count is a lower bound for the steps to come
        self.rebuild = [sql for table in ("cases", "case_actions")
                        for sql in writes.drop_indexes(self.conn, table, self.expected)]

    def add(self, case_rows: writes.Prepared, action_rows: writes.Prepared) -> None:
        self.cases += writes.insert_prepared(self.conn, case_rows)
        self.actions += writes.insert_prepared(self.conn, action_rows)

    def finish(self) -> None:
        writes.create_indexes(self.conn, self.rebuild)


def _columns(rows: list[dict]) -> dict[str, list]:
    keys = [k for k in rows[0] if not k.startswith("_")] if rows else []
    return {k: [r[k] for r in rows] for k in keys}


def duplicate_of(grid: list[str], category: list[str], reported: np.ndarray, ids: np.ndarray) -> list[int | None]:
    """For each case, the id of the latest earlier case (strictly earlier report time) in the same
    grid and category within DUPLICATE_WINDOW, else None (the simulator asks the database the same)."""
    n = len(reported)
    out: list[int | None] = [None] * n
    if n == 0:
        return out
    key = np.array([f"{g}|{c}" for g, c in zip(grid, category)])
    order = np.lexsort((ids, reported, key))
    k, t = key[order], reported[order]
    for pos in range(1, n):
        if k[pos] != k[pos - 1]:
            continue
        j = pos - 1
        while j >= 0 and k[j] == k[pos] and t[j] == t[pos]:
            j -= 1
        if j >= 0 and k[j] == k[pos] and t[pos] - t[j] <= DUPLICATE_WINDOW:
            out[order[pos]] = int(ids[order[j]])
    return out


def case_codes(county: str, reported: np.ndarray, cal: LocalCalendar) -> list[str]:
    """320585-20261126-00042: the local report date and a running number within it (by report time)."""
    n = len(reported)
    if n == 0:
        return []
    days = cal.local_day_numbers(reported)
    run_start = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])  # the number restarts at each new day
    seq = np.arange(n) - np.repeat(run_start, np.diff(np.r_[run_start, n])) + 1
    prefix = {int(d): f"{county}-{(EPOCH + timedelta(days=int(d))):%Y%m%d}-" for d in np.unique(days).tolist()}
    return [f"{prefix[d]}{q:05d}" for d, q in zip(days.tolist(), seq.tolist())]


def _lifecycles(new: NewCases, first_case_id: int, first_action_id: int, county: str, by_code, directory,
                cal: LocalCalendar, now_ts: int, chunk: int = CHUNK_CASES) -> Iterator[tuple[dict, dict]]:
    """(case columns, flow step columns) of the cases ``new`` up to ``now_ts``, ``chunk`` cases at a time."""
    n = len(new)
    ids = np.arange(first_case_id, first_case_id + n)
    codes = case_codes(county, new.reported, cal)
    dups = duplicate_of(new.grid_code, new.category, new.reported, ids)
    reported_all = new.reported.tolist()
    next_action_id = first_action_id
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        states: list[tuple] = []
        due_at: list[tuple[int, int, int]] = []
        all_steps: list = []
        per_case = np.zeros(hi - lo, dtype=np.int64)
        for i in range(lo, hi):
            reported = reported_all[i]
            facts = CaseFacts(codes[i], reported, new.category[i], new.source[i], new.grid_code[i], new.reporter[i],
                              dups[i])
            cat = by_code.get(new.category[i])
            steps = plan_case(facts, cat, directory, cal)
            steps = steps[:steps_until(steps, now_ts)]
            state = state_after(steps)
            due = deadlines(reported, cat)
            states.append(tuple(state[k] for k in STATE_KEYS))
            due_at.append((due[0], due[1], state["resolve_due_at"] or due[2]))
            all_steps.extend(steps)
            per_case[i - lo] = len(steps)
        state_cols = dict(zip(STATE_KEYS, map(list, zip(*states))))
        due_cols = list(map(list, zip(*due_at)))
        # Step fields in order: ts, action, from_org, to_org, actor, note (then the planner's own)
        step_cols = list(map(list, zip(*all_steps)))[:6] if all_steps else [[] for _ in range(6)]
        case_cols = {
            "id": ids[lo:hi], "code": codes[lo:hi], "title": new.title[lo:hi], "description": new.description[lo:hi],
            "category_code": new.category[lo:hi], "source": new.source[lo:hi], "urgency": new.urgency[lo:hi],
            "reported_at": new.reported[lo:hi], "lon": new.lon[lo:hi], "lat": new.lat[lo:hi],
            "grid_code": new.grid_code[lo:hi], "address": new.address[lo:hi], "reporter_staff_id": new.reporter[lo:hi],
            **state_cols, "accept_due_at": due_cols[0], "dispatch_due_at": due_cols[1], "resolve_due_at": due_cols[2],
        }
        action_cols = {"id": np.arange(next_action_id, next_action_id + len(all_steps)),
                       "case_id": np.repeat(ids[lo:hi], per_case),
                       **dict(zip(("ts", "action", "from_org_id", "to_org_id", "actor_staff_id", "note"), step_cols))}
        next_action_id += len(all_steps)
        yield case_cols, action_cols
