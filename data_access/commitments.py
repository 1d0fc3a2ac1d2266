"""Commitments (督办事项 / 会议决定): what a review meeting decided, kept in gridwall's own tables and
followed up at the next meeting (issue 15, part 1: the data layer; the API and the page follow).

A commitment belongs to a region; a user reads and changes only those of the regions in the scope.
Every change is a dated row of ``gw_commitment_events`` (created, a new status or due date, an
evidence note), so the next meeting sees what changed since the last one. Bad input raises
``CommitmentError`` (a ValueError: the API answers 400) before anything is written.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from .models import Case, GwCommitment, GwCommitmentEvent, Org
from .scope import Scope, ScopeError, validate_code
from .scoped import in_scope, in_scope_or_above

STATUSES = ("open", "done", "dropped")
PERIOD_KINDS = ("week", "month", "quarter", "custom")
MAX_TEXT = 500
MAX_NOTE = 1000
MAX_LINKS = 50

k = GwCommitment.__table__.c
ev = GwCommitmentEvent.__table__.c
o = Org.__table__.c
cs = Case.__table__.c
# A case is closed by these statuses (data_access/review_departments.py says the same for the flow log).
CLOSING_STATUSES = ("closed", "rejected", "merged")


class CommitmentError(ValueError):
    """A commitment that cannot be stored as given; the message says which field and why."""


def _text(value: Any, field: str, limit: int, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CommitmentError(f"{field}: required")
        return None
    if not isinstance(value, str):
        raise CommitmentError(f"{field}: text expected")
    value = value.strip()
    if len(value) > limit:
        raise CommitmentError(f"{field}: at most {limit} characters")
    return value


def _day(value: Any, field: str, required: bool = True) -> date | None:
    if value is None and not required:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CommitmentError(f"{field}: a date YYYY-MM-DD expected")


def _links(values: Any, field: str, kind: type) -> list:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or len(values) > MAX_LINKS:
        raise CommitmentError(f"{field}: a list of at most {MAX_LINKS} expected")
    out = []
    for v in values:
        if kind is int and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise CommitmentError(f"{field}: positive integers expected")
        if kind is str and (not isinstance(v, str) or not v.strip() or len(v) > 64):
            raise CommitmentError(f"{field}: codes of 1-64 characters expected")
        out.append(v.strip() if kind is str else v)
    return list(dict.fromkeys(out))


def create_commitment(conn: Connection, scope: Scope, values: dict[str, Any], actor: str | None,
                      at: datetime) -> int:
    """Store a new commitment (status ``open``) of a region inside ``scope``; its id.

    ``values``: ``text``, ``region_code`` (default: the scope's region), ``meeting_date``, ``due_date``
    (not before the meeting), optional ``period`` ({kind, start, end}), ``owner_org_id``,
    ``case_codes``, ``alert_ids``. ScopeError for a region outside the scope.
    """
    region = validate_code(values.get("region_code") or scope.region)
    if not scope.contains(region):
        raise ScopeError(f"region {region} is outside the scope {scope.region}")
    text = _text(values.get("text"), "text", MAX_TEXT)
    meeting = _day(values.get("meeting_date"), "meeting_date")
    due = _day(values.get("due_date"), "due_date")
    if due < meeting:
        raise CommitmentError("due_date: before the meeting")
    period = values.get("period") or {}
    if not isinstance(period, dict):
        raise CommitmentError("period: an object {kind, start, end} expected")
    kind = period.get("kind")
    if kind is not None and kind not in PERIOD_KINDS:
        raise CommitmentError(f"period.kind: one of {', '.join(PERIOD_KINDS)}")
    start, end = _day(period.get("start"), "period.start", False), _day(period.get("end"), "period.end", False)
    if start and end and end < start:
        raise CommitmentError("period.end: before period.start")
    owner = values.get("owner_org_id")
    if owner is not None and (isinstance(owner, bool) or not isinstance(owner, int) or owner <= 0):
        raise CommitmentError("owner_org_id: a positive integer expected")
    cases = _links(values.get("case_codes"), "case_codes", str)
    alerts = _links(values.get("alert_ids"), "alert_ids", int)
    new_id = conn.execute(insert(GwCommitment).values(
        region_code=region, text=text, meeting_date=meeting, period_kind=kind, period_start=start,
        period_end=end, owner_org_id=owner, due_date=due, status="open",
        case_codes=json.dumps(cases, ensure_ascii=False), alert_ids=json.dumps(alerts), created_by=actor,
        created_at=at, updated_at=at).returning(k.id)).scalar_one()
    conn.execute(insert(GwCommitmentEvent).values(commitment_id=new_id, ts=at, actor=actor, kind="created",
                                                  status="open", due_date=due))
    return int(new_id)


def update_commitment(conn: Connection, scope: Scope, commitment_id: int, changes: dict[str, Any],
                      actor: str | None, at: datetime) -> bool:
    """Change a commitment of the scope: ``status``, ``due_date`` and/or an evidence ``note``; each is a
    dated event. False when no commitment of the scope has that id (another region's: the same)."""
    status = changes.get("status")
    if status is not None and status not in STATUSES:
        raise CommitmentError(f"status: one of {', '.join(STATUSES)}")
    due = _day(changes.get("due_date"), "due_date", False)
    note = _text(changes.get("note"), "note", MAX_NOTE, required=False)
    if status is None and due is None and note is None:
        raise CommitmentError("nothing to change: status, due_date or note")
    row = conn.execute(select(k.id, k.status, k.due_date, k.meeting_date)
                       .where(k.id == commitment_id, in_scope(scope, GwCommitment))).first()
    if row is None:
        return False
    if due is not None and due < row.meeting_date:
        raise CommitmentError("due_date: before the meeting")
    events, fields = [], {}
    if status is not None and status != row.status:
        fields["status"] = status
        events.append({"kind": "status", "status": status, "note": note})
    if due is not None and due != row.due_date:
        fields["due_date"] = due
        events.append({"kind": "due", "due_date": due, "note": None if events else note})
    if not events and note is not None:
        events.append({"kind": "note", "note": note})
    if not events:
        return True  # nothing new: the same status and due date again
    conn.execute(update(GwCommitment).where(k.id == row.id).values(**fields, updated_at=at))
    conn.execute(insert(GwCommitmentEvent), [{"commitment_id": row.id, "ts": at, "actor": actor, "status": None,
                                              "due_date": None, **e} for e in events])
    return True


def list_commitments(conn: Connection, scope: Scope, *, statuses: Iterable[str] | None = None,
                     until: datetime | None = None, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """The commitments of the scope's regions, oldest meeting first, each with its events in order.

    ``statuses`` keeps only those now in one of them; ``until`` keeps those created by then, their
    events up to then, and their status and due date as they stood then (what a meeting saw); ``ids``
    keeps only those of these ids."""
    stmt = select(GwCommitment.__table__).where(in_scope(scope, GwCommitment))
    if ids is not None:
        stmt = stmt.where(k.id.in_(list(ids)))
    if statuses is not None:
        wanted = [s for s in statuses if s in STATUSES]
        stmt = stmt.where(k.status.in_(wanted))
    if until is not None:
        stmt = stmt.where(k.created_at <= until)
    rows = [dict(r) for r in conn.execute(stmt.order_by(k.meeting_date, k.id)).mappings()]
    if not rows:
        return []
    steps = (select(GwCommitmentEvent.__table__)
             .join(GwCommitment.__table__, k.id == ev.commitment_id)
             .where(in_scope(scope, GwCommitment), ev.commitment_id.in_([r["id"] for r in rows])))
    if until is not None:
        steps = steps.where(ev.ts <= until)
    events: dict[int, list[dict[str, Any]]] = {}
    for e in conn.execute(steps.order_by(ev.ts, ev.id)).mappings():
        events.setdefault(e["commitment_id"], []).append(
            {key: e[key] for key in ("ts", "actor", "kind", "status", "due_date", "note")})
    for r in rows:
        r["case_codes"] = json.loads(r["case_codes"] or "[]")
        r["alert_ids"] = json.loads(r["alert_ids"] or "[]")
        r["events"] = events.get(r["id"], [])
        if until is not None:  # the status and due date as they stood then: the last of each by then
            r["status"] = next((e["status"] for e in reversed(r["events"]) if e["status"]), r["status"])
            r["due_date"] = next((e["due_date"] for e in reversed(r["events"]) if e["due_date"]), r["due_date"])
    return rows


def owner_orgs(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """The orgs a commitment may be given to: the scope's own and those above it (the county's
    departments and center), except grids' (a commitment is never a grid worker's task)."""
    stmt = (select(o.id, o.name, o.kind, o.region_code)
            .where(in_scope_or_above(scope, Org), or_(o.kind.is_(None), o.kind != "grid"))
            .order_by(o.region_code, o.kind, o.name, o.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def org_names(conn: Connection, scope: Scope, ids: Iterable[int]) -> dict[int, str]:
    """Names of the orgs of these ids that the scope may name (its own and those above it)."""
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted:
        return {}
    rows = conn.execute(select(o.id, o.name).where(o.id.in_(wanted), in_scope_or_above(scope, Org)))
    return {r.id: r.name for r in rows}


def linked_cases(conn: Connection, scope: Scope, codes: Iterable[str], at: datetime) -> dict[str, dict[str, Any]]:
    """The state at T of the scope's cases of these codes (reported by T): ``{code: {"title",
    "closed": bool, "status" (the closing status once closed by T, else None), "closed_at",
    "resolve_due_at", "overdue": an open case past its resolve deadline at T}}``. A code of
    another scope's case is left out, like an unknown one."""
    wanted = sorted({c for c in codes if isinstance(c, str)})
    if not wanted:
        return {}
    rows = conn.execute(select(cs.code, cs.title, cs.status, cs.closed_at, cs.resolve_due_at, cs.reported_at)
                        .where(cs.code.in_(wanted), in_scope(scope, Case))).mappings()
    out = {}
    for r in rows:
        if r["reported_at"] is not None and r["reported_at"] > at:
            continue
        closed = r["closed_at"] is not None and r["closed_at"] <= at and r["status"] in CLOSING_STATUSES
        due = r["resolve_due_at"]
        out[r["code"]] = {"title": r["title"], "closed": closed, "status": r["status"] if closed else None,
                          "closed_at": r["closed_at"] if closed else None, "resolve_due_at": due,
                          "overdue": not closed and due is not None and due < at}
    return out
