"""Concealment (疑似瞒报漏报): a community whose own patrols report less than they should.

A community controls its grid workers' patrol reports (巡查上报), not the channels residents and
machines use: 12345 hotline, resident photos (随手拍) and video AI. Hiding problems shows as
patrol reports falling while those channels do not (Greenstone et al. 2022: about a quarter of
pollution went unreported until reporting was automated).

Two tests on complete local weeks, per community:

* **Own history (drop / 骤降 or 持续下降)**: patrol counts P[c, w] are Poisson with a community
  rate times the week's patrol level among its peers (all other communities), so weeks that
  are quiet everywhere (holidays) explain themselves. For each possible change week tau in the
  last ``max_post_weeks`` weeks, the likelihood ratio of "the rate fell from tau on" against "no
  change" is computed conditionally on the community's total (a binomial split, so the rate
  itself needs no estimate). The alternative is a fixed drop: from tau on only ``design_keep``
  (a quarter hidden, as in Greenstone et al.) of the patrol reports are made; the largest ratio
  over tau is the statistic, a CUSUM tuned to that drop on a rate estimated from the community's
  own weeks before tau. (``design_keep=None``: the best-fitting drop instead, a GLR; it pays for
  fitting the drop with more false flags at the same power.) It flags when the statistic exceeds
  ``llr_threshold``, the patrol count is at most ``max_ratio`` of its expected, and the
  uncontrolled channels did not fall as much (otherwise there were simply fewer problems).
* **Peers (persistent deficit / 长期偏低)**: the patrol share P / (P + U) over the last
  ``peer_weeks`` weeks against the distribution of shares among all communities, a beta-binomial
  fitted by moments (empirical Bayes: honest communities differ, and small ones are noisy). It
  flags when the community's patrol count is below the ``peer_tail`` quantile of its beta-binomial.

Calibration (``python bench/eval_conceal.py``: the engine's year of weeks on four seeded 364-day
counties, 152 communities, at the synthetic volume and at 2.4 times it, the domain's; honest flags in
the quarters of the history's second half, when the tests have at least 31 weeks to read):
``llr_threshold`` 4.5 and ``peer_tail`` 1e-6 flag about 2-4 % of honest communities per quarter
(13 weekly looks; 4.0 flagged 5.3 % at 2.4 times the volume); the busier
county flags more, because more of its communities have enough reports to be judged at all. How much
the tests can catch is bounded by volume: a community with 10 patrol reports a week that hides a
quarter of them is 20 reports short after 8 weeks, against a Poisson sd of 9; even an oracle that
knows its rate and the date catches that within 8 weeks only about 7 times in 10 when it must decide
weekly (``eval_oracle``). A year of history matters: with the rate estimated from 26 weeks the same
test caught 5-10 points fewer thinned communities at the same honest flag rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

PATROL = "patrol"
UNCONTROLLED = ("hotline", "resident", "video")


@dataclass(frozen=True)
class ConcealmentParams:
    min_pre_weeks: int = 8          # a baseline of two months before any change week
    max_post_weeks: int = 8
    llr_threshold: float = 4.5
    max_ratio: float = 0.85
    u_margin: float = 0.05           # uncontrolled channels' ratio must exceed the patrol ratio by this
    min_expected_post: float = 8.0   # too few expected patrol reports to judge
    design_keep: float | None = 0.75  # the drop the own-history test is tuned to (None: the best-fitting drop)
    peer_weeks: int = 8
    peer_tail: float = 1e-6
    min_peer_cases: int = 30


@dataclass
class OwnHistory:
    """Per community, for the last week: the best change week and its evidence."""

    llr: np.ndarray
    tau: np.ndarray            # first week of the lower rate (index)
    observed: np.ndarray       # patrol reports since tau
    expected: np.ndarray       # at the rate before tau, scaled by the peers' level
    ratio: np.ndarray          # observed / expected
    u_ratio: np.ndarray        # the same for the uncontrolled channels
    flagged: np.ndarray


def _binomial_llr_low(x: np.ndarray, n: np.ndarray, q0: np.ndarray) -> np.ndarray:
    """Log likelihood ratio of a lower split probability: x of n against q0 (0 when x >= n q0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        phat = np.where(n > 0, x / np.maximum(n, 1), 0.0)
        a = np.where(x > 0, x * np.log(np.where(x > 0, phat, 1.0) / q0), 0.0)
        b = np.where(n - x > 0, (n - x) * np.log(np.where(n - x > 0, 1 - phat, 1.0) / (1 - q0)), 0.0)
        out = a + b
    return np.where((phat < q0) & (n > 0) & (q0 > 0) & (q0 < 1), np.nan_to_num(out, nan=0.0), 0.0)


def _binomial_llr_fixed(x: np.ndarray, n: np.ndarray, q0: np.ndarray, keep: float) -> np.ndarray:
    """Log likelihood ratio of "from the split point on, only ``keep`` of the patrol reports were made"
    against "no change": x of n in the later part, expected share q0 (0 when negative). Maximised over
    the split point this is a CUSUM tuned to that drop."""
    q0 = np.clip(q0, 1e-9, 1 - 1e-9)
    q1 = keep * q0 / (keep * q0 + 1 - q0)
    out = x * np.log(q1 / q0) + (n - x) * np.log((1 - q1) / (1 - q0))
    return np.where(n > 0, np.maximum(out, 0.0), 0.0)


def own_history(p: np.ndarray, u: np.ndarray, params: ConcealmentParams = ConcealmentParams()) -> OwnHistory:
    """The own-history test as of the last week of p (C, W) patrol and u (C, W) uncontrolled counts."""
    p, u = np.asarray(p, dtype=float), np.asarray(u, dtype=float)
    n_c, n_w = p.shape
    peers_p = np.maximum(p.sum(0, keepdims=True) - p, 1e-9)  # (C, W) the others' patrol level
    peers_u = np.maximum(u.sum(0, keepdims=True) - u, 1e-9)
    best = np.zeros(n_c)
    tau = np.full(n_c, -1)
    obs = np.zeros(n_c)
    exp = np.zeros(n_c)
    u_ratio = np.ones(n_c)
    first = max(params.min_pre_weeks, n_w - params.max_post_weeks)
    total = p.sum(1)
    for t in range(first, n_w):
        x = p[:, t:].sum(1)
        q0 = peers_p[:, t:].sum(1) / peers_p.sum(1)
        llr = _binomial_llr_low(x, total, q0) if params.design_keep is None else _binomial_llr_fixed(x, total, q0, params.design_keep)
        rate_pre = p[:, :t].sum(1) / peers_p[:, :t].sum(1)
        e = rate_pre * peers_p[:, t:].sum(1)
        u_pre = u[:, :t].sum(1) / peers_u[:, :t].sum(1)
        u_e = u_pre * peers_u[:, t:].sum(1)
        ur = np.where(u_e > 0, u[:, t:].sum(1) / np.maximum(u_e, 1e-9), 1.0)
        better = llr > best
        best = np.where(better, llr, best)
        tau = np.where(better, t, tau)
        obs = np.where(better, x, obs)
        exp = np.where(better, e, exp)
        u_ratio = np.where(better, ur, u_ratio)
    ratio = np.where(exp > 0, obs / np.maximum(exp, 1e-9), 1.0)
    flagged = ((best > params.llr_threshold) & (ratio <= params.max_ratio) & (exp >= params.min_expected_post)
               & (u_ratio >= ratio + params.u_margin))
    return OwnHistory(best, tau, obs, exp, ratio, u_ratio, flagged)


@dataclass
class PeerDeficit:
    share: np.ndarray          # patrol / (patrol + uncontrolled), last peer_weeks
    peer_share: np.ndarray     # mean share among peers
    observed: np.ndarray       # patrol reports
    expected: np.ndarray       # at the peers' share
    tail: np.ndarray           # P(X <= observed) under the peers' beta-binomial
    flagged: np.ndarray


def _beta_moments(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) of the underlying shares from binomial counts, by moments (Kleinman's weights)."""
    ok = n > 0
    x, n = x[ok], n[ok]
    if len(x) < 3:
        return 1.0, 1.0
    share = x / n
    m = np.average(share, weights=n)
    s2 = np.average((share - m) ** 2, weights=n) * len(x) / max(len(x) - 1, 1)
    mean_inv_n = np.mean(1.0 / n)
    var_true = max(s2 - m * (1 - m) * mean_inv_n, 1e-6)
    common = m * (1 - m) / var_true - 1
    common = float(np.clip(common, 2.0, 1e5))
    return m * common, (1 - m) * common


def peer_deficit(p: np.ndarray, u: np.ndarray, params: ConcealmentParams = ConcealmentParams()) -> PeerDeficit:
    """The peer test on the last ``peer_weeks`` weeks of p (C, W) and u (C, W)."""
    p, u = np.asarray(p, dtype=float), np.asarray(u, dtype=float)
    x = p[:, -params.peer_weeks:].sum(1)
    n = x + u[:, -params.peer_weeks:].sum(1)
    a, b = _beta_moments(x, n)
    tail = np.where(n > 0, stats.betabinom.cdf(x, n.astype(int), a, b), 1.0)
    share = np.where(n > 0, x / np.maximum(n, 1), np.nan)
    peer = a / (a + b)
    flagged = (tail < params.peer_tail) & (n >= params.min_peer_cases)
    return PeerDeficit(share, np.full(len(x), peer), x, n * peer, tail, flagged)


def weekly_matrix(counts, communities: list[str], weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, U) matrices (C, W) from a frame of community, week, source, n (feeds_cases.channel_week_counts)."""
    index = {c: i for i, c in enumerate(communities)}
    wk = {np.datetime64(w, "D"): j for j, w in enumerate(weeks)}
    p = np.zeros((len(communities), len(weeks)))
    u = np.zeros((len(communities), len(weeks)))
    for row in counts.itertuples(index=False):
        i, j = index.get(row.community), wk.get(np.datetime64(row.week, "D"))
        if i is None or j is None:
            continue
        if row.source == PATROL:
            p[i, j] += row.n
        elif row.source in UNCONTROLLED:
            u[i, j] += row.n
    return p, u
