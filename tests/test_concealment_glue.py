"""Concealment (疑似瞒报漏报) end to end, SQLite and PostgreSQL: weekly channel counts written as case rows,
read back by the engine's glue, and the one community whose patrol reports were halved is named with
its gap; its honest peers are not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, insert, select

from dashboard.synth.seed import seed_county
from dashboard.warning import case_detectors as cd
from data_access import feeds_cases as feeds
from data_access.models import Case, Grid
from data_access.moment import Moment
from data_access.scope import Scope

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=TZ)   # a Wednesday: the week in progress is never judged
ROOT = Scope("320585", "320585")
WEEKS = 24
THINNED_WEEKS = 6


def _weekly_cases(communities: dict[str, str], thinned: str, rng: np.random.Generator) -> list[dict]:
    """About 30 patrol and 25 hotline/resident/video reports a week per community for WEEKS complete
    weeks; ``thinned`` keeps half of its patrol reports in the last THINNED_WEEKS weeks."""
    this_monday = (NOW - timedelta(days=NOW.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for community, grid in communities.items():
        for w in range(WEEKS, 0, -1):
            monday = this_monday - timedelta(weeks=w)
            n_patrol = rng.poisson(30)
            if community == thinned and w <= THINNED_WEEKS:
                n_patrol = rng.binomial(n_patrol, 0.5)
            sources = ["patrol"] * n_patrol + list(rng.choice(["hotline", "resident", "video"], rng.poisson(25)))
            for source in sources:
                at = monday + timedelta(days=int(rng.integers(0, 7)), hours=int(rng.integers(8, 18)),
                                        minutes=int(rng.integers(0, 60)))
                rows.append({"source": str(source), "grid_code": grid, "reported_at": at})
    return rows


def test_a_community_that_halves_its_patrol_reports_is_named_with_its_gap(engine):
    cd.clear_caches()
    seed_county(engine, seed=3, days=1, now=NOW, full_ping_days=0, sparse_ping_minutes=720)
    with engine.begin() as conn:
        conn.execute(delete(Case))   # keep the geography, write the weeks below instead
        grids = [g for (g,) in conn.execute(select(Grid.code).order_by(Grid.code))]
        communities: dict[str, str] = {}
        for grid in grids:
            communities.setdefault(grid[:12], grid)
        chosen = dict(list(communities.items())[:12])
        thinned = list(chosen)[4]
        rows = _weekly_cases(chosen, thinned, np.random.default_rng(7))
        base = {"title": "巡查发现问题", "category_code": "0101", "urgency": "normal", "status": "closed", "level": "grid",
                "escalations": 0, "returns": 0, "reworks": 0, "urges": 0}
        conn.execute(insert(Case), [{**base, **row, "id": i + 1, "code": f"W-{i + 1}", "updated_at": row["reported_at"],
                                     "closed_at": row["reported_at"] + timedelta(hours=4)} for i, row in enumerate(rows)])
    m = Moment(NOW, TZ)
    with engine.connect() as conn:
        names = feeds.region_and_category_names(conn, ROOT)
        findings = cd.concealment_findings(conn, ROOT, m, names)
        again = cd.concealment_findings(conn, ROOT, Moment(NOW + timedelta(hours=2), TZ), names)
    flagged = {f.region_code for f in findings}
    assert flagged == {thinned}
    own = [f for f in findings if f.detail["test"] == "own_history"]
    assert len(own) == 1
    f = own[0]
    assert f.kind == "underreport" and f.severity == "warning"
    d = f.detail
    assert d["observed"] < 0.7 * d["expected"] and d["gap"] > 30
    assert d["uncontrolled_ratio"] > d["ratio"] + 0.2     # the channels the community does not control held up
    assert d["score"] > cd.CONCEALMENT_PARAMS.llr_threshold
    assert d["window"]["weeks"] <= THINNED_WEEKS + 1 and d["window"]["end"] == "2026-11-22"
    assert "疑似瞒报漏报" in f.title and f"{int(d['observed'])}件" in f.title
    assert [x.dedup_key for x in again] == [x.dedup_key for x in findings]   # the same situation, the same key
