"""One alert as a person reads it away from the wall list: what, where, since when, the evidence in
one line and the cases it names. The phone alert page (``/?alert=ID`` in WeCom's or DingTalk's
browser), the wall's evidence panel and ``GET /api/v1/alerts/<id>`` all show this, masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from layouts.alert_text import DISPOSITION, evidence
from dashboard.core.outward import outward
from dashboard.usecases.alert_evidence import evidence_detail
from data_access.alerts import ALERT_CASES_LIMIT, alert_cases, get_alert
from data_access.alerts_write import load_detail
from data_access.dispositions import disposition_of
from data_access.regions import region_path
from data_access.scope import Scope, ScopeError
from layouts.i18n import ALERT_KIND, SEVERITY, label

MAX_ID_DIGITS = 18  # a 64-bit id; the API's /alerts/<id>/ack refuses longer the same way


def parse_alert_id(text: str | None) -> int | None:
    """The alert id of ``?alert=`` or a path; None when it is not one (ASCII digits, at most 18)."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    return int(text)


STATUS = {"new": "待确认", "acknowledged": "已确认", "resolved": "已消除", "dismissed": "已撤销"}


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else None


def _place(conn: Connection, scope: Scope, code: str | None) -> str:
    """The alert's region as a path of names below the county ("城厢镇 · 东林村"); its code when it
    lies outside what the names cover."""
    if not code:
        return "—"
    try:
        path = region_path(conn, scope, code)
    except ScopeError:
        return code
    names = [name for _code, name in path]
    return " · ".join(names[1:] if len(names) > 1 else names) or code


def case_state(row: dict[str, Any], now: datetime) -> str:
    if row.get("closed_at") is not None and row["closed_at"] <= now:
        return "已办结"
    due = row.get("resolve_due_at")
    return "处置中·已超期" if due is not None and due < now else "处置中"


def _case_ids(detail: dict[str, Any]) -> list[int]:
    ids = detail.get("case_ids")
    if not isinstance(ids, list):
        ids = [c.get("id") for c in detail.get("cases") or [] if isinstance(c, dict)]
    return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def alert_view(conn: Connection, scope: Scope, alert_id: int, tz: ZoneInfo, now: datetime,
               names_shown: bool = False) -> dict[str, Any] | None:
    """The alert ``alert_id`` of ``scope`` with its cases, masked; None when it is not in the scope.
    ``evidence_detail`` is its evidence shaped for its kind (``dashboard.usecases.alert_evidence``);
    ``names_shown``: offline workers may be named (``[staffing] detail = "names"`` and a ``center`` user)."""
    alert = get_alert(conn, scope, alert_id)
    if alert is None:
        return None
    detail = load_detail(alert.get("detail"))
    ids = _case_ids(detail)
    cases = alert_cases(conn, scope, ids)
    judged = disposition_of(conn, scope, alert_id)
    view = {
        "id": alert["id"],
        "kind": alert.get("kind"),
        "kind_label": label(ALERT_KIND, alert.get("kind")),
        "severity": alert.get("severity") if alert.get("severity") in SEVERITY else "info",
        "severity_label": SEVERITY.get(alert.get("severity") or "", SEVERITY["info"]),
        "status": alert.get("status") or "new",
        "status_label": STATUS.get(alert.get("status") or "new", alert.get("status") or ""),
        "title": alert.get("title") or "（无标题）",
        "region_code": alert.get("region_code"),
        "place": _place(conn, scope, alert.get("region_code")),
        "since": _local(alert.get("created_at"), tz),
        "ack_by": alert.get("ack_by"),
        "ack_at": _local(alert.get("ack_at"), tz),
        "resolved_at": _local(alert.get("resolved_at"), tz),
        "source": alert.get("source"),
        "disposition": judged and {"value": judged["disposition"], "label": DISPOSITION.get(judged["disposition"]),
                                   "note": judged["note"], "by": judged["by"], "at": _local(judged["at"], tz)},
        "evidence": evidence(detail, alert.get("kind")),
        "detail": detail,
        "evidence_detail": evidence_detail(conn, scope, alert, detail, ids, cases, tz, now, names_shown),
        "case_count": len(ids),
        "cases_shown_max": ALERT_CASES_LIMIT,
        "cases": [{
            "code": c["code"], "title": c.get("title"), "address": c.get("address"),
            "category": c.get("category_name") or c.get("category_code"),
            "place": " · ".join(p for p in (c.get("street_name"), c.get("community_name")) if p) or None,
            "reported_at": _local(c.get("reported_at"), tz),
            "due_at": _local(c.get("resolve_due_at"), tz),
            "holder": c.get("handler_name"),
            "state": case_state(c, now),
        } for c in cases],
    }
    return outward(view)
