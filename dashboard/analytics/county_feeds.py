"""A roll-up's county feeds (数据中断): each subscribed county whose heartbeat has stopped reaching the
city or province database is one situation, raised on the county, ended when its data flows again."""

from __future__ import annotations

from datetime import datetime

from .findings import Finding

CRITICAL_AFTER_SECONDS = 15 * 60  # a county dark this long at the city is critical


def county_feed_findings(feeds: dict[str, tuple[bool, datetime | None]], at: datetime,
                         names: dict[str, str], local) -> list[Finding]:
    """One finding per stale county feed. ``feeds``: county -> (stale, data_as_of); ``local`` turns a
    moment into local time for the title."""
    out = []
    for county, (stale, as_of) in sorted(feeds.items()):
        if not stale:
            continue
        behind = None if as_of is None else max(0.0, (at - as_of).total_seconds())
        severity = "critical" if behind is None or behind >= CRITICAL_AFTER_SECONDS else "warning"
        name = names.get(county) or county
        since = "从未到达" if as_of is None else f"停在 {local(as_of):%m-%d %H:%M}（落后 {int(behind // 60)} 分钟）"
        out.append(Finding(
            kind="stale", severity=severity, region_code=county, category_code=None,
            title=f"{name} 平台数据中断：数据{since}",
            dedup_key=f"stale:county:{county}",
            detail={"observed": None if behind is None else round(behind), "expected": 10, "score": behind,
                    "window": "heartbeat", "data_as_of": None if as_of is None else as_of.isoformat(),
                    "county": county, "case_ids": []}))
    return out
