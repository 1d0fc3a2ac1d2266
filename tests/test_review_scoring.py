"""The composite score and ranking (dashboard/analytics/scoring.py) and its configuration ([review.score])."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pytest import approx

from dashboard.analytics.scoring import Rule, part, rank_siblings, ranks, rules_json, score, sibling_median
from dashboard.core.config import DEFAULT_SCORE_RULES, ReviewSettings, Settings

CONTRACT = [Rule("on_time_rate", 30, 0.95, "higher"), Rule("closed_rate", 15, 0.98, "higher"),
            Rule("satisfied_rate", 20, 0.95, "higher"), Rule("return_rate", 10, 0.05, "lower"),
            Rule("rework_rate", 10, 0.05, "lower"), Rule("reports_per_worker", 15, None, "higher")]


def test_parts_are_capped_and_zero_targets_or_values_score_the_cap():
    assert part(0.5, 0.95, "higher") == approx(0.5 / 0.95)
    assert part(2.0, 0.95, "higher") == 1.25 and part(0.0, 0.0, "higher") == 1.25
    assert part(0.10, 0.05, "lower") == approx(0.5) and part(0.0, 0.05, "lower") == 1.25
    assert part(0.01, 0.05, "lower") == 1.25
    assert part(None, 0.95, "higher") is None and part(3.0, None, "higher") is None


def test_the_score_is_the_weighted_mean_of_the_non_null_parts():
    figures = {"on_time_rate": 0.95, "closed_rate": 0.49, "satisfied_rate": None, "return_rate": 0.10,
               "rework_rate": None, "reports_per_worker": 4.0}
    value, parts = score(figures, CONTRACT, {"on_time_rate": 0.95, "closed_rate": 0.98, "satisfied_rate": 0.95,
                                             "return_rate": 0.05, "rework_rate": 0.05, "reports_per_worker": 2.0})
    # parts 1.0 (30), 0.5 (15), 0.5 (10), 1.25 (15); satisfied and rework are NULL.
    assert parts["satisfied_rate"] is None and parts["reports_per_worker"] == 1.25
    assert value == approx(100 * (30 * 1.0 + 15 * 0.5 + 10 * 0.5 + 15 * 1.25) / (30 + 15 + 10 + 15))
    assert score({}, CONTRACT, {}) == (None, dict.fromkeys(r.figure for r in CONTRACT))


def test_the_discovery_target_is_the_median_of_siblings_with_workers():
    siblings = [{"workers": 2, "reports_per_worker": 1.0}, {"workers": 1, "reports_per_worker": 4.0},
                {"workers": 0, "reports_per_worker": None}, {"workers": 3, "reports_per_worker": 2.0},
                {"workers": 5, "reports_per_worker": 3.0}]
    assert sibling_median(siblings, "reports_per_worker") == 2.5  # 1 2 3 4: mean of the middle two
    assert sibling_median(siblings[:1] + siblings[2:4], "reports_per_worker") == 1.5
    assert sibling_median([{"workers": 0, "reports_per_worker": None}], "reports_per_worker") is None


def test_ranks_are_1_2_2_4_and_ties_are_within_1e_9():
    assert ranks({"a": 90.0, "b": 80.0, "c": 80.0 + 5e-10, "d": 70.0}) == {"a": 1, "b": 2, "c": 2, "d": 4}
    assert ranks({"a": 80.0, "b": 80.0 + 2e-9}) == {"b": 1, "a": 2}
    assert ranks({"a": None, "b": 1.0}) == {"b": 1}


def test_siblings_with_due_under_10_are_unranked_and_rank_change_compares_with_the_previous_period():
    def f(on_time, due):
        return {"on_time_rate": on_time, "due": due}

    rules = [Rule("on_time_rate", 1, 1.0, "higher")]
    current = {"a": f(0.9, 10), "b": f(0.8, 12), "c": f(0.8, 30), "d": f(0.7, 10), "e": f(1.0, 9)}
    previous = {"a": f(0.5, 10), "b": f(0.9, 10), "c": f(0.8, 5), "d": f(0.6, 10), "e": f(1.0, 20)}
    got, goal = rank_siblings(current, previous, rules)
    # Previously: e 1.0, b 0.9, d 0.6, a 0.5 ranked 1 2 3 4 (c had due 5). Now a 1, b c 2, d 4, e unranked.
    assert {k: (v["rank"], v["unranked"], v["rank_change"]) for k, v in got.items()} == {
        "a": (1, False, 3), "b": (2, False, 0), "c": (2, False, None), "d": (4, False, -1),
        "e": (None, True, None),  # 样本不足 this period
    }
    assert got["e"]["score"] == approx(100.0) and goal == {"on_time_rate": 1.0}
    assert all(v["rank_compared"] for v in got.values())
    # A previous period the history does not cover is no comparison: no rank moved, none is new.
    alone, _ = rank_siblings(current, None, rules)
    assert {k: (v["rank"], v["rank_change"], v["rank_compared"]) for k, v in alone.items()} == {
        "a": (1, None, False), "b": (2, None, False), "c": (2, None, False), "d": (4, None, False),
        "e": (None, None, False)}


def test_rules_as_shown_give_the_median_target_used():
    shown = rules_json(CONTRACT, {"on_time_rate": 0.95, "reports_per_worker": 2.5})
    assert shown[0] == {"figure": "on_time_rate", "weight": 30, "target": 0.95, "better": "higher",
                        "target_rule": "fixed"}
    assert shown[-1]["target"] == 2.5 and shown[-1]["target_rule"] == "siblings_median"


def test_the_default_rules_are_the_contracts():
    got = {k: (r.weight, r.target, r.better) for k, r in Settings().review.score.items()}
    assert got == {"on_time_rate": (30, 0.95, "higher"), "closed_rate": (15, 0.98, "higher"),
                   "satisfied_rate": (20, 0.95, "higher"), "return_rate": (10, 0.05, "lower"),
                   "rework_rate": (10, 0.05, "lower"), "reports_per_worker": (15, "siblings_median", "higher")}
    assert set(DEFAULT_SCORE_RULES) == {r.figure for r in CONTRACT}


def test_a_toml_review_score_replaces_the_rules_and_bad_ones_fail_at_start(tmp_path, monkeypatch):
    toml = tmp_path / "gridwall.toml"
    toml.write_text('[review.score]\non_time_rate = {weight = 50, target = 0.9, better = "higher"}\n'
                    'urged = {weight = 5, target = 2, better = "lower"}\n', encoding="utf-8")
    monkeypatch.setenv("GRIDWALL_CONFIG", str(toml))
    assert {k: r.weight for k, r in Settings().review.score.items()} == {"on_time_rate": 50, "urged": 5}
    toml.write_text('[review.score]\nkpi = {weight = 5, target = 2, better = "lower"}\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown figures"):
        Settings()
    toml.write_text('[review.score]\nurged = {weight = -5, target = 2, better = "lower"}\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="negative"):
        Settings()
    with pytest.raises(ValidationError):
        ReviewSettings(score={"urged": {"weight": 1, "target": 2, "better": "sideways"}})
