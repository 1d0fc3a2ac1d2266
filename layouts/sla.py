"""The SLA board (超期临期督办): totals per stage, the orgs holding late cases, and the late cases with live timers.

The late cases come in two lists: 即将超期 (the savable ones, soonest due first) and 已超期 (counted by
age group, the worst few listed); on the center's wall its own stages (accept, dispatch) lead each list.
Timers carry their deadline as ``data-due`` (epoch milliseconds) and tick in the browser
(assets/gridwall.js: slaSpan) without a server round trip; the text rendered here is their first frame.
Seconds show only under an hour: "剩 12分05秒", "剩 1时23分", "超2天5时", "超19天".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from . import i18n
from .stream import case_key, category_name

AGE_GROUPS = {"day": "1天内", "days": "1-3天", "long": "3天以上"}


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def sla_span(seconds: float, overdue: bool) -> str:
    """A timer's text as the browser ticks it (assets/gridwall.js: slaSpan): seconds only under an hour,
    the days alone from three days overdue on."""
    s = int(max(0, seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if overdue and days >= 3:
        text = f"{days}天"
    elif days:
        text = f"{days}天{hours}时"
    elif hours:
        text = f"{hours}时{minutes:02d}分"
    else:
        text = f"{minutes}分{secs:02d}秒"
    return ("超" if overdue else "剩 ") + text


def timer(due: datetime, at: datetime, state: str) -> html.Span:
    """An overrun timer (counting up since ``due``) or a countdown (to ``due``)."""
    overdue = state == "overdue"
    seconds = (at - due).total_seconds() if overdue else (due - at).total_seconds()
    return html.Span(sla_span(seconds, overdue), className=f"timer timer--{state}",
                     **{"data-due": str(epoch_ms(due)), "data-dir": "up" if overdue else "down", "data-fmt": "sla"})


def grid_name(case: dict[str, Any]) -> str | None:
    """The case's grid as the wall names it (``i18n.grid_name``: 第四网格, never "网格004")."""
    return i18n.grid_name(case.get("grid_code"), case.get("grid_name"))


def place(case: dict[str, Any]) -> str:
    """Grid first, then community and street (第四网格 · 某社区 · 某街道); "未定位" for a case without a grid."""
    if not case.get("grid_code"):
        return "未定位"
    parts = [grid_name(case), case.get("community_name"), case.get("street_name")]
    known = [p for p in parts if p]
    return " · ".join(known) if known else case["grid_code"]


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
                      className="stage-count", **{"data-state": "overdue"}),
            html.Span([html.Span(str(t.get("warning", 0)), className="n n--warning"), html.Small("临期")],
                      className="stage-count", **{"data-state": "warning"}),
        ], **{"data-stage": stage}))
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


def org_table(orgs: list[dict[str, Any]], region: str, root_name: str | None = None,
              total: int | None = None) -> html.Div:
    head = html.Div([html.Span("承办单位", className="org-name")]
                    + [html.Span(label, className="org-stage") for label in i18n.STAGE.values()]
                    + [html.Span("督办", className="org-n"), html.Span("退单", className="org-n")],
                    className="org-row org-head")
    rows = [org_row(o, region, root_name) for o in orgs] or [html.Div("各单位均无超期、临期事件", className="empty")]
    count = len(orgs) if total is None else total
    return html.Div([head, html.Div(rows, className="org-rows fit-list", **{"data-total": str(count)})],
                    className="sla-orgs")


def late_case(case: dict[str, Any], at: datetime, root_name: str | None = None) -> html.Div:
    state = case.get("sla_state") or "warning"
    stage = case.get("stage") or "resolve"
    key = case_key(case)
    extra = []
    if case.get("urges"):
        extra.append(html.Span(f"督{case['urges']}", className="late-flag late-flag--urge"))
    if case.get("returns"):
        extra.append(html.Span(f"退{case['returns']}", className="late-flag late-flag--return"))
    org = case.get("org_name")
    return html.Div(
        key=f"{key}:{stage}",
        className=f"late late--{state}",
        children=[
            html.Span(i18n.STAGE.get(stage, stage), className=f"late-stage late-stage--{state}"),
            timer(case["due_at"], at, state),
            html.Div([html.Span(case.get("title") or category_name(case), className="late-title"), *extra],
                     className="late-line"),
            html.Div([html.Span(short_org(org, root_name) or "未指派",
                                className="late-org" + ("" if org else " late-org--none"), title=org or ""),
                      html.Span(place(case), className="late-place")], className="late-where",
                     title=" ".join(t for t in (org, place(case)) if t)),
        ],
        **{"data-case-code": key, "data-sla": state, "data-stage": stage},
    )


def _ordered(cases: list[dict[str, Any]], own_stages: tuple[str, ...]) -> list[dict[str, Any]]:
    """The viewer's own stages first, each part in the order the board read them."""
    return ([c for c in cases if c.get("stage") in own_stages]
            + [c for c in cases if c.get("stage") not in own_stages])


def _section(state: str, title: str, entries: list, total: int, groups: list | None = None) -> html.Div:
    head = [html.Span(title, className="sla-section-title"),
            html.Span(str(total), className=f"n n--{state if total else 'zero'}")]
    if groups:
        head.append(html.Span(groups, className="sla-ages"))
    empty = {"warning": "暂无即将超期事件", "overdue": "暂无超期事件"}[state]
    body = entries or [html.Div(empty, className="empty")]
    return html.Div(className=f"sla-section sla-section--{state}" + ("" if entries else " sla-section--empty"),
                    children=[html.Div(head, className="sla-section-head"),
                              html.Div(body, className="sla-list fit-list",
                                       **{"data-total": str(total), "data-note-in-head": "1"})])


def late_cases(board: dict[str, Any], at: datetime, root_name: str | None = None,
               own_stages: tuple[str, ...] = ()) -> html.Div:
    """即将超期 above 已超期, each a list cut to fit that carries its true total (``data-total``)."""
    late = board.get("totals", {}).get("late", {})
    cases = _ordered(board.get("cases", []), own_stages)
    warnings = [late_case(c, at, root_name) for c in cases if c.get("sla_state") == "warning"]
    overdue = [late_case(c, at, root_name) for c in cases if c.get("sla_state") == "overdue"]
    groups = [html.Span([html.Span(label, className="sla-age-label"),
                         html.Span(str(late.get(key, 0)), className="sla-age-n")],
                        className="sla-age" + ("" if late.get(key) else " sla-age--zero"), **{"data-age": key})
              for key, label in AGE_GROUPS.items()]
    return html.Div(className="sla-cases", children=[
        _section("warning", "即将超期", warnings, int(late.get("warning", len(warnings)))),
        _section("overdue", "已超期", overdue, int(late.get("overdue", len(overdue))), groups),
    ])


def late_total(board: dict[str, Any]) -> int:
    """Every late case once (``#sla-board``'s ``data-total``)."""
    late = board.get("totals", {}).get("late", {})
    return int(late.get("warning", 0)) + int(late.get("overdue", 0))


def sla_board(board: dict[str, Any], at: datetime, region: str, root_name: str | None = None,
              own_stages: tuple[str, ...] = ()) -> list:
    """The board's children: summary strip, org table and the late cases (lists cut to fit by the browser).

    ``region`` is the user's own region (rows of orgs below it drill down); ``root_name`` the
    county's name, left off the front of org names; ``own_stages`` the viewer's own stages, listed first.
    """
    return [
        summary(board.get("totals", {})),
        html.Div(className="sla-columns", children=[
            org_table(board.get("orgs", []), region, root_name, board.get("org_count")),
            late_cases(board, at, root_name, own_stages),
        ]),
    ]
