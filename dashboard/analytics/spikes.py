"""Rises (骤增): is a day's count, or today's count so far, above what the series' own past predicts?

The expected level is a Farrington-flexible style count regression fitted per series, for many
series at once (all series share one design, so the fit is a few numpy array operations):

    log mu_t = log f_dow(t) + a + b * weeks(t)

on a baseline window that ends ``guard_days`` before the day tested (a starting outbreak does
not raise its own baseline). ``f_dow`` is a day-of-week profile passed in (estimated on bigger
aggregates, so sparse series need not fit it). Past outliers are down-weighted as Farrington does
(Anscombe residual above 2.58 gets weight s^-2) and the series refitted. The trend ``b`` is kept
only where it is significant (|b / se| > 2) and the series has volume; otherwise a flat level.

Counts are negative binomial around mu: var = mu + k mu^2, with k estimated per series by moments
and shrunk toward the pooled k of all series (short series have noisy moments). The uncertainty of
the fitted level (estimated from N baseline cases) adds 1/(N+1) to k. A day alarms when its upper
tail probability P(Y >= y) is below ``alpha`` and the count is also large in absolute terms
(``min_count``, ``min_excess``): with thousands of series tested a day, alpha is a per-test level
set for the alarm budget, not a nominal 5 %.

Series with less history than ``min_history_days`` fall back to EARS C2/C3 (``ears.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from . import ears

REWEIGHT_AT = 2.58


@dataclass(frozen=True)
class SpikeParams:
    baseline_days: int = 56
    guard_days: int = 2
    min_history_days: int = 28
    alpha: float = 1e-4          # per-series, per-window upper tail probability
    min_count: int = 4           # the day's count must reach this
    min_excess: float = 3.0      # and exceed the expected by this many cases
    min_ratio: float = 1.5       # and by this factor
    windows: tuple[int, ...] = (1, 3)
    k_prior_weight: float = 30.0  # shrinkage of each series' k toward the pooled k (in units of sum mu^2)
    max_k: float = 3.0


@dataclass
class Expected:
    """Expected counts for the target days, per series, and the negative-binomial k."""

    mu: np.ndarray        # (S, H) expected count per target day
    k: np.ndarray         # (S,)
    baseline_total: np.ndarray  # (S,) cases in the baseline window
    trend: np.ndarray     # (S,) fitted weekly log-trend kept (0 where dropped)


def dow_factors(counts_by_dow: np.ndarray, prior: np.ndarray | None = None, strength: float = 20.0) -> np.ndarray:
    """Day-of-week multipliers (mean 1 over the week) from counts per weekday (G, 7), Monday first.

    Each row is shrunk toward ``prior`` (G, 7) (default: flat) with ``strength`` pseudo-cases per day.
    """
    counts = np.atleast_2d(np.asarray(counts_by_dow, dtype=float))
    base = np.ones_like(counts) if prior is None else np.atleast_2d(np.asarray(prior, dtype=float))
    base = base / np.maximum(base.mean(axis=1, keepdims=True), 1e-12)
    mean = counts.mean(axis=1, keepdims=True)
    shrunk = (counts + strength * base) / (mean + strength)
    return shrunk / np.maximum(shrunk.mean(axis=1, keepdims=True), 1e-12)


def _anscombe(y: np.ndarray, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    mu = np.maximum(mu, 1e-9)
    return 1.5 * (np.cbrt(y) ** 2 - np.cbrt(mu) ** 2) / (mu ** (1 / 6) * np.sqrt(phi))


def _fit_level_trend(y, off, x, w, with_trend: bool, iters: int = 8):
    """Batched Poisson IRLS for log mu = off + a + b x (b = 0 when not with_trend). Returns a, b, se_b."""
    s = y.shape[0]
    tot = (w * y).sum(axis=1)
    expo = (w * np.exp(off)).sum(axis=1)
    a = np.log(np.maximum(tot, 0.2) / np.maximum(expo, 1e-12))
    b = np.zeros(s)
    if not with_trend:
        return a, b, np.full(s, np.inf)
    for _ in range(iters):
        eta = off + a[:, None] + b[:, None] * x
        mu = np.exp(eta)
        ww = w * mu
        z = a[:, None] + b[:, None] * x + (y - mu) / np.maximum(mu, 1e-9)
        s0, s1, s2 = ww.sum(1), (ww * x).sum(1), (ww * x * x).sum(1)
        t0, t1 = (ww * z).sum(1), (ww * x * z).sum(1)
        det = s0 * s2 - s1 * s1
        ok = det > 1e-9
        a = np.where(ok, (s2 * t0 - s1 * t1) / np.where(ok, det, 1), a)
        b = np.where(ok, (s0 * t1 - s1 * t0) / np.where(ok, det, 1), 0.0)
        b = np.clip(b, -1.0, 1.0)
    mu = np.exp(off + a[:, None] + b[:, None] * x)
    ww = w * mu
    s0, s1, s2 = ww.sum(1), (ww * x).sum(1), (ww * x * x).sum(1)
    det = s0 * s2 - s1 * s1
    se_b = np.sqrt(np.where(det > 1e-9, s0 / np.where(det > 1e-9, det, 1), np.inf))
    return a, b, se_b


def fit_expected(base_y: np.ndarray, base_dow: np.ndarray, base_t: np.ndarray, dow_f: np.ndarray,
                 target_dow: np.ndarray, target_t: np.ndarray, params: SpikeParams = SpikeParams()) -> Expected:
    """Fit every series' baseline and predict the target days.

    base_y (S, n) counts on the baseline days; base_dow (n,) weekday 0-6 of those days; base_t (n,)
    and target_t (H,) day numbers; dow_f (S, 7) or (7,) day-of-week factors; target_dow (H,).
    """
    y = np.asarray(base_y, dtype=float)
    s, n = y.shape
    dow_f = np.broadcast_to(np.asarray(dow_f, dtype=float), (s, 7))
    off = np.log(np.maximum(dow_f[:, base_dow], 1e-9))
    t_ref = float(np.max(target_t)) if len(target_t) else float(np.max(base_t))
    x = (np.asarray(base_t, dtype=float) - t_ref) / 7.0
    xt = (np.asarray(target_t, dtype=float) - t_ref) / 7.0
    w = np.ones_like(y)
    total = y.sum(axis=1)
    with_trend = bool(n >= 21)
    for step in range(2):
        a, b, se_b = _fit_level_trend(y, off, x, w, with_trend)
        keep = with_trend & (np.abs(b) > 2 * se_b) & (total >= n)  # at least ~1 case a day
        a0, _, _ = _fit_level_trend(y, off, x, w, False)
        a = np.where(keep, a, a0)
        b = np.where(keep, b, 0.0)
        mu = np.exp(off + a[:, None] + b[:, None] * x)
        resid_df = max(n - 2, 1)
        phi = np.maximum(1.0, ((y - mu) ** 2 / np.maximum(mu, 1e-9) * w).sum(1) / resid_df)
        if step == 0:
            r = _anscombe(y, mu, phi[:, None])
            w = np.where(r > REWEIGHT_AT, 1.0 / np.maximum(r, REWEIGHT_AT) ** 2, 1.0)
            w = w * (n / np.maximum(w.sum(axis=1, keepdims=True), 1e-9))
    # Farrington: no trend extrapolation beyond the largest baseline count.
    mu_t = np.exp(np.log(np.maximum(dow_f[:, target_dow], 1e-9)) + a[:, None] + b[:, None] * xt)
    cap = np.maximum(y.max(axis=1), 1.0)[:, None]
    flat_t = np.exp(np.log(np.maximum(dow_f[:, target_dow], 1e-9)) + a0[:, None])
    mu_t = np.where((b[:, None] > 0) & (mu_t > cap), np.maximum(flat_t, np.minimum(mu_t, cap)), mu_t)
    # negative-binomial k by moments, shrunk toward the pooled k
    num = (w * ((y - mu) ** 2 - mu)).sum(1)
    den = (w * mu ** 2).sum(1)
    k_pool = max(num.sum() / max(den.sum(), 1e-9), 0.0)
    k = np.clip((num + params.k_prior_weight * k_pool) / (den + params.k_prior_weight), 0.0, params.max_k)
    k = k + 1.0 / (total + 1.0)  # uncertainty of the fitted level
    return Expected(mu=mu_t, k=k, baseline_total=total, trend=b)


def nb_upper_p(y, mu, k) -> np.ndarray:
    """P(Y >= y) for Y negative binomial with mean mu and var mu + k mu^2 (Poisson as k -> 0)."""
    y, mu, k = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(mu, dtype=float), np.asarray(k, dtype=float))
    mu = np.maximum(mu, 1e-9)
    k = np.maximum(k, 1e-8)
    size = 1.0 / k
    p = size / (size + mu)
    out = stats.nbinom.sf(y - 1, size, p)
    return np.where(y <= 0, 1.0, out)


def nb_quantile(q, mu, k) -> np.ndarray:
    mu = np.maximum(np.asarray(mu, dtype=float), 1e-9)
    k = np.maximum(np.asarray(k, dtype=float), 1e-8)
    size = 1.0 / k
    return stats.nbinom.ppf(q, size, size / (size + mu))


def sum_k(mu: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and k of a sum of independent NB days (matched variance): (S, w) means, (S,) k."""
    total = mu.sum(axis=1)
    var = total + k * (mu ** 2).sum(axis=1)
    return total, np.maximum(var - total, 0.0) / np.maximum(total ** 2, 1e-12)


def is_alarm(observed, expected, p, alpha, params: SpikeParams) -> np.ndarray:
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return ((np.asarray(p) < alpha) & (observed >= params.min_count)
            & (observed - expected >= params.min_excess) & (observed >= params.min_ratio * expected))


@dataclass
class DayTest:
    """The tests of one day for every series: per window, observed, expected, p, alarm; method."""

    observed: dict[int, np.ndarray]
    expected: dict[int, np.ndarray]
    p: dict[int, np.ndarray]
    alarm: np.ndarray          # (S,) any window alarmed
    method: str                # "nb" or "ears"
    k: np.ndarray


def test_day(y: np.ndarray, days: np.ndarray, d: int, dow_f: np.ndarray, alpha: float,
             params: SpikeParams = SpikeParams(), first_day: int = 0) -> DayTest:
    """Test day index ``d`` of the daily counts ``y`` (S, T) whose dates are ``days`` (datetime64[D]).

    ``first_day`` is the first index with data (history before it is unknown, not zero).
    """
    y = np.asarray(y, dtype=float)
    dow = weekday(days)
    history = d - first_day
    s = y.shape[0]
    observed, expected, p = {}, {}, {}
    if history - params.guard_days >= params.min_history_days:
        end = d - params.guard_days  # baseline: [start, end)
        start = max(first_day, end - params.baseline_days)
        idx = np.arange(start, end)
        wmax = max(params.windows)
        tgt = np.arange(d - wmax + 1, d + 1)
        exp = fit_expected(y[:, idx], dow[idx], idx, dow_f, dow[tgt], tgt, params)
        for w in params.windows:
            mu_w, k_w = sum_k(exp.mu[:, wmax - w:], exp.k)
            obs = y[:, d - w + 1: d + 1].sum(axis=1)
            observed[w], expected[w] = obs, mu_w
            p[w] = nb_upper_p(obs, mu_w, k_w)
        method, k = "nb", exp.k
    else:
        # Little history: EARS C2 (1 day) and C3 (3 days) decide, and the count must also be
        # improbable under a Poisson-gamma around C2's 7-day baseline mean, so that EARS' known
        # flood (a quiet series alarms at its first few cases) stays within the alarm budget.
        seg = y[:, first_day: d + 1]
        if seg.shape[1] >= 10:
            mean, sd = ears.ears_expected(seg)
            m1 = mean[:, -1]
            k_short = 0.1 + 1.0 / (7.0 * m1 + 1.0)
            gate1 = np.nan_to_num((seg[:, -1] - m1) / sd[:, -1], nan=-np.inf) > ears.THRESHOLD["C2"]
            gate3 = np.nan_to_num(ears.c3(seg)[:, -1], nan=-np.inf) > ears.THRESHOLD["C3"]
            obs3, mu3 = seg[:, -3:].sum(1), mean[:, -3:].sum(1)
            observed[1], expected[1] = seg[:, -1], m1
            p[1] = np.where(gate1, nb_upper_p(seg[:, -1], m1, k_short), 1.0)
            observed[3], expected[3] = obs3, mu3
            p[3] = np.where(gate3, nb_upper_p(obs3, mu3, k_short), 1.0)
        else:
            observed[1], expected[1], p[1] = y[:, d], np.full(s, np.nan), np.ones(s)
        method, k = "ears", np.zeros(s)
    alarm = np.zeros(s, dtype=bool)
    for w in observed:
        alarm |= is_alarm(observed[w], expected[w], p[w], alpha, params)
    return DayTest(observed, expected, p, alarm, method, k)


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 for datetime64[D] dates."""
    return ((np.asarray(days, dtype="datetime64[D]").astype(np.int64) - 4) % 7).astype(np.int64)


def cumulative_share(counts_by_minute_bin: np.ndarray) -> np.ndarray:
    """Share of a day's cases reported by the end of each bin: (G, B) counts -> (G, B) cumulative shares."""
    c = np.asarray(counts_by_minute_bin, dtype=float) + 0.5  # no bin is impossible
    return np.cumsum(c, axis=-1) / c.sum(axis=-1, keepdims=True)


def intraday_test(so_far: np.ndarray, mu_day: np.ndarray, share: np.ndarray, k: np.ndarray, alpha: float,
                  params: SpikeParams = SpikeParams()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Today's count so far against the expected count to this time of day.

    so_far (S, C) counts at C checkpoints; share (S, C) expected share of the day by each checkpoint.
    Returns (alarm (S,) at any checkpoint, expected (S, C), p (S, C)).
    """
    expected = np.asarray(mu_day, dtype=float)[:, None] * share
    p = nb_upper_p(so_far, expected, np.asarray(k, dtype=float)[:, None])
    alarm = is_alarm(so_far, expected, p, alpha, params).any(axis=1)
    return alarm, expected, p


def runs_start(alarm_days: list, day) -> object | None:
    """First day of the unbroken run of alarm days that ends at ``day`` (None if ``day`` is not an alarm).

    ``alarm_days`` is a collection of consecutive-comparable days (datetime64[D] or date)."""
    present = set(np.asarray(list(alarm_days), dtype="datetime64[D]").tolist())
    cur = np.datetime64(day, "D")
    if cur.tolist() not in present:
        return None
    while (cur - np.timedelta64(1, "D")).tolist() in present:
        cur = cur - np.timedelta64(1, "D")
    return cur


# --- from case facts to rises -------------------------------------------------------------------
# A series is a region (street or community) x a category (major or minor). Series nest in
# families (street, major): one situation in a community's minor category also lifts its
# community x major, street x minor and street x major series, and must raise one alert.

LEVELS = (("street", "major"), ("street", "category_code"), ("community", "major"), ("community", "category_code"))


@dataclass(frozen=True)
class Rise:
    """One alarmed series on one day."""

    street: str
    major: str
    region: str
    category: str
    day: np.datetime64
    window: int
    observed: float
    expected: float
    p: float
    method: str
    intraday: bool = False
    alpha: float = 0.0      # the level's per-test alpha, unscaled (0: not recorded)

    @property
    def family(self) -> tuple[str, str]:
        return self.street, self.major


def count_cube(frame, keys: list[str], days: np.ndarray, weight: str | None = None) -> tuple[list[tuple], np.ndarray]:
    """Counts per series (the distinct values of ``keys``) and day: (series keys, (S, T) array).

    One row is one case, or ``frame[weight]`` cases when the frame is already grouped."""
    days = np.asarray(days, dtype="datetime64[D]")
    if not len(frame):
        return [], np.zeros((0, len(days)))
    sub = frame.dropna(subset=keys)
    d = sub["day"].values.astype("datetime64[D]")
    inside = (d >= days[0]) & (d <= days[-1])
    sub, d = sub[inside], d[inside]
    if not len(sub):
        return [], np.zeros((0, len(days)))
    combined = np.zeros(len(sub), dtype=np.int64)
    levels = []
    for col in keys:
        idx, uniq_col = pd.factorize(sub[col].astype(str), sort=True)
        combined = combined * len(uniq_col) + idx
        levels.append(np.asarray(uniq_col, dtype=object))
    uniq, inv = np.unique(combined, return_inverse=True)
    parts, rest = [], uniq
    for lv in reversed(levels):
        parts.append(lv[rest % len(lv)])
        rest = rest // len(lv)
    series = list(zip(*reversed(parts)))
    t = (d - days[0]).astype(np.int64)
    y = np.zeros((len(uniq), len(days)))
    np.add.at(y, (inv.ravel(), t), 1.0 if weight is None else sub[weight].to_numpy(dtype=float))
    return series, y


def _dow_by_category(frame, cat_col: str, days: np.ndarray, baseline: np.ndarray) -> dict[str, np.ndarray]:
    """Day-of-week factors per category over the baseline days; minors shrunk toward their major."""
    sub = frame[np.isin(frame["day"].values.astype("datetime64[D]"), baseline)].dropna(subset=["major"])
    n_days = np.bincount(weekday(baseline), minlength=7).astype(float)
    n_days[n_days == 0] = 1.0
    wd = weekday(sub["day"].values)

    def per_day(col: str) -> tuple[list[str], np.ndarray]:
        codes, uniq = pd.factorize(sub[col].astype(str), sort=True)
        counts = np.zeros((len(uniq), 7))
        np.add.at(counts, (codes, wd), 1.0)
        return [str(u) for u in uniq], counts / n_days * 7

    majors, counts = per_day("major")
    major_f = dict(zip(majors, dow_factors(counts, strength=5.0))) if majors else {}
    if cat_col == "major":
        return major_f
    cats, counts = per_day("category_code")
    if not cats:
        return {}
    prior = np.array([major_f.get(c[:2], np.ones(7)) for c in cats])
    return dict(zip(cats, dow_factors(counts, prior=prior, strength=10.0)))


def _series_dow(keys: list[tuple], cat_col: str, factors: dict[str, np.ndarray]) -> np.ndarray:
    return np.array([factors.get(k[1], factors.get(k[1][:2], np.ones(7))) for k in keys]).reshape(len(keys), 7)


def _level_alpha(level: tuple[str, str], alpha: dict | float) -> float:
    return alpha if isinstance(alpha, float) else alpha[level]


# Per-test levels, tuned on the honest 90-day synthetic county (two seeds): about 0.4 daily rise
# alerts per street-week, and about 90 % of injected 2-10 SD outbreaks found (docs in case_detectors).
DEFAULT_ALPHA = {("street", "major"): 5e-4, ("street", "category_code"): 1.25e-4,
                 ("community", "major"): 1.25e-4, ("community", "category_code"): 2.5e-5}


def daily_rises(frame, day, params: SpikeParams = SpikeParams(), alpha=None, scale: float = 1.0) -> list[Rise]:
    """Rises on the complete local ``day`` (datetime64[D]) from case facts (see data_access.feeds_cases):
    the series that alarm at their level's alpha times ``scale`` (1: the alphas as given), each with its
    strongest window and its level's unscaled alpha in ``Rise.alpha``. The rises at any smaller scale
    are ``rises_at`` of these: one pass at the largest scale serves every scale (``calibrated_scale``)."""
    alpha = DEFAULT_ALPHA if alpha is None else alpha
    day = np.datetime64(day, "D")
    if not len(frame):
        return []
    first = frame["day"].values.astype("datetime64[D]").min()
    if first > day:
        return []
    start = max(first, day - np.timedelta64(params.baseline_days + params.guard_days + max(params.windows), "D"))
    days = np.arange(start, day + np.timedelta64(1, "D"), dtype="datetime64[D]")
    d = len(days) - 1
    first_idx = int((first - start).astype(np.int64)) if first > start else 0
    baseline = days[max(0, d - params.guard_days - params.baseline_days): max(0, d - params.guard_days)]
    out: list[Rise] = []
    for level in LEVELS:
        region_col, cat_col = level
        keys, y = count_cube(frame, [region_col, cat_col], days)
        if not keys:
            continue
        dow_f = _series_dow(keys, cat_col, _dow_by_category(frame, cat_col, days, baseline))
        level_alpha = _level_alpha(level, alpha)
        res = test_day(y, days, d, dow_f, level_alpha * scale, params, first_day=first_idx)
        for i in np.nonzero(res.alarm)[0]:
            best = min(res.p, key=lambda w: res.p[w][i] if is_alarm(res.observed[w][i], res.expected[w][i],
                                                                    res.p[w][i], 1.0, params) else 2.0)
            region, cat = keys[i]
            out.append(Rise(region[:9], cat[:2], region, cat, day, best, float(res.observed[best][i]),
                            float(res.expected[best][i]), float(res.p[best][i]), res.method, alpha=level_alpha))
    return out


# --- the alphas calibrated to a deployment's own history ----------------------------------------
# The default alphas were set on the synthetic county for about 0.4 rise alerts per street-week. A
# deployment whose series are more dispersed (cases entered in batches, a backlog on one day) raises
# far fewer at the same alphas and misses what it could find within its budget (real NYC data: 0.14
# alerts per district-week, 67 % of injected outbreaks found; with the alphas x64, 0.40 and 85 %,
# docs/benchmarks.md section 10). So the alphas are scaled up, per deployment and day, as far as the
# alerts the last weeks would have raised stay within a target rate. Never down: the defaults are
# the floor the synthetic county was tuned at, and a busy week must not blind the detector.
ALPHA_SCALES = tuple(float(2 ** (i / 2)) for i in range(13))   # 1, 1.41, 2, ... 64
CALIBRATION_DAYS = 21      # the complete days before the day tested (within the engine's 84 days of facts)
MIN_CALIBRATION_DAYS = 14  # with fewer days tested by the negative binomial, the alphas stay as given


def rises_at(candidates: list[Rise], scale: float) -> list[Rise]:
    """The rises among ``candidates`` (``daily_rises`` at a larger scale) at ``scale``."""
    return [r for r in candidates if r.p < r.alpha * scale]


def alerts_at_scale(days_candidates: list[list[Rise]], scale: float) -> int:
    """The rise alerts ``days_candidates`` (one list per consecutive day) make at ``scale``: the engine's
    grouping, one alert per family (street x major) and run of consecutive alarm days."""
    n, prev = 0, set()
    for cands in days_candidates:
        fams = {r.family for r in rises_at(cands, scale)}
        n += len(fams - prev)
        prev = fams
    return n


def calibrated_scale(days_candidates: list[list[Rise]], streets: int, target_per_street_week: float,
                     scales: tuple[float, ...] = ALPHA_SCALES) -> float:
    """The largest of ``scales`` whose alerts on the calibration days come to at most the target per
    street and week (1 when none does, when the target is 0, or without enough days of candidates
    from ``daily_rises(..., scale=max(scales))``)."""
    if target_per_street_week <= 0 or streets <= 0 or len(days_candidates) < MIN_CALIBRATION_DAYS:
        return 1.0
    street_weeks = streets * len(days_candidates) / 7.0
    best = 1.0
    for s in sorted(scales):
        if alerts_at_scale(days_candidates, s) <= target_per_street_week * street_weeks:
            best = max(best, s)
        else:
            break
    return best


def calibration_days(frame, day, params: SpikeParams = SpikeParams()) -> list[np.datetime64]:
    """The complete days before ``day`` whose tests calibrate its scale: up to ``CALIBRATION_DAYS``,
    each with a full negative-binomial history in ``frame`` (EARS days are not a deployment's steady state)."""
    if not len(frame):
        return []
    first = frame["day"].values.astype("datetime64[D]").min()
    day = np.datetime64(day, "D")
    need = np.timedelta64(params.guard_days + params.min_history_days, "D")
    return [d for d in (day - np.timedelta64(i, "D") for i in range(CALIBRATION_DAYS, 0, -1)) if d - first >= need]


def rise_scale(frame, day, target_per_street_week: float, params: SpikeParams = SpikeParams(), alpha=None,
               candidates=None) -> float:
    """The alpha scale for testing ``day``: calibrated on the rises the days before it would have raised
    (``candidates(day)``, default ``daily_rises`` at the largest scale, which a caller may memoise)."""
    if target_per_street_week <= 0:
        return 1.0
    if candidates is None:
        def candidates(d):
            return daily_rises(frame, d, params, alpha, max(ALPHA_SCALES))
    days = calibration_days(frame, day, params)
    return calibrated_scale([candidates(d) for d in days], active_streets(frame, days), target_per_street_week)


def active_streets(frame, days: list[np.datetime64]) -> int:
    """Streets with at least one case on ``days``: the street-weeks of a calibration."""
    if not len(frame) or not days:
        return 0
    d = frame["day"].values.astype("datetime64[D]")
    sel = (d >= days[0]) & (d <= days[-1])
    return int(frame.loc[sel, "street"].dropna().nunique())


def intraday_rises(frame, today, now_minute: int, params: SpikeParams = SpikeParams(), alpha=None,
                   bin_minutes: int = 30, scale: float = 1.0) -> list[Rise]:
    """Rises of today so far: at each completed ``bin_minutes`` step and now, the count since midnight
    against the expected count to that time of day (the series' expected day x its hour profile);
    every level's alpha times ``scale``, as the day's complete-day rises."""
    alpha = DEFAULT_ALPHA if alpha is None else alpha
    today = np.datetime64(today, "D")
    if not len(frame) or now_minute <= 0:
        return []
    first = frame["day"].values.astype("datetime64[D]").min()
    start = max(first, today - np.timedelta64(params.baseline_days + params.guard_days, "D"))
    days = np.arange(start, today + np.timedelta64(1, "D"), dtype="datetime64[D]")
    d = len(days) - 1
    first_idx = int((first - start).astype(np.int64)) if first > start else 0
    if d - first_idx - params.guard_days < params.min_history_days:
        return []  # EARS has no intraday form; with little history, wait for the complete day
    lo, hi = max(0, d - params.guard_days - params.baseline_days), d - params.guard_days
    idx = np.arange(lo, hi)
    baseline = days[idx]
    dow = weekday(days)
    n_bins = 24 * 60 // bin_minutes
    checkpoints = np.append(np.arange(bin_minutes, now_minute + 1, bin_minutes), now_minute)
    checkpoints = np.unique(checkpoints[checkpoints > 0])
    hist = frame[np.isin(frame["day"].values.astype("datetime64[D]"), baseline)].dropna(subset=["major"])
    weekend_today = dow[d] >= 5
    same_kind = (weekday(hist["day"].values) >= 5) == weekend_today
    hist = hist[same_kind]
    bins = (hist["minute_of_day"].values // bin_minutes).astype(np.int64)
    today_rows = frame[frame["day"].values.astype("datetime64[D]") == today]
    out: list[Rise] = []
    for level in LEVELS:
        region_col, cat_col = level
        keys, y = count_cube(frame, [region_col, cat_col], days)
        if not keys:
            continue
        dow_f = _series_dow(keys, cat_col, _dow_by_category(frame, cat_col, days, baseline))
        exp = fit_expected(y[:, idx], dow[idx], idx, dow_f, dow[[d]], np.array([d]), params)
        # hour profile per major (county-wide, same kind of day)
        profiles = {}
        for major in {k[1][:2] for k in keys}:
            counts = np.bincount(bins[hist["major"].values == major], minlength=n_bins)[:n_bins]
            cum = cumulative_share(counts)
            edges = np.arange(1, n_bins + 1) * bin_minutes
            profiles[major] = np.interp(checkpoints, np.concatenate([[0], edges]), np.concatenate([[0.0], cum]))
        share = np.array([profiles[k[1][:2]] for k in keys])
        sub = today_rows.dropna(subset=[region_col, cat_col])
        code = (sub[region_col].astype(str) + "|" + sub[cat_col].astype(str)).values
        pos = {f"{a}|{b}": i for i, (a, b) in enumerate(keys)}
        so_far = np.zeros((len(keys), len(checkpoints)))
        minute = sub["minute_of_day"].values
        for j, cp in enumerate(checkpoints):
            sel = code[minute < cp] if j < len(checkpoints) - 1 or cp != now_minute else code
            for kc, n in zip(*np.unique(sel, return_counts=True)):
                if kc in pos:
                    so_far[pos[kc], j] = n
        a = _level_alpha(level, alpha) * scale / 10.0  # many looks a day
        alarm, expected, p = intraday_test(so_far, exp.mu[:, 0], share, exp.k, a, params)
        for i in np.nonzero(alarm)[0]:
            j = int(np.argmin(np.where(is_alarm(so_far[i], expected[i], p[i], a, params), p[i], 2.0)))
            region, cat = keys[i]
            out.append(Rise(region[:9], cat[:2], region, cat, today, 0, float(so_far[i, j]), float(expected[i, j]),
                            float(p[i, j]), "nb", intraday=True, alpha=_level_alpha(level, alpha)))
    return out
