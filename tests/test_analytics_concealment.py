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


def test_honest_communities_are_not_flagged():
    p, u = _honest(np.random.default_rng(1))
    assert not concealment.own_history(p, u, PARAMS).flagged.any()
    assert not concealment.peer_deficit(p, u, PARAMS).flagged.any()


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
