"""Open alerts (预警): each entry carries ``data-alert-id``."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from dashboard.masking import mask_text

from . import i18n


def alert_entry(alert: dict[str, Any], tz: ZoneInfo) -> html.Div:
    severity = alert.get("severity") if alert.get("severity") in i18n.SEVERITY else "info"
    return html.Div(
        key=str(alert.get("id")),
        className=f"alert alert--{severity} alert--{alert.get('status') or 'new'}",
        children=[
            html.Span(i18n.hhmm(alert.get("created_at"), tz), className="alert-time"),
            html.Span(i18n.label(i18n.ALERT_KIND, alert.get("kind")), className="alert-kind"),
            html.Span(mask_text(alert.get("title")) or "（无标题）", className="alert-title"),
        ],
        **{"data-alert-id": str(alert.get("id"))},
    )


def alert_entries(alerts: list[dict[str, Any]], tz: ZoneInfo) -> list:
    if not alerts:
        return [html.Div("暂无预警", className="empty")]
    return [alert_entry(a, tz) for a in alerts]
