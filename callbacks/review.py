"""Callbacks of the review page (``/review``): the period of the URL, and the stored forecast.

The view comes from the URL as on the wall (``callbacks.view.resolve_view``: the user's scope from
the server session, narrowed by ``?region=``, ``?at=`` for a past moment) plus the period
(``?period=&date=&end=``, ``data_access.period.parse_period``); a period that cannot be reviewed
falls back to the last complete week and says why.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from dash import ClientsideFunction, Input, Output, State, html, no_update

from callbacks.live.outage import DataUnavailable, read
from callbacks.reads import header_names
from callbacks.view import View, query_params, resolve_view
from dashboard.identity.auth import require_role
from data_access.feeds_cases import region_and_category_names
from data_access.forecasts import read_forecast
from data_access.moment import MAX_YEAR, MIN_YEAR
from data_access.period import Period, PeriodError, last_complete_week, parse_period
from layouts import review as page
from layouts.shell import REVIEW

PERIOD_NOTICES = {
    "malformed": "周期参数无效，显示上一个完整周",
    "future": "所选周期尚未开始，显示上一个完整周",
    "too_long": "自定义周期最长 366 天，显示上一个完整周",
}


def register(app) -> None:
    app.callback(
        Output("review-region", "children"),
        Output("review-region", "data-region"),
        Output("review-period", "children"),
        Output("review-period", "data-start"),
        Output("review-period", "data-end"),
        Output("review-period", "data-partial"),
        Output("review-notice", "children"),
        Output("review-kind", "value"),
        Output("review-date", "date"),
        Output("review-end", "date"),
        Input("url", "search"),
    )(show_period)
    app.callback(Output("review-forecast", "children"), Input("url", "search"))(show_forecast)

    def client(name, *deps, **kw):
        app.clientside_callback(ClientsideFunction(namespace="pages", function_name=name), *deps, **kw)

    client("periodSearch", Output("url", "search"), Input("review-apply", "n_clicks"),
           State("review-kind", "value"), State("review-date", "date"), State("review-end", "date"),
           State("url", "search"), prevent_initial_call=True)
    client("endEnabled", Output("review-end", "disabled"), Input("review-kind", "value"))


def view_period(search: str | None) -> tuple[View, Period, datetime, list[str]]:
    """The view, the period it reviews, T, and notices. Raises DataUnavailable."""
    require_role(*REVIEW.roles)
    view = resolve_view(search)
    at = view.moment().at
    params = query_params(search)
    notices = list(view.notices)
    try:
        period = parse_period(params.get("period"), params.get("date"), params.get("end"), view.tz, at)
        if not (MIN_YEAR <= period.first.year and period.last.year <= MAX_YEAR):
            # The same bounds as a moment: its comparisons (a year before) stay in the calendar.
            raise PeriodError(f"period out of range ({MIN_YEAR}-{MAX_YEAR})")
    except PeriodError as exc:
        notices.append(PERIOD_NOTICES.get(exc.reason, PERIOD_NOTICES["malformed"]))
        period = last_complete_week(at, view.tz)
    return view, period, at, notices


def show_period(search):
    try:
        view, period, at, notices = view_period(search)
        names = header_names(view.base, view.scope)
    except DataUnavailable:
        return (no_update,) * 6 + (html.Span("数据库暂不可用", className="notice-item"),) + (no_update,) * 3
    region = " › ".join(name for _code, name in names["path"]) or view.scope.region
    return (
        region, view.scope.region,
        page.period_label(period, at, view.tz), period.first.isoformat(), period.last.isoformat(),
        "true" if period.partial(at) else "false",
        [html.Span(text, className="notice-item") for text in notices],
        period.kind, period.first.isoformat(), period.last.isoformat() if period.kind == "custom" else None,
    )


def show_forecast(search):
    """The engine's stored forecast for the coming days, per region and category (7-day totals)."""
    require_role(*REVIEW.roles)
    try:
        view = resolve_view(search)
        m = view.moment()
        rows, names = read(lambda conn: (read_forecast(conn, view.scope, m, page.FORECAST_DAYS),
                                         region_and_category_names(conn, view.scope)))
    except DataUnavailable:
        return html.Div("数据库暂不可用", className="empty empty--bad")
    return page.forecast_table(forecast_totals(rows), names)


def forecast_totals(rows: list[dict]) -> list[dict]:
    """Daily forecast rows summed per (region, category); regions in code order, larger totals first."""
    totals: dict[tuple[str, str], dict] = defaultdict(lambda: {"expected": 0.0, "days": 0})
    for row in rows:
        if row.get("expected") is None:
            continue
        total = totals[(row["region_code"], row["category_code"])]
        total["expected"] += float(row["expected"])
        total["days"] += 1
    out = [{"region_code": region, "category_code": category, **total}
           for (region, category), total in totals.items()]
    out.sort(key=lambda r: (r["region_code"], -r["expected"], r["category_code"]))
    return out
