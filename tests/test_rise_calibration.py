"""Rises' alphas calibrated to the deployment's own history (issue 17 §3): raised, never lowered, as far
as the alerts the last 3 weeks would have raised stay within ``[warning] rise_alarm_target``."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dashboard.analytics import spikes
from dashboard.core.config import Settings
from dashboard.warning import case_detectors
from data_access.moment import Moment

from .spike_facts import facts_frame

DAY = np.datetime64("2026-11-24")
STREETS = ("320585100", "320585101")


def _rows(grid: str, cat: str, days, counts) -> list[tuple]:
    return [(grid, cat, day, 600) for day, n in zip(days, counts) for _ in range(int(n))]


def _batchy(seed: int = 0, days: int = 84) -> pd.DataFrame:
    """Two offices that enter their cases in batches (negative binomial, mean 8 a day, k = 1): the
    fixed alphas, set on a county whose counts are near Poisson, rarely alarm here."""
    rng = np.random.default_rng(seed)
    dates = np.arange(DAY + np.timedelta64(1, "D") - np.timedelta64(days, "D"), DAY + np.timedelta64(1, "D"))
    rows = []
    for street in STREETS:
        rows += _rows(street + "001001", "0101", dates, rng.negative_binomial(1.0, 1.0 / 9.0, size=len(dates)))
    return facts_frame(rows)


def _with_outbreak(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    extra = facts_frame(_rows(STREETS[0] + "001001", "0101", [DAY], [n]), first_id=10_000_000)
    return pd.concat([frame, extra], ignore_index=True)


def _rise(street: str, major: str, p: float, alpha: float = 1e-4) -> spikes.Rise:
    return spikes.Rise(street, major, street, major, DAY, 1, 10.0, 2.0, p, "nb", alpha=alpha)


def test_alerts_at_a_scale_are_runs_of_days_per_family():
    a, b = ("320585100", "01"), ("320585101", "02")
    days = [[_rise(*a, 5e-4)], [_rise(*a, 5e-4), _rise(*b, 2e-3)], [], [_rise(*a, 5e-4)]]
    assert spikes.alerts_at_scale(days, 1.0) == 0
    assert spikes.alerts_at_scale(days, 8.0) == 2      # a's run of days 0-1, then a again on day 3
    assert spikes.alerts_at_scale(days, 32.0) == 3     # and b on day 1
    # a's community series on the same day is the same family, the same alert
    days[0].append(spikes.Rise("320585100", "01", "320585100001", "0101", DAY, 1, 9.0, 2.0, 1e-6, "nb", alpha=1e-4))
    assert spikes.alerts_at_scale(days, 1.0) == 1


def test_the_scale_is_the_largest_within_the_target_and_never_below_one():
    quiet = [[_rise("320585100", "01", 3e-3)] if i % 7 == 0 else [] for i in range(21)]   # 3 alerts at >= x30
    # 2 streets x 3 weeks: a target of 0.5 allows 3 alerts, 0.4 allows 2.4
    assert spikes.calibrated_scale(quiet, 2, 0.5) == 64.0
    assert spikes.calibrated_scale(quiet, 2, 0.4) == max(s for s in spikes.ALPHA_SCALES if s * 1e-4 <= 3e-3)
    busy = [[_rise("320585100", "01", 1e-5), _rise("320585101", "01", 1e-5)] if i % 2 == 0 else [] for i in range(21)]
    assert spikes.calibrated_scale(busy, 2, 0.8) == 1.0          # over the target already: the defaults stay
    assert spikes.calibrated_scale(quiet, 2, 0.0) == 1.0         # 0: fixed alphas
    assert spikes.calibrated_scale(quiet[:13], 2, 0.8) == 1.0    # under 14 days: too little to calibrate on


def test_rises_at_a_scale_are_the_candidates_below_it():
    frame = _with_outbreak(_batchy(0), 30)
    candidates = spikes.daily_rises(frame, DAY, scale=64.0)
    for scale in (1.0, 4.0, 64.0):
        assert ({(r.region, r.category, r.window, r.p) for r in spikes.daily_rises(frame, DAY, scale=scale)}
                == {(r.region, r.category, r.window, r.p) for r in candidates if r.p < r.alpha * scale}
                == {(r.region, r.category, r.window, r.p) for r in spikes.rises_at(candidates, scale)})
    assert {r.alpha for r in candidates} <= set(spikes.DEFAULT_ALPHA.values())


def test_a_dispersed_deployment_is_calibrated_up_and_finds_what_the_fixed_alphas_miss():
    honest = _batchy(0)
    days = spikes.calibration_days(honest, DAY)
    assert len(days) == spikes.CALIBRATION_DAYS and days[-1] == DAY - np.timedelta64(1, "D")
    assert spikes.active_streets(honest, days) == 2
    scale = spikes.rise_scale(honest, DAY, 0.8)
    assert scale == 64.0
    # the alerts the calibration days raise at that scale are within the target: 0.8 x 2 streets x 3 weeks
    cands = [spikes.daily_rises(honest, d, scale=64.0) for d in days]
    assert spikes.alerts_at_scale(cands, scale) <= 0.8 * 2 * 3
    outbreak = _with_outbreak(honest, 45)      # 45 more cases in one office on one day
    assert spikes.daily_rises(outbreak, DAY) == []
    found = spikes.daily_rises(outbreak, DAY, scale=scale)
    assert found and {r.family for r in found} == {(STREETS[0], "01")}
    assert spikes.rise_scale(honest, DAY, 0.0) == 1.0


def test_a_short_history_is_not_calibrated():
    frame = _batchy(0, days=40)       # a negative-binomial test needs 30 days before it: 9 of the 21 have them
    assert len(spikes.calibration_days(frame, DAY)) == 9
    assert spikes.rise_scale(frame, DAY, 0.8) == 1.0


def test_the_engine_records_the_scale_its_alpha_was_raised_by(monkeypatch):
    case_detectors.clear_caches()
    frame = _with_outbreak(_batchy(0), 45)
    frame.attrs["history_key"] = ("test", "calibration")
    frame["id"] = np.arange(len(frame))

    tz = ZoneInfo("Asia/Shanghai")
    m = Moment(datetime(2026, 11, 25, 0, 10, tzinfo=tz), tz)     # the engine's run at 00:10 the day after
    findings = case_detectors.spike_findings(frame, m, {})
    assert [f.dedup_key for f in findings] == [f"spike:{STREETS[0]}:01:2026-11-24"]
    detail = findings[0].detail
    assert detail["alpha_scale"] == 64.0
    assert detail["alpha"] == pytest.approx(spikes.DEFAULT_ALPHA[spikes.LEVELS[0]] * 64.0, rel=1e-3)
    assert detail["band"] and detail["band"]["alpha"] == pytest.approx(detail["alpha"], rel=1e-3)
    case_detectors.clear_caches()
    monkeypatch.setattr(case_detectors, "get_settings",
                        lambda: Settings(database_url="sqlite://", warning={"rise_alarm_target": 0}))
    assert case_detectors.spike_findings(frame, m, {}) == []    # the fixed alphas miss it
    case_detectors.clear_caches()


def test_the_target_is_read_from_the_deployments_toml(tmp_path, monkeypatch):
    toml = tmp_path / "gridwall.toml"
    toml.write_text('database_url = "sqlite://"\n[warning]\nrise_alarm_target = 0.3\n', encoding="utf-8")
    monkeypatch.setenv("GRIDWALL_CONFIG", str(toml))
    assert Settings().warning.rise_alarm_target == 0.3
    toml.write_text('[warning]\nrise_alarm_target = -1\n', encoding="utf-8")
    with pytest.raises(Exception, match="rise_alarm_target"):
        Settings()
    monkeypatch.delenv("GRIDWALL_CONFIG")
    assert Settings(database_url="sqlite://").warning.rise_alarm_target == 0.5


def test_the_evidence_says_when_the_alarm_line_was_widened():
    from dashboard.usecases.alert_evidence import shape_spike
    from layouts.alert_evidence import _spike

    band = {"start": "2026-10-30", "observed": [1] * 22, "expected": [2.0] * 22, "lo": [0] * 22,
            "hi": [4] * 22, "alarm_at": [8] * 22, "usual": 0.9, "alpha": 0.032}
    detail = {"window": {"start": "2026-11-20", "end": "2026-11-20", "days": 1}, "observed": 9, "expected": 2.0,
              "p_value": 0.01, "alpha": 0.032, "alpha_scale": 64.0, "band": band}
    ev = shape_spike(detail, date(2026, 11, 21), None)
    assert ev["engine"]["alpha_scale"] == 64.0
    assert "检验水平 ×64" in str(_spike(ev))
    del detail["alpha_scale"]     # alerts raised before the calibration, or at the fixed alphas
    assert "检验水平" not in str(_spike(shape_spike(detail, date(2026, 11, 21), None)))
