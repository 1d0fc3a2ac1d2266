"""Callbacks of the review page's core: the comparisons' dates, the headline figures, the children
table with scores and ranks, the 红黑榜 and the score rules, and the breadcrumb of the drill-down.

One read per URL: ``data_access.review.review_reads`` (the region and each child, three windows; two
connections at once) and the child regions of the view (``data_access.regions.children``), through
the outage guard.
The children are scored by ``dashboard.analytics.scoring`` with the rules of ``[review.score]``.
The view is the user's scope narrowed by ``?region=`` (``callbacks.review_view.view_period``): a
region outside the scope falls back to the user's own, and nothing outside it is read.
"""

from __future__ import annotations

from typing import Any, Mapping

from dash import Input, Output, html, no_update
from flask import current_app

from callbacks.live.outage import DataUnavailable, read
from callbacks.reads import header_names
from callbacks.review_view import view_period
from callbacks.view import View, with_params
from dashboard.analytics import scoring
from dashboard.analytics.history_coverage import compared, review_coverage
from dashboard.core.config import ReviewSettings
from data_access.period import Period, local_date
from data_access.regions import children
from data_access.db import get_engine
from data_access.review import empty_figures, review_reads
from layouts import review_core as core
from layouts import review_format as fmt
from layouts.shell import REVIEW
from layouts.i18n import place_name

DISCOVERY = core.DISCOVERY
DOWN = "数据库暂不可用"


def register(app) -> None:
    app.callback(
        Output("review-compare", "children"),
        Output("review-headline", "children"),
        Output("review-children", "children"),
        Output("review-rolls", "children"),
        Output("review-rules", "children"),
        # The other sections wait for this (Dash holds a callback while one that outputs its input is
        # pending): the figures the meeting opens with are drawn first, not after the forecast's.
        Output("review-core-drawn", "data"),
        Input("url", "search"),
    )(show_core)


def score_rules() -> list[scoring.Rule]:
    """``[review.score]`` of the settings the app was made with (validated at start), else the
    contract's defaults: the same rules as ``/api/v1/review``."""
    configured = current_app.config.get("GRIDWALL_REVIEW_SCORE") or ReviewSettings().score
    return scoring.rules_from_settings(configured)


def review_href(search: str | None, region: str) -> str:
    """This page for ``region``, keeping the period, the moment and the presentation mode."""
    return REVIEW.path + with_params(search, region=region)


def crumbs(view: View, search: str | None) -> list[tuple[str, str, str | None]]:
    """(code, name, href) from the root down to the region shown; only the regions the user may see
    (its own region and below) link."""
    path = header_names(view.base, view.scope)["path"] or [(view.scope.region, view.scope.region)]
    return [(code, place_name(code, name), review_href(search, code) if code.startswith(view.base.region) else None)
            for code, name in path]


def child_name(row: Mapping[str, str]) -> str:
    """A child's name; a grid the platform left unnamed is 第N网格 (``layouts.i18n.place_name``)."""
    return place_name(row["code"], row["name"])


def window_texts(period: Period, windows: Mapping[str, tuple], tz) -> dict[str, str]:
    prev, ly = period.previous(), period.last_year()
    return {
        "current": fmt.window_text(period.first, period.last, windows["current"][1], tz),
        "previous": fmt.window_text(prev.first, prev.last, windows["previous"][1], tz),
        "last_year": fmt.window_text(ly.first, ly.last, windows["last_year"][1], tz),
    }


def compare_line(texts: Mapping[str, str], partial: bool, cover: Mapping[str, str] | None = None,
                 data_from=None, flow_log: bool = True) -> list:
    out = [html.Span(["环比", html.Span(f"上期 {texts['previous']}", className="compare-dates")],
                     className="compare", **{"data-window": "previous"}),
           html.Span(["同比", html.Span(f"去年同期 {texts['last_year']}", className="compare-dates")],
                     className="compare", **{"data-window": "last_year"})]
    if partial:
        out.append(html.Span("本期未结束：上期与去年同期截取到相同的已过时长（同口径比较）", className="compare-note"))
    words = (("previous", "上期"), ("last_year", "去年同期"))
    gaps = [word for key, word in words if (cover or {}).get(key) == "gap"]
    short = [word for key, word in words if (cover or {}).get(key, "full") not in ("full", "gap")]
    if gaps:
        out.append(html.Span(f"{'、'.join(gaps)}库中没有任何事件（数据缺口），不作比较", className="compare-note",
                             **{"data-coverage": "gap"}))
    if short:
        since = f"数据起于 {data_from.isoformat()}" if data_from else "库中尚无事件"
        out.append(html.Span(f"{since}：{'、'.join(short)}早于数据起点，不作比较", className="compare-note",
                             **{"data-coverage": "short"}))
    if not flow_log:
        out.append(html.Span(fmt.NO_FLOW_LOG, className="compare-note", **{"data-flow-log": "none"}))
    return out


def ranked_children(data: Mapping[str, Any], kids: list[dict], rules: list[scoring.Rule],
                    search: str | None, rank_compared: bool = True
                    ) -> tuple[list[dict], list[dict], list[dict], dict, float | None]:
    """(children rows, 红榜 entries, 黑榜 entries, each rule's target, the siblings' median of reports
    per worker) for the children of the view, scored on the current period; rank changes only when
    the history covers the previous period (``rank_compared``)."""
    empty = empty_figures(flow_log=data.get("flow_log", True))
    found = data["children"]
    current = {k["code"]: (found.get(k["code"]) or {}).get("current") or empty for k in kids}
    previous = {k["code"]: (found.get(k["code"]) or {}).get("previous") or empty for k in kids}
    scored, goal = scoring.rank_siblings(current, previous if rank_compared else None, rules)
    ruled = {r.figure for r in rules}
    median = goal.get(DISCOVERY) if DISCOVERY in ruled else scoring.sibling_median(current.values(), DISCOVERY)
    names = {k["code"]: child_name(k) for k in kids}
    rows = []
    for code in current:
        s = scored[code]
        discovery = (s["parts"].get(DISCOVERY) if DISCOVERY in ruled
                     else scoring.part(current[code].get(DISCOVERY), median, "higher"))
        rows.append({"code": code, "name": names[code], "href": review_href(search, code), "figures": current[code],
                     "score": s["score"], "rank": s["rank"], "rank_change": s["rank_change"],
                     "rank_compared": s["rank_compared"], "discovery": discovery})
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))

    def entry(code: str, lifted: bool) -> dict:
        decisive = scoring.decisive_part(scored[code]["parts"], rules, lifted)
        why = None if decisive is None else {"figure": decisive[0], "part": decisive[1],
                                             "value": current[code].get(decisive[0]), "target": goal.get(decisive[0])}
        return {"code": code, "name": names[code], "rank": scored[code]["rank"], "score": scored[code]["score"],
                "why": why}

    red, black = scoring.honour_rolls(scored)
    return rows, [entry(c, True) for c in red], [entry(c, False) for c in black], goal, median


def show_core(search):
    """The core sections for the view and period of the URL."""
    try:
        view, period, at, _notices = view_period(search)
        scope = view.scope
        engine = get_engine(current_app.config["GRIDWALL_DATABASE_URL"])
        data, kids = read(lambda _conn: review_reads(
            engine, scope, period, at, also=lambda conn: children(conn, scope) if len(scope.region) < 15 else []),
            connect=False)
    except DataUnavailable:
        down = html.Div(DOWN, className="empty empty--bad")
        return no_update, down, [html.Tbody(html.Tr(html.Td(DOWN, className="empty empty--bad")))], [], no_update, search
    rules = score_rules()
    texts = window_texts(period, data["windows"], view.tz)
    cover = review_coverage(data["windows"], data["since"], data["region"])
    data_from = local_date(data["since"], view.tz) if data["since"] is not None else None
    rows, red, black, goal, median = ranked_children(data, kids, rules, search, compared(cover["previous"]))
    return (
        compare_line(texts, period.partial(at), cover, data_from, data["flow_log"]),
        core.headline(data["region"], texts, cover),
        core.children_rows(rows, median, fmt.outside_text(data["region"]["current"], [r["figures"] for r in rows])),
        core.rolls(red, black, bool(kids)),
        core.rules_table(scoring.rules_json(rules, goal)),
        search,
    )
