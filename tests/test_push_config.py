"""``[push]`` (dashboard/core/config.py): channels and routes as docs/interfaces.md writes them; a route
naming an unknown channel, a DingTalk robot without its secret, mail without recipients or an address of
the wrong scheme is refused when the settings load, with a reason that names the channel."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dashboard.core.config import Settings

EXAMPLE = """
[[push.channel]]
name = "county-duty"
kind = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"

[[push.channel]]
name = "county-leader"
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=t1"
secret = "SECs1"

[[push.channel]]
name = "mail"
kind = "email"
url = "smtps://gw:pw@mail.example.org"
to = ["duty@example.org"]

[[push.channel]]
name = "ops"
kind = "webhook"
url = "https://ops.example.org/hooks/gridwall"

[[push.route]]
region = "320585"
min_severity = "warning"
kinds = []
channels = ["county-duty", "mail", "ops"]
escalate_after_min = 10
escalate_to = ["county-leader"]
"""


def _load(tmp_path, monkeypatch, text: str) -> Settings:
    config = tmp_path / "gridwall.toml"
    config.write_text(text)
    monkeypatch.setenv("GRIDWALL_CONFIG", str(config))
    return Settings()


def test_the_documented_example_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDWALL_PUSH", "off")  # the wall's live-channel switch is not the [push] table
    push = _load(tmp_path, monkeypatch, EXAMPLE).push
    assert [c.name for c in push.channel] == ["county-duty", "county-leader", "mail", "ops"]
    (route,) = push.route
    assert route.escalate_after_min == 10 and route.escalate_to == ["county-leader"]
    assert push.per_minute == 20 and push.poll_seconds == 1.0 and push.lookback_hours == 24
    assert push.find("mail").display_url == "smtps://mail.example.org"


def test_no_push_table_means_nothing_to_push(tmp_path, monkeypatch):
    push = _load(tmp_path, monkeypatch, 'timezone = "Asia/Shanghai"\n').push
    assert push.channel == [] and push.route == []


@pytest.mark.parametrize("change, reason", [
    (('channels = ["county-duty", "mail", "ops"]', 'channels = ["county-duty", "nobody"]'),
     "names unknown channels ['nobody']"),
    (('secret = "SECs1"\n', ''), "county-leader: a dingtalk robot needs its signing secret"),
    (('to = ["duty@example.org"]\n', ''), "mail: an email channel needs to = "),
    (('url = "https://ops.example.org/hooks/gridwall"', 'url = "ops.example.org/hooks"'),
     "ops (webhook): the url must start with https:// or http://"),
    (('url = "smtps://gw:pw@mail.example.org"', 'url = "https://mail.example.org"'),
     "mail (email): the url must start with smtp:// or smtps://"),
    (('escalate_after_min = 10\n', ''), "escalate_to needs escalate_after_min"),
    (('name = "ops"', 'name = "county-duty"'), "names used twice: county-duty"),
    (('kind = "webhook"', 'kind = "slack"'), "Input should be 'wecom', 'dingtalk', 'email' or 'webhook'"),
])
def test_bad_push_settings_are_refused_at_load(tmp_path, monkeypatch, change, reason):
    old, new = change
    assert old in EXAMPLE
    with pytest.raises(ValidationError) as bad:
        _load(tmp_path, monkeypatch, EXAMPLE.replace(old, new, 1))
    assert reason in str(bad.value)
