"""Case facts as ``data_access.feeds_cases.case_facts`` shapes them, built from (grid, category, day,
minute of day) rows: the rise tests' constructed histories (tests/test_analytics_spikes.py,
tests/test_rise_calibration.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def facts_frame(rows: list[tuple], first_id: int = 0) -> pd.DataFrame:
    """One case a row, reported by a grid worker; ids from ``first_id``; street, community and major
    derived from the codes."""
    frame = pd.DataFrame(rows, columns=["grid_code", "category_code", "day", "minute_of_day"])
    frame["id"] = np.arange(len(frame)) + first_id
    frame["source"] = "patrol"
    frame["street"] = frame["grid_code"].str[:9]
    frame["community"] = frame["grid_code"].str[:12]
    frame["major"] = frame["category_code"].str[:2]
    frame["day"] = frame["day"].values.astype("datetime64[D]")
    return frame
