"""The SLA board (超期临期督办): totals per stage, the orgs holding late cases, and the late cases with live timers.

Timers carry their deadline as ``data-due`` (epoch milliseconds) and tick in the browser
(assets/gridwall.js) without a server round trip; the text rendered here is their first frame.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from . import i18n
from .stream import case_key, category_name, place


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def timer(due: datetime, at: datetime, state: str) -> html.Span:
    """An overrun timer (counting up since ``due``) or a countdown (to ``due``)."""
    overdue = state == "overdue"
    seconds = (at - due).total_seconds() if overdue else (due - at).total_seconds()
    return html.Span(i18n.clock_span(seconds), className=f"timer timer--{state}",
                     **{"data-due": str(epoch_ms(due)), "data-dir": "up" if overdue else "down"})


def drill_props(code: str | None, allowed: str) -> dict[str, Any]:
    """Attributes that make an element drill the wall down to ``code`` (assets/gridwall.js: navigation)."""
    if not code or not code.startswith(allowed) or len(code) <= len(allowed):
        return {}
    return {"data-region": code, "role": "link", "tabIndex": "0"}


def stage_cell(overdue: int, warning: int) -> list:
    """Overdue (red) and warning (yellow) counts of one stage; a quiet dot when both are zero."""
    if not overdue and not warning:
        return [html.Span("·", className="n n--zero")]
    cell = []
    if overdue:
        cell.append(html.Span(str(overdue), className="n n--overdue"))
    if overdue and warning:
        cell.append(html.Span("/", className="slash"))
    if warning:
        cell.append(html.Span(str(warning), className="n n--warning"))
    return cell


def short_org(name: str | None, root_name: str | None) -> str | None:
    """An org's name without the county's own name in front (太仓市城市管理局 → 城市管理局)."""
    if name and root_name and name.startswith(root_name) and len(name) > len(root_name) + 1:
        return name[len(root_name):]
    return name


def summary(totals: dict[str, Any]) -> html.Div:
    chips = []
    for stage, label in i18n.STAGE.items():
        t = totals.get(stage, {})
        chips.append(html.Div(className="stage-chip", children=[
            html.Span(label, className="stage-name"),
            html.Span([html.Span(str(t.get("overdue", 0)), className="n n--overdue"), html.Small("超期")],
                      className="stage-count"),
            html.Span([html.Span(str(t.get("warning", 0)), className="n n--warning"), html.Small("临期")],
                      className="stage-count"),
        ]))
    chips.append(html.Div(className="stage-chip stage-chip--plain", children=[
        html.Span("督办", className="stage-name"), html.Span(str(totals.get("urges", 0)), className="n n--urge"),
        html.Span("退单", className="stage-name"), html.Span(str(totals.get("returns", 0)), className="n n--return"),
    ]))
    return html.Div(chips, className="sla-summary")


def org_row(org: dict[str, Any], region: str, root_name: str | None = None) -> html.Div:
    full = org.get("name") or ("未指派" if org.get("org_id") is None else f"单位 {org['org_id']}")
    cells = [html.Span(short_org(full, root_name), className="org-name", title=full)]
    for stage in i18n.STAGE:
        cells.append(html.Span(stage_cell(org.get(f"{stage}_overdue", 0), org.get(f"{stage}_warning", 0)),
                               className="org-stage"))
    cells.append(html.Span(str(org.get("urges", 0) or "·"), className="org-n"))
    cells.append(html.Span(str(org.get("returns", 0) or "·"), className="org-n"))
    drill = drill_props(org.get("region_code"), region)
    return html.Div(cells, key=str(org.get("org_id")), className="org-row" + (" drill" if drill else ""),
                    **{"data-org": str(org.get("org_id")), **drill})


def org_table(orgs: list[dict[str, Any]], region: str, root_name: str | None = None) -> html.Div:
    head = html.Div([html.Span("承办单位", className="org-name")]
                    + [html.Span(label, className="org-stage") for label in i18n.STAGE.values()]
                    + [html.Span("督办", className="org-n"), html.Span("退单", className="org-n")],
                    className="org-row org-head")
    rows = [org_row(o, region, root_name) for o in orgs] or [html.Div("各单位均无超期、临期事件", className="empty")]
    return html.Div([head, html.Div(rows, className="org-rows fit-list")], className="sla-orgs")


def late_case(case: dict[str, Any], at: datetime, root_name: str | None = None) -> html.Div:
    state = case.get("sla_state") or "warning"
    stage = case.get("stage") or "resolve"
    key = case_key(case)
    extra = []
    if case.get("urges"):
        extra.append(html.Span(f"督{case['urges']}", className="late-flag late-flag--urge"))
    if case.get("returns"):
        extra.append(html.Span(f"退{case['returns']}", className="late-flag late-flag--return"))
    return html.Div(
        key=f"{key}:{stage}",
        className=f"late late--{state}",
        children=[
            html.Span(i18n.STAGE.get(stage, stage), className=f"late-stage late-stage--{state}"),
            timer(case["due_at"], at, state),
            html.Div(className="late-body", children=[
                html.Div([html.Span(case.get("title") or category_name(case), className="late-title"),
                          *extra], className="late-line"),
                html.Div(f"{short_org(case.get('org_name'), root_name) or '未指派'} · {place(case)}",
                         className="late-where"),
            ]),
        ],
        **{"data-case-code": key, "data-sla": state, "data-stage": stage},
    )


def sla_board(board: dict[str, Any], at: datetime, region: str, root_name: str | None = None) -> list:
    """The board's children: summary strip, org table and the late cases (lists cut to fit by the browser).

    ``region`` is the user's own region (rows of orgs below it drill down); ``root_name`` the
    county's name, left off the front of org names.
    """
    cases = [late_case(c, at, root_name) for c in board.get("cases", [])]
    if not cases:
        cases = [html.Div("暂无超期、临期事件", className="empty")]
    return [
        summary(board.get("totals", {})),
        html.Div(className="sla-columns", children=[
            org_table(board.get("orgs", []), region, root_name),
            html.Div(cases, className="sla-cases fit-list"),
        ]),
    ]
