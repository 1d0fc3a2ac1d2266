"""`gridwall warn --once` and `--replay` through the real command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.core.config import get_settings
from dashboard.warning.replay import parse_step
from data_access.db import dispose_all

from . import ops_county as oc


@pytest.fixture
def cli(engine, backend_url, monkeypatch):
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    monkeypatch.delenv("GRIDWALL_ROOT", raising=False)
    get_settings.cache_clear()
    dispose_all()
    with engine.begin() as conn:
        oc.build_map(conn)
        oc.roster(conn, until=oc.T.replace(hour=12, minute=30))
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["warn", *args])
    get_settings.cache_clear()
    dispose_all()


def _lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_once_prints_the_raised_alerts_as_json_lines_and_only_once(cli):
    result = cli("--once", "--at", "2026-11-25T10:30")
    assert result.exit_code == 0, result.output
    alerts = _lines(result)
    keys = sorted(a["dedup_key"].split("@")[0] for a in alerts)
    assert keys == ["staffing:offline:320585101", "staffing:uncovered:320585100002"]
    for a in alerts:
        assert set(a) >= {"id", "kind", "severity", "region_code", "title", "dedup_key", "created_at", "detail"}
        assert a["created_at"] == "2026-11-25T10:30:00+08:00" and isinstance(a["detail"], dict)
    assert "2 raised" in result.stderr
    again = cli("--once", "--at", "2026-11-25T10:31:00+08:00")
    assert again.exit_code == 0 and _lines(again) == []


def test_replay_writes_each_step_once(cli):
    args = ("--replay", "--from", "2026-11-25T09:00", "--to", "2026-11-25T18:00", "--step", "90m")
    first = cli(*args)
    assert first.exit_code == 0, first.output
    alerts = _lines(first)
    created = {a["dedup_key"].split("@")[0]: a["created_at"] for a in alerts}
    assert created["staffing:offline:320585101"] == "2026-11-25T10:30:00+08:00"   # first step they are seen
    assert created["staffing:patrol:320585100"] == "2026-11-25T12:00:00+08:00"
    assert "replay: 7 steps" in first.stderr
    second = cli(*args)
    assert second.exit_code == 0 and _lines(second) == []
    assert "replay: 7 steps, 0 alerts raised" in second.stderr


@pytest.mark.parametrize("args, message", [
    ((), "choose one of --loop, --once, --replay"),
    (("--replay", "--from", "2026-11-25"), "--replay needs --from and --to"),
    (("--replay", "--from", "2026-11-25", "--to", "2026-11-24"), "--to is before --from"),
    (("--replay", "--from", "2026-11-25", "--to", "2026-11-26", "--step", "daily"), "not a step"),
    (("--once", "--at", "yesterday"), "not an ISO 8601 time"),
])
def test_bad_arguments_are_usage_errors(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output


def test_parse_step():
    assert parse_step("1d") == timedelta(days=1)
    assert parse_step("6h") == parse_step("360m") == parse_step("360min") == timedelta(hours=6)
    assert parse_step("1h30m") == timedelta(minutes=90)
    for bad in ("", "d", "1x", "30s", "1d junk"):
        with pytest.raises(ValueError):
            parse_step(bad)
