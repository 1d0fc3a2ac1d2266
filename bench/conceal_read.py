"""What the concealment tests' weekly read costs on the 1,000,000-case databases, three ways, in one run:

* ``rows, 26 weeks``: what the engine did before: every case row of 26 weeks as a frame
  (``feeds_cases.case_facts``), counted per community, week and source in pandas;
* ``rows, 52 weeks``: the simplest way to read the year the tests now use: the same, over 52 weeks;
* ``grouped in SQL, 52 weeks``: what the engine does now (``feeds_cases.community_channel_weeks``).

Caches are cleared before every call, so each is a cold weekly read (the engine reads once a week).
Also reported: the frame the row reads hold in memory (``memory_usage(deep=True)``), and whether the
52-week counts agree.

    .venv/bin/python bench/conceal_read.py [--backend both|sqlite|postgresql] [--reps 5]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import OUT, PG_URL, backend_url, cold, cold_read_args, machine_info, measure_side_by_side  # noqa: E402

from dashboard.warning import case_detectors as cd  # noqa: E402
from data_access import feeds_cases as feeds  # noqa: E402
from data_access.db import make_engine  # noqa: E402


def _from_rows(conn, scope, m, weeks):
    today = np.datetime64(m.at.astimezone(m.tz).date(), "D")
    monday = today - np.timedelta64(int((today.astype(np.int64) - 4) % 7), "D")
    start = monday - np.timedelta64(7 * weeks, "D")
    facts = feeds.case_facts(conn, scope, m, int((today - start).astype(np.int64)))
    week_starts = cd._complete_weeks(max(start, facts["day"].values.astype("datetime64[D]").min()), today)
    return facts, week_starts, feeds.channel_week_counts(facts, week_starts)


def main() -> None:
    args, backends, m, scope = cold_read_args(__doc__.splitlines()[0])
    results = {"machine": machine_info(PG_URL), "moment": m.at.isoformat(), "backends": {}}
    for backend in backends:
        engine = make_engine(backend_url(backend))
        with engine.connect() as conn:
            fns = {"rows, 26 weeks": cold(lambda: _from_rows(conn, scope, m, 26)),
                   "rows, 52 weeks": cold(lambda: _from_rows(conn, scope, m, 52)),
                   "grouped in SQL, 52 weeks": cold(lambda: feeds.community_channel_weeks(conn, scope, m, 52))}
            timings = measure_side_by_side(fns, reps=args.reps, warmup=1)
            feeds.clear_caches()
            facts52, weeks52, rows52 = _from_rows(conn, scope, m, 52)
            weeks_sql, grouped = feeds.community_channel_weeks(conn, scope, m, 52)
            key = lambda f: sorted((r.community, str(r.week)[:10], r.source, int(r.n)) for r in f.itertuples(index=False))
            agree = list(weeks52) == list(weeks_sql) and key(rows52) == key(grouped)
            facts26 = _from_rows(conn, scope, m, 26)[0]
        engine.dispose()
        results["backends"][backend] = {
            "ms": timings, "agree": agree, "cases_52_weeks": int(len(facts52)), "grouped_rows": int(len(grouped)),
            "frame_mib": {"rows, 26 weeks": facts26.memory_usage(deep=True).sum() / 2**20,
                          "rows, 52 weeks": facts52.memory_usage(deep=True).sum() / 2**20,
                          "grouped in SQL, 52 weeks": grouped.memory_usage(deep=True).sum() / 2**20}}
        for name, t in timings.items():
            print(f"{backend:10s} {name:26s} median {t['median']:8.0f} ms  p95 {t['p95']:8.0f} ms  "
                  f"frame {results['backends'][backend]['frame_mib'][name]:6.1f} MiB", flush=True)
        print(f"{backend:10s} {len(facts52):,} cases in 52 weeks, {len(grouped):,} grouped rows, counts agree: {agree}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "conceal_read.json").write_text(json.dumps(results, indent=1, default=str))
    print("machine:", results["machine"])


if __name__ == "__main__":
    main()
