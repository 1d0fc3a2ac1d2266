"""Alerts (预警): the new ones in the data layer's order (most severe first, then the newest), each
carrying ``data-alert-id``, ``data-severity`` and ``data-status``; the acknowledged ones as one line
("已确认 N 条"); and the header's banner while a critical alert is new.

The evidence (``alerts.detail``, JSON written by the early-warning engine or another system) is
shown in one line; anything unreadable in it is left out rather than shown raw. Alerts arrive masked
(``dashboard.core.outward``).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from . import i18n
from .alert_text import NOT_CASE_COUNTS, evidence  # noqa: F401 - re-exported


def alert_entry(alert: dict[str, Any], tz: ZoneInfo, can_ack: bool = True) -> html.Div:
    severity = alert.get("severity") if alert.get("severity") in i18n.SEVERITY else "info"
    status = alert.get("status") or "new"
    alert_id = str(alert.get("id"))
    title = alert.get("title") or "（无标题）"
    kind = i18n.label(i18n.ALERT_KIND, alert.get("kind"))
    head = [
        html.Span(i18n.hhmm(alert.get("created_at"), tz), className="alert-time"),
        html.Span(i18n.SEVERITY[severity], className=f"alert-sev alert-sev--{severity}"),
        # a title that opens with its kind ("重大风险苗头：...") does not need it said twice
        *([] if title.startswith(kind) else [html.Span(kind, className="alert-kind")]),
        html.Span(title, className="alert-title"),
    ]
    if status == "new" and can_ack:
        # opens the evidence panel (?alert=ID), where 属实 / 误报 / 已知 acknowledges it
        head.append(html.Button("确认", id={"type": "alert-open", "id": alert_id}, n_clicks=0,
                                className="alert-ack control", title="查看依据并研判确认"))
    elif status == "acknowledged":
        head.append(html.Span("已确认", className="alert-acked", title=alert.get("ack_by") or ""))
    body = evidence(alert.get("detail"), alert.get("kind"))
    return html.Div(
        key=alert_id,
        className=f"alert alert--{severity} alert--{status}",
        children=[html.Div(head, className="alert-head"),
                  html.Div(body or i18n.NONE, className="alert-evidence")],
        **{"data-alert-id": alert_id, "data-severity": severity, "data-status": status},
    )


def acknowledged_line(n: int) -> html.Div:
    """The acknowledged alerts, collapsed: not an entry (``fit-aside``: "另有 N 项" does not count it)."""
    return html.Div(f"已确认 {n} 条", className="alert-acked-line fit-aside", **{"data-acknowledged": str(n)})


def alert_entries(alerts: list[dict[str, Any]], tz: ZoneInfo, can_ack: bool = True, acknowledged: int = 0) -> list:
    """The new alerts as given, then the acknowledged ones as one line."""
    tail = [acknowledged_line(acknowledged)] if acknowledged else []
    if not alerts:
        return [html.Div("暂无新预警" if acknowledged else "暂无预警", className="empty fit-aside"), *tail]
    return [*(alert_entry(a, tz, can_ack) for a in alerts), *tail]


def critical_banner(alerts: list[dict[str, Any]], new_critical: int) -> list:
    """The header's red banner while a critical alert is new: the first one's title ("等 N 条" for more)."""
    first = next((a for a in alerts if a.get("severity") == "critical"), None)
    if not new_critical or first is None:
        return []
    more = f" 等 {new_critical} 条" if new_critical > 1 else ""
    # Titles lead with the problem and end with " · place"; the banner is narrow and cuts its text at
    # the end, so it names the place first: where to send someone is what must survive the cut.
    problem, _, place = (first.get("title") or "（无标题）").rpartition(" · ")
    if not problem:
        problem, place = place, ""
    return [html.Span("严重预警", className="alert-banner-tag"),
            *([html.Span(place, className="alert-banner-place")] if place else []),
            html.Span(problem, className="alert-banner-title"),
            html.Span(more, className="alert-banner-more")]
