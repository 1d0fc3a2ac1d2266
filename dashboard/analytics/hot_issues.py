"""Hot issues (热点问题): the categories whose reported cases rose against the previous period (环比)
and the same period last year (同比), listed only where the rise is unlikely to be noise.

**The test.** Cases of a category arriving in a window are taken as a Poisson count with a rate per
unit of time. To ask whether the current count c is higher than the comparison's count b beyond
chance, the exact conditional test for two Poisson counts is used: under H0 (the same rate in both
windows), c given the total c + b is Binomial(c + b, t_c / (t_c + t_b)), where t_c and t_b are the
lengths of the two windows (0.5 when they are equal, as for weeks and like-for-like cuts; a 31-day
month against a 30-day one is weighed by its length). The p-value is the one-sided upper tail
P(X >= c) (``scipy.stats.binomtest``, alternative "greater"). It was chosen over an exact Poisson test
of c against b taken as the expected value because that treats the comparison count as known
without error: the conditional test lets both counts vary, and is exact (no normal approximation) for
the small counts of minor categories and streets.

**Many tests at once.** Every major and minor category is tested against both comparisons, a few
hundred tests a period: at p < 0.01 each, several would pass by chance alone. The p-values are
adjusted with Holm's step-down method (family-wise error rate 0.01 over all tests, valid under any
dependence, and majors and their minors are dependent) and a category is listed only when its
adjusted p-value is below 0.01. A test that could not reach p < 0.01 even with every one of its c + b
cases in the current window (min attainable p = share ** (c + b) >= 0.01: six cases or fewer for
equal windows) is not counted in the family: given the totals it can never be rejected, so leaving it
out keeps the error rate (Tarone's argument) while not diluting the others.

**Missing history.** A comparison window that starts before the database's first case (a year back
on a platform younger than that) holds fewer cases than happened: every category would seem to rise.
Such a comparison is not tested (``coverage``) and says so.

**Limits.** Case counts are over-dispersed against Poisson (a campaign, a storm, one reporter filing
a batch): the test then understates p. The strict, adjusted threshold is the guard; the counts and
places are shown so that a reader can judge. 同比 also rises with the platform's own growth. The
windows are weighed by their length only: a month in progress cut like for like (contract.md) may
hold more working days than its comparison (Tue-Thu against Sun-Tue), and every busy category then
seems to rise a little; weeks compare like weekdays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scipy.stats import binomtest

from .history_coverage import compared, window_coverage, with_gaps

ALPHA = 0.01
TOP_PLACES = 3
COMPARISONS = ("previous", "last_year")
MAJOR_LENGTH = 2  # contract.md: categories are 2-digit major, 4-digit minor codes


def rise_p_value(current: int, baseline: int, share: float = 0.5) -> float:
    """One-sided exact p-value that ``current`` exceeds ``baseline`` beyond chance: P(X >= current) for
    X ~ Binomial(current + baseline, share), ``share`` the current window's part of the time."""
    n = current + baseline
    if n == 0:
        return 1.0
    return float(binomtest(int(current), int(n), float(share), alternative="greater").pvalue)


def min_attainable_p(n: int, share: float = 0.5) -> float:
    """The smallest p-value a test of n cases in all can give (all n in the current window)."""
    return float(share) ** n


def holm(p_values: Mapping) -> dict:
    """Holm's step-down adjusted p-values (monotone, at most 1), by the same keys."""
    order = sorted(p_values, key=lambda k: (p_values[k], str(k)))
    m = len(order)
    out, running = {}, 0.0
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * p_values[key]))
        out[key] = running
    return out


def rate_ratio(current: int, baseline: int, share: float = 0.5) -> float | None:
    """current / baseline per unit of time (c / b for equal windows); None when baseline is 0."""
    if baseline == 0:
        return None
    return (current / share) / (baseline / (1.0 - share))


def with_majors(counts: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """Counts per minor category plus their sums per major (the code's first two digits; a case filed
    under a major code itself counts in that major)."""
    out: dict[str, list[int]] = {}
    for code, values in counts.items():
        for key in {code, code[:MAJOR_LENGTH]}:
            into = out.setdefault(key, [0] * len(values))
            for i, v in enumerate(values):
                into[i] += int(v)
    return out


def places_with_majors(places: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Places per minor category plus their sums per major."""
    out: dict[str, dict[str, int]] = {}
    for code, by in places.items():
        for key in {code, code[:MAJOR_LENGTH]}:
            into = out.setdefault(key, {})
            for place, n in by.items():
                into[place] = into.get(place, 0) + int(n)
    return out


def top_places(places: Mapping[str, int], total: int, top: int = TOP_PLACES) -> list[dict]:
    """The ``top`` places by count (ties by code), each with its share of the category's ``total``."""
    ranked = sorted(((code, n) for code, n in places.items() if n > 0), key=lambda item: (-item[1], item[0]))[:top]
    return [{"code": code, "count": n, "share": (n / total) if total else None} for code, n in ranked]


@dataclass(frozen=True)
class Comparison:
    baseline: int
    ratio: float | None
    p_value: float | None  # None: not tested (the window starts before the history)
    p_adjusted: float | None  # None: not counted in the family (not tested, or could never reach ALPHA)
    significant: bool
    covered: bool = True  # the history covers the comparison window

    def to_dict(self) -> dict:
        return {"count": self.baseline, "ratio": self.ratio, "p_value": self.p_value, "p_adjusted": self.p_adjusted,
                "significant": self.significant, "covered": self.covered}


@dataclass(frozen=True)
class HotIssue:
    code: str
    level: str  # "major" or "minor"
    current: int
    comparisons: dict[str, Comparison]
    places: list[dict] = field(default_factory=list)

    @property
    def rise(self) -> int:
        """The largest significant rise in cases (for the order of the list)."""
        return max((self.current - cmp.baseline for cmp in self.comparisons.values() if cmp.significant), default=0)

    def to_dict(self) -> dict:
        return {"category_code": self.code, "level": self.level, "current": self.current,
                **{name: cmp.to_dict() for name, cmp in self.comparisons.items()}, "places": self.places}


@dataclass(frozen=True)
class HotIssues:
    issues: list[HotIssue]
    tests: int  # the size of the family the p-values were adjusted over
    alpha: float


def window_lengths(windows: Mapping[str, tuple]) -> dict[str, float]:
    """{window name: its length in seconds} from {name: (S, E')} (datetimes)."""
    return {name: max((end - start).total_seconds(), 0.0) for name, (start, end) in windows.items()}


def coverage(windows: Mapping[str, tuple], since, counts: Mapping[str, Sequence[int]] | None = None
             ) -> dict[str, bool]:
    """{comparison: whether the history (its first case at ``since``) covers the whole window, and,
    given the category ``counts``, the window is no gap in it (``history_coverage.with_gaps``)}."""
    states = window_coverage({name: windows[name] for name in ("current", *COMPARISONS)}, since)
    if counts is not None:
        totals = [sum(int(v[i]) for v in counts.values()) for i in range(1 + len(COMPARISONS))]
        states = with_gaps(states, dict(zip(("current", *COMPARISONS), totals)))
    return {name: compared(states[name]) for name in COMPARISONS}


def shares(exposure: Mapping[str, float]) -> dict[str, float] | None:
    """The current window's share of the time against each comparison; None when a window is empty."""
    cur = float(exposure.get("current") or 0)
    if cur <= 0:
        return None
    out = {}
    for name in COMPARISONS:
        other = float(exposure.get(name) or 0)
        if other <= 0:
            return None
        out[name] = cur / (cur + other)
    return out


def find_hot_issues(counts: Mapping[str, Sequence[int]], places: Mapping[str, Mapping[str, int]],
                    exposure: Mapping[str, float], alpha: float = ALPHA, top: int = TOP_PLACES,
                    covered: Mapping[str, bool] | None = None) -> HotIssues:
    """The categories whose current count rose significantly against a comparison.

    ``counts``: {category code: [current, previous, last_year]} (minor codes; majors are summed here);
    ``places``: {category code: {place code: current count}}; ``exposure``: the windows' lengths
    ({"current", "previous", "last_year"}, any unit); ``covered``: {comparison: False} for a window the
    history does not cover (``coverage``), which is then not tested (a rise against data that is not
    there is no rise). Listed: a category with a Holm-adjusted p-value below ``alpha`` against either
    comparison, largest significant rise first.
    """
    covered = {name: True for name in COMPARISONS} | dict(covered or {})
    split = shares(exposure)
    if split is None:
        return HotIssues([], 0, alpha)
    all_counts = with_majors(counts)
    all_places = places_with_majors(places)
    raw: dict[tuple[str, str], float] = {}
    family: dict[tuple[str, str], float] = {}
    for code, values in all_counts.items():
        for j, name in enumerate(COMPARISONS, start=1):
            if not covered[name]:
                continue
            c, b = int(values[0]), int(values[j])
            p = rise_p_value(c, b, split[name])
            raw[(code, name)] = p
            if min_attainable_p(c + b, split[name]) < alpha:
                family[(code, name)] = p
    adjusted = holm(family)
    issues = []
    for code, values in all_counts.items():
        cmps = {}
        for j, name in enumerate(COMPARISONS, start=1):
            adj = adjusted.get((code, name))
            cmps[name] = Comparison(int(values[j]), rate_ratio(int(values[0]), int(values[j]), split[name]),
                                    raw.get((code, name)), adj, adj is not None and adj < alpha, covered[name])
        if any(cmp.significant for cmp in cmps.values()):
            issues.append(HotIssue(code, "major" if len(code) <= MAJOR_LENGTH else "minor", int(values[0]), cmps,
                                   top_places(all_places.get(code, {}), int(values[0]), top)))
    issues.sort(key=lambda issue: (-issue.rise, issue.code))
    return HotIssues(issues, len(family), alpha)
