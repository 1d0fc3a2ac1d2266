"""Alerts (预警), newest first: each entry carries ``data-alert-id``, its severity and status.

The evidence (``alerts.detail``, JSON written by the early-warning engine or another system) is
shown in one line; anything unreadable in it is left out rather than shown raw. Alerts arrive masked
(``dashboard.core.outward``).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from . import i18n


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def evidence(detail: Any) -> str:
    """The evidence in one line: 观测 12 · 预期 3.1 · 得分 4.2 · 涉及 5件."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return ""
    if not isinstance(detail, dict):
        return ""
    parts = []
    for key, label in (("observed", "观测"), ("expected", "预期"), ("score", "得分"), ("p_value", "p")):
        text = _number(detail.get(key))
        if text is not None:
            parts.append(f"{label}{'=' if key == 'p_value' else ' '}{text}")
    window = detail.get("window")
    if isinstance(window, str) and window:
        parts.append(window[:24])
    ids = detail.get("case_ids")
    if isinstance(ids, list) and ids:
        parts.append(f"涉及 {len(ids)}件")
    return " · ".join(parts)


def alert_entry(alert: dict[str, Any], tz: ZoneInfo, can_ack: bool = True) -> html.Div:
    severity = alert.get("severity") if alert.get("severity") in i18n.SEVERITY else "info"
    status = alert.get("status") or "new"
    alert_id = str(alert.get("id"))
    head = [
        html.Span(i18n.hhmm(alert.get("created_at"), tz), className="alert-time"),
        html.Span(i18n.SEVERITY[severity], className=f"alert-sev alert-sev--{severity}"),
        html.Span(i18n.label(i18n.ALERT_KIND, alert.get("kind")), className="alert-kind"),
        html.Span(alert.get("title") or "（无标题）", className="alert-title"),
    ]
    if status == "new" and can_ack:
        head.append(html.Button("确认", id={"type": "alert-ack", "id": alert_id}, n_clicks=0,
                                className="alert-ack control"))
    elif status == "acknowledged":
        head.append(html.Span("已确认", className="alert-acked", title=alert.get("ack_by") or ""))
    body = evidence(alert.get("detail"))
    return html.Div(
        key=alert_id,
        className=f"alert alert--{severity} alert--{status}",
        children=[html.Div(head, className="alert-head"),
                  html.Div(body or i18n.NONE, className="alert-evidence")],
        **{"data-alert-id": alert_id, "data-severity": severity, "data-status": status},
    )


def alert_entries(alerts: list[dict[str, Any]], tz: ZoneInfo, can_ack: bool = True) -> list:
    if not alerts:
        return [html.Div("暂无预警", className="empty")]
    return [alert_entry(a, tz, can_ack) for a in alerts]
