

def test_only_a_fully_covered_window_is_compared():
    from dashboard.analytics.history_coverage import compared

    assert [compared(c) for c in ("full", "partial", "none", None)] == [True, False, False, True]
