"""The wall's evidence panel of one alert (``/?alert=ID``, the link every pushed message carries):
what, where, since when, the evidence in one line and the cases it names, over the wall's body until
closed (关闭 drops ``alert`` from the URL). Rows arrive masked (``dashboard.usecases.alert_view``).
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from .alert_evidence import part as evidence_part
from .alert_text import DISPOSITION

PANEL_ID = "alert-detail"


def container() -> html.Div:
    """The panel, hidden until ``?alert=`` names an alert. The note box lives here, not in the body that
    each alert redraws: the ack callback reads it as a State, so it must always exist."""
    return html.Div(id=PANEL_ID, className="alert-detail", hidden=True, children=[
        html.Button("关闭", id="alert-detail-close", n_clicks=0, className="alert-detail-close control"),
        html.Div(id="alert-detail-body"),
        html.Div(id="alert-detail-judge", className="alert-detail-judge", hidden=True, children=[
            dcc.Textarea(id="alert-detail-note", maxLength=500, className="alert-detail-note",
                         placeholder="说明（可选）：核实情况、已采取的措施"),
            html.Div(id="alert-detail-choices", className="alert-detail-choices"),
        ]),
    ])


def choices(view: dict[str, Any]) -> list:
    """属实 / 误报 / 已知: each acknowledges the alert with that disposition (``callbacks.nav.acknowledge``)."""
    current = (view.get("disposition") or {}).get("value")
    lead = "研判确认：" if view["status"] == "new" else "更改研判："
    return [html.Span(lead, className="alert-detail-lead"), *(
        html.Button(label, id={"type": "alert-ack", "id": f"{view['id']}:{value}"}, n_clicks=0,
                    className="control alert-judge" + (" alert-judge--current" if value == current else ""),
                    **{"data-disposition": value})
        for value, label in DISPOSITION.items())]


def _case_row(c: dict[str, Any]) -> html.Tr:
    late = "超期" in (c.get("state") or "")
    return html.Tr([
        html.Td(c.get("reported_at") or "—"),
        html.Td(c.get("title") or c.get("category") or c.get("code")),
        html.Td(c.get("category") or "—"),
        html.Td(c.get("place") or "—"),
        html.Td(c.get("holder") or "—"),
        html.Td(c.get("state"), className="alert-detail-late" if late else None),
    ], **{"data-case-code": c.get("code") or ""})


def body(view: dict[str, Any]) -> list:
    severity = view["severity"]
    facts = [("地点", view["place"]), ("发生", view.get("since") or "—"), ("依据", view.get("evidence") or "—"),
             ("状态", view["status_label"] + (f"（{view['ack_by']} {view.get('ack_at') or ''}）" if view.get("ack_by") else ""))]
    judged = view.get("disposition")
    if judged:
        facts.append(("研判", f"{judged['label']} · {judged.get('by') or ''} {judged.get('at') or ''}"
                              + (f" · {judged['note']}" if judged.get("note") else "")))
    cases = view.get("cases") or []
    if cases:
        table = html.Table(className="alert-detail-cases", children=[
            html.Thead(html.Tr([html.Th(t) for t in ("上报", "事件", "类别", "地点", "承办", "状态")])),
            html.Tbody([_case_row(c) for c in cases]),
        ])
        more = view["case_count"] - len(cases)
        case_part = [table, *([html.Div(f"另有 {more} 件未列出", className="alert-detail-more")] if more > 0 else [])]
    else:
        case_part = [html.Div("所涉事件不在本区域" if view.get("case_count") else "此预警不对应具体事件",
                              className="empty")]
    return [
        html.Div(className="alert-detail-head", children=[
            html.Span(view["severity_label"], className=f"alert-sev alert-sev--{severity}"),
            html.Span(view["kind_label"], className="alert-kind"),
            html.Span(view["title"], className="alert-detail-title"),
        ]),
        html.Dl(className="alert-detail-facts", children=[x for k, v in facts for x in (html.Dt(k), html.Dd(v))]),
        *evidence_part(view.get("evidence_detail")),  # per kind: layouts/alert_evidence.py
        html.H3(f"涉及事件（{view['case_count']} 件）" if view.get("case_count") else "涉及事件"),
        *case_part,
    ]


def missing(text: str) -> list:
    return [html.Div(text, className="empty alert-detail-missing")]
