"""The commitments (督办事项) a review meeting opens with: what is still open, what is overdue, and
what changed since the period under review began (issue 15). The page (callbacks/review_commitments.py)
and the meeting pack (dashboard/pack/) show the same agenda.

A meeting reviewing period P is held soon after P ends, so "since the last meeting" is read as "since
P's first day": a commitment made at the previous meeting (during P) shows as new, and every status
change, new due date or evidence note logged from P's first day to T is listed under it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from dashboard.usecases.review_bodies import commitment_json, local  # the API's own shapes
from data_access import commitments as db
from data_access.period import Period
from data_access.scope import Scope


def since_of(period: Period, tz: ZoneInfo) -> datetime:
    """The moment from which a meeting on ``period`` lists changes: its first day, 00:00 local."""
    return datetime.combine(period.first, time(0), tzinfo=tz)


def agenda_entries(rows: list[dict[str, Any]], since: datetime, today: date) -> list[dict[str, Any]]:
    """The commitments a meeting lists, in its order: the open ones past their due date (most overdue
    first), the other open ones (soonest due first), then those closed (done or dropped) since
    ``since``. Each row gains ``overdue_days`` (open and past due: days late, else 0) and ``changes``
    (its events from ``since`` on). Commitments closed before ``since`` are not on the agenda."""
    out = []
    for row in rows:
        changes = [e for e in row["events"] if e["ts"] is not None and e["ts"] >= since]
        is_open = row["status"] == "open"
        if not is_open and not any(e["kind"] == "status" for e in changes):
            continue
        late = (today - row["due_date"]).days if is_open and row["due_date"] < today else 0
        out.append({**row, "overdue_days": late, "changes": changes})
    out.sort(key=lambda r: (0 if r["overdue_days"] else 1 if r["status"] == "open" else 2,
                            -r["overdue_days"], r["due_date"], r["id"]))
    return out


def meeting_agenda(conn: Connection, scope: Scope, period: Period, at: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The agenda of a meeting on ``period`` as of T, read in one connection: ``{"since", "entries",
    "cases": {code: state at T}, "case_texts": {code: that state in words, for every linked code},
    "orgs": {id: name}}`` (``agenda_entries``; commitments, events and case states as they stood at T)."""
    since = since_of(period, tz)
    rows = db.list_commitments(conn, scope, until=at)
    entries = agenda_entries(rows, since, at.astimezone(tz).date())
    codes = [code for e in entries for code in e["case_codes"]]
    cases = db.linked_cases(conn, scope, codes, at)
    return {"since": since, "entries": entries, "cases": cases,
            "case_texts": {code: case_state_text(cases.get(code)) for code in codes},
            "orgs": db.org_names(conn, scope, [e["owner_org_id"] for e in entries if e["owner_org_id"]])}


def case_state_text(state: dict[str, Any] | None) -> str:
    """A linked case's state at T in words (the page and the pack say the same)."""
    if state is None:
        return "不在本区域或尚未上报"
    if state["closed"]:
        return "已办结"
    return "处置中·已超期" if state["overdue"] else "处置中"


def agenda_body(engine, scope: Scope, period: Period, m) -> list[dict[str, Any]]:
    """The meeting agenda as the pack shows it: each commitment as ``/api/v1/commitments`` gives it,
    plus ``overdue_days``, ``since`` (ISO), ``changes`` (its events since then, as in ``events``),
    ``owner`` (the org's name) and ``cases`` ([{"code", "state"}] at T)."""
    with engine.connect() as conn:
        agenda = meeting_agenda(conn, scope, period, m.at, m.tz)
    out = []
    for e in agenda["entries"]:
        row = commitment_json(e, m)
        row.update({
            "overdue_days": e["overdue_days"], "since": local(agenda["since"], m),
            "changes": [ev for ev, raw in zip(row["events"], e["events"]) if raw in e["changes"]],
            "owner": agenda["orgs"].get(e["owner_org_id"]) if e["owner_org_id"] else None,
            "cases": [{"code": c, "state": agenda["case_texts"][c]} for c in e["case_codes"]],
        })
        out.append(row)
    return out
