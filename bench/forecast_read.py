"""What the daily forecast costs on the 1,000,000-case databases, in one run, cold caches:

* reads: ``rows, 84 days`` (what the forecast read before: every case row of 12 weeks, from
  ``feeds_cases.case_facts``, counted per street x major category x day in pandas); ``rows,
  364 days`` (the simplest way to read the year the long memories need); ``grouped in SQL, 364
  days`` (what it reads now: ``feeds_cases.category_day_counts``). The two 364-day reads must give
  the same count cubes.
* the whole daily step (``case_detectors.forecast_outputs``: forecast per street and for the county,
  and the hotspots): ``before`` (the 84-day rows and one 12-week model, as the engine ran until
  4a5d66c) against ``now`` (the year grouped and the memory chosen by a 10-week backtest).

    .venv/bin/python bench/forecast_read.py [--backend both|sqlite|postgresql] [--reps 5]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import OUT, PG_URL, backend_url, cold, cold_read_args, machine_info, measure_side_by_side  # noqa: E402

from dashboard.analytics import forecast, hotspots, spikes  # noqa: E402
from dashboard.warning import case_detectors as cd  # noqa: E402
from data_access import feeds_cases as feeds  # noqa: E402
from data_access.db import make_engine  # noqa: E402


def _rows_cubes(conn, scope, m, days):
    """Count cubes (street x major, county x major) from the case rows of ``days`` complete days."""
    facts = feeds.case_facts(conn, scope, m, days)
    today = np.datetime64(m.at.astimezone(m.tz).date(), "D")
    span = np.arange(facts["day"].values.astype("datetime64[D]").min(), today, dtype="datetime64[D]")
    return facts, span, {"street": spikes.count_cube(facts, ["street", "major"], span),
                         "root": spikes.count_cube(facts.assign(root=scope.region), ["root", "major"], span)}


def _grouped_cubes(conn, scope, m, days):
    span, counts = feeds.category_day_counts(conn, scope, m, days)
    return counts, span, {"street": spikes.count_cube(counts, ["street", "major"], span, "n"),
                          "root": spikes.count_cube(counts.assign(root=scope.region), ["root", "major"], span, "n")}


def _step_before(conn, scope, m):
    """The daily step as it ran before: 84 days of rows, one 12-week model, the hotspots."""
    facts, span, cubes = _rows_cubes(conn, scope, m, cd.FACT_DAYS)
    for keys, y in cubes.values():
        forecast.forecast_counts(y, span, [k[1] for k in keys], forecast.MEMORIES["weeks"], units=[k[0] for k in keys])
    keys, y = spikes.count_cube(facts, ["grid_code"], span)
    hotspots.top_hotspots(y, [k[0] for k in keys], cd.HOTSPOT_PARAMS)


def main() -> None:
    args, backends, m, scope = cold_read_args(__doc__.splitlines()[0])
    results = {"machine": machine_info(PG_URL), "moment": m.at.isoformat(), "backends": {}}
    for backend in backends:
        engine = make_engine(backend_url(backend))
        with engine.connect() as conn:
            reads = {"rows, 84 days": cold(lambda: _rows_cubes(conn, scope, m, 84)),
                     "rows, 364 days": cold(lambda: _rows_cubes(conn, scope, m, 364)),
                     "grouped in SQL, 364 days": cold(lambda: _grouped_cubes(conn, scope, m, 364))}
            read_ms = measure_side_by_side(reads, reps=args.reps, warmup=1)
            steps = {"before: 84 days of rows, one model": cold(lambda: _step_before(conn, scope, m)),
                     "now: a year grouped, memory chosen": cold(lambda: cd.forecast_outputs(conn, scope, m))}
            step_ms = measure_side_by_side(steps, reps=args.reps, warmup=1)
            feeds.clear_caches()
            rows, span_r, cubes_r = _rows_cubes(conn, scope, m, 364)
            grouped, span_g, cubes_g = _grouped_cubes(conn, scope, m, 364)
            agree = list(span_r) == list(span_g) and all(
                cubes_r[k][0] == cubes_g[k][0] and np.array_equal(cubes_r[k][1], cubes_g[k][1]) for k in cubes_r)
            rows84 = _rows_cubes(conn, scope, m, 84)[0]
        engine.dispose()
        results["backends"][backend] = {
            "read_ms": read_ms, "step_ms": step_ms, "agree": agree, "cases_364_days": int(len(rows)),
            "grouped_rows": int(len(grouped)),
            "frame_mib": {"rows, 84 days": rows84.memory_usage(deep=True).sum() / 2**20,
                          "rows, 364 days": rows.memory_usage(deep=True).sum() / 2**20,
                          "grouped in SQL, 364 days": grouped.memory_usage(deep=True).sum() / 2**20}}
        for name, t in read_ms.items():
            print(f"{backend:10s} read {name:34s} median {t['median']:8.0f} ms  p95 {t['p95']:8.0f} ms  "
                  f"frame {results['backends'][backend]['frame_mib'][name]:6.1f} MiB", flush=True)
        for name, t in step_ms.items():
            print(f"{backend:10s} step {name:34s} median {t['median']:8.0f} ms  p95 {t['p95']:8.0f} ms", flush=True)
        print(f"{backend:10s} {len(rows):,} cases in 364 days, {len(grouped):,} grouped rows, cubes agree: {agree}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "forecast_read.json").write_text(json.dumps(results, indent=1, default=str))
    print("machine:", results["machine"])


if __name__ == "__main__":
    main()
