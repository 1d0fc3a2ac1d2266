"""The SLA board (超期/临期): the most pressing open cases with the time over or left."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from dashboard.masking import mask_text

from . import i18n
from .stream import case_key, category_name, place


def sla_entry(case: dict[str, Any], at: datetime, tz: ZoneInfo) -> html.Div:
    state = case.get("sla_state") or "warning"
    due = case.get("resolve_due_at")
    if due is None:
        clock = i18n.NONE
    elif state == "overdue":
        clock = "超期 " + i18n.duration((at - due).total_seconds())
    else:
        clock = "剩余 " + i18n.duration((due - at).total_seconds())
    category = category_name(case)
    return html.Div(
        key=case_key(case),
        className=f"sla sla--{state}",
        children=[
            html.Span(clock, className="sla-clock"),
            html.Span(category, className="sla-category"),
            html.Span(mask_text(case.get("title")) or "（无标题）", className="sla-title"),
            html.Span(place(case), className="sla-place"),
        ],
        **{"data-case-code": case_key(case), "data-sla": state},
    )


def sla_entries(cases: list[dict[str, Any]], at: datetime, tz: ZoneInfo) -> list:
    if not cases:
        return [html.Div("暂无超期、临期事件", className="empty")]
    return [sla_entry(c, at, tz) for c in cases]
