"""Grid staffing detail: on-duty workers offline for more than 30 minutes, and vacant grids.

The pings serve dispatch, not surveillance (docs/security.md, "Staffing without surveillance"):
by default the offline workers are counted per street (``counts``); a deployment that chooses
``[staffing] detail = "names"`` lists them by grid and name, and then to ``center`` users only.
Nothing here ranks or scores a worker or their online time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from . import i18n
from .sla import drill_props


def grid_place(row: dict[str, Any]) -> str:
    parts = [row.get("community_name"), i18n.grid_name(row.get("code"), row.get("grid_name"))]
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


def street_rows(offline: list[dict[str, Any]], region: str) -> list[html.Div]:
    """The offline workers as counts per street (grids, workers): no names, no times."""
    streets: dict[str, dict[str, Any]] = {}
    for row in offline:
        code = (row.get("code") or "")[:9]
        entry = streets.setdefault(code, {"name": row.get("street_name") or code or i18n.NONE, "grids": 0, "workers": 0})
        entry["grids"] += 1
        entry["workers"] += len(row.get("workers") or [])
    ordered = sorted(streets.items(), key=lambda kv: (-kv[1]["workers"], kv[0]))
    return [html.Div(
        key=code,
        className="offline-row offline-row--counts" + (" drill" if drill_props(code, region) else ""),
        children=[
            html.Span(entry["name"], className="offline-grid"),
            html.Span(f"{entry['grids']}格", className="offline-n"),
            html.Span(f"{entry['workers']}人", className="offline-n"),
        ],
        **drill_props(code, region),
    ) for code, entry in ordered]


def staffing_detail(offline: list[dict[str, Any]], vacant: list[dict[str, Any]], at: datetime,
                    region: str, on_duty: int | None = None, *, names: bool = False,
                    history_gap: bool = False) -> list:
    """The offline block and the vacant grids.

    ``names``: list the offline workers by grid and name (the deployment chose ``names`` and the
    viewer is ``center``); otherwise counts per street. ``history_gap``: a past moment without
    pings (they are not kept that long): say so instead of counting everyone on duty as offline.
    """
    n_workers = sum(len(r.get("workers") or []) for r in offline)
    if history_gap:
        head = html.Div(className="offline-head", children=[
            html.Span("在岗离线超30分钟", className="sub-title"),
            html.Span("历史在线数据不足", className="offline-total offline-total--unknown"),
        ])
        rows = [html.Div("该时刻无定位记录，不计离线", className="empty")]
        return [head, html.Div(rows, className="offline-list fit-list"), *_vacant_line(vacant)]
    head = html.Div(className="offline-head", children=[
        html.Span("在岗离线超30分钟", className="sub-title"),
        html.Span(f"{n_workers}人 / {len(offline)}格", className="offline-total" + (" is-bad" if offline else "")),
    ])
    if offline:
        rows = [offline_row(r, at, region) for r in offline] if names else street_rows(offline, region)
    elif on_duty == 0:
        rows = [html.Div("当前无人在岗", className="empty")]
    else:
        rows = [html.Div("在岗人员均在线", className="empty empty--ok")]
    return [head, html.Div(rows, className="offline-list fit-list"), *_vacant_line(vacant)]


def _vacant_line(vacant: list[dict[str, Any]]) -> list:
    if not vacant:
        return []
    shown = "、".join(grid_place(v) for v in vacant[:4]) + (f" 等{len(vacant)}个" if len(vacant) > 4 else "")
    return [html.Div([html.Span("空缺", className="vacant-tag"), html.Span(shown, className="vacant-names")],
                     className="vacant-line")]
