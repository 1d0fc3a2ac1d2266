"""Staffing without surveillance (docs/security.md): the wall's staffing detail counts offline
workers per street unless the deployment chose ``[staffing] detail = "names"``, and even then names
them to ``center`` users only; a past moment without pings says 历史在线数据不足 instead of counting
everyone on duty as offline. On both backends.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from callbacks import panels
from callbacks.live import outage
from callbacks.live.cache import cache
from dashboard.app import create_app
from dashboard.core.config import Settings
from dashboard.identity import auth

from .wall_fixtures import seed_small_county

UTC = timezone.utc


@pytest.fixture
def staffed_wall(backend_url, engine, monkeypatch):
    now = datetime.now(UTC).replace(microsecond=0)
    seed_small_county(engine, now=now)
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    app = create_app(Settings(database_url=backend_url, secret_key="staffing-test"), auth=False)
    with app.server.test_request_context("/"):
        cache.clear()
        yield app, now
        cache.clear()


def text_of(component) -> str:
    """All the text a rendered tree shows."""
    if isinstance(component, (list, tuple)):
        return " ".join(text_of(c) for c in component)
    if isinstance(component, str):
        return component
    if not hasattr(component, "to_plotly_json"):
        return ""
    return text_of(getattr(component, "children", None))


def staffing_text(search: str = "") -> str:
    children, _ = panels.update_staffing(None, search, None)
    return text_of(children)


def test_offline_workers_are_counted_per_street_by_default(staffed_wall):
    text = staffing_text()
    # The seed's on-duty workers without a recent ping are 网格员3, 7, 11, ...: never named.
    assert "网格员" not in text, text
    assert "在岗离线超30分钟" in text and "人 / " in text
    assert "城厢镇" in text or "街道" in text or "镇" in text, text  # rows are streets, with counts
    assert "格" in text and "人" in text


def test_names_are_a_deployment_choice_shown_to_center_only(staffed_wall, monkeypatch):
    app, _ = staffed_wall
    app.server.config["GRIDWALL_STAFFING_DETAIL"] = "names"
    assert "网格员3" in staffing_text()  # auth off (demo): the wall is the center's
    app.server.config["GRIDWALL_AUTH_ENABLED"] = True
    for role, named in (("center", True), ("leader", False), ("street", False)):
        monkeypatch.setattr(auth, "current_user", lambda role=role: type("U", (), {"role": role, "region_code": None, "username": role})())
        assert ("网格员3" in staffing_text()) is named, role


def test_a_grids_profile_names_its_workers_but_shows_their_online_state_only_where_names_are_chosen(staffed_wall):
    app, _ = staffed_wall
    grid = "320585100001001"

    def profile() -> str:
        _title, body, _ = panels.update_region(None, f"?region={grid}", None)
        return text_of(body)

    counts = profile()
    assert "网格员" in counts  # the grid's contact, by name and role
    assert not any(word in counts for word in ("在线", "离线", "不在岗")), counts
    app.server.config["GRIDWALL_STAFFING_DETAIL"] = "names"
    assert any(word in profile() for word in ("在线", "离线", "不在岗"))


def test_a_past_moment_without_pings_says_so_instead_of_counting_everyone_offline(staffed_wall):
    _, now = staffed_wall
    at = (now - timedelta(hours=3)).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    text = staffing_text(f"?at={quote(at)}")
    assert "历史在线数据不足" in text, text
    assert "人 / " not in text
    children, _ = panels.update_staffing(None, f"?at={quote(at)}", None)
    classes = " ".join(str(c.to_plotly_json()["props"].get("className")) for c in _walk(children))
    assert "is-bad" not in classes  # not shown in red
    # Live, the same wall counts the offline workers as before.
    assert "历史在线数据不足" not in staffing_text()


def _walk(component):
    if isinstance(component, (list, tuple)):
        for c in component:
            yield from _walk(c)
        return
    if hasattr(component, "to_plotly_json"):
        yield component
        yield from _walk(getattr(component, "children", None))


def test_the_staffing_detail_setting_reads_the_toml_section(tmp_path, monkeypatch):
    assert Settings().staffing.detail == "counts"
    toml = tmp_path / "gridwall.toml"
    toml.write_text('[staffing]\ndetail = "names"\n')
    monkeypatch.setenv("GRIDWALL_CONFIG", str(toml))
    assert Settings().staffing.detail == "names"
    toml.write_text('[staffing]\ndetail = "ranking"\n')
    with pytest.raises(ValidationError):
        Settings()
