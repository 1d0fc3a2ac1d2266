"""dashboard.analytics.history_coverage: which comparison windows the history covers, and the one rule
for comparing them."""

from datetime import datetime, timezone

from dashboard.analytics.history_coverage import window_coverage


def test_a_window_is_full_partial_or_none_by_where_the_history_begins():
    utc = timezone.utc
    day = lambda d: datetime(2026, 11, d, tzinfo=utc)  # noqa: E731
    windows = {"previous": (day(2), day(9)), "last_year": (day(9), day(16)), "other": (day(16), day(23))}
    assert window_coverage(windows, day(9)) == {"previous": "none", "last_year": "full", "other": "full"}
    assert window_coverage(windows, day(5)) == {"previous": "partial", "last_year": "full", "other": "full"}
    assert window_coverage(windows, None) == {"previous": "none", "last_year": "none", "other": "none"}


def test_only_a_fully_covered_window_is_compared():
    from dashboard.analytics.history_coverage import compared

    assert [compared(c) for c in ("full", "partial", "none", None)] == [True, False, False, True]


def test_an_empty_comparison_window_inside_the_history_is_a_gap_when_the_current_one_is_busy():
    from dashboard.analytics.history_coverage import with_gaps

    cover = {"current": "full", "previous": "full", "last_year": "partial"}
    assert with_gaps(cover, {"current": 20, "previous": 0, "last_year": 0}) == {
        "current": "full", "previous": "gap", "last_year": "gap"}
    # a quiet region (19 against 0) or a window with any case is compared as before
    assert with_gaps(cover, {"current": 19, "previous": 0, "last_year": 0}) == cover
    assert with_gaps(cover, {"current": 500, "previous": 1, "last_year": 3}) == cover
    # a window before the history stays "none"
    assert with_gaps({**cover, "last_year": "none"}, {"current": 50})["last_year"] == "none"


def test_a_whole_empty_week_among_busy_ones_is_a_gap_but_not_the_running_week():
    from dashboard.analytics.history_coverage import week_gaps

    weeks = [(None, False), (40, False), (0, False), (35, False), (0, True)]
    assert week_gaps(weeks) == [False, False, True, False, False]
    assert week_gaps([(5, False), (0, False), (6, False)]) == [False, False, False]  # usually quiet
    assert week_gaps([(None, False), (0, True)]) == [False, False]


def test_the_trends_gap_weeks_lose_their_figures():
    from types import SimpleNamespace

    from dashboard.usecases.review_bodies import mark_gaps

    def week(reported, closed, before=False, partial=False):
        figures = None if before else {"reported": reported, "closed": closed, "on_time_rate": 0.9}
        return {"week": SimpleNamespace(partial=partial), "before_data": before,
                "figures": figures or {"reported": None, "closed": None, "on_time_rate": None}}

    rows = mark_gaps([week(0, 0, before=True), week(30, 25), week(0, 0), week(28, 30), week(0, 0, partial=True)])
    assert [r["gap"] for r in rows] == [False, False, True, False, False]
    assert set(rows[2]["figures"].values()) == {None} and rows[1]["figures"]["on_time_rate"] == 0.9
