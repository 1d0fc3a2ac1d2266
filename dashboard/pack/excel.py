"""The meeting pack as an Excel workbook (xlsxwriter): a first sheet 说明 (region, period and
comparison windows, data as of, generated at, for whom, the score rules, the figures' names), then
one sheet per table: numbers stored as numbers, rates as fractions with a '0.0%' format, the header
frozen, an autofilter, widths set. Text is written with ``write_string`` (never as a formula: a
cell starting with "=" stays text), ``strings_to_numbers`` off.
"""

from __future__ import annotations

import io
import time
from datetime import datetime

import xlsxwriter

from layouts.review_format import LABELS

from .content import ROLE_NAMES, PackContent, comparison_note, cover_notes
from .pdf import KIND_NAMES
from .tables import Table

INFO_SHEET = "说明"


def _local(value: datetime | None, c: PackContent) -> str:
    return "" if value is None else value.astimezone(c.tz).isoformat(timespec="seconds")


def render_xlsx(c: PackContent, tables: list[Table]) -> bytes:
    t0 = time.perf_counter()
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False})
    fmt = {"head": book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True}),
           "percent": book.add_format({"num_format": "0.0%"}), "int": book.add_format({"num_format": "0"}),
           "float": book.add_format({"num_format": "0.00"}), "title": book.add_format({"bold": True, "font_size": 14}),
           "bold": book.add_format({"bold": True})}
    _info(book, fmt, c, tables)
    for t in tables:
        _sheet(book, fmt, t)
    book.close()
    c.timings["render"] = time.perf_counter() - t0
    return buf.getvalue()


def _info(book, fmt, c: PackContent, tables: list[Table]) -> None:
    ws = book.add_worksheet(INFO_SHEET)
    r = c.review
    p, prev, ly = r["period"], r["previous"], r["last_year"]
    rows = [
        ("区域代码", c.region), ("区域名称", c.name),
        ("时段", f"{KIND_NAMES.get(p['kind'], p['kind'])} {p['start']} 至 {p['end']}" + ("（进行中）" if p.get("partial") else "")),
        ("本期截至", p.get("until") or ""),
        ("环比期", f"{prev['start']} 至 {prev['end']}（截至 {prev.get('until')}）{comparison_note(prev, r)}"),
        ("同比期", f"{ly['start']} 至 {ly['end']}（截至 {ly.get('until')}）{comparison_note(ly, r)}"),
        ("数据截至", _local(c.data_as_of, c)), ("统计时点", r["at"]), ("生成时间", _local(c.generated_at, c)),
        ("阅读对象", f"{ROLE_NAMES.get(c.role, c.role)}（{c.role}）"),
        ("口径", "与 /api/v1/review 等接口同源；比率以小数存储、按百分比显示；空分母为空单元格。"),
        *cover_notes(r),
    ]
    ws.write_string(0, 0, f"{c.name} 研判会商材料", fmt["title"])
    n = 2
    for k, v in rows:
        ws.write_string(n, 0, k, fmt["bold"])
        ws.write_string(n, 1, str(v))
        n += 1
    n += 1
    ws.write_string(n, 0, "评分规则", fmt["bold"])
    n += 1
    for col, h in enumerate(("指标", "代码", "权重", "目标", "方向", "目标规则")):
        ws.write_string(n, col, h, fmt["head"])
    for rule in c.rules:
        n += 1
        ws.write_string(n, 0, LABELS.get(rule["figure"], rule["figure"]))
        ws.write_string(n, 1, rule["figure"])
        ws.write_number(n, 2, rule["weight"])
        if rule.get("target") is not None:
            ws.write_number(n, 3, rule["target"], fmt["percent"] if rule["figure"].endswith(("_rate", "_share")) else None)
        ws.write_string(n, 4, rule["better"])
        ws.write_string(n, 5, rule.get("target_rule") or "")
    n += 2
    ws.write_string(n, 0, "指标名称", fmt["bold"])
    for key, label in LABELS.items():
        n += 1
        ws.write_string(n, 0, label)
        ws.write_string(n, 1, key)
    n += 2
    ws.write_string(n, 0, "工作表", fmt["bold"])
    for t in tables:
        n += 1
        ws.write_string(n, 0, t.sheet)
        ws.write_string(n, 1, t.title + (f"：{t.note}" if t.note else ""))
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 60)


def _sheet(book, fmt, t: Table) -> None:
    ws = book.add_worksheet(t.sheet)
    for col, c in enumerate(t.columns):
        ws.write_string(0, col, c.header, fmt["head"])
        ws.set_column(col, col, c.width)
    for r, row in enumerate(t.rows, start=1):
        for col, c in enumerate(t.columns):
            value = row.get(c.key)
            kind = row.get("_kind", "text") if c.kind == "figure" else c.kind
            if value is None or value == "":
                continue
            if kind in ("int", "float", "percent") and isinstance(value, (int, float)) and not isinstance(value, bool):
                ws.write_number(r, col, value, fmt[kind])
            else:
                ws.write_string(r, col, str(value))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(t.rows), 1), len(t.columns) - 1)
