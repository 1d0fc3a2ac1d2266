"""The contract's summary figures written by hand: one plain SQL statement per group, run on the raw DBAPI cursor.

This is the yardstick for data_access.figures: what a DBA would write for the same numbers with no
layers in between. Same definitions (contract.md, "Figures"), same indexes; each group is a single
statement (cases + 7-day rates, staffing, alerts) where gridwall issues several.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

ONLINE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Ask:
    """One question: region ``code`` inside deployment ``root`` at moment ``t`` (aware UTC)."""

    code: str
    root: str
    t: datetime
    midnight: datetime
    w7_start: datetime


def _params(ask: Ask, backend: str) -> dict:
    nxt = str(int(ask.code) + 1)
    upper = nxt.zfill(len(ask.code)) if len(nxt) <= len(ask.code) else "~"  # '~' sorts after every digit
    ts = {"t": ask.t, "midnight": ask.midnight, "w7_start": ask.w7_start, "online_from": ask.t - ONLINE_WINDOW}
    if backend == "sqlite":  # SQLite holds naive UTC text in SQLAlchemy's format: compare as text
        ts = {k: v.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") for k, v in ts.items()}
    return {"lo": ask.code, "hi": upper, **ts}


def _run(cur, backend: str, sql: str, params: dict) -> dict:
    if backend != "sqlite":
        sql = re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql)
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


# --- cases and the 7-day rates: one pass over the cases that can matter --------------------------

OPEN = "reported_at <= :t AND (closed_at IS NULL OR closed_at > :t)"
DUE_7D = ("status NOT IN ('rejected', 'merged') AND reported_at <= :t AND ("
          "(resolve_due_at > :w7_start AND resolve_due_at <= :t) OR "
          "(status = 'closed' AND closed_at > :w7_start AND closed_at <= :t))")
CLOSED_W7 = "status = 'closed' AND closed_at > :w7_start AND closed_at <= :t"
WARNING = {  # T >= reported + 0.8 (due - reported)
    "postgresql": "reported_at + (resolve_due_at - reported_at) * 0.8 <= :t",
    "sqlite": "julianday(reported_at) + 0.8 * (julianday(resolve_due_at) - julianday(reported_at)) <= julianday(:t)",
}

CASES_SQL = f"""
SELECT
  COUNT(*) FILTER (WHERE {OPEN}) AS open,
  COUNT(*) FILTER (WHERE {OPEN} AND resolve_due_at < :t) AS overdue,
  COUNT(*) FILTER (WHERE {OPEN} AND resolve_due_at >= :t AND {{warning}}) AS warning,
  COUNT(*) FILTER (WHERE {OPEN} AND (accepted_at IS NULL OR accepted_at > :t) AND accept_due_at < :t) AS accept_overdue,
  COUNT(*) FILTER (WHERE {OPEN} AND (dispatched_at IS NULL OR dispatched_at > :t) AND dispatch_due_at < :t)
    AS dispatch_overdue,
  COUNT(*) FILTER (WHERE reported_at >= :midnight AND reported_at <= :t) AS new_today,
  COUNT(*) FILTER (WHERE status = 'closed' AND closed_at >= :midnight AND closed_at <= :t) AS closed_today,
  COUNT(*) FILTER (WHERE {DUE_7D}) AS due,
  COUNT(*) FILTER (WHERE {DUE_7D} AND status = 'closed' AND closed_at <= :t AND closed_at <= resolve_due_at) AS on_time,
  COUNT(*) FILTER (WHERE {DUE_7D} AND status = 'closed' AND closed_at <= :t) AS closed,
  COUNT(*) FILTER (WHERE {CLOSED_W7} AND satisfaction IS NOT NULL) AS rated,
  COUNT(*) FILTER (WHERE {CLOSED_W7} AND satisfaction >= 3) AS satisfied,
  COUNT(*) FILTER (WHERE {CLOSED_W7} AND source = 'patrol') AS patrol_closed,
  COUNT(*) FILTER (WHERE {CLOSED_W7} AND source = 'patrol' AND escalations = 0 AND level IN ('grid', 'community'))
    AS self_resolved
FROM cases
WHERE ({{scope}})
  -- every figure above needs one of these; each is an index range
  AND (closed_at IS NULL OR closed_at > :t OR (closed_at > :w7_start AND closed_at <= :t)
       OR (reported_at >= :midnight AND reported_at <= :t) OR (resolve_due_at > :w7_start AND resolve_due_at <= :t))
"""


def _share(num: int, den: int) -> float | None:
    return None if not den else num / den


def _case_scope(backend: str, ask: Ask) -> str:
    # SQLite has no value statistics and would drive the statement by the region range; its idiom
    # for "filter, do not index" is a unary plus.
    col = "+grid_code" if backend == "sqlite" else "grid_code"
    scope = f"{col} >= :lo AND {col} < :hi"
    return scope + f" OR {col} IS NULL" if ask.code == ask.root else scope


def cases_and_rates(cur, backend: str, ask: Ask) -> tuple[dict, dict]:
    sql = CASES_SQL.format(warning=WARNING[backend], scope=_case_scope(backend, ask))
    r = _run(cur, backend, sql, _params(ask, backend))
    cases = {k: int(r[k] or 0) for k in ("open", "overdue", "warning", "accept_overdue", "dispatch_overdue",
                                         "new_today", "closed_today")}
    rates = {"on_time": _share(r["on_time"], r["due"]), "closed": _share(r["closed"], r["due"]),
             "satisfied": _share(r["satisfied"], r["rated"]),
             "self_resolved": _share(r["self_resolved"], r["patrol_closed"])}
    return cases, rates


# --- staffing ------------------------------------------------------------------------------------

STAFFING_SQL = """
WITH w AS (
  SELECT s.id, s.grid_code FROM staff s JOIN grids g ON g.code = s.grid_code
  WHERE g.code >= :lo AND g.code < :hi AND s.role = 'grid_worker' AND s.active = {true}
), duty AS (
  SELECT w.id FROM w WHERE EXISTS (
    SELECT 1 FROM staff_shifts sh WHERE sh.staff_id = w.id AND sh.starts_at <= :t AND sh.ends_at > :t)
)
SELECT
  (SELECT COUNT(*) FROM grids WHERE code >= :lo AND code < :hi) AS grids,
  (SELECT COUNT(DISTINCT grid_code) FROM w) AS grids_staffed,
  (SELECT COUNT(*) FROM w) AS workers,
  (SELECT COUNT(*) FROM duty) AS on_duty,
  (SELECT COUNT(*) FROM duty WHERE EXISTS (
     SELECT 1 FROM staff_pings p WHERE p.staff_id = duty.id AND p.ts > :online_from AND p.ts <= :t)) AS online,
  (SELECT COUNT(DISTINCT grid_code) FROM w WHERE EXISTS (
     SELECT 1 FROM staff_pings p WHERE p.staff_id = w.id AND p.ts >= :midnight AND p.ts <= :t)) AS patrolled_today
"""


def staffing(cur, backend: str, ask: Ask) -> dict:
    sql = STAFFING_SQL.format(true="1" if backend == "sqlite" else "true")
    r = _run(cur, backend, sql, _params(ask, backend))
    return {k: int(v or 0) for k, v in r.items()}


# --- alerts --------------------------------------------------------------------------------------

ALERTS_SQL = """
SELECT COUNT(*) FILTER (WHERE status = 'new') AS new,
       COUNT(*) FILTER (WHERE status = 'acknowledged') AS acknowledged
FROM alerts WHERE region_code >= :lo AND region_code < :hi AND created_at <= :t
"""


def alerts(cur, backend: str, ask: Ask) -> dict:
    r = _run(cur, backend, ALERTS_SQL, _params(ask, backend))
    return {k: int(v or 0) for k, v in r.items()}


def summary(cur, backend: str, ask: Ask) -> dict:
    cases, rates = cases_and_rates(cur, backend, ask)
    return {"cases": cases, "rates_7d": rates, "staffing": staffing(cur, backend, ask),
            "alerts": alerts(cur, backend, ask)}


def statements(backend: str, ask: Ask) -> dict[str, tuple[str, dict]]:
    """The statements with their parameters (for EXPLAIN), in the backend's parameter style."""
    out = {
        "plain cases+rates": CASES_SQL.format(warning=WARNING[backend], scope=_case_scope(backend, ask)),
        "plain staffing": STAFFING_SQL.format(true="1" if backend == "sqlite" else "true"),
        "plain alerts": ALERTS_SQL,
    }
    params = _params(ask, backend)
    if backend != "sqlite":
        out = {k: re.sub(r"(?<!:):(\w+)", r"%(\1)s", v) for k, v in out.items()}
    return {k: (v, params) for k, v in out.items()}
