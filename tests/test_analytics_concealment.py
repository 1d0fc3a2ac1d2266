"""Concealment (疑似瞒报漏报): a thinned community is named, honest ones are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analytics import concealment

PARAMS = concealment.ConcealmentParams()


def _honest(rng, n_comm=40, weeks=16, patrol=20.0, other=15.0):
    rate = rng.lognormal(0, 0.15, n_comm)
    level = rng.gamma(25, 1 / 25, weeks)  # county-wide busy and quiet weeks
    p = rng.poisson(patrol * rate[:, None] * level[None, :])
    u = rng.poisson(other * rate[:, None] * level[None, :])
    return p.astype(float), u.astype(float)


def test_honest_communities_are_rarely_flagged():
    # calibrated to about 4 % of honest communities per quarter of weekly looks: a single look flags
    # a few in a hundred, the peer test (a persistent deficit) none
    own = peers = 0
    for seed in range(1, 11):
        p, u = _honest(np.random.default_rng(seed))
        own += int(concealment.own_history(p, u, PARAMS).flagged.sum())
        peers += int(concealment.peer_deficit(p, u, PARAMS).flagged.sum())
    assert own <= 0.04 * 400 and peers == 0


def test_a_quarter_hidden_in_a_busy_community_is_caught_within_eight_weeks():
    # 40 patrol reports a week, a quarter hidden from week 16: 80 reports short after 8 weeks (sd 16)
    rng = np.random.default_rng(11)
    p, u = _honest(rng, weeks=24, patrol=40.0, other=30.0)
    p[2, 16:] = rng.binomial(p[2, 16:].astype(int), 0.74)
    caught = [bool(concealment.own_history(p[:, :w], u[:, :w], PARAMS).flagged[2]) for w in range(17, 25)]
    assert any(caught)
    first = 17 + caught.index(True)
    own = concealment.own_history(p[:, :first], u[:, :first], PARAMS)
    assert 0.6 < own.ratio[2] < 0.9 and own.expected[2] - own.observed[2] > 10


def test_the_tuned_drop_is_a_cusum_and_the_best_fitting_drop_a_glr():
    x, n, q0 = np.array([30.0, 50.0, 38.0]), np.array([100.0, 100.0, 100.0]), np.array([0.5, 0.5, 0.5])
    fixed = concealment._binomial_llr_fixed(x, n, q0, 0.75)
    best = concealment._binomial_llr_low(x, n, q0)
    assert fixed[1] == 0.0 and best[1] == 0.0                    # no drop: no evidence
    assert (fixed[[0, 2]] > 0).all() and (best[[0, 2]] >= fixed[[0, 2]]).all()   # the best fit is an upper bound
    glr = concealment.ConcealmentParams(design_keep=None, llr_threshold=5.0)
    rng = np.random.default_rng(3)
    p, u = _honest(rng)
    p[7, 10:] = rng.binomial(p[7, 10:].astype(int), 0.5)
    assert concealment.own_history(p, u, glr).flagged[7]


def test_a_thinned_community_is_named_with_its_gap():
    rng = np.random.default_rng(3)
    p, u = _honest(rng)
    p[7, 10:] = rng.binomial(p[7, 10:].astype(int), 0.5)  # hides half its patrol reports from week 10
    own = concealment.own_history(p, u, PARAMS)
    assert np.nonzero(own.flagged)[0].tolist() == [7]
    assert own.tau[7] in (9, 10, 11) and own.ratio[7] < 0.7 and own.expected[7] > own.observed[7]
    assert own.u_ratio[7] > own.ratio[7]


def test_fewer_problems_everywhere_in_a_community_is_not_concealment():
    rng = np.random.default_rng(3)
    p, u = _honest(rng)
    p[5, 10:] = rng.binomial(p[5, 10:].astype(int), 0.5)
    u[5, 10:] = rng.binomial(u[5, 10:].astype(int), 0.5)  # residents and cameras see less too
    assert not concealment.own_history(p, u, PARAMS).flagged[5]


def test_a_persistent_deficit_against_peers():
    rng = np.random.default_rng(4)
    p, u = _honest(rng)
    p[3] = rng.binomial(p[3].astype(int), 0.35)  # always low: own history shows no drop
    peers = concealment.peer_deficit(p, u, PARAMS)
    assert np.nonzero(peers.flagged)[0].tolist() == [3]
    assert peers.share[3] < peers.peer_share[3] and peers.expected[3] > peers.observed[3]


def test_weekly_matrix_from_channel_counts():
    counts = pd.DataFrame({"community": ["a", "a", "a", "b"], "week": np.array(["2026-11-02"] * 3 + ["2026-11-09"], dtype="datetime64[D]"),
                           "source": ["patrol", "hotline", "sensor", "video"], "n": [3, 2, 9, 4]})
    p, u = concealment.weekly_matrix(counts, ["a", "b"], np.array(["2026-11-02", "2026-11-09"], dtype="datetime64[D]"))
    assert p.tolist() == [[3, 0], [0, 0]] and u.tolist() == [[2, 0], [0, 4]]
