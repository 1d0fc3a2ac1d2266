"""The live case stream: one entry per case, newest first, each carrying ``data-case-code``.

Every text field is rendered as text (Dash escapes it); the rows arrive masked (``dashboard.core.outward``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from . import i18n

STREAM_LIMIT = 30


def case_key(case: dict[str, Any]) -> str:
    """A stable key for an entry: the case code, or the row id for a case without one."""
    return case.get("code") or f"#{case.get('id')}"


def place(case: dict[str, Any]) -> str:
    """Street · community · grid, whichever names are known; "未定位" for a case without a grid."""
    if not case.get("grid_code"):
        return "未定位"
    grid = i18n.grid_name(case["grid_code"], case.get("grid_name"))
    parts = [case.get("street_name"), case.get("community_name"), grid]
    known = [p for p in parts if p]
    return " · ".join(known) if known else case["grid_code"]


def category_name(case: dict[str, Any]) -> str:
    if case.get("category_name"):
        return case["category_name"]
    return f"未知分类 {case['category_code']}" if case.get("category_code") else "未分类"


def _when(case: dict[str, Any], tz: ZoneInfo, today: date | None, at: datetime | None) -> list:
    """HH:MM local (with the date for a case from an earlier day) and the time since, ticking in the browser."""
    reported = case.get("reported_at")
    when = [html.Div(i18n.hhmm(reported, tz), className="case-clock")]
    if reported is None:
        return when
    if today is not None and reported.astimezone(tz).date() != today:
        when.append(html.Div(reported.astimezone(tz).strftime("%m-%d"), className="case-date"))
    elif at is not None:
        when.append(html.Div(i18n.ago((at - reported).total_seconds()), className="case-ago",
                             **{"data-since": str(int(reported.timestamp() * 1000))}))
    return when


def case_entry(case: dict[str, Any], tz: ZoneInfo, today: date | None = None,
               at: datetime | None = None) -> html.Div:
    """One case (assets/live.js draws it, and highlights it when it is new to the list)."""
    urgency = case.get("urgency") or "normal"
    title = case.get("title") or "（无标题）"
    key = case_key(case)
    badges = [html.Span(category_name(case), className="case-category")]
    if case.get("urgency"):
        badges.append(html.Span(i18n.label(i18n.URGENCY, case["urgency"]), className="case-urgency"))
    if case.get("source"):
        badges.append(html.Span(i18n.label(i18n.SOURCE, case["source"]), className="case-source"))
    return html.Div(
        key=key,
        className=f"case case--{urgency if urgency in i18n.URGENCY else 'normal'}",
        children=[
            html.Div(_when(case, tz, today, at), className="case-time"),
            html.Div(className="case-body", children=[
                html.Div(badges, className="case-head"),
                html.Div(title, className="case-title"),
                html.Div(place(case), className="case-place"),
            ]),
        ],
        **{"data-case-code": key},
    )


def case_stream() -> html.Div:
    return html.Div(id="case-stream", className="case-stream fit-list", children=[])
