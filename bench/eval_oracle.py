"""Oracle bounds for concealment: how often could a test that *knows* the truth catch the thinning?

A community's weekly patrol reports are Poisson with a known expected count ``e`` a week (its
untouched history's mean); from a known date on, only ``keep`` of them are reported. Two oracles,
both allowed a 5 % chance of flagging an honest community per quarter (13 weeks):

* **one look** (Neyman-Pearson): one test of the patrol count of the 8 weeks after the known
  change date against Poisson(8 e), at level 5 %. No test can do better at "caught within 8
  weeks" with that false-flag budget: it knows the rate, the date and the direction.
* **weekly CUSUM**: the sequential version (the detector must decide every week): a Poisson CUSUM
  tuned to ``keep``, its threshold set so that an honest community crosses it within a quarter
  with probability 5 %; power = crossing within 8 weeks of the change.

The *share* variants know the community's true patrol share q0 = e / (e + u) instead of its rate
and test the patrol count given the week's total of patrol and uncontrolled reports (binomial):
what a test of "the share against the channels the community does not control" can reach when
it also knows the share exactly; it pays for the uncontrolled channels' own noise.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

ALPHA = 0.05
QUARTER_WEEKS = 13


def one_look_poisson(e: float, keep: float, weeks: int, alpha: float = ALPHA) -> float:
    mu0, mu1 = weeks * e, weeks * e * keep
    c = stats.poisson.ppf(alpha, mu0)              # smallest c with P0(X <= c) >= alpha
    if stats.poisson.cdf(c, mu0) > alpha:
        c -= 1
    return float(stats.poisson.cdf(c, mu1)) if c >= 0 else 0.0


def one_look_share(e: float, u: float, keep: float, weeks: int, alpha: float = ALPHA,
                   rng: np.random.Generator | None = None, sims: int = 4000) -> float:
    """Binomial test of the 8 weeks' patrol count given their total, at the known share (Monte Carlo over totals)."""
    rng = rng or np.random.default_rng(1)
    q0 = e / (e + u)
    n = rng.poisson(weeks * (keep * e + u), sims)
    q1 = keep * e / (keep * e + u)
    x = rng.binomial(n, q1)
    c = stats.binom.ppf(alpha, n, q0)
    c = np.where(stats.binom.cdf(c, n, q0) > alpha, c - 1, c)
    return float(np.mean(x <= c))


def _cusum_paths(x: np.ndarray, n: np.ndarray | None, e: float, u: float, keep: float, share: bool) -> np.ndarray:
    """Running maxima of the CUSUM over weeks (sims, weeks) of counts x (and totals n for the share)."""
    if share:
        q0, q1 = e / (e + u), keep * e / (keep * e + u)
        llr = x * np.log(q1 / q0) + (n - x) * np.log((1 - q1) / (1 - q0))
    else:
        llr = x * np.log(keep) + (1 - keep) * e
    s = np.zeros(len(x))
    out = np.empty_like(llr)
    for w in range(llr.shape[1]):
        s = np.maximum(0.0, s + llr[:, w])
        out[:, w] = s
    return np.maximum.accumulate(out, axis=1)


def cusum(e: float, u: float, keep: float, weeks: int, share: bool, alpha: float = ALPHA,
          rng: np.random.Generator | None = None, sims: int = 4000) -> float:
    rng = rng or np.random.default_rng(2)

    def draw(k: float, w: int):
        x = rng.poisson(k * e, (sims, w))
        n = x + rng.poisson(u, (sims, w)) if share else None
        return x, n

    x0, n0 = draw(1.0, QUARTER_WEEKS)
    h = np.quantile(_cusum_paths(x0, n0, e, u, keep, share)[:, -1], 1 - alpha)
    x1, n1 = draw(keep, weeks)
    return float(np.mean(_cusum_paths(x1, n1, e, u, keep, share)[:, -1] > h))


def bounds(rates: list[tuple[float, float]], keep: float, weeks: int, scale: float = 1.0) -> dict:
    """Mean oracle power over communities with (patrol, uncontrolled) reports a week, volume x ``scale``."""
    rng = np.random.default_rng(20050)
    rows = [(e * scale, u * scale) for e, u in rates if e > 0]
    if not rows:
        return {}
    return {"communities": len(rows),
            "one_look": float(np.mean([one_look_poisson(e, keep, weeks) for e, _ in rows])),
            "cusum": float(np.mean([cusum(e, u, keep, weeks, False, rng=rng) for e, u in rows])),
            "one_look_share": float(np.mean([one_look_share(e, u, keep, weeks, rng=rng) for e, u in rows])),
            "cusum_share": float(np.mean([cusum(e, u, keep, weeks, True, rng=rng) for e, u in rows]))}
