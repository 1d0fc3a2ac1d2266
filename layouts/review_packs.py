"""The review page's archive of meeting packs (周报归档): the weekly packs ``gridwall worker`` made.

``#review-packs`` lists, newest week first, the last 12 weeks' packs of the view's scope: one entry
per region and week (``data-pack-id``: its PDF's id, else its workbook's; ``data-region``;
``data-period-start``: the Monday), each format a download link to ``/api/v1/packs/ID`` (carrying
``data-format`` and ``data-pack-id``). The county's pack (audience ``leader``, with the concealment
watch) is listed for roles center and leader only; the callback (callbacks/review_packs.py) reads
only what the user may see.
"""

from __future__ import annotations

from dash import html

from .i18n import NONE
from .shell import section

ARCHIVE_WEEKS = 12
# Who sees the county's (leaders') pack; dashboard/web/api.py PACK_LEADER_ROLES says the same for the API.
LEADER_PACK_ROLES = ("center", "leader")
FORMAT_LABEL = {"pdf": "PDF", "xlsx": "Excel"}
AUDIENCE_LABEL = {"leader": "领导版", "street": "镇街版"}


def sections(role: str | None = None) -> list[html.Section]:
    return [section("周报归档", html.Div(id="review-packs", className="review-packs",
                                        children=[html.Div(NONE, className="empty")]),
                    extra=html.Div(f"每周一自动生成的上周周报，近{ARCHIVE_WEEKS}周", className="panel-note"))]


def _size(n: int | None) -> str:
    if not n:
        return NONE
    return f"{max(1, round(n / 1024))} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def packs_table(rows: list[dict], names: dict[str, str]) -> html.Div | html.Table:
    """``rows`` as ``data_access.packs.list_packs`` gives them (newest week first); ``names`` by code."""
    if not rows:
        return html.Div("尚无归档周报（由 gridwall worker 每周生成）", className="empty")
    entries: dict[tuple, list[dict]] = {}
    for row in rows:
        entries.setdefault((row["period_start"], row["region_code"]), []).append(row)
    body = []
    for (start, region), packs in entries.items():
        packs.sort(key=lambda r: list(FORMAT_LABEL).index(r["fmt"]) if r["fmt"] in FORMAT_LABEL else 9)
        first = packs[0]
        links = [html.A(FORMAT_LABEL.get(r["fmt"], r["fmt"]), href=f"/api/v1/packs/{r['id']}", download="",
                        className="pack-link", title=_size(r["size"]),
                        **{"data-format": r["fmt"], "data-pack-id": str(r["id"])}) for r in packs]
        week = first["period_start"].isocalendar().week
        body.append(html.Tr([
            html.Td(f"{first['period_start'].isoformat()} 至 {first['period_end'].isoformat()}（第{week}周）"),
            html.Td(names.get(region) or region),
            html.Td(AUDIENCE_LABEL.get(first["audience"], first["audience"])),
            html.Td([item for link in links for item in (link, " ")][:-1], className="pack-links"),
        ], className="pack-row", **{"data-pack-id": str(first["id"]), "data-region": region,
                                    "data-period-start": start.isoformat()}))
    return html.Table(className="page-table packs-table", children=[
        html.Thead(html.Tr([html.Th("周次"), html.Th("区域"), html.Th("版本"), html.Th("下载")])),
        html.Tbody(body),
    ])
