"""The review page's departments section (部门退单, 推诿扯皮) beyond ``data_access.review``: the
departments' returns in the previous period (环比, like for like) and a case's flow log as of T.

Both are built on ``data_access.review``'s reads (``departments``, ``case_flow``), so the page, the
API and ``/api/v1/review`` share one definition of each figure (contract.md, "Period figures").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from . import review
from .period import Period
from .scope import Scope

# The actions a flow log counts, and the key of each count.
COUNTED_ACTIONS = {"return": "returns", "urge": "urges", "extend": "extensions", "rework": "reworks",
                   "escalate": "escalations"}
CLOSING_STATUSES = ("closed", "rejected", "merged")


def departments_compared(conn: Connection, scope: Scope, period: Period, at: datetime) -> list[dict[str, Any]]:
    """``review.departments`` of P read as of T, each row also with ``previous_returned``: the org's
    returns in the previous period cut like for like (``Period.windows``: a partial P is compared
    with the same elapsed time of the previous period). Orgs with neither a dispatch nor a return in
    P are left out (the contract), whatever they did in the previous period."""
    current = review.departments(conn, scope, period, at)
    previous = period.previous()
    # Read as of its own cut, the previous period's window is exactly windows(at)["previous"].
    before = {row["org_id"]: row["returned"]
              for row in review.departments(conn, scope, previous, previous.cut_like(period, at))}
    return [{**row, "previous_returned": before.get(row["org_id"], 0)} for row in current]


def case_flow_as_of(conn: Connection, scope: Scope, code: str, at: datetime) -> dict[str, Any] | None:
    """A case of the scope with its flow log as it stood at T, or None when no case of the scope has
    that code or it was reported after T (the same answer: nothing tells the two apart).

    ``{"code", "title", "grid_code", "reported_at", "status", "closed_at", "actions": [{"ts", "action",
    "from_org_id", "from_org", "to_org_id", "to_org", "note"}], "orgs": [...], "returns", "urges",
    "extensions", "reworks", "escalations"}``: the actions with ts <= T in order; the counts are
    those actions' (not the case's counters, which are today's); ``orgs`` the chain of orgs that held
    it (each dispatch's receiver, each return's sender, repeats in a row once), as in
    ``review.bounced_cases``. ``status`` and ``closed_at`` are given only once the case was closed
    (or rejected, merged) by T; before that its state at T is the flow log's.
    """
    flow = review.case_flow(conn, scope, code)
    if flow is None or (flow["reported_at"] is not None and flow["reported_at"] > at):
        return None
    actions = [{k: step[k] for k in ("ts", "action", "from_org_id", "from_org", "to_org_id", "to_org", "note")}
               for step in flow["actions"] if step["ts"] is None or step["ts"] <= at]
    closed = flow["closed_at"] is not None and flow["closed_at"] <= at and flow["status"] in CLOSING_STATUSES
    counts = dict.fromkeys(COUNTED_ACTIONS.values(), 0)
    for step in actions:
        key = COUNTED_ACTIONS.get(step["action"])
        if key:
            counts[key] += 1
    return {
        "code": flow["code"], "title": flow["title"], "grid_code": flow["grid_code"],
        "reported_at": flow["reported_at"],
        "status": flow["status"] if closed else None, "closed_at": flow["closed_at"] if closed else None,
        "actions": actions, "orgs": org_chain(actions), **counts,
    }


def org_chain(actions: list[dict[str, Any]]) -> list[str]:
    """The orgs a case went through: each dispatch's receiver and each return's sender in order,
    repeats in a row once; an org without a name is ``#<id>``."""
    chain: list[str] = []
    for step in actions:
        if step["action"] == "dispatch":
            org_id, name = step["to_org_id"], step["to_org"]
        elif step["action"] == "return":
            org_id, name = step["from_org_id"], step["from_org"]
        else:
            continue
        org = name or (f"#{org_id}" if org_id is not None else None)
        if org is not None and (not chain or chain[-1] != org):
            chain.append(org)
    return chain
