"""数据中断: the platform's feeds stop for longer than usual in working hours.

The statistic is the *age* of a feed at a moment (time since its last event). Its usual
distribution at this time of the week is sampled on the previous weeks: every minute within
``pool`` of the same local time, one week back, two weeks back, ... The feed is stale when its
age now exceeds ``factor`` x the ``quantile`` of those ages, and at least ``floor``. (The ages of
nearby minutes are correlated, so a bare 99th percentile would fire about daily; the factor
keeps a Poisson feed to roughly one false alarm in several weeks.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from .findings import Finding

FEED_NAMES = {"cases": "新事件上报", "actions": "事件流转", "pings": "网格员定位"}


@dataclass(frozen=True)
class StaleRules:
    quantile: float = 0.99
    factor: float = 2.0
    floor: timedelta = timedelta(minutes=10)
    pool: timedelta = timedelta(hours=1)
    weeks: int = 4
    min_weeks: int = 2              # weeks of history needed to judge
    sample_every: timedelta = timedelta(minutes=1)
    pings_window: timedelta = timedelta(minutes=15)
    pings_min_on_duty: int = 10     # workers on duty for silence of the ping feed to mean anything


@dataclass(frozen=True)
class FeedVerdict:
    feed: str
    age: float | None               # seconds since the last event (None: no event at all)
    threshold: float | None         # seconds; None when the history is too short to judge
    usual: float | None             # the quantile of the usual ages, seconds
    samples: int
    stale: bool


def usual_age(times: np.ndarray, at: float, rules: StaleRules = StaleRules()) -> tuple[float | None, int]:
    """The ``quantile`` of a feed's age at the same time of week in the previous ``weeks`` weeks.

    ``times``: sorted epoch seconds of the feed's events (any span covering those weeks); ``at``:
    epoch seconds. Returns (quantile seconds or None when fewer than ``min_weeks`` weeks hold
    history, number of samples).
    """
    if len(times) == 0:
        return None, 0
    step = rules.sample_every.total_seconds()
    pool = rules.pool.total_seconds()
    offsets = np.arange(-pool, pool + step / 2, step)
    ages, weeks = [], 0
    for k in range(1, rules.weeks + 1):
        moments = at - k * 7 * 86400 + offsets
        idx = np.searchsorted(times, moments, side="right") - 1
        ok = idx >= 0
        if not ok.all():        # no event yet before (part of) that week's window: not history
            continue
        weeks += 1
        ages.append(moments[ok] - times[idx[ok]])
    if weeks < rules.min_weeks:
        return None, sum(len(a) for a in ages)
    all_ages = np.concatenate(ages)
    return float(np.quantile(all_ages, rules.quantile)), len(all_ages)


def judge_feed(feed: str, history: np.ndarray, last: float | None, at: float,
               rules: StaleRules = StaleRules()) -> FeedVerdict:
    """Whether ``feed`` is stale at ``at`` given its history and its last event (epoch seconds)."""
    usual, samples = usual_age(history, at, rules)
    if usual is None:
        return FeedVerdict(feed, None if last is None else at - last, None, None, samples, False)
    threshold = max(rules.factor * usual, rules.floor.total_seconds())
    age = None if last is None else at - last
    stale = age is None or age > threshold
    return FeedVerdict(feed, age, threshold, usual, samples, stale)


def judge_pings(pings: int, on_duty: int, rules: StaleRules = StaleRules()) -> FeedVerdict:
    """The ping feed is stale when enough workers are on duty and none pinged in ``pings_window``."""
    window = rules.pings_window.total_seconds()
    judged = on_duty >= rules.pings_min_on_duty
    # age: at least the window when it holds no ping
    return FeedVerdict("pings", window if pings == 0 else 0.0, window if judged else None, None, pings,
                       judged and pings == 0)


def stale_finding(verdicts: list[FeedVerdict], at_iso: str, root: str) -> Finding | None:
    """One ``stale`` finding at the root naming every stale feed; critical when all judged feeds are."""
    stale = [v for v in verdicts if v.stale]
    if not stale:
        return None
    judged = [v for v in verdicts if v.threshold is not None]
    parts = []
    for v in stale:
        if v.age is None:
            parts.append(f"{FEED_NAMES.get(v.feed, v.feed)}无数据")
        else:
            parts.append(f"{FEED_NAMES.get(v.feed, v.feed)}已{v.age / 60:.0f}分钟无更新")
    return Finding(
        kind="stale", severity="critical" if len(stale) == len(judged) else "warning", region_code=root,
        title="数据中断：" + "，".join(parts), dedup_key="stale:feed",
        detail={
            "observed": {v.feed: _minutes(v.age) for v in stale},
            "expected": {v.feed: _minutes(v.usual) for v in stale},
            "threshold": {v.feed: _minutes(v.threshold) for v in stale},
            "score": max((v.age or 0) / v.threshold for v in stale if v.threshold) if stale else None,
            "window": {"to": at_iso}, "feeds": [v.feed for v in stale], "case_ids": [],
        })


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)
