"""The review page's archive of meeting packs (周报归档): the packs ``gridwall worker`` made for the
view's scope over the last 12 weeks. The view and T as the page's header reads them
(``view_period``: the user's scope from the server session, narrowed by ``?region=``); the county's
pack (with the concealment watch) only for roles center and leader."""

from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, html

from callbacks.live.outage import DataUnavailable, read
from callbacks.review_view import view_period
from dashboard.identity.auth import has_role
from data_access.packs import list_packs
from data_access.regions import children, region_name
from layouts import review_packs as page

UNAVAILABLE = "数据库暂不可用"


def register(app) -> None:
    # After the core sections (review-core-drawn), like the page's other sections.
    app.callback(Output("review-packs", "children"), Input("url", "search"),
                 Input("review-core-drawn", "data"))(show_packs)


def audiences() -> tuple[str, ...]:
    return ("leader", "street") if has_role(*page.LEADER_PACK_ROLES) else ("street",)


def show_packs(search, _core_drawn=None):
    try:
        view, _period, at, _notices = view_period(search)
        today = at.astimezone(view.tz).date()
        since = today - timedelta(days=today.weekday()) - timedelta(weeks=page.ARCHIVE_WEEKS)
        seen = audiences()

        def reads(conn):
            rows = list_packs(conn, view.scope, audiences=seen, since=since, made_by=None if view.live else at)
            names = {row["code"]: row["name"] for row in children(conn, view.scope)}
            names[view.scope.region] = region_name(conn, view.scope, view.scope.region) or view.scope.region
            return rows, names

        rows, names = read(reads)
    except DataUnavailable:
        return html.Div(UNAVAILABLE, className="empty empty--bad")
    return page.packs_table(rows, names)
