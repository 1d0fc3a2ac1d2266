"""The review page's sections on departments: receipts and returns per org (部门退单), the bounced
cases (推诿扯皮) with the chain of orgs each went through, and a case's flow log (流转记录).

The flow log is a panel over the page opened by the URL (``?case=<code>`` beside ``region`` and the
period), so a link reproduces it: every case code on the page links there (``case_link``), and
closing it drops ``case`` from the URL. Rows arrive masked (``dashboard.core.outward``).

Element ids (docs/interfaces.md): ``review-departments`` (rows carry ``data-org-id``),
``review-bounced`` (entries carry ``data-case-code``), ``review-case-flow`` (the panel; ``hidden``
while no case is open, ``data-case-code`` the open case).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from dash import dcc, html

from . import i18n
from .shell import section

# The flow log's actions in words (contract.md, case_actions).
ACTION = {
    "report": "上报", "accept": "受理", "reject": "不予立案", "dispatch": "派遣", "sign": "签收",
    "escalate": "升级", "return": "退回", "urge": "督办", "extend": "延期", "handle": "处置",
    "verify": "核查", "rework": "返工", "close": "结案", "merge": "合并", "reopen": "重启", "comment": "备注",
}
STATUS = {"closed": "已结案", "rejected": "不予立案", "merged": "重复合并"}
# A return rate is shown as a percentage from this many receipts; below it, as counts only.
MIN_RATE_DENOMINATOR = 10
BOUNCED_ROWS = 50
# The departments shown before 展开: the worst bouncers.
DEPARTMENT_ROWS = 15
NONE = i18n.NONE


# --- the URL of a case's flow log ------------------------------------------------------------------

def with_case(search: str | None, code: str | None) -> str:
    """The page's query string ``search`` with ``case`` set to ``code`` (None: removed), the other
    parameters (region, period, date, end, at) kept as they are."""
    params = [(k, v) for k, v in parse_qsl((search or "").lstrip("?"), keep_blank_values=False) if k != "case"]
    if code:
        params.append(("case", code))
    return "?" + urlencode(params)


def case_link(code: str, search: str | None, text: str | None = None, class_name: str = "case-link") -> dcc.Link:
    """A link that opens ``code``'s flow log on this page (no reload; the URL holds it)."""
    return dcc.Link(text or code, href=with_case(search, code), className=class_name, title=f"查看 {code} 的流转记录")


# --- formats ---------------------------------------------------------------------------------------

def return_rate_text(returned: int, received: int) -> str:
    """"—" without receipts; the counts alone under MIN_RATE_DENOMINATOR receipts; else the
    percentage with its counts (the denominator is always visible)."""
    if not received:
        return NONE
    counts = f"{returned}/{received}"
    if received < MIN_RATE_DENOMINATOR:
        return counts
    return f"{i18n.pct(returned / received)}（{counts}）"


def change_text(current: int, previous: int) -> str:
    """A count against the previous period's (环比): ``+2``, ``-1``, ``持平``."""
    delta = current - previous
    return "持平" if delta == 0 else f"{delta:+d}"


def days_text(days: float | None) -> str:
    """Days lost in words: hours under a day, else days with one decimal."""
    if days is None:
        return NONE
    if days < 1:
        return f"{round(days * 24)}小时"
    return f"{days:.1f}天"


def when(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else NONE


def chain_text(orgs: list[str]) -> str:
    return " → ".join(orgs) if orgs else NONE


def sort_departments(rows: list[dict]) -> list[dict]:
    """The worst bouncers first: most returns, then the highest return rate (no rate, i.e. no receipt
    in the period, after every rate), then most receipts, then by org id."""
    def key(row):
        rate = row.get("return_rate")
        return (-row["returned"], rate is None, -(rate or 0.0), -row["received"], row["org_id"])

    return sorted(rows, key=key)


# --- the sections ----------------------------------------------------------------------------------

NO_FLOW_LOG = "数据不含流转记录（导入的事件导出），无从统计派遣与退回"


def departments_table(rows: list[dict], flow_log: bool = True) -> html.Div:
    """Per org: received, returned, the return rate with its denominator, returns against the previous
    period. ``rows`` as ``data_access.review_departments.departments_compared``, in display order.

    Every org is listed (the contract leaves none out); the first DEPARTMENT_ROWS (the worst
    bouncers) are shown, the others are one click away (展开), in the same columns."""
    if not flow_log:
        return html.Div(NO_FLOW_LOG, className="empty", **{"data-flow-log": "none"})
    if not rows:
        return html.Div("本期没有派遣或退回记录", className="empty")
    first, rest = rows[:DEPARTMENT_ROWS], rows[DEPARTMENT_ROWS:]
    out = [_departments_rows(first, head=True)]
    if rest:
        out.append(html.Details(className="dept-more", children=[
            html.Summary(f"其余 {len(rest)} 个单位（退回较少）", className="dept-more-summary"),
            _departments_rows(rest, head=False),
        ]))
    return html.Div(out)


def _departments_rows(rows: list[dict], head: bool) -> html.Table:
    body = [html.Tr([
        html.Td(row["name"] or f"#{row['org_id']}", className="dept-name"),
        html.Td(str(row["received"]), className="num"),
        html.Td(str(row["returned"]), className="num"),
        html.Td(return_rate_text(row["returned"], row["received"]), className="num",
                title=None if row["received"] >= MIN_RATE_DENOMINATOR or not row["received"]
                else f"接收不足{MIN_RATE_DENOMINATOR}件，只列件数"),
        html.Td([html.Span(str(row["previous_returned"]), className="dept-previous"),
                 html.Span(change_text(row["returned"], row["previous_returned"]),
                           className="dept-change " + _change_class(row["returned"], row["previous_returned"]))],
                className="num"),
    ], className="dept-row", **{"data-org-id": str(row["org_id"])}) for row in rows]
    columns = html.Colgroup([html.Col(className=f"dept-col-{i}") for i in range(5)])
    children = [columns, html.Tbody(body)]
    if head:
        children.insert(1, html.Thead(html.Tr([
            html.Th("部门"), html.Th("接收", className="num"), html.Th("退回", className="num"),
            html.Th("退单率（退回/接收）", className="num"), html.Th("退回 环比（上期，增减）", className="num")])))
    return html.Table(className="page-table dept-table", children=children)


def _change_class(current: int, previous: int) -> str:
    if current > previous:
        return "dept-change--up"
    return "dept-change--down" if current < previous else "dept-change--flat"


def bounced_table(rows: list[dict], names: dict[str, str], search: str | None, flow_log: bool = True) -> html.Div:
    """The bounced cases, most returns first, each with the chain of orgs it went through, its
    returns, the days lost and a link to its flow log. ``rows`` as ``data_access.review.bounced_cases``."""
    if not flow_log:
        return html.Div(NO_FLOW_LOG, className="empty", **{"data-flow-log": "none"})
    if not rows:
        return html.Div("本期没有推诿扯皮事件（两次及以上退回）", className="empty")
    shown = rows[:BOUNCED_ROWS]
    body = [html.Tr([
        html.Td(case_link(row["code"], search)),
        html.Td(row.get("title") or NONE, className="bounced-title"),
        html.Td(_place(row.get("grid_code"), names)),
        html.Td(chain_text(row["orgs"]), className="bounced-chain"),
        html.Td(str(row["returns"]), className="num"),
        html.Td(days_text(row.get("days_lost")), className="num"),
        html.Td(case_link(row["code"], search, "流转记录", "case-link case-link--flow")),
    ], className="bounced-row", **{"data-case-code": row["code"]}) for row in shown]
    table = html.Table(className="page-table bounced-table", children=[
        html.Thead(html.Tr([html.Th("事件编号"), html.Th("事件"), html.Th("所在"), html.Th("流转部门"),
                            html.Th("退回次数", className="num"), html.Th("耽误时长", className="num"),
                            html.Th("")])),
        html.Tbody(body),
    ])
    more = [html.Div(f"仅显示前 {BOUNCED_ROWS} 件（共 {len(rows)} 件）", className="panel-note")] \
        if len(rows) > len(shown) else []
    return html.Div([table, *more])


def _place(grid_code: str | None, names: dict[str, str]) -> str:
    if not grid_code:
        return "未定位"
    street, community = names.get(grid_code[:9]), names.get(grid_code[:12])
    return " ".join(n for n in (street, community) if n) or grid_code


# --- the flow log panel -----------------------------------------------------------------------------

def flow_panel_closed() -> list:
    return []


def _flow_message(search: str | None, text: str, class_name: str = "empty") -> list:
    """The panel with a message instead of a log (the code asked for is not repeated)."""
    close = with_case(search, None)
    return [dcc.Link("", href=close, className="case-flow-backdrop", title="关闭"),
            html.Div(className="case-flow-box", role="dialog", children=[
                _flow_head("事件流转记录", close),
                html.Div(text, className=class_name),
            ])]


def flow_not_found(search: str | None) -> list:
    """Unknown, and outside the view's scope, look the same."""
    return _flow_message(search, "未找到该事件，或不在当前查看范围内")


def flow_invalid(search: str | None) -> list:
    return _flow_message(search, "事件编号无效")


def flow_unavailable(search: str | None) -> list:
    return _flow_message(search, "数据库暂不可用", "empty empty--bad")


def _flow_head(title: str, close: str) -> html.Div:
    return html.Div(className="case-flow-head", children=[
        html.H2(title, className="case-flow-title"),
        dcc.Link("关闭 ✕", href=close, id="review-case-flow-close", className="case-flow-close"),
    ])


def flow_log(flow: dict, names: dict[str, str], search: str | None, at: datetime, tz: ZoneInfo) -> list:
    """A case's flow log (``data_access.review_departments.case_flow_as_of``, masked): who held it and
    when, every action in order with its note, and the returns, urges and extensions counted."""
    close = with_case(search, None)
    state = (f"{STATUS.get(flow['status'], flow['status'])} {when(flow['closed_at'], tz)}" if flow.get("status")
             else f"未结案（截至 {when(at, tz)}）")
    counts = [("退回", flow["returns"]), ("督办", flow["urges"]), ("延期", flow["extensions"]),
              ("返工", flow["reworks"]), ("升级", flow["escalations"])]
    rows = [html.Tr([
        html.Td(when(step["ts"], tz), className="num"),
        html.Td(ACTION.get(step["action"], step["action"] or NONE), className="flow-action"),
        html.Td(_orgs_of_step(step)),
        html.Td(step.get("note") or "", className="flow-note"),
    ], className=f"flow-step flow-step--{step['action']}", **{"data-action": step["action"] or ""})
        for step in flow["actions"]]
    log = html.Table(className="page-table flow-table", children=[
        html.Thead(html.Tr([html.Th("时间"), html.Th("动作"), html.Th("经办部门"), html.Th("备注")])),
        html.Tbody(rows),
    ]) if rows else html.Div("暂无流转记录", className="empty")
    return [
        dcc.Link("", href=close, className="case-flow-backdrop", title="关闭"),
        html.Div(className="case-flow-box", role="dialog", children=[
            _flow_head(f"事件流转记录 · {flow['code']}", close),
            html.Div(className="case-flow-meta", children=[
                html.Div(flow.get("title") or NONE, className="case-flow-case-title"),
                html.Div([html.Span(_place(flow.get("grid_code"), names)),
                          html.Span(f"上报 {when(flow['reported_at'], tz)}"), html.Span(state)],
                         className="case-flow-facts"),
            ]),
            html.Div([html.Span([html.Span(label, className="flow-count-label"),
                                 html.Span(str(n), className="flow-count-value")],
                                className="flow-count" + (" flow-count--some" if n else ""),
                                **{"data-count": label})
                      for label, n in counts], className="case-flow-counts"),
            html.Div([html.Span("流转部门：", className="flow-chain-label"), chain_text(flow["orgs"])],
                     className="case-flow-chain"),
            html.Div(log, className="case-flow-log"),
        ]),
    ]


def _orgs_of_step(step: dict) -> str:
    """The org(s) of one action: who sent it and who received it, as the log names them."""
    def org(name, org_id):
        return name or (f"#{org_id}" if org_id is not None else None)

    frm, to = org(step.get("from_org"), step.get("from_org_id")), org(step.get("to_org"), step.get("to_org_id"))
    if frm and to:
        return f"{frm} → {to}"
    if to:
        return f"→ {to}"
    return frm or ""


def sections(role: str | None = None) -> list[html.Section]:
    """The departments' and the bounced cases' panels, and the (hidden) flow log panel."""
    return [
        section("部门退单", [html.Div(id="review-departments", children=[html.Div(NONE, className="empty")]),
                            # The view (the URL without ``case``) the two tables show: opening a case
                            # does not read them again.
                            dcc.Store(id="review-departments-view")],
                extra=html.Div("接收：派遣至该部门；退回：该部门退单；环比：上一周期同时段",
                               className="panel-note")),
        section("推诿扯皮", html.Div(id="review-bounced", children=[html.Div(NONE, className="empty")]),
                extra=html.Div("两次及以上退回、本期内有退回的事件；耽误时长：首次派遣至最后一次退回后重新派遣",
                               className="panel-note")),
        html.Section(id="review-case-flow", className="case-flow", hidden=True, children=[],
                     **{"data-case-code": "", "aria-label": "事件流转记录"}),
    ]
