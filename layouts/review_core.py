"""The review page's core sections: the headline figures with their 环比 and 同比, the children table
with scores, ranks and the discovery part, the 红黑榜, the score rules, and the breadcrumb.

Built from plain data (the period figures F of ``data_access.review``, the scored siblings of
``dashboard.analytics.scoring``) shaped by callbacks/review_core.py; the wording is
``layouts.review_format``'s.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from dash import dcc, html

from . import review_format as fmt

# The children table's figures (besides rank, score and the discovery part).
CHILD_KEYS = ("due", "on_time_rate", "closed_rate", "satisfied_rate", "return_rate", "rework_rate",
              "overdue_at_end", "reported")
DISCOVERY = "reports_per_worker"
DISCOVERY_NOTE = ("发现分项＝人均巡查发现 ÷ 同级中位数（上限 125%）。巡办分离：瞒报、少报问题的区域会失去这一分项，"
                  "隐瞒问题得不偿失。")
NO_CHILDREN = "网格为最小管理单元，没有下级区域（不对网格员个人排名）。"
NO_RULES_NOTE = ("分项＝实际值 ÷ 目标（越高越好）或 目标 ÷ 实际值（越低越好），上限 125%；"
                 "综合得分＝100 × 有值分项的加权平均。应结案少于 10 件的区域样本不足，不参与排名。")


# --- breadcrumb -------------------------------------------------------------------------------------

def breadcrumb(path: Sequence[tuple[str, str, str | None]]) -> list:
    """The regions from the top the user may see down to the one shown: (code, name, href or None).
    Each but the last links to its own review; the last is the region shown."""
    out: list = []
    for i, (code, name, href) in enumerate(path):
        if i:
            out.append(html.Span("›", className="crumb-sep"))
        last = i == len(path) - 1
        if href and not last:
            out.append(html.Span(dcc.Link(name, href=href, className="crumb-link"), className="crumb",
                                 **{"data-region": code}))
        else:
            out.append(html.Span(name, className="crumb crumb--here" if last else "crumb", **{"data-region": code}))
    return out


# --- headline figures ---------------------------------------------------------------------------------

def _change_cell(change: fmt.Change, window: str) -> html.Td:
    # As few components as will do: the Dash renderer's work grows with their number.
    verdict = change.verdict or "none"
    kids = [change.text, html.Span(change.word, className=f"verdict verdict--{verdict}")] \
        if change.word and change.verdict != "same" else change.text
    return html.Td(kids, className=f"change change--{verdict}", **{"data-window": window,
                                                                    "data-verdict": change.verdict or ""})


NO_HISTORY = "无数据"       # the comparison window lies before the database's first case
SHORT_HISTORY = "（不全）"   # it begins before it: the figure counts only part of the window


def _compared(key: str, now, then, window: str, coverage: str, num: str = "num") -> list:
    """The comparison window's figure and its change, or what its coverage allows of them."""
    if coverage == "full":
        return [html.Td(fmt.figure_text(key, then), className=num, **{"data-window": window}),
                _change_cell(fmt.change(key, now, then), window)]
    shown = fmt.figure_text(key, then)
    text = NO_HISTORY if coverage in ("none", "gap") else (shown + SHORT_HISTORY if shown != fmt.NONE else shown)
    return [html.Td(text, className=f"{num} no-history", **{"data-window": window, "data-coverage": coverage}),
            html.Td("—", className="change change--none", **{"data-window": window, "data-verdict": ""})]


def headline(figures: Mapping[str, Mapping[str, Any] | None], windows: Mapping[str, str],
             coverage: Mapping[str, str] | None = None) -> html.Table:
    """Every figure of the contract for the region: 本期, 上期 with 环比, 去年同期 with 同比.

    ``windows``: {"current", "previous", "last_year"} -> the window's dates as text; ``coverage``:
    {"previous", "last_year"} -> "full" / "partial" / "none" (dashboard.analytics.history_coverage): a
    window the history does not wholly cover is not compared."""
    cover = {"previous": "full", "last_year": "full", **(coverage or {})}
    cur, prev, ly = figures.get("current"), figures.get("previous"), figures.get("last_year")
    head = html.Tr([
        html.Th("指标"),
        html.Th(["本期", html.Div(windows["current"], className="window-dates")], className="num"),
        html.Th(["上期", html.Div(windows["previous"], className="window-dates")], className="num"),
        html.Th("环比", className="num"),
        html.Th(["去年同期", html.Div(windows["last_year"], className="window-dates")], className="num"),
        html.Th("同比", className="num"),
    ])
    rows = []
    for key in fmt.HEADLINE_KEYS:
        better = fmt.BETTER.get(key)
        label: list = [fmt.LABELS[key]]
        if better:
            label.append(html.Span(fmt.BETTER_WORDS[better], className="figure-better"))
        num = "num sources" if key == "by_source" else "num"  # a list of sources may wrap
        rows.append(html.Tr([
            html.Th(label, scope="row", className="figure-name"),
            html.Td(fmt.figure_text(key, cur), className=f"{num} figure-now", **{"data-window": "current"}),
            *_compared(key, cur, prev, "previous", cover["previous"], num),
            *_compared(key, cur, ly, "last_year", cover["last_year"], num),
        ], **{"data-figure": key}))
    return html.Table(className="page-table review-headline-table", children=[html.Thead(head), html.Tbody(rows)])


# --- children, 红黑榜, rules ---------------------------------------------------------------------------

def children_rows(rows: Sequence[Mapping[str, Any]], median: float | None, outside: str = "") -> list:
    """The children table's head and body. Each row: {"code", "name", "href", "figures", "score",
    "rank", "rank_change", "discovery" (the part of reports per worker against the siblings' median)}.
    ``outside``: the region's counts that no listed child holds (``review_format.outside_text``), said
    in a last row so the column sums meet the headline."""
    head = html.Thead(html.Tr([
        html.Th("排名"), html.Th("名次变化"), html.Th("区域"), html.Th("综合得分", className="num"),
        *[html.Th(fmt.LABELS[k], className="num") for k in CHILD_KEYS],
        html.Th([fmt.LABELS[DISCOVERY], html.Div(f"同级中位数 {fmt.value_text(DISCOVERY, median)}",
                                                 className="window-dates")], className="num"),
        html.Th("发现分项", className="num"),
    ]))
    if not rows:
        return [head, html.Tbody(html.Tr(html.Td(NO_CHILDREN, colSpan=6 + len(CHILD_KEYS), className="empty")))]
    body = []
    for r in rows:
        f = r["figures"]
        rank = r["rank"]
        body.append(html.Tr([
            html.Td(fmt.rank_text(rank), className="rank" if rank is not None else "rank rank--none"),
            html.Td(fmt.rank_change_text(rank, r["rank_change"], r.get("rank_compared", True)), className="rank-change"),
            html.Td(dcc.Link(r["name"], href=r["href"], className="review-drill"), className="child-name"),
            html.Td(fmt.score_text(r["score"]), className="num score"),
            *[_cell(k, f) for k in (*CHILD_KEYS, DISCOVERY)],
            html.Td(fmt.part_text(r["discovery"]), className="num"),
        ], **{"data-region": r["code"], "data-rank": "" if rank is None else str(rank)}))
    out = [head, html.Tbody(body)]
    if outside:
        out.append(html.Tfoot(html.Tr(html.Td(outside, colSpan=6 + len(CHILD_KEYS), className="outside-children"),
                                      **{"data-outside": "1"})))
    return out


def _cell(key: str, f: Mapping[str, Any]) -> html.Td:
    value, counts = fmt.cell_parts(key, f)
    return html.Td([value, html.Span(counts, className="counts")] if counts else value, className="num")


def _roll_entry(entry: Mapping[str, Any], lifted: bool) -> html.Li:
    why = entry.get("why")
    reason = "—" if why is None else (
        f"{'拉动' if lifted else '拖累'}：{fmt.LABELS.get(why['figure'], why['figure'])} "
        f"{fmt.value_text(why['figure'], why['value'])}，目标 {fmt.value_text(why['figure'], why['target'])}"
        f"（达成 {fmt.part_text(why['part'])}）")
    return html.Li(className="roll-entry", **{"data-region": entry["code"]}, children=[
        html.Span(f"第{entry['rank']}名", className="roll-rank"),
        html.Span(entry["name"], className="roll-name"),
        html.Span(f"{fmt.score_text(entry['score'])} 分", className="roll-score"),
        html.Span(reason, className="roll-why"),
    ])


def rolls(red: Sequence[Mapping[str, Any]], black: Sequence[Mapping[str, Any]], has_children: bool) -> list:
    """红榜 (best first) and 黑榜 (worst first), each named with the figure that lifted or sank it."""
    if not has_children:
        return [html.Div(NO_CHILDREN, className="empty")]

    def roll(title: str, entries, lifted: bool, ident: str, cls: str):
        body = (html.Ol([_roll_entry(e, lifted) for e in entries], className="roll-list") if entries
                else html.Div("参与排名的区域不足 2 个", className="empty"))
        return html.Div(id=ident, className=f"roll {cls}", children=[html.H3(title, className="roll-title"), body])

    return [roll("红榜（前 3 名）", red, True, "review-red", "roll--red"),
            roll("黑榜（后 3 名）", black, False, "review-black", "roll--black")]


def rules_table(rules: Sequence[Mapping[str, Any]]) -> list:
    """The score rules from the configuration: figure, weight, target (a siblings' median with the
    value it resolved to), which way is better."""
    total = sum(r["weight"] for r in rules) or 1.0
    body = [html.Tr([
        html.Td(fmt.LABELS.get(r["figure"], r["figure"])),
        html.Td(f"{r['weight']:g}（{r['weight'] / total * 100:.0f}%）", className="num"),
        html.Td(fmt.target_text(r), className="num"),
        html.Td(fmt.BETTER_WORDS.get(r["better"], r["better"])),
    ], **{"data-figure": r["figure"]}) for r in rules]
    return [
        html.Table(className="page-table review-rules-table", children=[
            html.Thead(html.Tr([html.Th("指标"), html.Th("权重", className="num"), html.Th("目标", className="num"),
                                html.Th("方向")])),
            html.Tbody(body),
        ]),
        html.Div(NO_RULES_NOTE, className="panel-note"),
        html.Div("来源：配置文件 [review.score]", className="panel-note"),
    ]
