"""Next week's hotspot grids (热点网格预测): the grids expected to report the most cases.

A grid's score is its expected cases for the next 7 days, in two layers:

* the long-run rate: an exponentially weighted daily rate over up to ``history_days`` (half-life
  ``half_life_days``) shrunk toward its community's rate per grid with ``prior_cases`` pseudo
  cases (empirical Bayes: a quiet grid with two reports is not a hotspot);
* the recent rate: the last weeks (half-life ``recent_half_life``) with the long-run rate as its
  gamma prior worth ``recent_prior_days`` days. A construction site or a new night market that
  has kept a grid busy for a week or two moves it up at once; one busy day barely does.

Day counts far above the grid's long-run rate (a storm floods the same low spots for a day) are
winsorized at ``winsor_z`` Poisson sd first: they are real but do not last into next week.
Naive rankings (last week's counts, the last 4 weeks' counts) are what it has to beat;
``naive_rankings`` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HotspotParams:
    history_days: int = 84
    half_life_days: float = 42.0
    prior_cases: float = 3.0
    top_n: int = 20
    recent_half_life: float = 7.0
    recent_prior_days: float = 14.0   # inf: the long-run rate alone
    winsor_z: float = 4.0             # inf: no winsorizing


@dataclass
class Hotspots:
    grids: list[str]          # best first
    expected_week: np.ndarray  # expected cases over the next 7 days
    rank: np.ndarray           # 1-based


def grid_scores(y: np.ndarray, grids: list[str], params: HotspotParams = HotspotParams(), first_day: int = 0) -> np.ndarray:
    """Expected cases per grid over the next 7 days from daily counts y (G, T)."""
    y = np.asarray(y, dtype=float)[:, max(first_day, y.shape[1] - params.history_days):]
    g, n = y.shape
    if n == 0:
        return np.zeros(g)
    rate = _long_run_rate(y, grids, params)
    if np.isfinite(params.winsor_z):
        y = np.minimum(y, rate[:, None] + params.winsor_z * np.sqrt(rate[:, None]) + 1.0)
        rate = _long_run_rate(y, grids, params)
    if np.isfinite(params.recent_prior_days):
        w = 0.5 ** ((n - 1 - np.arange(n)) / params.recent_half_life)
        rate = ((y * w).sum(1) + params.recent_prior_days * rate) / (w.sum() + params.recent_prior_days)
    return 7.0 * rate


def _long_run_rate(y: np.ndarray, grids: list[str], params: HotspotParams) -> np.ndarray:
    n = y.shape[1]
    weight = 0.5 ** ((n - 1 - np.arange(n)) / params.half_life_days)
    exposure = weight.sum()
    cases = (y * weight).sum(1)
    community = np.array([code[:12] for code in grids])
    comm_rate = {}
    for code in np.unique(community):
        sel = community == code
        comm_rate[code] = cases[sel].sum() / (exposure * sel.sum())
    prior_rate = np.array([comm_rate[code] for code in community])
    prior_exposure = params.prior_cases / np.maximum(prior_rate, 1e-9)
    return (cases + params.prior_cases) / (exposure + prior_exposure)


def top_hotspots(y: np.ndarray, grids: list[str], params: HotspotParams = HotspotParams(), first_day: int = 0) -> Hotspots:
    scores = grid_scores(y, grids, params, first_day)
    order = np.argsort(-scores, kind="stable")[: params.top_n]
    return Hotspots([grids[i] for i in order], scores[order], np.arange(1, len(order) + 1))


def naive_rankings(y: np.ndarray, top_n: int) -> dict[str, np.ndarray]:
    """Indices of the top grids by last week's and by the last 4 weeks' counts."""
    y = np.asarray(y, dtype=float)
    return {"last_week": np.argsort(-y[:, -7:].sum(1), kind="stable")[:top_n],
            "last_4_weeks": np.argsort(-y[:, -28:].sum(1), kind="stable")[:top_n]}


def hit_rate(predicted: np.ndarray, actual_week: np.ndarray, top_n: int) -> float:
    """Share of the predicted top grids that are among the actual top ``top_n`` of the week."""
    actual = set(np.argsort(-np.asarray(actual_week, dtype=float), kind="stable")[:top_n].tolist())
    return len(actual.intersection(np.asarray(predicted).tolist())) / max(top_n, 1)
