"""Grid staffing detail: on-duty workers offline for more than 30 minutes by grid, and vacant grids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from . import i18n
from .sla import drill_props


def grid_place(row: dict[str, Any]) -> str:
    parts = [row.get("community_name"), row.get("grid_name")]
    known = [p for p in parts if p]
    return " · ".join(known) if known else (row.get("code") or i18n.NONE)


def offline_row(row: dict[str, Any], at: datetime, region: str) -> html.Div:
    workers = row.get("workers") or []
    since = row.get("since")
    silent = f"{i18n.duration((at - since).total_seconds())}" if since else "今日无定位"
    names = "、".join(w.get("name") or "—" for w in workers[:3]) + (" 等" if len(workers) > 3 else "")
    drill = drill_props(row.get("code"), region)
    return html.Div(
        key=row.get("code"),
        className="offline-row" + (" drill" if drill else ""),
        children=[
            html.Span(grid_place(row), className="offline-grid", title=row.get("street_name") or ""),
            html.Span(names, className="offline-names"),
            html.Span(f"{len(workers)}人", className="offline-n"),
            html.Span(silent, className="offline-since"),
        ],
        **drill,
    )


def staffing_detail(offline: list[dict[str, Any]], vacant: list[dict[str, Any]], at: datetime,
                    region: str, on_duty: int | None = None) -> list:
    n_workers = sum(len(r.get("workers") or []) for r in offline)
    head = html.Div(className="offline-head", children=[
        html.Span("在岗离线超30分钟", className="sub-title"),
        html.Span(f"{n_workers}人 / {len(offline)}格", className="offline-total" + (" is-bad" if offline else "")),
    ])
    if offline:
        rows = [offline_row(r, at, region) for r in offline]
    elif on_duty == 0:
        rows = [html.Div("当前无人在岗", className="empty")]
    else:
        rows = [html.Div("在岗人员均在线", className="empty empty--ok")]
    out = [head, html.Div(rows, className="offline-list fit-list")]
    if vacant:
        shown = "、".join(grid_place(v) for v in vacant[:4]) + (f" 等{len(vacant)}个" if len(vacant) > 4 else "")
        out.append(html.Div([html.Span("空缺", className="vacant-tag"), html.Span(shown, className="vacant-names")],
                            className="vacant-line"))
    return out
