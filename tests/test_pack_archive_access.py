"""The archive of weekly packs (周报归档) on both backends: ``GET /api/v1/packs`` and
``GET /api/v1/packs/ID`` and the /review section ``#review-packs`` show each user the packs of its
scope only: a street its own street's (another street's, or the county's leaders' pack with the
concealment watch, answers 404 like an unknown one), duty officers and leaders every pack in their
scope, newest week first, the last 12 weeks."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access import packs as archive
from data_access.db import dispose_all
from data_access.scope import Scope

from .api_seed import FAST_HASHER, ROOT, TOWN_A, TOWN_B, add_users, seed
from .test_pages import call, client_for

UTC = timezone.utc
AT = "2026-11-26T10:00:00"  # Thursday; the last complete week starts 2026-11-16
WEEK = date(2026, 11, 16)
OLD = WEEK - timedelta(weeks=20)  # beyond the 12 weeks listed
NAMES = {ROOT: "太仓市", TOWN_A: "城厢镇", TOWN_B: "沙溪镇"}


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    yield
    dispose_all()


def store(engine, region: str, week: date, fmt: str) -> int:
    now = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    with engine.begin() as conn:
        pack_id = archive.claim_pack(conn, region_code=region, period_kind="week", period_start=week,
                                     period_end=week + timedelta(days=6), fmt=fmt,
                                     audience="leader" if region == ROOT else "street", worker="t:1", now=now,
                                     stale_after=timedelta(minutes=15))
        archive.finish_pack(conn, pack_id, "t:1", f"{fmt}-{region}-{week}".encode(),
                            f"{NAMES[region]}周报_{week}.{fmt}", now)
    return pack_id


@pytest.fixture
def site(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    ids = {(region, fmt): store(engine, region, WEEK, fmt) for region in NAMES for fmt in ("pdf", "xlsx")}
    ids[(TOWN_A, "old")] = store(engine, TOWN_A, OLD, "pdf")
    app = create_app(Settings(database_url=backend_url, secret_key="packs-test"), auth=True)
    return app, tokens, ids


def bearer(tokens, who):
    return {"Authorization": f"Bearer {tokens[who]}"}


def listed(client, tokens, who, query=""):
    resp = client.get(f"/api/v1/packs?at={AT}{query}", headers=bearer(tokens, who))
    return resp.status_code, resp.get_json()


def test_the_list_shows_each_role_the_packs_of_its_scope(site):
    app, tokens, ids = site
    client = app.server.test_client()
    for who in ("center1", "leader1"):
        status, rows = listed(client, tokens, who)
        assert status == 200
        assert {(r["region"], r["format"]) for r in rows} == {(r, f) for r in NAMES for f in ("pdf", "xlsx")}
        county = next(r for r in rows if r["region"] == ROOT and r["format"] == "pdf")
        assert county["audience"] == "leader" and county["url"] == f"/api/v1/packs/{ids[(ROOT, 'pdf')]}"
        assert county["period"] == {"kind": "week", "start": "2026-11-16", "end": "2026-11-22"}
        # narrowed to a street: that street's only; 40 weeks back: the old one too, newest first
        assert {r["region"] for r in listed(client, tokens, who, f"&region={TOWN_B}")[1]} == {TOWN_B}
        older = listed(client, tokens, who, "&weeks=40")[1]
        assert older[-1]["id"] == ids[(TOWN_A, "old")] and older[0]["period"]["start"] == "2026-11-16"
    for who in ("street_a", "wall_a"):
        status, rows = listed(client, tokens, who)
        assert status == 200 and {(r["region"], r["audience"]) for r in rows} == {(TOWN_A, "street")}
        for region in (TOWN_B, ROOT):
            status, body = listed(client, tokens, who, f"&region={region}")
            assert status == 403 and set(body) == {"error"}
    # A past moment lists what the archive held then: these packs were finished 2026-11-23 08:00 local.
    before = client.get("/api/v1/packs?at=2026-11-23T07:59:00&weeks=20", headers=bearer(tokens, "center1"))
    assert before.status_code == 200 and before.get_json() == []
    after = client.get("/api/v1/packs?at=2026-11-23T08:00:00&weeks=20", headers=bearer(tokens, "center1"))
    assert len(after.get_json()) == 6   # the 20-week-old one lies before the window
    assert listed(client, tokens, "center1", "&weeks=0")[0] == 400
    assert listed(client, tokens, "center1", "&region=3205x")[0] == 400
    assert client.get("/api/v1/packs").status_code == 401


def test_a_download_is_the_file_with_its_name_and_another_scopes_pack_is_not_found(site):
    app, tokens, ids = site
    client = app.server.test_client()
    resp = client.get(f"/api/v1/packs/{ids[(TOWN_A, 'pdf')]}", headers=bearer(tokens, "street_a"))
    assert resp.status_code == 200 and resp.data == f"pdf-{TOWN_A}-{WEEK}".encode()
    assert resp.mimetype == "application/pdf"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ") and disposition.isascii()
    assert f'filename="gridwall-{TOWN_A}-week-2026-11-16.pdf"' in disposition
    assert f"filename*=UTF-8''{quote('城厢镇周报_2026-11-16.pdf')}" in disposition
    xlsx = client.get(f"/api/v1/packs/{ids[(ROOT, 'xlsx')]}", headers=bearer(tokens, "leader1"))
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    # a street: another street's pack and the county's (leaders') pack look like an unknown id
    for pack_id in (ids[(TOWN_B, "pdf")], ids[(ROOT, "pdf")], ids[(ROOT, "xlsx")], 999999):
        for who in ("street_a", "wall_a"):
            resp = client.get(f"/api/v1/packs/{pack_id}", headers=bearer(tokens, who))
            assert resp.status_code == 404 and set(resp.get_json()) == {"error"}, (pack_id, who)
    for bad in ("abc", "-1", "1" * 19, "１"):
        assert client.get(f"/api/v1/packs/{quote(bad)}", headers=bearer(tokens, "center1")).status_code == 400


def test_the_county_pack_is_for_leaders_only_whatever_the_scope(engine):
    """The audience rule holds by itself, not only through the scope: a reader allowed only street
    packs never gets the county's, even with the county's scope."""
    seed(engine)
    county_pdf = store(engine, ROOT, WEEK, "pdf")
    street_pdf = store(engine, TOWN_A, WEEK, "pdf")
    root = Scope(ROOT, ROOT)
    with engine.connect() as conn:
        assert [r["id"] for r in archive.list_packs(conn, root, audiences=("street",))] == [street_pdf]
        assert archive.pack_content(conn, root, county_pdf, audiences=("street",)) is None
        assert archive.pack_content(conn, root, county_pdf, audiences=("leader", "street"))["content"]
        assert archive.list_packs(conn, Scope(TOWN_B, ROOT), audiences=("leader", "street")) == []
        assert all("content" not in r for r in archive.list_packs(conn, root, audiences=("leader", "street")))


def walk(node):
    if isinstance(node, dict):
        yield node.get("props", {})
        for child in node.get("props", {}).get("children") or []:
            yield from walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child)


def entries(values) -> tuple[list[dict], list[int]]:
    """The entries of #review-packs (data-pack-id, data-region, data-period-start) and the ids its links name."""
    props = list(walk(values["review-packs"]["children"]))
    rows = [{"id": int(p["data-pack-id"]), "region": p["data-region"], "start": p["data-period-start"]}
            for p in props if "data-region" in p]
    links = sorted(int(p["href"].rsplit("/", 1)[1]) for p in props if str(p.get("href", "")).startswith("/api/v1/packs/"))
    return rows, links


def test_the_review_page_lists_the_archive_of_the_views_scope(site):
    app, tokens, ids = site
    week_ids = sorted(v for k, v in ids.items() if k[1] != "old")
    for who in ("center1", "leader1"):
        client = client_for(app, tokens, who)
        status, values = call(client, app, "/review/", "review-packs", {"url.search": f"?at={AT}"})
        assert status == 200
        rows, links = entries(values)
        assert {r["region"] for r in rows} == set(NAMES) and {r["start"] for r in rows} == {"2026-11-16"}
        assert links == week_ids  # both formats of each, not the pack 20 weeks old
        assert rows[0]["id"] == ids[(rows[0]["region"], "pdf")]  # an entry carries its PDF's id
        assert "太仓市" in json.dumps(values, ensure_ascii=False) and "领导版" in json.dumps(values, ensure_ascii=False)
        # a leader drilled into a street sees that street's packs
        status, values = call(client, app, "/review/", "review-packs", {"url.search": f"?region={TOWN_B}&at={AT}"})
        assert {r["region"] for r in entries(values)[0]} == {TOWN_B}
    street = client_for(app, tokens, "street_a")
    for search in (f"?at={AT}", f"?region={ROOT}&at={AT}", f"?region={TOWN_B}&at={AT}"):
        status, values = call(street, app, "/review/", "review-packs", {"url.search": search})
        rows, links = entries(values)
        assert status == 200 and {r["region"] for r in rows} == {TOWN_A}, search
        assert links == sorted([ids[(TOWN_A, "pdf")], ids[(TOWN_A, "xlsx")]])
        assert "领导版" not in json.dumps(values, ensure_ascii=False)


def test_an_empty_archive_says_how_packs_are_made(engine, backend_url):
    seed(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="packs-test"), auth=True)
    status, values = call(client_for(app, tokens, "center1"), app, "/review/", "review-packs",
                          {"url.search": f"?at={AT}"})
    assert status == 200 and "gridwall worker" in json.dumps(values["review-packs"]["children"], ensure_ascii=False)


def test_the_duty_archives_a_real_pack_that_the_api_serves(engine, backend_url):
    """The real builder (dashboard.pack.build_pack), once: the duty makes a street's PDF, archives it
    under the pack's own file name, and the street downloads exactly those bytes."""
    from zoneinfo import ZoneInfo

    from dashboard.worker.packs import PackDuty, PackReport, Target

    from .api_seed import make_app

    seed(engine)
    tokens = add_users(engine)
    tz = ZoneInfo("Asia/Shanghai")
    duty = PackDuty(engine, tz=tz, worker="real:1")
    report = PackReport()
    pack_id = duty.make(Scope(ROOT, ROOT), Target(TOWN_A, NAMES[TOWN_A], "street"), WEEK, "pdf",
                        datetime(2026, 11, 23, 7, 0, tzinfo=tz), report)
    assert report.built == [(TOWN_A, WEEK, "pdf")] and not report.failed
    resp = make_app(backend_url).test_client().get(f"/api/v1/packs/{pack_id}", headers=bearer(tokens, "street_a"))
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert f"filename*=UTF-8''{quote('城厢镇-研判会商-周-2026-11-16至2026-11-22.pdf')}" in resp.headers["Content-Disposition"]
    with engine.connect() as conn:
        row = archive.list_packs(conn, Scope(ROOT, ROOT), audiences=("leader", "street"))[0]
    assert row["size"] == len(resp.data) and row["status"] == "ready"
