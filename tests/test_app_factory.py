"""The app factory: configuration, local-only assets, API and auth wiring, the shared cache."""

from __future__ import annotations

import importlib
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from dash import Dash

from dashboard.app import ASSETS_DIR, create_app
from callbacks.live.cache import shared, shared_static
from dashboard.core.config import Settings, get_settings
from data_access.moment import Moment
from data_access.scope import Scope

from .conftest import REDIS_URL

REPO = Path(__file__).resolve().parent.parent
UTC = timezone.utc


def make(tmp_path, **overrides) -> Dash:
    values = {"database_url": f"sqlite:///{tmp_path / 'gw.db'}", "secret_key": "factory-test"}
    values.update(overrides)
    return create_app(Settings(**values), auth=False)


def test_config_on_the_flask_server(tmp_path):
    app = make(tmp_path, root="320585", timezone="Asia/Shanghai")
    cfg = app.server.config
    assert cfg["GRIDWALL_DATABASE_URL"] == f"sqlite:///{tmp_path / 'gw.db'}"
    assert cfg["GRIDWALL_ROOT"] == "320585"
    assert cfg["GRIDWALL_TIMEZONE"] == "Asia/Shanghai"
    assert cfg["GRIDWALL_REDIS_URL"] is None
    assert cfg["GRIDWALL_CACHE_KIND"] == "local"
    assert app.server.secret_key == "factory-test"
    assert Path(app.config.assets_folder) == ASSETS_DIR == REPO / "assets"
    assert app.config.serve_locally is True


def test_index_loads_nothing_from_outside(tmp_path):
    client = make(tmp_path).server.test_client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs), refs
    assert "/assets/wall.css" in html and "/assets/gridwall.js" in html
    for ref in refs:
        assert client.get(ref).status_code == 200, ref
    css = (ASSETS_DIR / "wall.css").read_text()
    assert "@import" not in css and "url(http" not in css


def test_api_and_auth_are_wired(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}", secret_key="k"), auth=True)
    rules = {rule.rule for rule in app.server.url_map.iter_rules()}
    assert "/healthz" in rules
    assert "/api/v1/summary" in rules
    assert "/login" in rules
    # With auth on, the wall's callbacks are not served to an anonymous browser.
    answer = app.server.test_client().post("/_dash-update-component", json={})
    assert answer.status_code in (401, 403)


def test_several_apps_in_one_process_keep_their_own_callbacks(tmp_path):
    (tmp_path / "other").mkdir()
    first, second = make(tmp_path), make(tmp_path / "other")
    assert first.callback_map and set(first.callback_map) == set(second.callback_map)
    assert first.server.config["GRIDWALL_DATABASE_URL"] != second.server.config["GRIDWALL_DATABASE_URL"]


def test_wsgi_module_builds_the_server(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDWALL_DATABASE_URL", f"sqlite:///{tmp_path / 'wsgi.db'}")
    monkeypatch.setenv("GRIDWALL_SECRET_KEY", "wsgi-test")
    get_settings.cache_clear()
    sys.modules.pop("dashboard.wsgi", None)
    try:
        wsgi = importlib.import_module("dashboard.wsgi")
        assert wsgi.server.config["GRIDWALL_DATABASE_URL"] == f"sqlite:///{tmp_path / 'wsgi.db'}"
        assert callable(wsgi.server.wsgi_app)
    finally:
        sys.modules.pop("dashboard.wsgi", None)
        get_settings.cache_clear()


def _counting():
    calls = []

    def compute():
        calls.append(1)
        return {"open": len(calls), "none": None}

    return calls, compute


def test_shared_results_per_scope_and_second(tmp_path):
    app = make(tmp_path)
    scope = Scope("320585", "320585")
    m = Moment(datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC), get_settings().tz)
    calls, compute = _counting()
    with app.server.test_request_context("/"):
        assert shared("figures", scope, m, compute, live=True) == {"open": 1, "none": None}
        assert shared("figures", scope, m, compute, live=True) == {"open": 1, "none": None}
        assert len(calls) == 1
        shared("figures", scope.narrow("320585100"), m, compute, live=True)
        assert len(calls) == 2
        assert shared_static("names", lambda: None) is None  # a cached None is a hit, not a miss
        assert shared_static("names", lambda: 1 / 0) is None

        def boom():
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError):
            shared("figures", scope, Moment(m.at.replace(second=1), m.tz), boom, live=True)
        assert shared("figures", scope, Moment(m.at.replace(second=1), m.tz), compute, live=True)["open"] == 3


@pytest.mark.redis
def test_redis_cache_is_shared_between_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    workers = [create_app(Settings(database_url=url, secret_key="k", redis_url=REDIS_URL), auth=False)
               for _ in range(2)]
    assert workers[0].server.config["GRIDWALL_CACHE_KIND"] == "redis"
    scope = Scope("320585", "320585")
    m = Moment(datetime.now(UTC).replace(microsecond=0), get_settings().tz)
    calls, compute = _counting()
    for app in workers:
        with app.server.test_request_context("/"):
            assert shared("figures", scope, m, compute, live=False)["open"] == 1
    assert len(calls) == 1


def test_a_cache_that_is_down_falls_back_to_a_local_one(tmp_path):
    app = make(tmp_path, redis_url="redis://127.0.0.1:1/15")
    scope = Scope("320585", "320585")
    m = Moment(datetime.now(UTC), get_settings().tz)
    calls, compute = _counting()
    with app.server.test_request_context("/"):
        assert shared("figures", scope, m, compute, live=True)["open"] == 1
        assert shared("figures", scope, m, compute, live=True)["open"] == 1
        assert len(calls) == 1
