"""The region panel: the children of the shown region as a ranking table (click to drill down), or,
at a grid, the grid's profile (its workers and their status, households, population, open cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from . import i18n
from .sla import drill_props


def _rate(online: int, on_duty: int) -> str:
    return f"{online}/{on_duty}" if on_duty else i18n.NONE


def children_table(rows: list[dict[str, Any]], region: str, child_level: str, tz: ZoneInfo | None = None) -> list:
    """One row per child: name, open, overdue, new today and online/on duty; the most overdue first.
    On a roll-up, a child whose county feed stopped is marked 停更 with the time of its data."""
    head = html.Div(className="rt-row rt-head", children=[
        html.Span(child_level, className="rt-name"), html.Span("在办", className="rt-n"),
        html.Span("超期", className="rt-n"), html.Span("今日新增", className="rt-n"),
        html.Span("在线/在岗", className="rt-n rt-n--wide"),
    ])
    body = []
    for row in rows:
        overdue = row.get("overdue", 0)
        name = [i18n.place_name(row["code"], row.get("name"))]
        if row.get("stale"):
            name.append(html.Span(i18n.stale_mark(row.get("data_as_of"), tz), className="rt-stale",
                                  **{"data-as-of": row["data_as_of"].isoformat() if row.get("data_as_of") else ""}))
        body.append(html.Div(
            key=row["code"],
            className="rt-row drill" + (" is-stale" if row.get("stale") else ""),
            **({"data-stale": "true"} if row.get("stale") else {}),
            children=[
                html.Span(name, className="rt-name"),
                html.Span(str(row.get("open", 0)), className="rt-n"),
                html.Span(str(overdue), className="rt-n" + (" is-bad" if overdue else " is-zero")),
                html.Span(str(row.get("new_today", 0)), className="rt-n"),
                html.Span(_rate(row.get("online", 0), row.get("on_duty", 0)), className="rt-n rt-n--wide"),
            ],
            **(drill_props(row["code"], region) or {"data-region": row["code"]}),
        ))
    if not body:
        body = [html.Div("无下级区域", className="empty")]
    return [head, html.Div(body, className="rt-body fit-list")]


def _worker_status(w: dict[str, Any], at: datetime, tz: ZoneInfo) -> html.Span:
    if not w.get("active"):
        return html.Span("停用", className="ws ws--off")
    if not w.get("on_duty"):
        return html.Span("不在岗", className="ws ws--idle")
    if w.get("online"):
        return html.Span("在线", className="ws ws--on")
    last = w.get("last_ping")
    if last is None:
        return html.Span("离线 今日无定位", className="ws ws--bad")
    cls = "ws--bad" if w.get("offline") else "ws--warn"
    return html.Span(f"离线 {i18n.duration((at - last).total_seconds())}", className=f"ws {cls}")


def grid_profile(profile: dict[str, Any] | None, at: datetime, tz: ZoneInfo, statuses: bool = False) -> list:
    """A grid's facts and its workers. A worker is named (the grid's contact) with the role; the
    worker's own online state and last position time only with ``statuses`` (``[staffing] detail =
    "names"`` and a ``center`` user, as the offline list: docs/security.md)."""
    if not profile:
        return [html.Div("未找到该网格", className="empty")]
    cases = profile.get("cases") or {}
    facts = [("户数", i18n.count(profile.get("households"))), ("人口", i18n.count(profile.get("population"))),
             ("在办", str(cases.get("open", 0))), ("超期", str(cases.get("overdue", 0)))]
    where = " · ".join(p for p in (profile.get("street_name"), profile.get("community_name")) if p)
    workers = []
    for w in profile.get("workers") or []:
        last = w.get("last_ping")
        workers.append(html.Div(key=str(w.get("id")), className="gp-worker", children=[
            html.Span(w.get("name") or i18n.NONE, className="gp-name"),
            html.Span(i18n.label(i18n.ROLE, w.get("role")) + ("" if w.get("full_time") in (None, True) else "·兼职"),
                      className="gp-role"),
            *((_worker_status(w, at, tz), html.Span(i18n.hhmm(last, tz) if last else "", className="gp-last"))
              if statuses else ()),
        ]))
    if not workers:
        workers = [html.Div("未配备网格员", className="empty empty--bad")]
    return [
        html.Div(className="gp-head", children=[
            html.Span(i18n.place_name(profile.get("code"), profile.get("name")), className="gp-title"),
            html.Span(i18n.label(i18n.GRID_KIND, profile.get("kind")), className="gp-kind"),
            html.Span(where, className="gp-where"),
        ]),
        html.Div([html.Div([html.Div(label, className="gp-label"), html.Div(value, className="gp-value")],
                           className="gp-fact") for label, value in facts], className="gp-facts"),
        html.Div(workers, className="gp-workers fit-list"),
    ]
