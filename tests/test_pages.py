"""The pages beside the wall (/review, /ops): each its own Dash app on the wall's server, behind the same
login, gated by role, scoped like the wall, and without the wall's live machinery."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from dashboard.app import create_app, dash_apps
from dashboard.core.config import Settings
from data_access.db import dispose_all
from data_access.forecasts import write_forecast

from .api_seed import (
    COMM_A,
    FAST_HASHER,
    PASSWORD,
    ROOT,
    TOWN_A,
    TOWN_B,
    T,
    add_users,
    seed,
)

UTC = timezone.utc
HTML = {"Accept": "text/html,application/xhtml+xml"}
AT = "2026-11-26T10:00:00"  # = api_seed.T, a Thursday
LIVE_FILES = ("live.js", "live.css", "dash_adapter.js", "gridwall.js")


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def forecast_rows(region: str, expected: float) -> list[dict]:
    made = T - timedelta(hours=1)
    return [{"region_code": region, "category_code": "01", "day": date(2026, 11, 26) + timedelta(days=i),
             "expected": expected, "median": expected, "lo80": expected / 2, "hi80": expected * 2, "made_at": made}
            for i in range(7)]


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    with engine.begin() as conn:
        write_forecast(conn, forecast_rows(TOWN_A, 2.0) + forecast_rows(TOWN_B, 3.0))
    app = create_app(Settings(database_url=backend_url, secret_key="pages-test"), auth=True)
    return app, tokens


def client_for(app, tokens, who: str | None):
    client = app.server.test_client()
    if who == "wall_a":
        assert client.get(f"/kiosk/{tokens['wall_a']}").status_code == 302
    elif who is not None:
        assert client.post("/login", data={"username": who, "password": PASSWORD}).status_code == 302
    return client


def page_app(app, prefix: str):
    return next(a for a in dash_apps(app.server) if a.config.routes_pathname_prefix == prefix)


def call(client, app, prefix: str, output_start: str, inputs: dict[str, object]):
    """POST the server callback of the page at ``prefix`` whose first output starts ``output_start``,
    with ``inputs`` ({"url.search": ...}) as its input values; returns (status, {id: {prop: value}})."""
    dash_app = page_app(app, prefix)
    key, cb = next((k, cb) for k, cb in dash_app.callback_map.items()
                   if callable(cb.get("callback")) and k.lstrip(".").startswith(output_start))
    outs = cb["output"] if isinstance(cb["output"], (list, tuple)) else [cb["output"]]
    outputs = [{"id": o.component_id, "property": o.component_property} for o in outs]
    body = {"output": key, "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{**d, "value": inputs.get(f"{d['id']}.{d['property']}")} for d in cb["inputs"]],
            "state": [], "changedPropIds": [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"]}
    resp = client.post(f"{prefix}_dash-update-component", json=body)
    return resp.status_code, (resp.get_json(silent=True) or {}).get("response", {})


def review(client, app, search: str) -> dict:
    status, values = call(client, app, "/review/", "review-region", {"url.search": search})
    assert status == 200, (search, status)
    return values


def text_of(value) -> str:
    return json.dumps(value, ensure_ascii=False)


# --- routes and roles ------------------------------------------------------------------------------

PAGE_STATUS = {  # user -> (/review, /ops)
    "center1": (200, 200),
    "leader1": (200, 403),
    "street_a": (200, 403),
    "wall_a": (403, 403),
}


@pytest.mark.parametrize("who", sorted(PAGE_STATUS))
def test_each_page_answers_its_roles_only(site, who):
    app, tokens = site
    client = client_for(app, tokens, who)
    for path, status in zip(("/review", "/ops"), PAGE_STATUS[who]):
        for variant in (path, path + "/", path + "/?period=month&date=2026-02-10"):
            assert client.get(variant, headers=HTML).status_code == status, (who, variant)
        # The page's data routes and callbacks are gated the same way.
        assert client.get(f"{path}/_dash-layout").status_code == status, (who, path)
        if status == 403:
            assert client.post(f"{path}/_dash-update-component", json={}).status_code == 403
    assert client.get("/", headers=HTML).status_code == 200  # the wall is every role's


def test_anonymous_visitors_are_sent_to_the_login(site):
    app, _ = site
    client = app.server.test_client()
    for path in ("/review", "/review/?period=month", "/ops", "/ops/"):
        resp = client.get(path, headers=HTML)
        assert resp.status_code == 302 and resp.location.startswith("/login?next=%2F"), path
    for path in ("/review/_dash-layout", "/ops/_dash-dependencies"):
        assert client.get(path).status_code == 401
    assert client.post("/review/_dash-update-component", json={}).status_code == 401
    resp = client.post("/login", data={"username": "leader1", "password": PASSWORD, "next": "/review?period=month"})
    assert resp.location == "/review?period=month"


def test_the_pages_leave_out_the_live_machinery_and_the_wall_keeps_it(site):
    app, tokens = site
    client = client_for(app, tokens, "center1")
    wall = client.get("/", headers=HTML).get_data(as_text=True)
    assert "/assets/live.js" in wall and "/assets/gridwall.js" in wall and "/assets/wall.css" in wall
    assert "pages.js" not in wall and "pages.css" not in wall
    for path in ("/review", "/review/", "/ops"):
        html = client.get(path, headers=HTML).get_data(as_text=True)
        assert not [name for name in LIVE_FILES if name in html], path
        assert "/assets/wall.css" in html and "/assets/pages.js" in html and "/assets/pages.css" in html
        deps = client.get(path.rstrip("/") + "/_dash-dependencies").get_data(as_text=True)
        assert "live-poke" not in deps and "live-version" not in deps
    for name in ("wall.css", "pages.js", "pages.css"):
        assert client.get(f"/review/assets/{name}").status_code == 200


def test_each_worker_renders_every_apps_index_at_start(tmp_path):
    """dashboard/wsgi.py: before a worker serves anything, each app (wall and pages) has rendered its index
    and so knows the script files it may serve; a page's scripts are then served at once."""
    import re

    from dashboard.app import render_indexes

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", secret_key="w")
    other_worker = create_app(settings, auth=False).server.test_client()
    worker = create_app(settings, auth=False)
    render_indexes(worker.server)
    apps = dash_apps(worker.server)
    assert [a.config.routes_pathname_prefix for a in apps] == ["/review/", "/ops/", "/"]
    assert all(a.registered_paths.get("dash") for a in apps)
    client = worker.server.test_client()
    for page in ("/review", "/ops", "/"):
        scripts = re.findall(r'src="([^"]*_dash-component-suites[^"]+)"', other_worker.get(page).get_data(as_text=True))
        assert scripts and all(client.get(src).status_code == 200 for src in scripts), page


def test_security_guards_every_app(site):
    app, tokens = site
    client = client_for(app, tokens, "center1")
    for prefix in ("/review/", "/ops/"):
        path = f"{prefix}_dash-update-component"
        assert client.post(path, json={"output": "no-such.children"}).status_code == 400
        assert client.post(path, data="not json", content_type="application/json").status_code == 400
        cross = client.post(path, json={}, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        assert client.get(f"{prefix}_dash-layout").headers["Cache-Control"] == "no-store"
    # A callback of one page is not reachable through another's path.
    status, _ = call(client, app, "/review/", "review-region", {"url.search": ""})
    assert status == 200
    key = next(k for k in page_app(app, "/review/").callback_map if "review-forecast" in k)
    assert client.post("/ops/_dash-update-component", json={"output": key, "outputs": {}, "inputs": [{
        "id": "url", "property": "search", "value": ""}], "state": []}).status_code == 400


def page_links(node) -> list[str]:
    """The ``data-page`` of every link in a Dash layout, in order."""
    if isinstance(node, list):
        return [link for item in node for link in page_links(item)]
    if not isinstance(node, dict):
        return []
    props = node.get("props", {})
    own = [props["data-page"]] if "data-page" in props else []
    return own + [link for value in props.values() for link in page_links(value)]


def test_the_shared_header_shows_the_links_of_the_users_role(site):
    app, tokens = site
    for who, links in (("center1", ["/", "/review", "/ops"]), ("street_a", ["/", "/review"])):
        layout = client_for(app, tokens, who).get("/review/_dash-layout").get_data(as_text=True)
        nav = json.loads(layout)
        assert page_links(nav) == links, who
        shown = text_of(nav)
        assert who in shown and '"/logout"' in shown and "退出" in shown


# --- the review page -------------------------------------------------------------------------------

def test_review_shows_the_last_complete_week_by_default(site):
    app, tokens = site
    values = review(client_for(app, tokens, "leader1"), app, f"?at={AT}")
    period = values["review-period"]
    assert (period["data-start"], period["data-end"], period["data-partial"]) == ("2026-11-16", "2026-11-22", "false")
    assert period["children"] == "2026-11-16 至 2026-11-22（第47周）"
    assert values["review-kind"]["value"] == "week" and values["review-date"]["date"] == "2026-11-16"
    assert values["review-region"]["data-region"] == ROOT


@pytest.mark.parametrize("search, start, end, label", [
    ("period=month&date=2026-02-10", "2026-02-01", "2026-02-28", "2026年2月（2026-02-01 至 2026-02-28）"),
    ("period=quarter&date=2026-05-05", "2026-04-01", "2026-06-30", "2026年第2季度（2026-04-01 至 2026-06-30）"),
    ("period=custom&date=2026-01-05&end=2026-02-03", "2026-01-05", "2026-02-03",
     "2026-01-05 至 2026-02-03（共30天）"),
    ("period=week&date=2026-11-25", "2026-11-23", "2026-11-29",
     "2026-11-23 至 2026-11-29（第48周） 截至 2026-11-26 10:00"),
])
def test_review_shows_the_period_of_the_url(site, search, start, end, label):
    app, tokens = site
    values = review(client_for(app, tokens, "center1"), app, f"?{search}&at={AT}")
    period = values["review-period"]
    assert (period["data-start"], period["data-end"], period["children"]) == (start, end, label)
    assert values["review-notice"]["children"] == []


@pytest.mark.parametrize("search, notice", [
    ("period=week&date=2026-12-01", "尚未开始"),
    ("period=custom&date=2025-01-01&end=2026-01-02", "最长 366 天"),
    ("period=year&date=2026-01-01", "周期参数无效"),
    ("period=week&date=2026-02-30", "周期参数无效"),
])
def test_a_period_that_cannot_be_reviewed_falls_back_to_the_last_week_and_says_why(site, search, notice):
    app, tokens = site
    values = review(client_for(app, tokens, "center1"), app, f"?{search}&at={AT}")
    assert (values["review-period"]["data-start"], values["review-period"]["data-end"]) == ("2026-11-16", "2026-11-22")
    assert notice in text_of(values["review-notice"])


def test_a_street_user_sees_its_own_street_and_a_foreign_region_is_refused(site):
    app, tokens = site
    client = client_for(app, tokens, "street_a")
    for region in (TOWN_B, ROOT, "320585101001", "' OR 1=1"):
        values = review(client, app, f"?region={quote(region)}&at={AT}")
        assert values["review-region"]["data-region"] == TOWN_A, region
        assert "不在权限范围内" in text_of(values["review-notice"]), region
        status, forecast = call(client, app, "/review/", "review-forecast",
                                {"url.search": f"?region={quote(region)}&at={AT}"})
        assert status == 200 and "城厢镇" in text_of(forecast) and "沙溪镇" not in text_of(forecast), region
    assert review(client, app, f"?region={COMM_A}&at={AT}")["review-region"]["data-region"] == COMM_A


def test_the_forecast_table_shows_the_stored_forecast_in_scope(site):
    app, tokens = site
    client = client_for(app, tokens, "center1")
    status, values = call(client, app, "/review/", "review-forecast", {"url.search": f"?at={AT}"})
    text = text_of(values)
    assert status == 200 and "城厢镇" in text and "沙溪镇" in text and "城市管理" in text
    assert '"21"' in text and '"14"' in text  # weekly totals: 7 days x 3.0 and 7 days x 2.0
    status, values = call(client, app, "/review/", "review-forecast", {"url.search": f"?region={TOWN_B}&at={AT}"})
    assert "沙溪镇" in text_of(values) and "城厢镇" not in text_of(values)
    # Before anything was forecast: the empty state.
    status, values = call(client, app, "/review/", "review-forecast", {"url.search": "?at=2026-11-20T10:00:00"})
    assert status == 200 and "暂无预测数据" in text_of(values)


# --- the operations page ---------------------------------------------------------------------------

def test_ops_shows_its_empty_states_to_duty_officers_only(site):
    app, tokens = site
    layout = text_of(client_for(app, tokens, "center1").get("/ops/_dash-layout").get_json())
    assert '"ops-walls"' in layout and '"ops-channels"' in layout
    assert "尚无大屏心跳" in layout and "未配置推送通道" in layout
    status, values = call(client_for(app, tokens, "center1"), app, "/ops/", "ops-walls", {"ops-tick.n_intervals": 1})
    assert status == 200 and "尚无大屏心跳" in text_of(values["ops-walls"])
    assert "未配置推送通道" in text_of(values["ops-channels"])
    status, _ = call(client_for(app, tokens, "leader1"), app, "/ops/", "ops-walls", {"ops-tick.n_intervals": 1})
    assert status == 403


def test_with_auth_off_every_page_is_open(tmp_path):
    from data_access.db import init_db, make_engine

    url = f"sqlite:///{tmp_path / 'open.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    engine.dispose()
    app = create_app(Settings(database_url=url, secret_key="open"), auth=False)
    client = app.server.test_client()
    for path in ("/", "/review", "/ops"):
        assert client.get(path, headers=HTML).status_code == 200
    layout = text_of(client.get("/review/_dash-layout").get_json())
    assert '"/ops"' in layout and "/logout" not in layout  # every link, no user box


# --- in the browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_review_page_in_the_browser_reads_its_period_and_runs_without_the_live_machinery(dash_duo, tmp_path):
    from zoneinfo import ZoneInfo

    from selenium.webdriver.support.ui import WebDriverWait

    from data_access.db import init_db, make_engine
    from data_access.period import last_complete_week

    from .wall_browser_support import dispose, start_wall

    url = f"sqlite:///{tmp_path / 'review.db'}"
    engine = make_engine(url)
    init_db(engine)
    seed(engine)
    engine.dispose()
    start_wall(dash_duo, url, path="/review")
    driver = dash_duo.driver

    def period_attrs(expected_start: str) -> tuple[str, str]:
        WebDriverWait(driver, 15).until(
            lambda d: d.find_element("id", "review-period").get_attribute("data-start") == expected_start)
        el = driver.find_element("id", "review-period")
        return el.get_attribute("data-start"), el.get_attribute("data-end")

    week = last_complete_week(datetime.now(UTC), ZoneInfo("Asia/Shanghai"))
    assert period_attrs(week.first.isoformat()) == (week.first.isoformat(), week.last.isoformat())

    dash_duo.wait_for_page(dash_duo.server_url + "/review?period=month&date=2026-02-10")
    assert period_attrs("2026-02-01") == ("2026-02-01", "2026-02-28")
    assert "2026年2月" in driver.find_element("id", "review-period").text

    # The controls rewrite the URL, which the page follows without a reload.
    driver.execute_script("window.__samePage = true;")
    next(e for e in dash_duo.find_elements("#review-kind label") if e.text == "季度").click()
    dash_duo.find_element("#review-apply").click()
    assert period_attrs("2026-01-01") == ("2026-01-01", "2026-03-31")
    assert "period=quarter" in driver.current_url and "date=2026-02-01" in driver.current_url
    assert driver.execute_script("return window.__samePage === true;")

    # None of the wall's live machinery was loaded or asked for on this page.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    assert any("_dash-update-component" in name for name in resources)
    assert not [name for name in resources if "/live/events" in name or any(f in name for f in LIVE_FILES)]
    assert driver.execute_script(
        "return [typeof window.gridwallLive, typeof window.gridwallDash, typeof window.gridwall];") == \
        ["undefined", "undefined", "undefined"]
    assert not dash_duo.find_elements("#live-poke")
    assert dash_duo.get_logs() == [] or all(entry["level"] != "SEVERE" for entry in dash_duo.get_logs())
    dispose(url)
