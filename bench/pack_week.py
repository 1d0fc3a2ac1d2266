"""Benchmark: the meeting pack of a county week (issue 15: at most 10 s) on the 1,000,000-case database.

    .venv/bin/python bench/pack_week.py [--backend postgresql|sqlite|both] [--reps 5] [--region CODE]
                                        [--kaleido on|off]

For the root county and the last complete week before the data's "now" (var/bench_1m.json, else
2026-11-26 10:30 +08:00) each rep times, in this process and as ``dashboard.pack`` does it:

- ``read``: every section through dashboard.usecases.review_bodies (the API's bodies), masked;
- ``charts``: the three SVG charts (26-week trend, forecast, hotspot map; dashboard/pack/charts.py);
- ``render``: WeasyPrint (PDF) or xlsxwriter (XLSX);
- ``pdf`` / ``xlsx``: the whole ``build_pack`` call (read + charts + render), and beside it the
  simplest alternative, ``pdf_no_charts`` (the same PDF with no chart at all).

``--kaleido on`` also times the road not taken: the same three charts as plotly figures turned into
SVG by kaleido (headless Chromium at /usr/bin/chromium), one kaleido session per pack, start
included. Medians of ``--reps`` runs; the load average before and after is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import BACKENDS, backend_url, git_head, machine_info, read_meta  # noqa: E402

from dashboard.pack import build_content, default_rules, render  # noqa: E402
from dashboard.pack import pdf as pack_pdf  # noqa: E402
from data_access.db import make_engine  # noqa: E402
from data_access.moment import Moment  # noqa: E402
from data_access.period import last_complete  # noqa: E402
from data_access.regions import find_root  # noqa: E402
from data_access.scope import Scope  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def kaleido_charts(content) -> float:
    """The pack's three charts as plotly figures rendered to SVG by kaleido in one session: seconds."""
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")
    import kaleido
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    weeks = content.trend["weeks"]
    trend = make_subplots(rows=2, cols=4, subplot_titles=[t for _, t, _ in pack_pdf.TREND_PANELS])
    for n, (key, _title, _kind) in enumerate(pack_pdf.TREND_PANELS):
        trend.add_trace(go.Scatter(x=[w["start"] for w in weeks], y=[w["figures"].get(key) for w in weeks]),
                        row=n // 4 + 1, col=n % 4 + 1)
    regions = content.forecast["forecast"]["regions"]
    forecast = go.Figure(go.Bar(y=[r["region_name"] for r in regions], x=[r["expected"] for r in regions],
                                orientation="h"))
    hot = go.Figure()
    for f in content.outline.get("features", []):
        geom = f["geometry"]
        rings = [geom["coordinates"][0]] if geom["type"] == "Polygon" else [p[0] for p in geom["coordinates"]]
        for ring in rings:
            hot.add_trace(go.Scatter(x=[p[0] for p in ring], y=[p[1] for p in ring], fill="toself", mode="lines"))
    figs = [trend, forecast, hot]

    async def run():
        async with kaleido.Kaleido(n=1) as k:
            for fig in figs:
                await k.calc_fig(fig, opts={"format": "svg", "width": 1040, "height": 360})

    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


def run_backend(backend: str, reps: int, region: str | None, with_kaleido: bool) -> dict:
    engine = make_engine(backend_url(backend))
    meta = read_meta()
    now = datetime.fromisoformat(meta.get("now") or "2026-11-26T10:30:00+08:00")
    m = Moment(now, TZ)
    with engine.connect() as conn:
        root = find_root(conn, None)
    scope = Scope(region or root, root)
    period = last_complete("week", m.at, TZ)
    rules = default_rules()
    series: dict[str, list[float]] = {k: [] for k in (
        "read", "pdf_charts", "pdf_render", "pdf", "pdf_no_charts", "xlsx_render", "xlsx", "kaleido")}
    sizes = {}
    load_before = os.getloadavg()
    build_content(engine, scope, period, m, role="leader", rules=rules)  # warm-up: connections, caches
    for rep in range(reps):
        t0 = time.perf_counter()
        content = build_content(engine, scope, period, m, role="leader", rules=rules)
        read = time.perf_counter() - t0
        data = render(content, "pdf", rules)
        total = time.perf_counter() - t0
        series["read"].append(read)
        series["pdf_charts"].append(content.timings["charts"])
        series["pdf_render"].append(content.timings["render"])
        series["pdf"].append(total)
        sizes["pdf"] = len(data)
        sizes["pages"] = data.count(b"/Type /Page\n") or data.count(b"/Type /Page")

        t0 = time.perf_counter()
        content = build_content(engine, scope, period, m, role="leader", rules=rules)
        data = render(content, "pdf", rules, with_charts=False)
        series["pdf_no_charts"].append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        content = build_content(engine, scope, period, m, role="leader", rules=rules)
        data = render(content, "xlsx", rules)
        series["xlsx"].append(time.perf_counter() - t0)
        series["xlsx_render"].append(content.timings["render"])
        sizes["xlsx"] = len(data)
        if with_kaleido:
            series["kaleido"].append(kaleido_charts(content))
        print(f"[{backend}] rep {rep + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in series.items() if v),
              flush=True)
    medians = {k: round(statistics.median(v), 3) for k, v in series.items() if v}
    return {"backend": backend, "region": scope.region, "period": period.to_dict(), "at": m.local_iso(),
            "reps": reps, "median_s": medians, "sizes": sizes,
            "rows": {"children": len(content.review["children"]), "departments": len(content.review["departments"]),
                     "bounced": len(content.review["bounced"]), "hot_issues": len(content.hot["hot_issues"]),
                     "forecast_rows": len(content.forecast["forecast"]["rows"]),
                     "commitments": len(content.commitments)},
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["both", *BACKENDS], default="postgresql")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--region", default=None)
    ap.add_argument("--kaleido", choices=["on", "off"], default="on")
    args = ap.parse_args()
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    out = {"machine": machine_info(backend_url("postgresql") if "postgresql" in backends else None),
           "git": git_head(), "command": " ".join(sys.argv), "results": []}
    for backend in backends:
        out["results"].append(run_backend(backend, args.reps, args.region, args.kaleido == "on"))
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
