"""导出 PDF / 导出 Excel on /review: the links to the meeting pack (``GET /api/v1/review/pack``) of the
region and period the page shows, kept in step with the URL (``region``, ``period``, ``date``,
``end``, ``at``). The route checks the scope and the period itself; the browser's session cookie
authenticates the download."""

from __future__ import annotations

from urllib.parse import urlencode

from dash import Input, Output

from callbacks.view import query_params

PACK_ROUTE = "/api/v1/review/pack"
CARRIED = ("region", "period", "date", "end", "at")


def register(app) -> None:
    app.callback(Output("review-pack-pdf", "href"), Output("review-pack-xlsx", "href"),
                 Input("url", "search"))(pack_links)


def pack_links(search: str | None) -> tuple[str, str]:
    """The two links for the page's query string (other parameters, e.g. ``present``, are dropped); a
    query no page sends (not a string, too long) is refused like everywhere (BadSearch: 400)."""
    params = query_params(search)
    query = [(k, params[k]) for k in CARRIED if params.get(k)]
    return tuple(f"{PACK_ROUTE}?{urlencode(query + [('format', fmt)])}" for fmt in ("pdf", "xlsx"))
