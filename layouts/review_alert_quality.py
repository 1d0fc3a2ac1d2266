"""The review page's 预警研判质量: each detector's alerts in the period and how the duty officers judged
them (``dashboard.usecases.alert_quality``). ``#review-alert-quality`` holds a table whose rows carry
``data-kind``; for roles center and leader (the detectors include the concealment watch)."""

from __future__ import annotations

from typing import Any

from dash import html

from . import i18n
from .i18n import NONE
from .shell import section

ROLES = ("center", "leader")


def sections(role: str | None = None) -> list[html.Section]:
    if role is not None and role not in ROLES:
        return []
    return [section("预警研判质量", html.Div(id="review-alert-quality", children=[html.Div(NONE, className="empty")]),
                    extra=html.Div("准确率 =（属实 + 已知）÷ 已研判；研判少于 3 条不计", className="panel-note"))]


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.0f}%"


def quality_table(rows: list[dict[str, Any]]) -> html.Div | html.Table:
    if not rows:
        return html.Div("本期无预警", className="empty")
    head = ["预警类型", "产生", "已研判", "属实", "误报", "已知", "准确率"]
    body = [html.Tr([
        html.Td(i18n.label(i18n.ALERT_KIND, r["kind"])),
        html.Td(i18n.count(r["raised"])), html.Td(i18n.count(r["judged"])),
        html.Td(i18n.count(r["confirmed"])), html.Td(i18n.count(r["false_alarm"])), html.Td(i18n.count(r["known"])),
        html.Td(_pct(r["precision"]), className="quality-precision"),
    ], **{"data-kind": r["kind"] or ""}) for r in rows]
    return html.Table(className="page-table alert-quality-table",
                      children=[html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)])
