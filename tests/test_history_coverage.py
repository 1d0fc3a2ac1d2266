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
