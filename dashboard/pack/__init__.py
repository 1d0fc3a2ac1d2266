"""The meeting pack (研判会商材料): the sections of ``/review`` for one region and period as a PDF or
an Excel workbook, built from the same use-case functions as the API (values equal the API's).

``build_pack`` is the one entry: the command line (``gridwall report``), the download route
(``GET /api/v1/review/pack``) and the scheduled weekly pack (``gridwall worker``) call it. No Dash,
no Flask, no SQL here (docs/architecture.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dashboard.analytics import scoring
from dashboard.core.config import ReviewSettings
from data_access.moment import Moment
from data_access.period import Period
from data_access.scope import Scope

from .content import CONCEALMENT_ROLES, PackContent, collect
from .tables import Table, all_tables

FORMATS = ("pdf", "xlsx")
MEDIA_TYPES = {"pdf": "application/pdf",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

__all__ = ["FORMATS", "MEDIA_TYPES", "CONCEALMENT_ROLES", "PackContent", "Table", "build_pack", "build_content",
           "render", "pack_filename"]


def default_rules() -> list[scoring.Rule]:
    return scoring.rules_from_settings(ReviewSettings().score)


def build_content(engine: Engine, scope: Scope, period: Period, at: datetime | Moment, *, role: str,
                  rules: list[scoring.Rule] | None = None, public_url: str = "",
                  tz: ZoneInfo | None = None) -> PackContent:
    """The pack's content (every section, masked) for the scope's region, as of ``at``."""
    m = at if isinstance(at, Moment) else Moment(at, tz or ZoneInfo("Asia/Shanghai"))
    return collect(engine, scope, period, m, role=role, rules=rules or default_rules(), public_url=public_url)


def render(content: PackContent, fmt: str, rules: list[scoring.Rule] | None = None, *,
           with_charts: bool = True) -> bytes:
    """The PDF (``fmt="pdf"``) or workbook (``"xlsx"``) of a pack's content."""
    from . import excel, pdf

    tables = all_tables(content, rules or default_rules())
    if fmt == "pdf":
        return pdf.render_pdf(content, tables, with_charts=with_charts)
    if fmt == "xlsx":
        return excel.render_xlsx(content, tables)
    raise ValueError(f"unknown pack format {fmt!r}: one of {', '.join(FORMATS)}")


def build_pack(engine: Engine, scope: Scope, period: Period, at: datetime | Moment, *, role: str, fmt: str,
               rules: list[scoring.Rule] | None = None, public_url: str = "", tz: ZoneInfo | None = None) -> bytes:
    """The meeting pack of the scope's region for ``period`` as of ``at`` (aware datetime or Moment),
    for a reader of ``role`` (the concealment watch only for center and leader): PDF or XLSX bytes.

    ``scope`` is already narrowed to the region and checked (the caller's job, as for the API);
    ``rules``: the composite score's rules (default: the contract's); ``public_url``: the wall's
    address, printed on the cover; ``tz``: the calendar (default Asia/Shanghai)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown pack format {fmt!r}: one of {', '.join(FORMATS)}")
    rules = rules or default_rules()
    content = build_content(engine, scope, period, at, role=role, rules=rules, public_url=public_url, tz=tz)
    return render(content, fmt, rules)


def pack_filename(region: str, period: Period, fmt: str, name: str | None = None) -> str:
    """``gridwall-320585-week-2026-11-16.pdf``; with ``name`` the Chinese one,
    ``太仓市-研判会商-周-2026-11-16至2026-11-22.pdf`` (for ``filename*``)."""
    if name:
        from .pdf import KIND_NAMES

        safe = re.sub(r'[\\/:*?"<>|\s]+', "_", name)[:40]
        return f"{safe}-研判会商-{KIND_NAMES.get(period.kind, period.kind)}-{period.first}至{period.last}.{fmt}"
    return f"gridwall-{region}-{period.kind}-{period.first.isoformat()}.{fmt}"
