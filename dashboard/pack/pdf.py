"""The meeting pack as PDF: HTML + CSS rendered by WeasyPrint.

A4 landscape; "第 N 页 / 共 M 页" in every footer (CSS page counters); the table header repeats on
each page a table runs over (``thead`` as a table-header-group), no row and no chart is cut by a
page break (``break-inside: avoid``); Chinese in Noto Sans CJK SC (Debian fonts-noto-cjk,
scripts/lib.sh ``ensure_cjk_fonts``), embedded as a subset, so the text is extractable.
"""

from __future__ import annotations

import time
from datetime import datetime
from html import escape
from typing import Any

from layouts.review_format import LABELS

from . import charts
from .content import ROLE_NAMES, PackContent, comparison_note, cover_notes
from .tables import Table

KIND_NAMES = {"week": "周", "month": "月", "quarter": "季度", "custom": "自定义时段"}
TREND_PANELS = [(k, LABELS[k], "rate" if k.endswith(("_rate", "_share")) else "count")
                for k in ("reported", "closed", "on_time_rate", "closed_rate", "satisfied_rate", "return_rate",
                          "overdue_at_end", "patrol_share")]
SECTIONS = [("headline", "一、核心指标"), ("rankings", "二、下级排名与红黑榜"), ("departments", "三、部门退单与推诿扯皮"),
            ("hot", "四、热点问题"), ("trend", "五、趋势"), ("forecast", "六、预测研判与热点地图"),
            ("concealment", "七、疑似瞒报漏报（仅指挥中心与领导）"), ("commitments", "八、督办事项")]

CSS = """
@page { size: A4 landscape; margin: 14mm 12mm 16mm 12mm;
  @bottom-center { content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                   font-family: "Noto Sans CJK SC"; font-size: 9pt; color: #555; }
  @top-right { content: string(packtitle); font-family: "Noto Sans CJK SC"; font-size: 8pt; color: #777; } }
@page cover { @top-right { content: none; } }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; color: #111; }
.cover { page: cover; break-after: page; padding-top: 40mm; }
.cover h1 { font-size: 26pt; margin: 0 0 6mm 0; string-set: packtitle content(); }
.cover table { font-size: 12pt; border-collapse: collapse; }
.cover td { padding: 2mm 6mm 2mm 0; border: none; }
.cover td:first-child { white-space: nowrap; }
.cover-note { font-size: 10.5pt; max-width: 230mm; margin: 5mm 0 0 0; }
h2 { font-size: 14pt; margin: 0 0 3mm 0; break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 2mm 0; break-after: avoid; }
section { break-before: page; }
section.first { break-before: auto; }
table.data { border-collapse: collapse; width: 100%; margin-bottom: 3mm; table-layout: fixed; }
table.data td { overflow-wrap: anywhere; }
table.data th, table.data td { border: 0.5pt solid #bbb; padding: 1mm 1.5mm; vertical-align: top; }
table.data th { background: #eef2f7; font-weight: bold; }
thead { display: table-header-group; }
tr, figure { break-inside: avoid; }
td.num { text-align: right; white-space: nowrap; }
p.note { color: #555; font-size: 8pt; margin: 0 0 3mm 0; }
p.empty { color: #555; }
figure { margin: 0 0 4mm 0; }
figure svg { max-width: 100%; }
figcaption { font-size: 9pt; color: #333; margin-bottom: 1mm; }
"""


def cell_text(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "—" if kind not in ("text", "date") else ""
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "int":
        return f"{int(value)}"
    if kind == "float":
        return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return str(value)


def table_html(t: Table) -> str:
    head = "".join(f"<th>{escape(c.header)}</th>" for c in t.columns)
    # fixed table layout (a third faster than measuring every cell), widths from the columns' own
    total = sum(c.width for c in t.columns) or 1
    cols = "".join(f'<col style="width:{100 * c.width / total:.1f}%">' for c in t.columns)
    rows = []
    for row in t.rows:
        cells = []
        for c in t.columns:
            kind = row.get("_kind", "text") if c.kind == "figure" else c.kind
            if c.kind == "figure" and kind == "int" and isinstance(row.get(c.key), str):
                kind = "text"
            cls = ' class="num"' if kind in ("int", "percent", "float") else ""
            cells.append(f"<td{cls}>{escape(cell_text(row.get(c.key), kind))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) if rows else f'<tr><td colspan="{len(t.columns)}">无</td></tr>'
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    return (f'<h3>{escape(t.title)}</h3><table class="data" data-table="{t.key}"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{note}")


def _figure(caption: str, svg: str) -> str:
    if not svg:
        return f'<p class="empty">{escape(caption)}：无数据</p>'
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def _local(value: datetime | None, c: PackContent) -> str:
    return "—" if value is None else value.astimezone(c.tz).strftime("%Y-%m-%d %H:%M")


def cover_html(c: PackContent) -> str:
    r = c.review
    p, prev, ly = r["period"], r["previous"], r["last_year"]
    rows = [("区域", f"{c.name}（{c.region}）"),
            ("时段", f"{KIND_NAMES.get(p['kind'], p['kind'])} {p['start']} 至 {p['end']}" + ("（进行中）" if p.get("partial") else "")),
            ("环比期", f"{prev['start']} 至 {prev['end']}{comparison_note(prev, r)}"),
            ("同比期", f"{ly['start']} 至 {ly['end']}{comparison_note(ly, r)}"),
            ("数据截至", _local(c.data_as_of, c)), ("统计时点", _local(c.moment.at, c)),
            ("生成时间", _local(c.generated_at, c)), ("阅读对象", ROLE_NAMES.get(c.role, c.role))]
    if c.public_url:
        rows.append(("在线查看", f"{c.public_url.rstrip('/')}/review?region={c.region}&period={p['kind']}&date={p['start']}"))
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    notes = "".join(f'<p class="cover-note"><b>{escape(k)}</b>：{escape(v)}</p>' for k, v in cover_notes(r))
    return f'<div class="cover"><h1>{escape(c.name)} 研判会商材料</h1><table>{cells}</table>{notes}</div>'


def chart_svgs(c: PackContent) -> dict[str, str]:
    """The three charts (trend, forecast, hotspot map) as SVG text."""
    weeks = [{**w, "start": w["start"]} for w in c.trend["weeks"]]
    return {"trend": charts.trend_svg(weeks, TREND_PANELS),
            "forecast": charts.forecast_svg(c.forecast["forecast"]["regions"]),
            "map": charts.hotspot_map_svg(c.outline, c.forecast["hotspots"]["grids"], c.forecast.get("places") or {})}


def document_html(c: PackContent, tables: list[Table], svgs: dict[str, str] | None) -> str:
    by_section: dict[str, list[Table]] = {}
    for t in tables:
        by_section.setdefault(t.section, []).append(t)
    parts = [cover_html(c)]
    first = True
    for key, title in SECTIONS:
        if key == "concealment" and c.concealment is None:
            continue
        body = []
        if svgs is not None and key == "trend":
            body.append(_figure("最近 26 周主要指标（阴影为本期，空心点为未完的周）", svgs["trend"]))
        if svgs is not None and key == "forecast":
            body.append(_figure("下周各镇街预计件数与 80% 区间", svgs["forecast"]))
            body.append(_figure("下周热点网格（红色，数字为名次）", svgs["map"]))
        body += [table_html(t) for t in by_section.get(key, [])]
        parts.append(f'<section class="{"first" if first else ""}" data-section="{key}"><h2>{escape(title)}</h2>'
                     + "".join(body) + "</section>")
        first = False
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(c.name)} 研判会商材料'
            f"</title><style>{CSS}</style></head><body>" + "".join(parts) + "</body></html>")


def render_pdf(c: PackContent, tables: list[Table], *, with_charts: bool = True) -> bytes:
    from weasyprint import HTML

    t0 = time.perf_counter()
    svgs = chart_svgs(c) if with_charts else None
    c.timings["charts"] = time.perf_counter() - t0
    html = document_html(c, tables, svgs)
    t1 = time.perf_counter()
    data = HTML(string=html).write_pdf()
    c.timings["render"] = time.perf_counter() - t1
    return data
