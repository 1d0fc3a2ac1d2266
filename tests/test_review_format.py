"""The review page's wording (layouts/review_format.py) and the 红黑榜 helpers of the composite score
(dashboard/analytics/scoring.py): pure functions, literal expectations."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.analytics import scoring
from dashboard.analytics.scoring import Rule, decisive_part, honour_rolls, rules_from_settings
from dashboard.core.config import ReviewSettings, ScoreRuleSetting
from data_access.review import FIGURE_KEYS, empty_figures
from layouts import review_format as fmt

SH = ZoneInfo("Asia/Shanghai")


def F(**kw) -> dict:
    """Period figures: the empty ones with some values set."""
    return {**empty_figures(), **kw}


# --- one figure -------------------------------------------------------------------------------------

def test_every_figure_of_the_contract_has_a_name_and_a_way_to_be_shown():
    assert set(fmt.HEADLINE_KEYS) == set(FIGURE_KEYS)
    for key in FIGURE_KEYS:
        assert fmt.figure_text(key, empty_figures()) in ("—", "0 件", "0 人"), key


def test_a_rate_shows_its_counts_beside_it_and_an_empty_denominator_shows_a_dash():
    assert fmt.figure_text("on_time_rate", F(on_time_rate=120 / 130, due=130)) == "92.3%（120/130）"
    assert fmt.figure_text("satisfied_rate", F(satisfied_rate=2 / 3, rated=3)) == "66.7%（2/3）"
    assert fmt.figure_text("return_rate", F(return_rate=None, dispatched=0)) == "—"
    assert fmt.figure_text("patrol_share", F(patrol_share=4 / 7, reported=7, by_source={"patrol": 4, "hotline": 3})) \
        == "57.1%（4/7）"
    assert fmt.figure_text("on_time_rate", None) == "—"


def test_counts_ratios_and_sources_are_worded_with_their_units():
    assert fmt.figure_text("reported", F(reported=7)) == "7 件"
    assert fmt.figure_text("workers", F(workers=3)) == "3 人"
    assert fmt.figure_text("median_close_hours", F(median_close_hours=42.0, closed=4)) == "42.0 小时（4件）"
    assert fmt.figure_text("reports_per_worker", F(reports_per_worker=2 / 3, workers=3)) == "0.67 件/人（2件/3人）"
    assert fmt.figure_text("reports_per_worker", F(reports_per_worker=None, workers=0)) == "—"
    assert fmt.figure_text("by_source", F(by_source={"hotline": 2, "patrol": 4, "odd": 1})) == \
        "网格员巡查 4 · 12345热线 2 · odd 1"
    assert fmt.figure_text("by_source", F(by_source={})) == "—"


def test_a_table_cell_splits_the_value_from_its_counts():
    assert fmt.cell_parts("closed_rate", F(closed_rate=0.8, due=5)) == ("80.0%", "（4/5）")
    assert fmt.cell_parts("reports_per_worker", F(reports_per_worker=1.755, workers=75)) == ("1.75", "（75人）")
    assert fmt.cell_parts("due", F(due=12)) == ("12", "")
    assert fmt.cell_parts("rework_rate", F(rework_rate=None)) == ("—", "")
    assert fmt.short_text("closed_rate", F(closed_rate=0.8, due=5)) == "80.0%（4/5）"


def test_a_rule_target_is_shown_as_a_value_and_a_siblings_median_with_the_value_it_resolved_to():
    assert fmt.target_text({"figure": "on_time_rate", "target": 0.95, "target_rule": "fixed"}) == "95.0%"
    assert fmt.target_text({"figure": "reports_per_worker", "target": 0.5, "target_rule": "siblings_median"}) == \
        "同级中位数（本期 0.50）"
    assert fmt.target_text({"figure": "reports_per_worker", "target": None, "target_rule": "siblings_median"}) == \
        "同级中位数（本期 —）"
    assert fmt.value_text("urged", 12.0) == "12"


# --- comparisons -------------------------------------------------------------------------------------

def test_a_count_changes_in_per_cent_only_from_at_least_ten():
    assert fmt.change("reported", F(reported=25), F(reported=20)) == fmt.Change("▲25.0%（+5 件）", None)
    assert fmt.change("reported", F(reported=15), F(reported=10)).text == "▲50.0%（+5 件）"
    assert fmt.change("reported", F(reported=7), F(reported=3)) == fmt.Change("▲4 件", None)
    assert fmt.change("reported", F(reported=1), F(reported=9)).text == "▼8 件"
    assert fmt.change("reported", F(reported=3), F(reported=0)).text == "▲3 件"
    assert fmt.change("reported", F(reported=3), F(reported=3)).text == "持平"


def test_better_and_worse_are_said_by_a_word_not_only_by_colour():
    worse = fmt.change("overdue_at_end", F(overdue_at_end=12), F(overdue_at_end=10))
    assert (worse.text, worse.verdict, worse.word) == ("▲20.0%（+2 件）", "worse", "变差")
    better = fmt.change("urged", F(urged=1), F(urged=3))
    assert (better.verdict, better.word) == ("better", "好转")
    same = fmt.change("urged", F(urged=3), F(urged=3))
    assert (same.verdict, same.word) == ("same", "持平")
    assert fmt.change("reported", F(reported=9), F(reported=3)).word == ""  # neither better nor worse


def test_a_rate_changes_in_percentage_points_from_two_denominators_of_at_least_ten():
    now, then = F(on_time_rate=18 / 20, due=20), F(on_time_rate=8 / 10, due=10)
    assert fmt.change("on_time_rate", now, then) == fmt.Change("▲10.0个百分点", "better")
    assert fmt.change("return_rate", F(return_rate=0.5, dispatched=10), F(return_rate=0.4, dispatched=10)) == \
        fmt.Change("▲10.0个百分点", "worse")
    assert fmt.change("on_time_rate", F(on_time_rate=0.5, due=10), F(on_time_rate=0.5, due=20)).text == "持平"


def test_a_rate_on_a_denominator_under_ten_shows_the_counts_and_no_verdict():
    change = fmt.change("on_time_rate", F(on_time_rate=0.4, due=5), F(on_time_rate=0.5, due=2))
    assert change == fmt.Change("2/5 对 1/2", None)
    assert "%" not in change.text
    assert fmt.change("on_time_rate", F(on_time_rate=19 / 20, due=20), F(on_time_rate=0.5, due=2)).text == \
        "19/20 对 1/2"


def test_a_missing_value_on_either_side_cannot_be_compared():
    assert fmt.change("satisfied_rate", F(satisfied_rate=None), F(satisfied_rate=1.0, rated=12)) == fmt.Change("—")
    assert fmt.change("median_close_hours", F(median_close_hours=3.0, closed=4), F()) == fmt.Change("—")
    assert fmt.change("reported", F(reported=3), None) == fmt.Change("—")
    assert fmt.change("by_source", F(by_source={"patrol": 1}), F()) == fmt.Change("—")


def test_a_ratio_changes_in_its_unit_with_per_cent_only_on_large_denominators():
    assert fmt.change("median_close_hours", F(median_close_hours=42.0, closed=4), F(median_close_hours=24.0, closed=1)) \
        == fmt.Change("▲18.0 小时", "worse")
    assert fmt.change("median_close_hours", F(median_close_hours=2.3, closed=2596),
                      F(median_close_hours=2.5, closed=2350)) == fmt.Change("▼0.2 小时（-8.0%）", "better")
    assert fmt.change("reports_per_worker", F(reports_per_worker=1.51, workers=915),
                      F(reports_per_worker=1.30, workers=915)).text == "▲0.21 件/人（+16.2%）"
    assert fmt.change("reports_per_worker", F(reports_per_worker=1.0, workers=2),
                      F(reports_per_worker=1.0, workers=2)).text == "持平"


# --- ranks, parts, windows ------------------------------------------------------------------------------

@pytest.mark.parametrize("rank, change, text", [
    (3, 2, "▲2"), (4, -1, "▼1"), (1, 0, "—"), (2, None, "新"), (None, None, ""), (None, 3, ""),
])
def test_a_rank_change_reads_up_down_same_or_new(rank, change, text):
    assert fmt.rank_change_text(rank, change) == text
    assert fmt.rank_change_text(rank, change, compared=False) == ""  # no previous period to compare


def test_ranks_scores_and_parts_are_worded():
    assert fmt.rank_text(None) == "样本不足" and fmt.rank_text(2) == "2"
    assert fmt.score_text(87.44) == "87.4" and fmt.score_text(None) == "—"
    assert fmt.part_text(1.25) == "125%" and fmt.part_text(0.8) == "80%" and fmt.part_text(None) == "—"


def test_a_window_shows_its_dates_and_where_it_was_cut():
    whole_end = datetime(2026, 11, 16, tzinfo=SH)
    assert fmt.window_text(date(2026, 11, 9), date(2026, 11, 15), whole_end, SH) == "2026-11-09 至 2026-11-15"
    cut = datetime(2026, 11, 11, 12, 0, tzinfo=SH)
    assert fmt.window_text(date(2026, 11, 9), date(2026, 11, 15), cut, SH) == "2026-11-09 至 2026-11-11 12:00"


# --- the 红黑榜 and the configured rules (dashboard/analytics/scoring.py) -----------------------------------

def scored(ranks: dict[str, int | None]) -> dict:
    return {code: {"rank": rank, "score": None if rank is None else 100.0 - rank, "unranked": rank is None,
                   "rank_change": None, "parts": {}} for code, rank in ranks.items()}


def test_the_red_list_takes_the_best_three_and_the_black_list_the_worst_three_worst_first():
    ranks = {f"s{i}": i for i in range(1, 9)}
    assert honour_rolls(scored(ranks)) == (["s1", "s2", "s3"], ["s8", "s7", "s6"])


def test_with_few_ranked_siblings_no_one_is_on_both_lists_and_the_unranked_are_on_neither():
    assert honour_rolls(scored({"a": 1, "b": 2, "c": 3, "d": 4, "x": None})) == (["a", "b"], ["d", "c"])
    assert honour_rolls(scored({"a": 1, "b": 1, "c": 3, "x": None})) == (["a"], ["c"])  # ties by code
    assert honour_rolls(scored({"a": 1, "x": None, "y": None})) == ([], [])
    assert honour_rolls({}) == ([], [])


RULES = [Rule("on_time_rate", 30, 0.95, "higher"), Rule("return_rate", 10, 0.05, "lower"),
         Rule("reports_per_worker", 15, None, "higher"), Rule("rework_rate", 0, 0.05, "lower")]


def test_the_part_furthest_above_one_lifted_a_sibling_and_the_one_furthest_below_sank_it():
    parts = {"on_time_rate": 1.02, "return_rate": 1.25, "reports_per_worker": 0.6, "rework_rate": 0.1}
    assert decisive_part(parts, RULES, lifted=True) == ("return_rate", 1.25)
    # rework_rate is further below 1 but weighs nothing: it sank nothing.
    assert decisive_part(parts, RULES, lifted=False) == ("reports_per_worker", 0.6)


def test_a_tie_goes_to_the_heavier_rule_and_no_part_means_no_reason():
    parts = {"on_time_rate": 1.25, "return_rate": 1.25, "reports_per_worker": None}
    assert decisive_part(parts, RULES, lifted=True) == ("on_time_rate", 1.25)
    # Every part below 1: the best of them still lifted it most.
    assert decisive_part({"on_time_rate": 0.9, "return_rate": 0.5}, RULES, lifted=True) == ("on_time_rate", 0.9)
    assert decisive_part({"reports_per_worker": None}, RULES, lifted=False) is None


def test_the_configured_rules_become_score_rules_with_a_siblings_median_as_no_fixed_target():
    rules = rules_from_settings(ReviewSettings().score)
    assert [(r.figure, r.weight, r.target, r.better) for r in rules] == [
        ("on_time_rate", 30.0, 0.95, "higher"), ("closed_rate", 15.0, 0.98, "higher"),
        ("satisfied_rate", 20.0, 0.95, "higher"), ("return_rate", 10.0, 0.05, "lower"),
        ("rework_rate", 10.0, 0.05, "lower"), ("reports_per_worker", 15.0, None, "higher")]
    custom = rules_from_settings({"urged": ScoreRuleSetting(weight=5, target=2, better="lower")})
    assert custom == [Rule("urged", 5.0, 2.0, "lower")]
    assert scoring.rules_json(custom, {"urged": 2.0}) == [
        {"figure": "urged", "weight": 5.0, "target": 2.0, "better": "lower", "target_rule": "fixed"}]


def test_a_change_is_the_difference_of_the_values_shown():
    """3.84% against 3.76% both read 3.8%: 持平, not ▼0.1个百分点; 1.84% against 1.86% read 1.8% and
    1.9%: ▼0.1个百分点, not 持平 (found on the synthetic county's month)."""
    def rate(value):
        return F(rework_rate=value, reworks=int(value * 1000), closed=1000)

    assert fmt.change("rework_rate", rate(0.0384), rate(0.0376)).text == "持平"
    assert fmt.change("rework_rate", rate(0.0184), rate(0.0186)).text == "▼0.1个百分点"
