"""The review page's commitments (督办事项): what earlier meetings decided, still open or overdue,
with what changed since the period began and the current state of their linked cases; and, for duty
officers and leaders, the form that records a new decision and the buttons that close one.

``#review-commitments`` holds one entry per commitment with ``data-commitment-id`` and ``data-status``
(``open``/``done``/``dropped``; docs/interfaces.md), plus ``data-overdue`` ("true" when open past due).
A street user gets the list only: the controls stay hidden, and the write callback refuses a forged
request (callbacks/review_commitments.py).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import dcc, html

from .i18n import place_name
from .shell import section

WRITER_ROLES = ("center", "leader")
STATUS_TEXT = {"open": "未完成", "done": "已完成", "dropped": "已撤销"}
EVENT_TEXT = {"created": "新建", "status": "状态", "due": "改期", "note": "进展"}
NONE = "—"


def sections(role: str | None = None) -> list[html.Section]:
    """The commitments panel: the list, and for writers the form for a new one."""
    body = [html.Div(id="review-commitments", className="commitments",
                     children=[html.Div("—", className="empty")]),
            dcc.Store(id="commitments-version", data=0),
            # Drawn for every role but shown only to writers on the live page (the callback decides; a
            # street user's forged write is refused by the server whatever the page shows).
            form()]
    return [section("督办事项", body, extra=html.Div(
        "上次会议以来：仍未完成与已超期的事项，本期以来的变化，关联事件的当前状态", className="panel-note"))]


def form() -> html.Div:
    """A new commitment: what, where, who, by when, which cases. Hidden when viewing the past."""
    return html.Div(id="commitment-form", className="commitment-form", hidden=True, children=[
        dcc.Textarea(id="commitment-text", placeholder="会议决定 / 督办事项（例：12 件违建超期事件本周五前办结）",
                     maxLength=500, className="commitment-text"),
        html.Div(className="commitment-fields", children=[
            dcc.Dropdown(id="commitment-region", placeholder="区域", clearable=False, className="commitment-region"),
            dcc.Dropdown(id="commitment-owner", placeholder="责任单位", className="commitment-owner"),
            dcc.DatePickerSingle(id="commitment-due", display_format="YYYY-MM-DD", first_day_of_week=1,
                                 placeholder="办结期限", className="review-date"),
            dcc.Input(id="commitment-cases", type="text", placeholder="关联事件编号（逗号分隔，可选）",
                      maxLength=2000, className="commitment-cases"),
            html.Button("登记督办", id="commitment-create", n_clicks=0, className="review-apply"),
        ]),
        html.Div(id="commitment-result", className="commitment-result", role="status"),
    ])


def _day(d) -> str:
    return d.isoformat() if d is not None else NONE


def _case_state(code: str, state: dict | None, text: str, tz: ZoneInfo) -> html.Li:
    """A linked case: ``text`` is its state in words (the agenda's ``case_texts``, as in the pack)."""
    if state is None:
        cls = "case-state case-state--none"
    elif state["closed"]:
        when = state["closed_at"].astimezone(tz).strftime("%m-%d %H:%M") if state["closed_at"] else ""
        text, cls = f"{text} {when}".strip(), "case-state case-state--closed"
    elif state["overdue"]:
        cls = "case-state case-state--overdue"
    else:
        cls = "case-state"
    return html.Li([html.Span(code, className="case-code"), html.Span(text, className=cls)],
                   **{"data-case-code": code})


def _change(event: dict, tz: ZoneInfo) -> html.Li:
    when = event["ts"].astimezone(tz).strftime("%m-%d %H:%M")
    what = EVENT_TEXT.get(event["kind"], event["kind"])
    if event["kind"] == "status":
        what += f"：{STATUS_TEXT.get(event['status'], event['status'])}"
    elif event["kind"] == "due":
        what += f"：{_day(event['due_date'])}"
    parts = [html.Span(when, className="change-ts"), html.Span(what, className="change-kind")]
    if event.get("note"):
        parts.append(html.Span(event["note"], className="change-note"))
    if event.get("actor"):
        parts.append(html.Span(event["actor"], className="change-actor"))
    return html.Li(parts, className="commitment-change")


def _controls(cid: int) -> html.Div:
    key = str(cid)
    return html.Div(className="commitment-controls", children=[
        dcc.Input(id={"type": "commitment-note", "cid": key}, type="text", maxLength=1000,
                  placeholder="进展或办结说明（可选）", className="commitment-note"),
        html.Button("记录进展", id={"type": "commitment-act", "cid": key, "act": "note"}, n_clicks=0,
                    className="control commitment-act"),
        html.Button("办结", id={"type": "commitment-act", "cid": key, "act": "done"}, n_clicks=0,
                    className="control commitment-act commitment-act--done"),
        html.Button("撤销", id={"type": "commitment-act", "cid": key, "act": "dropped"}, n_clicks=0,
                    className="control commitment-act"),
    ])


def commitment_list(agenda: dict, names: dict[str, str], tz: ZoneInfo, writable: bool) -> list:
    """The agenda (``dashboard.usecases.commitments.meeting_agenda``) as entries; ``names`` of regions."""
    entries = agenda["entries"]
    if not entries:
        return [html.Div("暂无督办事项：会议决定可在下方登记" if writable else "暂无督办事项", className="empty")]
    since = agenda["since"].astimezone(tz).strftime("%m-%d")
    out = []
    for e in entries:
        status = e["status"]
        badge = (html.Span(f"已超期 {e['overdue_days']} 天", className="commitment-badge commitment-badge--overdue")
                 if e["overdue_days"] else
                 html.Span(STATUS_TEXT.get(status, status), className=f"commitment-badge commitment-badge--{status}"))
        owner = agenda["orgs"].get(e["owner_org_id"]) if e["owner_org_id"] else None
        facts = [f"{place_name(e['region_code'], names.get(e['region_code']))}",
                 f"责任单位：{owner or NONE}", f"会议：{_day(e['meeting_date'])}", f"期限：{_day(e['due_date'])}"]
        body = [html.Div([badge, html.Span(e["text"], className="commitment-text-shown")], className="commitment-head"),
                html.Div([html.Span(f, className="commitment-fact") for f in facts], className="commitment-facts")]
        if e["case_codes"]:
            body.append(html.Ul([_case_state(code, agenda["cases"].get(code), agenda["case_texts"][code], tz) for code in e["case_codes"]],
                                className="commitment-cases-list"))
        changes = e["changes"]
        body.append(html.Div([html.Span(f"{since} 以来：", className="change-since"),
                              html.Ul([_change(ev, tz) for ev in changes], className="commitment-changes")
                              if changes else html.Span("无变化", className="change-none")],
                             className="commitment-since"))
        if writable and status == "open":
            body.append(_controls(e["id"]))
        out.append(html.Div(body, className="commitment" + (" commitment--overdue" if e["overdue_days"] else ""),
                            **{"data-commitment-id": str(e["id"]), "data-status": status,
                               "data-overdue": "true" if e["overdue_days"] else "false"}))
    return out


def region_options(codes_names: list[tuple[str, str]]) -> list[dict]:
    return [{"label": place_name(code, name), "value": code} for code, name in codes_names]


def owner_options(orgs: list[dict]) -> list[dict]:
    return [{"label": o["name"] or f"单位{o['id']}", "value": o["id"]} for o in orgs]


def result(text: str, bad: bool = False) -> html.Span:
    return html.Span(text, key=str(datetime.now().timestamp()),
                     className="commitment-msg" + (" commitment-msg--bad" if bad else ""))
