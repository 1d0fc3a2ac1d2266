"""`gridwall push test CHANNEL` through the real command line: exit 0 and "ok" when the channel took the
message, 1 with the redacted reason when it did not, 2 for a channel [push] does not have; each test is in
the send log (the channel's state, and the rate limit it shares with the dispatcher)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dashboard.cli import main
from dashboard.core.config import get_settings
from data_access.db import dispose_all
from data_access.models import GwPushSend

from .push_support import DING_SECRET, DING_TOKEN, WECOM_KEY, FakeRobot


@pytest.fixture
def robots():
    with FakeRobot("wecom") as wecom, FakeRobot("dingtalk", secret=DING_SECRET) as ding:
        yield wecom, ding


@pytest.fixture
def cli(engine, backend_url, robots, tmp_path, monkeypatch):
    wecom, ding = robots
    config = tmp_path / "gridwall.toml"
    config.write_text(f"""
[push]
timeout_seconds = 0.5
per_minute = 3

[[push.channel]]
name = "duty"
kind = "wecom"
url = "{wecom.url}"

[[push.channel]]
name = "leader"
kind = "dingtalk"
url = "{ding.url}"
secret = "{DING_SECRET}"
""")
    monkeypatch.setenv("GRIDWALL_CONFIG", str(config))
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", backend_url)
    get_settings.cache_clear()
    dispose_all()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args))
    get_settings.cache_clear()
    dispose_all()


def _log(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(GwPushSend.channel, GwPushSend.ok, GwPushSend.purpose)
                                               .order_by(GwPushSend.id))]


def test_a_test_message_goes_through_and_is_logged(cli, robots, engine):
    wecom, ding = robots
    for name in ("duty", "leader"):
        result = cli("push", "test", name)
        assert result.exit_code == 0, result.output
        assert result.output == f"{name}: ok\n"
    assert "测试消息" in wecom.texts()[0] and "通道 leader" in ding.texts()[0]
    assert ding.refused == []
    assert _log(engine) == [("duty", True, "test"), ("leader", True, "test")]


def test_a_failing_channel_exits_1_with_a_redacted_reason(cli, robots, engine):
    wecom, ding = robots
    wecom.mode = "errcode"
    result = cli("push", "test", "duty")
    assert result.exit_code == 1
    assert "duty: failed: errcode 45009" in result.output
    assert WECOM_KEY not in result.output and DING_TOKEN not in result.output
    wecom.mode = "silent"
    result = cli("push", "test", "duty")
    assert result.exit_code == 1 and "no answer within 0.5 s" in result.output
    assert _log(engine) == [("duty", False, "test")] * 2


def test_tests_count_toward_the_rate_limit(cli, robots, engine):
    for _ in range(3):
        assert cli("push", "test", "duty").exit_code == 0
    result = cli("push", "test", "duty")
    assert result.exit_code == 1 and "rate limit" in result.output
    assert len(robots[0].messages) == 3 and len(_log(engine)) == 3


def test_an_unknown_channel_exits_2(cli, engine):
    result = cli("push", "test", "nobody")
    assert result.exit_code == 2
    assert "no channel 'nobody' in [push] (configured: duty, leader)" in result.output
    assert _log(engine) == []
