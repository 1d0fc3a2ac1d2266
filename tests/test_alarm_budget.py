"""Each detector's alarm budget (issue 17 §4), on SQLite and PostgreSQL: ``[warning.budget]`` caps the new
alerts of a kind per street and ISO week; the engine raises the strongest, suppresses and logs the rest,
never caps the updates of running alerts, and starts afresh on Monday. 0 or absent: no cap."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from dashboard.analytics.findings import Finding
from dashboard.core.config import Settings
from dashboard.warning import EngineState, run_engine
from dashboard.warning import families as fam
from dashboard.warning.budget import apply_budget, strength_key, week_start
from data_access import alerts_write
from data_access.models import Alert
from data_access.moment import Moment
from data_access.scope import Scope

from . import ops_county as oc

SCOPE = Scope(oc.ROOT, oc.ROOT)
T = oc.T  # a Wednesday, 10:30 in Shanghai
A, B = "320585100", "320585101"


class Fixed(fam.Family):
    """Reports the findings the test sets."""

    name, kinds = "fixed", ("spike", "repeat")

    def __init__(self):
        self.findings: list[Finding] = []

    def run(self, conn, ctx):
        return list(self.findings)


def spike(key: str, p: float, region: str = A, severity: str = "warning", observed: int = 9) -> Finding:
    return Finding(kind="spike", severity=severity, region_code=region, title=f"骤增{key}", dedup_key=f"spike:{key}",
                   detail={"observed": observed, "expected": 2.0, "p_value": p})


def keys_in_db(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(alerts_write.situation_of(k) for k in conn.execute(select(Alert.dedup_key)).scalars())


def run(engine, state, at):
    return run_engine(engine, SCOPE, Moment(at, oc.SHANGHAI), state=state, forecast=False)


def test_the_cap_holds_per_street_and_week_and_the_strongest_are_kept(engine, caplog):
    source = Fixed()
    state = EngineState(families=[source], budget={"spike": 2})
    source.findings = [
        spike("a-weak", 1e-3), spike("a-strongest", 1e-9), spike("a-middle", 1e-5), spike("a-strong", 1e-7),
        spike("a-critical", 1e-2, severity="critical"),          # critical ranks before any warning
        spike("b-only", 1e-2, region=f"{B}001"),                  # another street: its own budget
        Finding(kind="repeat", severity="info", region_code=A, title="重复", dedup_key="repeat:x", detail={"observed": 3}),
    ]
    with caplog.at_level(logging.WARNING, logger="gridwall.warning"):
        report = run(engine, state, T)
    assert keys_in_db(engine) == ["repeat:x", "spike:a-critical", "spike:a-strongest", "spike:b-only"]
    assert sorted(s["dedup_key"] for s in report.suppressed) == ["spike:a-middle", "spike:a-strong", "spike:a-weak"]
    assert "3 over budget" in report.summary()
    logged = [r.getMessage() for r in caplog.records if "alarm budget" in r.getMessage()]
    assert len(logged) == 3 and all("spike = 2" in m and A in m for m in logged)

    # Later the same week: the street's budget is spent, even for a stronger rise; running alerts
    # still get their new evidence, and a suppressed situation is not logged again.
    caplog.clear()
    source.findings = [spike("a-strongest", 1e-12, observed=20), spike("a-critical", 1e-2, severity="critical"),
                       spike("a-new", 1e-15, severity="critical"), spike("a-strong", 1e-7)]
    with caplog.at_level(logging.WARNING, logger="gridwall.warning"):
        report = run(engine, state, T + timedelta(days=2))
    assert report.raised == [] and report.updated == 1
    assert sorted(s["dedup_key"] for s in report.suppressed) == ["spike:a-new", "spike:a-strong"]
    assert [m for m in (r.getMessage() for r in caplog.records) if "alarm budget" in m and "a-strong " in m] == []
    with engine.connect() as conn:
        detail = conn.execute(select(Alert.detail).where(Alert.dedup_key.like("spike:a-strongest@%"))).scalar_one()
    assert alerts_write.load_detail(detail)["observed"] == 20

    # Next Monday the budget starts afresh: the strongest two of what is still there are raised.
    monday = week_start(T, oc.SHANGHAI) + timedelta(days=7, hours=9)
    report = run(engine, state, monday)
    assert sorted(r["dedup_key"].split("@")[0] for r in report.raised) == ["spike:a-new", "spike:a-strong"]


def test_no_cap_when_zero_or_absent(engine):
    source = Fixed()
    source.findings = [spike(f"k{i}", 10 ** -(i + 3)) for i in range(5)]
    run(engine, EngineState(families=[source], budget={"spike": 0, "repeat": 1}), T)
    assert len(keys_in_db(engine)) == 5
    source.findings = [spike(f"m{i}", 1e-4) for i in range(3)]
    run(engine, EngineState(families=[source], budget={}), T + timedelta(minutes=5))
    assert len(keys_in_db(engine)) == 5 + 3   # (the k-findings ended: 5 resolved alerts stay in the table)


def test_strength_orders_severity_then_the_kinds_own_measure():
    weak, strong = spike("w", 1e-3), spike("s", 1e-8)
    crit = spike("c", 0.5, severity="critical")
    assert sorted([weak, strong, crit], key=strength_key) == [crit, strong, weak]
    gap = [Finding(kind="underreport", severity="warning", region_code=f"{A}001", title="t", dedup_key=f"u{g}",
                   detail={"gap": g, "p_value": 0.5}) for g in (3.0, 12.0)]
    assert sorted(gap, key=strength_key)[0].detail["gap"] == 12.0
    patrol = [Finding(kind="staffing", severity="warning", region_code=A, title="t", dedup_key=f"p{d}",
                      detail={"observed": d / 10, "patrolled": d, "rostered": 10, "score": -0.2}) for d in (2, 6)]
    assert sorted(patrol, key=strength_key)[0].detail["patrolled"] == 2   # fewer grids patrolled: stronger
    kept, dropped = apply_budget([weak, strong, crit], {"spike": 2}, {("spike", A): 1})
    assert kept == [crit] and dropped == [strong, weak]


def test_the_budget_is_read_from_the_deployments_toml(tmp_path, monkeypatch):
    toml = tmp_path / "gridwall.toml"
    toml.write_text('database_url = "sqlite://"\n[warning.budget]\nspike = 2\ncluster = 1\nrepeat = 0\n', encoding="utf-8")
    monkeypatch.setenv("GRIDWALL_CONFIG", str(toml))
    assert Settings().warning.budget == {"spike": 2, "cluster": 1}
    toml.write_text('[warning.budget]\nspikes = 2\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown kinds"):
        Settings()
    toml.write_text('[warning.budget]\nspike = -1\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="no cap"):
        Settings()
    monkeypatch.delenv("GRIDWALL_CONFIG")
    assert Settings(database_url="sqlite://", warning={"budget": {}}).warning.budget == {}
