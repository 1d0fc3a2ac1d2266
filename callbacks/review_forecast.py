"""Callbacks of the review page's sections on the coming week (预测研判: forecast, hotspot grids, the
forecasts' record) and the concealment watch (疑似瞒报漏报).

The view is the URL's (``callbacks.review_view.view_period``: the user's scope from the server
session narrowed by ``?region=``, T, the period). The forecast section looks ahead from T's date and
back over the 8 complete weeks before T's week, whatever the period; the concealment watch reads the
period. The watch is for roles ``center`` and ``leader``: the layout leaves it out for a street user,
and this callback refuses a forged request from one (403) before it reads anything.
"""

from __future__ import annotations

from dash import Input, Output, html

from callbacks import reads
from callbacks.live.shared import cached_static
from callbacks.live.outage import DataUnavailable, read
from callbacks.review_departments import names_of
from callbacks.review_view import view_period
from callbacks.view import checked_search
from dashboard.analytics import concealment_watch as watch
from dashboard.analytics import forecast_record as fr
from dashboard.identity.auth import require_role
from data_access import concealment_watch as watch_db
from data_access import forecast_record as record_db
from data_access.scope import LEVEL_BY_LENGTH
from layouts import review_forecast as page

UNAVAILABLE = "数据库暂不可用"


def register(app) -> None:
    app.callback(
        Output("review-forecast", "children"),
        Output("review-hotspots", "children"),
        Output("review-forecast-record", "children"),
        Input("url", "search"),
        Input("review-core-drawn", "data"),  # after the core sections: the renderer holds this until then
    )(show_forecast)
    app.callback(Output("review-concealment", "children"), Input("url", "search"),
                 Input("review-core-drawn", "data"))(show_concealment)


def forecast_section(view) -> tuple[dict, dict[str, dict]]:
    """(``forecast_view`` of the view, the hotspot grids' places). Raises DataUnavailable."""
    m = view.moment()
    with_record = len(view.scope.region) <= 9   # the engine forecasts streets and the county, not below
    inputs = read(lambda conn: record_db.section_inputs(conn, view.scope, m, fr.record_days() if with_record else 0,
                                                        fr.hotspot_days()))
    data = fr.forecast_view(**inputs, today=m.at.astimezone(m.tz).date(), with_record=with_record)
    codes = [g["grid_code"] for g in data["hotspots"]["grids"]]
    places = read(lambda conn: record_db.grid_places(conn, view.scope, codes))
    return data, places


def show_forecast(search, _core_drawn=None):
    try:
        view, _period, _at, _notices = view_period(search)
        data, places = forecast_section(view)
        outline = reads.shapes(view.scope)
        names = names_of(view.scope)
    except DataUnavailable:
        bad = html.Div(UNAVAILABLE, className="empty empty--bad")
        return bad, bad, bad
    level = LEVEL_BY_LENGTH.get(len(view.scope.region), "grid")
    scope_name = names.get(view.scope.region) or "本区域"
    return (page.forecast_table(data["forecast"], level, view.tz),
            page.hotspot_section(data["hotspots"], places, outline),
            page.record_table(data["record"], scope_name, level))


def show_concealment(search, _core_drawn=None):
    checked_search(search)                 # a query no page sends: 400, as for every callback of the page
    require_role(*page.WATCH_ROLES)        # then the role, before anything is read
    try:
        view, period, at, _notices = view_period(search)
        rows = concealment_rows(view.scope, period, at)
        names = names_of(view.scope)
    except DataUnavailable:
        return html.Div(UNAVAILABLE, className="empty empty--bad")
    text = f"{period.first.isoformat()} 至 {period.last.isoformat()}"
    return page.concealment_list(rows, names, text, view.tz)


def concealment_rows(scope, period, at) -> list[dict]:
    """The watch's rows for the period as of T: flagged communities with their evidence. Raises DataUnavailable."""
    alerts, channels = read(lambda conn: watch_db.watch_inputs(conn, scope, period, at, watch.BEFORE_WEEKS))
    return watch.watch_rows(alerts, channels)
