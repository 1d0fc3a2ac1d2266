"""The composite score and the ranking of siblings (contract.md, "Composite score and ranking").

Pure functions over plain figures (the period figures of ``data_access.review``): each rule is
(figure, weight, target, better); a figure's part is min(value / target, 1.25) when higher is
better (1.25 when the target is 0) and min(target / value, 1.25) when lower is better (1.25 when
the value is 0); the score is 100 x the weighted mean of the parts whose value is not NULL (NULL
when none is). A rule without a target takes the median of the siblings' values (siblings with
workers > 0): the discovery part (reports per worker) that makes concealment not pay. Siblings
with due < 10 are not ranked (样本不足); ranks are 1, 2, 2, 4 ..., scores within 1e-9 sharing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any, Iterable, Mapping

CAP = 1.25
MIN_DUE = 10  # fewer due cases than this: not ranked
TIE = 1e-9
SIBLINGS_MEDIAN = "siblings_median"


@dataclass(frozen=True)
class Rule:
    figure: str
    weight: float
    target: float | None  # None: the median of the siblings' values (siblings with workers > 0)
    better: str  # "higher" or "lower"

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower"):
            raise ValueError(f"rule {self.figure}: better must be 'higher' or 'lower', not {self.better!r}")
        if self.weight < 0:
            raise ValueError(f"rule {self.figure}: weight must not be negative ({self.weight})")
        if self.target is not None and self.target < 0:
            raise ValueError(f"rule {self.figure}: target must not be negative ({self.target})")


def part(value: float | None, target: float | None, better: str) -> float | None:
    """One rule's part, capped at 1.25; None when the value (or a sibling-median target) is missing."""
    if value is None or target is None:
        return None
    if better == "higher":
        return CAP if target == 0 else min(value / target, CAP)
    return CAP if value == 0 else min(target / value, CAP)


def sibling_median(siblings: Iterable[Mapping[str, Any]], figure: str) -> float | None:
    """The median of ``figure`` over the siblings with workers > 0 and a value (mean of the middle two)."""
    values = [s[figure] for s in siblings if (s.get("workers") or 0) > 0 and s.get(figure) is not None]
    return float(median(values)) if values else None


def targets(rules: Iterable[Rule], siblings: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """Each rule's target for these siblings (a fixed one, or the siblings' median)."""
    siblings = list(siblings)
    return {r.figure: (r.target if r.target is not None else sibling_median(siblings, r.figure)) for r in rules}


def score(figures: Mapping[str, Any], rules: Iterable[Rule], goal: Mapping[str, float | None]) -> tuple[
        float | None, dict[str, float | None]]:
    """(100 x the weighted mean of the non-NULL parts, or None; each rule's part)."""
    parts: dict[str, float | None] = {}
    total = weights = 0.0
    for r in rules:
        p = part(figures.get(r.figure), goal.get(r.figure), r.better)
        parts[r.figure] = p
        if p is not None:
            total += r.weight * p
            weights += r.weight
    if weights == 0:
        return None, parts
    return 100.0 * total / weights, parts


def ranks(scores: Mapping[str, float | None]) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4 ...) by score, highest first; scores within 1e-9 share a rank.
    Only the keys given with a score are ranked."""
    ordered = sorted(((s, k) for k, s in scores.items() if s is not None), key=lambda sk: (-sk[0], sk[1]))
    out: dict[str, int] = {}
    prev: float | None = None
    rank = 0
    for position, (s, k) in enumerate(ordered, start=1):
        if prev is None or prev - s > TIE:
            rank = position
        out[k] = rank
        prev = s
    return out


def _scored(figures_by_child: Mapping[str, Mapping[str, Any]], rules: list[Rule]):
    goal = targets(rules, figures_by_child.values())
    result = {}
    for code, f in figures_by_child.items():
        value, parts = score(f, rules, goal)
        result[code] = (value, parts, (f.get("due") or 0) >= MIN_DUE and value is not None)
    ranked = ranks({code: v for code, (v, _, ok) in result.items() if ok})
    return goal, result, ranked


def rank_siblings(current: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Mapping[str, Any]] | None,
                  rules: Iterable[Rule]) -> tuple[dict[str, dict[str, Any]], dict[str, float | None]]:
    """Score and rank siblings on the current period, with each one's rank change since the previous.

    Returns ({code: {"score", "rank", "unranked", "rank_change", "rank_compared", "parts"}}, {figure:
    target used}). ``rank_change`` is the previous rank minus the current one (positive: moved up), None
    when either period left it unranked or when there is no previous period to compare (``previous``
    None: the history does not cover it, and ``rank_compared`` is False).
    """
    rules = list(rules)
    goal, now, ranked = _scored(current, rules)
    ranked_before = _scored(previous, rules)[2] if previous is not None else {}
    out = {}
    for code, (value, parts, _) in now.items():
        rank = ranked.get(code)
        before = ranked_before.get(code)
        out[code] = {"score": value, "rank": rank, "unranked": rank is None,
                     "rank_change": (before - rank) if rank is not None and before is not None else None,
                     "rank_compared": previous is not None, "parts": parts}
    return out, goal


def rules_json(rules: Iterable[Rule], goal: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """The rules as shown: a median target is given as the value used, with ``target_rule``."""
    return [{"figure": r.figure, "weight": r.weight, "target": goal.get(r.figure, r.target), "better": r.better,
             "target_rule": "fixed" if r.target is not None else SIBLINGS_MEDIAN} for r in rules]


# --- for the review page: the configured rules, the 红黑榜 and what lifted or sank each -------------

HONOUR_SIZE = 3  # 红榜: the top 3; 黑榜: the bottom 3


def rules_from_settings(configured: Mapping[str, Any]) -> list[Rule]:
    """The rules of ``[review.score]`` ({figure: an object with ``weight``, ``target`` (a number or
    "siblings_median") and ``better``}), in their configured order."""
    return [Rule(figure, float(r.weight), None if r.target == SIBLINGS_MEDIAN else float(r.target), r.better)
            for figure, r in configured.items()]


def honour_rolls(scored: Mapping[str, Mapping[str, Any]], size: int = HONOUR_SIZE) -> tuple[list[str], list[str]]:
    """(红榜, 黑榜): the best ``size`` ranked siblings, best first, and the worst ``size``, worst first.

    ``scored`` is ``rank_siblings``' first result. Unranked siblings (样本不足) are on neither. With
    fewer than 2 x ``size`` ranked, each roll takes half of them (rounded down), so that no sibling
    is on both rolls; ties are ordered by code.
    """
    ranked = sorted(((s["rank"], code) for code, s in scored.items() if s.get("rank") is not None))
    n = min(size, len(ranked) // 2)
    if n == 0:
        return [], []
    order = [code for _, code in ranked]
    return order[:n], list(reversed(order[-n:]))


def decisive_part(parts: Mapping[str, float | None], rules: Iterable[Rule], lifted: bool) -> tuple[str, float] | None:
    """The rule part that lifted a sibling (``lifted``: the part furthest above 1, i.e. the highest)
    or sank it (the part furthest below 1, the lowest): (figure, part), None when no part has a value.

    Rules of weight 0 count for nothing and are skipped; a tie goes to the heavier rule, then to the
    rule listed first.
    """
    best: tuple[float, float, int, str, float] | None = None
    for order, r in enumerate(rules):
        p = parts.get(r.figure)
        if p is None or r.weight <= 0:
            continue
        distance = (p - 1.0) if lifted else (1.0 - p)
        key = (distance, r.weight, -order, r.figure, p)
        if best is None or key[:3] > best[:3]:
            best = key
    return None if best is None else (best[3], best[4])
