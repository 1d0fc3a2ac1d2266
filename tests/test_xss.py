"""Hostile text from the vendor database renders as text everywhere: on the wall (headless Chromium), in
the API's JSON and CSV, on the login and audit pages.

Region, grid, category, org names, case titles and addresses and alert titles and details carry
`<img src=x onerror=...>`, `<script>` and `javascript:` payloads. The browser test checks the DOM itself
(no element with an event-handler attribute, no javascript: link, no payload image): the CSP would block
the handlers anyway, so "nothing ran" alone would prove nothing about escaping.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, update

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all, get_engine, init_db, make_engine
from data_access.models import Alert, Case, Category, Grid, Org, Region

from .api_seed import FAST_HASHER, PASSWORD
from .wall_fixtures import COUNTY, seed_small_county

UTC = timezone.utc
STREET = "320585103"  # 璜泾镇: every name in it is hostile
COMMUNITY, GRID = f"{STREET}001", f"{STREET}001001"
IMG = '<img src=x onerror="window.__xss=1">'
A_JS = '<a href="javascript:window.__xss=2">点我</a>'
SCRIPT = "<script>window.__xss=3</script>"
JS_URL = "javascript:window.__xss=4"
CASE_CODE = "320585-XSS-00001"
TITLE = f"{IMG}井盖缺失 居民张三电话13812345678"


def hostile(engine, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(Region).where(Region.code == STREET).values(name=f"{IMG}璜泾镇"))
        conn.execute(update(Region).where(Region.code == COMMUNITY).values(name=f"{A_JS}社区"))
        conn.execute(update(Grid).where(Grid.code == GRID).values(name=f"{SCRIPT}网格"))
        conn.execute(update(Category).where(Category.code == "0101").values(name=f"{IMG}分类"))
        conn.execute(insert(Org).values(id=9001, name=f"{IMG}{A_JS}责任单位", kind="street", region_code=STREET))
        conn.execute(insert(Case).values(
            code=CASE_CODE, title=TITLE, description=f"{SCRIPT} {JS_URL}", address=JS_URL, category_code="0101",
            source="patrol", urgency="critical", reported_at=now - timedelta(minutes=1), grid_code=GRID,
            lon=121.2, lat=31.58, status="handling", level="street", handler_org_id=9001,
            accept_due_at=now - timedelta(seconds=30), dispatch_due_at=now - timedelta(seconds=20),
            resolve_due_at=now - timedelta(days=10), escalations=0, returns=0, reworks=0, urges=0,
            updated_at=now - timedelta(minutes=1)))
        conn.execute(insert(Alert).values(
            created_at=now - timedelta(minutes=1), kind="spike", severity="critical", region_code=STREET,
            category_code="0101", title=f"{SCRIPT}{IMG}{JS_URL}预警",
            detail=json.dumps({"note": IMG, "link": JS_URL, "case_ids": [1]}), status="new",
            source="external", dedup_key="xss-1"))


DOM_PROBE = """
const bad = [];
document.querySelectorAll('*').forEach(el => {
  for (const attr of el.attributes) {
    if (/^on/i.test(attr.name)) bad.push(el.tagName + ' ' + attr.name);
    if (/^\\s*javascript:/i.test(attr.value) && /^(href|src|action|formaction|xlink:href)$/i.test(attr.name))
      bad.push(el.tagName + ' ' + attr.name + '=' + attr.value);
  }
});
document.querySelectorAll('img[src="x"], iframe, object, embed').forEach(el => bad.push(el.outerHTML));
document.querySelectorAll('script').forEach(s => { if (s.textContent.includes('__xss')) bad.push('script'); });
return {bad: bad, fired: window.__xss === undefined ? null : window.__xss};
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hostile_county(tmp_path):
    url = f"sqlite:///{tmp_path / 'xss.db'}"
    engine = make_engine(url)
    init_db(engine)
    now = datetime.now(UTC)
    seed_small_county(engine, now=now)
    hostile(engine, now)
    yield engine, url
    engine.dispose()
    get_engine(url).dispose()


def assert_clean(dash_duo, where: str) -> None:
    result = dash_duo.driver.execute_script(DOM_PROBE)
    assert result["bad"] == [] and result["fired"] is None, (where, result)


@pytest.mark.browser
def test_hostile_text_renders_as_text_on_the_wall(dash_duo, hostile_county):
    _, url = hostile_county
    app = create_app(Settings(database_url=url, secret_key="xss-test"), auth=False)
    dash_duo.start_server(app, port=free_port())

    # the county: stream, SLA board, alerts, map labels
    entry = f'#case-stream [data-case-code="{CASE_CODE}"]'
    dash_duo.wait_for_element(entry, timeout=15)
    dash_duo.wait_for_contains_text(entry, "<img src=x", timeout=30)
    assert "138****5678" in dash_duo.find_element(entry).text  # masked as well as escaped
    dash_duo.wait_for_contains_text("#sla-board", "<img src=x", timeout=30)
    dash_duo.wait_for_contains_text("#alerts", "<script>", timeout=30)
    dash_duo.wait_for_element("#map .leaflet-tooltip", timeout=15)
    labels = " ".join(e.text for e in dash_duo.find_elements("#map .leaflet-tooltip"))
    assert "<img src=x" in labels
    if dash_duo.find_elements("#region-table"):  # the ranking of the children
        dash_duo.wait_for_contains_text("#region-table", "<img src=x", timeout=30)
    assert_clean(dash_duo, "county")

    # drilled into the hostile street: breadcrumb, community labels, grids
    dash_duo.wait_for_page(f"{dash_duo.server_url}/?region={STREET}")
    dash_duo.wait_for_contains_text("#breadcrumb", "<img src=x", timeout=15)
    dash_duo.wait_for_element(entry, timeout=15)
    dash_duo.wait_for_element("#map .leaflet-tooltip", timeout=15)
    dash_duo.wait_for_contains_text("#map", "<a href=", timeout=30)
    if dash_duo.find_elements("#region-table"):
        dash_duo.wait_for_contains_text("#region-table", "<a href=", timeout=30)
    assert_clean(dash_duo, "street")

    dash_duo.wait_for_page(f"{dash_duo.server_url}/?region={COMMUNITY}")
    dash_duo.wait_for_contains_text("#breadcrumb", "<a href=", timeout=15)
    dash_duo.wait_for_contains_text("#map", "<script>", timeout=15)
    if dash_duo.find_elements("#region-table"):
        dash_duo.wait_for_contains_text("#region-table", "<script>", timeout=30)
    assert_clean(dash_duo, "community")
    assert [e for e in dash_duo.get_logs() if "__xss" in e.get("message", "")] == []


# --- the API, the CSV export, the login and audit pages ----------------------------------------

@pytest.fixture
def api(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    seed_small_county(engine, now=now)
    hostile(engine, now)
    with engine.begin() as conn:
        conn.execute(insert(Case).values(
            code="320585-XSS-00002", title='=HYPERLINK("http://evil.example","点")', category_code="0101",
            source="hotline", urgency="normal", reported_at=now - timedelta(minutes=2), grid_code=GRID,
            status="handling", level="grid", escalations=0, returns=0, reworks=0, urges=0, updated_at=now))
    tokens = add_users_for(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="xss-api"), auth=True)
    yield app.server.test_client(), {"Authorization": f"Bearer {tokens}"}
    dispose_all()


def add_users_for(engine) -> str:
    from dashboard.identity.users import create_token
    from dashboard.usecases.users import save_user as add_user

    add_user(engine, "center1", role="center", password=PASSWORD)
    return create_token(engine, "center1")


def test_api_returns_hostile_text_as_masked_json_data(api):
    client, bearer = api
    resp = client.get("/api/v1/cases?at=2026-11-20T10:00&limit=1000", headers=bearer)
    assert resp.mimetype == "application/json" and resp.headers["X-Content-Type-Options"] == "nosniff"
    row = next(r for r in resp.get_json() if r["code"] == CASE_CODE)
    assert row["title"] == f"{IMG}井盖缺失 居民张*电话138****5678"  # data, masked, not stripped
    assert row["address"] == JS_URL and row["category_name"] == f"{IMG}分类"
    alerts = client.get(f"/api/v1/alerts?region={STREET}&at=2026-11-20T10:00", headers=bearer).get_json()
    alert = next(a for a in alerts if a["source"] == "external")
    assert alert["title"] == f"{SCRIPT}{IMG}{JS_URL}预警" and alert["detail"]["note"] == IMG
    children = client.get(f"/api/v1/regions/{COUNTY}/children", headers=bearer).get_json()
    assert f"{IMG}璜泾镇" in [c["name"] for c in children]
    summary = client.get(f"/api/v1/summary?region={STREET}", headers=bearer).get_json()
    assert summary["name"] == f"{IMG}璜泾镇"


def test_csv_export_defuses_formulas(api):
    client, bearer = api
    resp = client.get("/api/v1/cases?format=csv&at=2026-11-20T10:00&limit=1000", headers=bearer)
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    titles = {r["code"]: r["title"] for r in rows}
    formula = [t for t in titles.values() if "HYPERLINK" in t]
    assert formula == ["'=HYPERLINK(\"http://evil.example\",\"点\")"]
    assert all(not t.startswith(("=", "+", "-", "@")) for t in titles.values())


def test_login_and_audit_pages_escape_what_they_echo(api):
    client, _ = api
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    page = client.post("/login", data={"username": payload, "password": "x", "next": payload})
    text = page.get_data(as_text=True)
    assert page.status_code == 401 and "<img src=x" not in text and "<script>alert" not in text
    assert "&lt;img src=x" in text or "&#34;&gt;&lt;img" in text
    assert client.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    audit = client.get("/audit").get_data(as_text=True)
    assert "审计日志" in audit and "<img src=x" not in audit and "<script>alert" not in audit
    assert "&lt;img src=x" in audit
