"""The pack's charts as SVG text, drawn here in Python: the 26-week trend (small multiples), next
week's forecast per street with its 80 % interval, and the hotspot grids over the region's outline.

Why not plotly + kaleido: kaleido 1.x drives a headless Chromium, whose start alone costs 5-6 s on
the 2-core reference machine (docs/benchmarks.md, "Meeting pack"), half the 10 s budget of a county
week; these few line, bar and polygon drawings cost milliseconds, need no browser on the server,
and their text is drawn by WeasyPrint in the pack's CJK font (extractable, no boxes).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Iterable

FONT = "Noto Sans CJK SC, sans-serif"
INK, DIM, GRID, ACCENT, RATE, BAND, HOT = "#1f2937", "#6b7280", "#e5e7eb", "#2563eb", "#059669", "#fef3c7", "#dc2626"


def _svg(width: int, height: int, body: Iterable[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="{FONT}" font-size="11">' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", fill: str = INK,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{escape(str(text))}</text>')


def _value(value, kind: str) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if kind == "rate" else f"{value:g}"


def trend_svg(weeks: list[dict[str, Any]], panels: list[tuple[str, str, str]], columns: int = 4,
              width: int = 1040, panel_height: int = 170) -> str:
    """Small multiples, one panel per (key, title, "count"/"rate"), over the weeks (oldest first, each
    {"start", "partial", "in_period", "figures"}); the period's weeks shaded, a running week open."""
    rows = (len(panels) + columns - 1) // columns
    pw, ph = width / columns, panel_height
    out = []
    n = len(weeks)
    for i, (key, title, kind) in enumerate(panels):
        x0, y0 = (i % columns) * pw, (i // columns) * ph
        left, right, top, bottom = x0 + 40, x0 + pw - 10, y0 + 26, y0 + ph - 22
        values = [w["figures"].get(key) for w in weeks]
        known = [v for v in values if v is not None]
        last = weeks[-1] if weeks else None
        out.append(_text(x0 + 6, y0 + 15, f"{title}  {_value(values[-1] if values else None, kind)}"
                         + ("（截至）" if last and last["partial"] else ""), size=12, weight="bold"))
        lo = 0.0
        hi = max(known) if known else 1.0
        if kind == "rate":
            lo = max(0.0, min(known) - 0.05) if known else 0.0
            hi = min(1.0, max(known) + 0.05) if known else 1.0
            if hi - lo < 0.2:
                lo, hi = max(0.0, hi - 0.2), max(hi, 0.2)
        hi = hi if hi > lo else lo + 1

        def px(j):
            return left + (right - left) * (j / max(n - 1, 1))

        def py(v):
            return bottom - (bottom - top) * ((v - lo) / (hi - lo))

        marked = [j for j, w in enumerate(weeks) if w["in_period"]]
        if marked:
            step = (right - left) / max(n - 1, 1)
            out.append(f'<rect x="{px(marked[0]) - step / 2:.1f}" y="{top}" width="{step * len(marked):.1f}" '
                       f'height="{bottom - top}" fill="{BAND}"/>')
        for frac in (0, 0.5, 1):
            v = lo + (hi - lo) * frac
            out.append(f'<line x1="{left}" x2="{right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="{GRID}"/>')
            out.append(_text(left - 4, py(v) + 4, _value(v if kind == "rate" else round(v), kind), size=9,
                             anchor="end", fill=DIM))
        colour = RATE if kind == "rate" else ACCENT
        segment: list[str] = []
        for j, (v, w) in enumerate(zip(values, weeks)):
            if v is None or w["partial"]:
                if len(segment) > 1:
                    out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{px(j):.1f},{py(v):.1f}")
            out.append(f'<circle cx="{px(j):.1f}" cy="{py(v):.1f}" r="2" fill="{colour}"/>')
        if len(segment) > 1:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
        if last is not None and last["partial"] and values[-1] is not None:
            j = n - 1
            if n > 1 and values[-2] is not None:
                out.append(f'<line x1="{px(j - 1):.1f}" y1="{py(values[-2]):.1f}" x2="{px(j):.1f}" y2="{py(values[-1]):.1f}" '
                           f'stroke="{colour}" stroke-width="2" stroke-dasharray="3,3"/>')
            out.append(f'<circle cx="{px(j):.1f}" cy="{py(values[-1]):.1f}" r="4" fill="white" stroke="{colour}" '
                       'stroke-width="2"/>')
        for j in (0, n // 2, n - 1) if n else ():
            out.append(_text(px(j), bottom + 14, str(weeks[j]["start"])[5:], size=9, anchor="middle", fill=DIM))
    return _svg(width, rows * ph, out)


def forecast_svg(regions: list[dict[str, Any]], width: int = 1040) -> str:
    """One bar per street: the expected cases of next week with the 80 % interval as a whisker."""
    if not regions:
        return ""
    row_h, left, right = 22, 130, width - 60
    height = 30 + row_h * len(regions)
    hi = max(max(r["hi80"], r["expected"] or 0) for r in regions) or 1
    out = [_text(left, 14, "预计件数（横线为 80% 区间）", size=10, fill=DIM)]
    for i, r in enumerate(regions):
        y = 24 + i * row_h
        w = (right - left) * ((r["expected"] or 0) / hi)
        out.append(_text(left - 6, y + 13, r["region_name"], anchor="end"))
        out.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{ACCENT}" opacity="0.75"/>')
        x_lo, x_hi = left + (right - left) * r["lo80"] / hi, left + (right - left) * r["hi80"] / hi
        mid = y + row_h / 2 - 1
        out.append(f'<line x1="{x_lo:.1f}" x2="{x_hi:.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{INK}" stroke-width="1.5"/>')
        for x in (x_lo, x_hi):
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mid - 5:.1f}" y2="{mid + 5:.1f}" stroke="{INK}"/>')
        out.append(_text(x_hi + 6, y + 13, f"{r['expected']:g}（{r['lo80']}–{r['hi80']}）", size=10, fill=DIM))
    return _svg(width, height, out)


def _rings(geometry: dict | None) -> list[list[list[float]]]:
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry.get("type") == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def hotspot_map_svg(outline: dict[str, Any], grids: list[dict[str, Any]], places: dict[str, dict],
                    width: int = 700, height: int = 440) -> str:
    """The region's children (outline) in grey, next week's hotspot grids in red with their rank."""
    shapes = [(f.get("properties", {}).get("name"), _rings(f.get("geometry"))) for f in outline.get("features", [])]
    spots = [(g, _rings((places.get(g["grid_code"]) or {}).get("geometry")), (places.get(g["grid_code"]) or {}).get("point"))
             for g in grids]
    points = [pt for _, rings in shapes for ring in rings for pt in ring]
    points += [pt for _, rings, _ in spots for ring in rings for pt in ring]
    points += [[p[1], p[0]] for _, _, p in spots if p]
    if not points:
        return ""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    span_x, span_y = max((lon1 - lon0) * k, 1e-6), max(lat1 - lat0, 1e-6)
    scale = min((width - 20) / span_x, (height - 20) / span_y)

    def xy(lon, lat):
        return 10 + (lon - lon0) * k * scale, 10 + (lat1 - lat) * scale

    def path(ring):
        return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*pt[:2]) for pt in ring)) + " Z"

    out = []
    for name, rings in shapes:
        for ring in rings:
            out.append(f'<path d="{path(ring)}" fill="#f3f4f6" stroke="#9ca3af" stroke-width="1"/>')
    for name, rings in shapes:
        if rings and name:
            xs, ys = zip(*(xy(*pt[:2]) for pt in max(rings, key=len)))
            out.append(_text(sum(xs) / len(xs), sum(ys) / len(ys), name, size=10, anchor="middle", fill=DIM))
    for g, rings, point in spots:
        for ring in rings:
            out.append(f'<path d="{path(ring)}" fill="{HOT}" fill-opacity="0.55" stroke="{HOT}" stroke-width="1"/>')
        if point:
            x, y = xy(point[1], point[0])
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="8" fill="{HOT}"/>')
            out.append(_text(x, y + 4, str(g["rank"]), size=10, anchor="middle", fill="white", weight="bold"))
    return _svg(width, height, out)
