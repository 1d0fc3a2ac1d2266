"""Repeats (重复多发) and rebounds (反弹) on hand-made case lists."""

from __future__ import annotations

import pandas as pd

from dashboard.analytics import repeats

NOW = pd.Timestamp("2026-11-25 02:00", tz="UTC")


def _frame(rows):
    f = pd.DataFrame(rows, columns=["id", "reported_at", "grid_code", "category_code", "address", "status", "closed_at"])
    f["code"] = f["id"].map(lambda i: f"C{i}")
    f["reported_at"] = pd.to_datetime(f["reported_at"], utc=True)
    f["closed_at"] = pd.to_datetime(f["closed_at"], utc=True)
    return f


G1, G2 = "320585100001001", "320585100001002"


def test_normalise_address():
    assert repeats.normalise_address(" 太仓市城厢镇 南洋路12号附近 ") == "太仓市城厢镇南洋路12号"
    assert repeats.normalise_address("太仓市城厢镇南洋路１２号") == "太仓市城厢镇南洋路12号"
    assert repeats.normalise_address(None) is None and repeats.normalise_address("号") is None


def test_same_address_three_times_in_a_week_is_one_repeat():
    rows = [
        (1, "2026-11-10 01:00", G1, "0101", "南洋路12号", "closed", "2026-11-10 05:00"),  # old episode
        (2, "2026-11-20 01:00", G1, "0101", "南洋路12号", "closed", "2026-11-20 05:00"),
        (3, "2026-11-22 01:00", G1, "0103", "南洋路12号附近", "closed", "2026-11-22 08:00"),
        (4, "2026-11-24 01:00", G1, "0101", "南洋路 12号", "open", None),
        (5, "2026-11-24 03:00", G1, "0101", "南洋路12号", "merged", "2026-11-24 04:00"),  # a duplicate
        (6, "2026-11-24 05:00", G2, "0301", "北京路1号", "open", None),
    ]
    found = repeats.find_repeats(_frame(rows), NOW)
    assert len(found) == 1
    r = found[0]
    assert r.place_kind == "address" and r.count == 3 and r.case_ids == [2, 3, 4] and r.first_id == 2
    assert repeats.find_repeats(_frame(rows[:3] + rows[4:]), NOW) == []  # two in the week: nothing


def test_grid_and_minor_category_repeat():
    rows = [(i, f"2026-11-2{i} 01:00", G2, "0303", f"上海路{i}号", "closed", f"2026-11-2{i} 03:00") for i in range(0, 5)]
    found = repeats.find_repeats(_frame(rows), NOW)
    assert [(r.place_kind, r.grid_code, r.category_code, r.count) for r in found] == [("grid", G2, "0303", 5)]
    assert repeats.find_repeats(_frame(rows[1:]), NOW) == []  # four: below the grid bar


def test_rebound_after_closing():
    rows = [
        (1, "2026-11-20 01:00", G1, "0101", "南洋路12号", "closed", "2026-11-21 01:00"),
        (2, "2026-11-23 01:00", G1, "0101", "南洋路12号", "open", None),     # 2 days after closing: rebound
        (3, "2026-11-23 02:00", G1, "0301", "南洋路12号", "open", None),     # another category: not
        (4, "2026-11-01 01:00", G2, "0101", "北京路1号", "closed", "2026-11-02 01:00"),
        (5, "2026-11-24 01:00", G2, "0101", "北京路1号", "open", None),      # 22 days later: not
    ]
    found = repeats.find_rebounds(_frame(rows), NOW)
    assert [(b.closed_id, b.new_id) for b in found] == [(1, 2)]
