"""City roll-up by PostgreSQL logical replication (issue 18): three PostgreSQL clusters on this machine,
two counties (太仓市 320585, 吴中区 320506, each with its own sequences: their ids collide) replicating
into a city (苏州市 3205). The city's figures are the counties' sums and each county's are its own;
ids stay apart; the city's own alerts live beside the replicated ones; one county's link down makes
that county alone stale, and when it returns the rows written meanwhile arrive and the mark clears.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text

from dashboard.synth.seed import seed_county
from dashboard.usecases.alerts import acknowledge_alert
from data_access import alerts_write, figures, rollup
from data_access.db import init_db, make_engine
from data_access.models import Alert, Case
from data_access.moment import Moment
from data_access.scope import Scope
from tests.pg_clusters import pg_clusters_module  # noqa: F401
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

UTC = timezone.utc
TZ = ZoneInfo("Asia/Shanghai")
CITY = "3205"
A, B = "320585", "320506"
STALE_AFTER = 3.0  # seconds (60 in production): the test waits for staleness, not a minute
BEAT = 0.5
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(url: str, *args: str, root: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWALL_")}
    env.update(GRIDWALL_DATABASE_URL=url, **({"GRIDWALL_ROOT": root} if root else {}))
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _wait(what, predicate, timeout: float = 60.0, step: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Beats:
    """The counties' heartbeat duty (every BEAT s here), tolerant of a county that is down."""

    def __init__(self, engines: dict[str, object]):
        self.engines, self.stop = engines, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(BEAT):
            for county, engine in self.engines.items():
                try:
                    with engine.begin() as conn:
                        rollup.beat(conn, county)
                except Exception:  # noqa: BLE001 - that county's server is down: it beats again when back
                    pass


def _extra_rows(engine, county: str, at: datetime, tag: str, n: int = 3) -> None:
    """Cases the seed does not make: unlocated ones (NULL grid), which count in their county."""
    rows = [{"code": f"{county}-{tag}-{i}", "title": f"未定位{tag}{i}", "category_code": "0101", "source": "hotline",
             "urgency": "normal", "reported_at": at - timedelta(hours=i + 1), "grid_code": None,
             "status": "handling", "level": "county", "resolve_due_at": at + timedelta(hours=4 - 3 * i),
             "updated_at": at} for i in range(n)]
    with engine.begin() as conn:
        conn.execute(insert(Case), rows)


@pytest.fixture(scope="module")
def world(pg_clusters_module):
    make = pg_clusters_module
    now = datetime.now(UTC).replace(microsecond=0)
    a, b, city = make("county_a"), make("county_b"), make("city")
    proxy = TcpProxy("127.0.0.1", b.port)  # the city reaches county B through a link the test can cut
    counties = {A: a.create_database("platform"), B: b.create_database("platform")}
    engines = {}
    for county, url in counties.items():
        engine = make_engine(url)
        init_db(engine)
        seed_county(engine, county=county, days=7, now=now, full_ping_days=0, sparse_ping_days=7,
                    sparse_ping_minutes=120, old_ping_minutes=600)
        _extra_rows(engine, county, now, "seed")
        with engine.begin() as conn:
            alerts_write.insert_alert(conn, dedup_key="spike:1", created_at=now - timedelta(hours=1), kind="spike",
                                      severity="warning", region_code=county, category_code=None,
                                      title=f"{county} 骤增", detail={"observed": 9})
        engines[county] = engine
    # County A through the real command line, B through the function it calls.
    done = _cli(counties[A], "rollup", "publish")
    assert done.returncode == 0, done.stderr
    assert "gw_320585" in done.stdout and "publication gridwall_rollup" in done.stdout
    rollup.publish(engines[B], B)
    for engine in engines.values():
        engine.dispose()  # new sessions: the tables are found through the new search_path
    city_url = city.create_database("city")
    done = _cli(city_url, "init-db", root=CITY)
    assert done.returncode == 0, done.stderr
    done = _cli(city_url, "rollup", "subscribe", "taicang", "--source", a.libpq_uri("platform"), root=CITY)
    assert done.returncode == 0, done.stderr
    city_engine = make_engine(city_url)
    rollup.subscribe(city_engine, "wuzhong", f"postgresql://postgres@127.0.0.1:{proxy.port}/platform")
    beats = Beats(engines)

    def synced():
        with city_engine.connect() as conn:
            rows = rollup.status(conn, stale_after=STALE_AFTER)
        own = {}
        for county, engine in engines.items():
            with engine.connect() as conn:
                own[county] = conn.execute(text("SELECT count(*) FROM cases")).scalar()
        return all(r["state"] == "streaming" and not r["stale"] and r["rows"]["cases"] == own[r["county"]]
                   for r in rows) and len(rows) == 2

    _wait("both counties copied and streaming", synced, timeout=90)
    yield {"now": now, "clusters": {A: a, B: b, "city": city}, "engines": engines, "city": city_engine,
           "proxy": proxy, "city_url": city_url, "county_urls": counties}
    beats.stop.set()
    beats.thread.join(5)
    proxy.close()
    for sub in ("gw_taicang", "gw_wuzhong"):
        from tests.pg_clusters import drop_subscription
        drop_subscription(city_url, sub)
    for engine in (*engines.values(), city_engine):
        engine.dispose()


def _summary(engine, scope: Scope, m: Moment) -> dict:
    with engine.connect() as conn:
        return {**figures.summary(conn, scope, m), "rate_counts": figures.rate_counts(conn, scope, m)}


def test_every_figure_of_the_city_is_the_counties_sum_and_each_county_its_own(world):
    m = Moment(world["now"], TZ)
    own = {c: _summary(world["engines"][c], Scope(c, c), m) for c in (A, B)}
    at_city = {c: _summary(world["city"], Scope(c, CITY), m) for c in (A, B)}
    for county in (A, B):
        assert at_city[county] == own[county], county  # the same county, its own wall and the city's
        assert own[county]["cases"]["open"] > 100
    city = _summary(world["city"], Scope(CITY, CITY), m)
    for group in ("cases", "staffing", "alerts", "rate_counts"):
        assert city[group] == {k: own[A][group][k] + own[B][group][k] for k in own[A][group]}, group
    with world["city"].connect() as conn:  # each group read on its own (the trend tiles, the API) agrees
        root = Scope(CITY, CITY)
        assert figures.case_figures(conn, root, m) == city["cases"]
        assert figures.rate_figures(conn, root, m) == city["rates_7d"]
        assert figures.staffing_figures(conn, root, m) == city["staffing"]
    rc = city["rate_counts"]  # rates from summed numerators and denominators
    assert city["rates_7d"]["on_time"] == pytest.approx(rc["on_time"] / rc["due"])
    assert city["rates_7d"]["satisfied"] == pytest.approx(rc["satisfied"] / rc["rated"])
    # Unlocated cases count in their county and above, never in a street.
    with world["city"].connect() as conn:
        streets = figures.case_figures_by_child(conn, Scope(A, CITY), m)
        by_county = figures.case_figures_by_child(conn, Scope(CITY, CITY), m)
        province_view = conn.execute(text("SELECT count(*) FROM cases WHERE grid_code IS NULL")).scalar()
    assert province_view == 6
    assert sum(r["open"] for k, r in streets.items() if k) == own[A]["cases"]["open"] - 3
    assert None not in by_county
    assert {k: by_county[k] for k in (A, B)} == {c: own[c]["cases"] for c in (A, B)}
    # The wall's ranking: staffing, households and population per child, the same sums.
    from data_access.rollup_figures import add
    from data_access.staffing_detail import staffing_by_child
    with world["city"].connect() as conn:
        city_staff = staffing_by_child(conn, Scope(CITY, CITY), m)
        streets_staff = staffing_by_child(conn, Scope(A, CITY), m)
    for county in (A, B):
        with world["engines"][county].connect() as conn:
            own_streets = staffing_by_child(conn, Scope(county, county), m)
        assert city_staff[county] == add(list(own_streets.values()))
        if county == A:
            assert streets_staff == own_streets


def test_ids_that_collide_across_counties_stay_apart_and_every_join_holds(world):
    engines = world["engines"]
    with engines[A].connect() as ca, engines[B].connect() as cb:
        first_a = ca.execute(text("SELECT id, code FROM cases ORDER BY id LIMIT 1")).one()
        first_b = cb.execute(text("SELECT id, code FROM cases ORDER BY id LIMIT 1")).one()
        actions = {c: conn.execute(text("SELECT count(*) FROM case_actions WHERE case_id = :i"), {"i": first.id}).scalar()
                   for c, conn, first in ((A, ca, first_a), (B, cb, first_b))}
        workers = {c: conn.execute(text(
            "SELECT count(*) FROM staff s JOIN grids g ON g.code = s.grid_code WHERE s.role = 'grid_worker'")).scalar()
            for c, conn in ((A, ca), (B, cb))}
        pings = {c: conn.execute(text(
            "SELECT count(*) FROM staff_pings p JOIN staff s ON s.id = p.staff_id WHERE s.grid_code IS NOT NULL")).scalar()
            for c, conn in ((A, ca), (B, cb))}
    assert first_a.id == first_b.id  # each county's own sequence: the ids collide
    with world["city"].connect() as conn:
        slots = {s.county: s.slot for s in rollup.sources(conn)}
        rows = conn.execute(text("SELECT id, code FROM cases WHERE id IN (:x, :y) ORDER BY id"),
                            {"x": first_a.id * 1000 + slots[A], "y": first_b.id * 1000 + slots[B]}).all()
        assert sorted(code for _, code in rows) == sorted([first_a.code, first_b.code])
        for county, first in ((A, first_a), (B, first_b)):
            got = conn.execute(text("SELECT count(*) FROM case_actions WHERE case_id = :i"),
                               {"i": first.id * 1000 + slots[county]}).scalar()
            assert got == actions[county] > 0
            got = conn.execute(text(
                "SELECT count(*) FROM staff s JOIN grids g ON g.code = s.grid_code "
                "WHERE s.role = 'grid_worker' AND starts_with(g.code, :c)"), {"c": county}).scalar()
            assert got == workers[county]
            got = conn.execute(text(
                "SELECT count(*) FROM staff_pings p JOIN staff s ON s.id = p.staff_id "
                "WHERE s.grid_code IS NOT NULL AND starts_with(s.grid_code, :c)"), {"c": county}).scalar()
            assert got == pings[county]
        total = conn.execute(text("SELECT count(*), count(DISTINCT id) FROM cases")).one()
        assert total[0] == total[1]


def test_the_city_adds_its_own_alerts_beside_the_countys_which_it_cannot_acknowledge(world):
    engine = world["city"]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        before = conn.execute(select(Alert.id, Alert.source, Alert.dedup_key).order_by(Alert.id)).all()
        new_id = alerts_write.insert_alert(conn, dedup_key="cross:3205:0101", created_at=now, kind="cluster",
                                           severity="warning", region_code=CITY, category_code="0101",
                                           title="跨县聚集", detail={"counties": [A, B]})
        again = alerts_write.insert_alert(conn, dedup_key="cross:3205:0101", created_at=now, kind="cluster",
                                          severity="warning", region_code=CITY, category_code="0101",
                                          title="跨县聚集", detail={})
    assert new_id is not None and new_id % 1000 == 0 and again is None
    assert sorted(k for _, _, k in before) == sorted([f"{A}:spike:1", f"{B}:spike:1"])
    assert {s for _, s, _ in before} == {f"gridwall@{A}", f"gridwall@{B}"}
    root = Scope(CITY, CITY)
    ok = acknowledge_alert(engine, root, None, new_id, via="api")
    assert ok.status == "ok" and ok.alert["status"] == "acknowledged"
    county_alert = next(i for i, _, k in before if k.startswith(A))
    refused = acknowledge_alert(engine, root, None, county_alert, via="api")
    assert refused.status == "elsewhere"
    with engine.connect() as conn:
        after = conn.execute(select(Alert.id, Alert.status).where(Alert.id.in_([i for i, _, _ in before]))).all()
        own = conn.execute(text("SELECT count(*) FROM gw_own.alerts")).scalar()
    assert {s for _, s in after} == {"new"} and own == 1
    with world["engines"][A].connect() as conn:  # the county's own row is untouched
        assert conn.execute(text("SELECT status FROM alerts")).scalars().all() == ["new"]


def _fresh(engine) -> dict[str, rollup.Freshness]:
    with engine.connect() as conn:
        return rollup.freshness(conn, stale_after=STALE_AFTER)


def _children_api(world) -> dict[str, dict]:
    from tests.api_seed import make_app

    app = make_app(world["city_url"], auth=False, root=CITY)
    app.config.update(GRIDWALL_ROOT=CITY, GRIDWALL_ROLLUP_STALE_SECONDS=STALE_AFTER)
    with app.test_client() as client:
        response = client.get(f"/api/v1/regions/{CITY}/children")
        assert response.status_code == 200, response.get_data(as_text=True)
        return {row["code"]: row for row in response.get_json()}


def test_one_county_down_is_one_county_stale_and_it_catches_up_with_nothing_lost(world):
    city, proxy = world["city"], world["proxy"]
    kids = _children_api(world)
    assert kids[A]["stale"] is False and kids[B]["stale"] is False and kids[A]["data_as_of"]
    assert kids["320581"]["stale"] is True and kids["320581"]["data_as_of"] is None  # 常熟: not connected

    # The link to county B goes down; B goes on working and writing.
    proxy.cut()
    cut_at = time.monotonic()
    _extra_rows(world["engines"][B], B, datetime.now(UTC), "outage", n=2)
    fresh = _wait("county B marked stale", lambda: (f := _fresh(city))[B].stale and f, timeout=30)
    assert time.monotonic() - cut_at < STALE_AFTER + 15
    assert not fresh[A].stale  # the other county stays live
    kids = _children_api(world)
    assert kids[B]["stale"] is True and kids[A]["stale"] is False
    assert kids[B]["data_as_of"] is not None  # its last data, still shown
    raised = _city_engine(world).raised  # the city's own engine: 数据中断 on that county alone
    feeds = [a for a in raised if a["kind"] == "stale"]
    assert [a["region_code"] for a in feeds] == [B] and "数据中断" in feeds[0]["title"]
    assert all(len(a["region_code"]) < 6 or a["kind"] == "stale" for a in raised)
    with city.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases WHERE code LIKE :c"), {"c": f"{B}-outage-%"}).scalar() == 0

    proxy.restore()
    _wait("the outage's rows arrive and the mark clears", lambda: (
        not _fresh(city)[B].stale and _count_like(city, f"{B}-outage-%") == 2), timeout=60)
    assert _city_engine(world).resolved >= 1
    with city.connect() as conn:
        assert conn.execute(text("SELECT status FROM alerts WHERE kind = 'stale' AND region_code = :b"),
                            {"b": B}).scalars().all() == ["resolved"]

    # The county's whole server stops, then starts again.
    cluster = world["clusters"][B]
    cluster.stop("immediate")
    try:
        _wait("county B stale while its server is down", lambda: _fresh(city)[B].stale, timeout=30)
        assert not _fresh(city)[A].stale
        with city.connect() as conn:
            status = {r["county"]: r for r in rollup.status(conn, stale_after=STALE_AFTER)}
        assert status[B]["stale"] and status[B]["rows"]["cases"] > 0
    finally:
        cluster.start()
    _extra_rows(world["engines"][B], B, datetime.now(UTC), "restart", n=1)
    _wait("rows written after the restart arrive and the mark clears", lambda: (
        not _fresh(city)[B].stale and _count_like(city, f"{B}-restart-%") == 1), timeout=60)
    m = Moment(datetime.now(UTC), TZ)
    assert _summary(world["city"], Scope(B, CITY), m) == _summary(world["engines"][B], Scope(B, B), m)


def _city_engine(world):
    from dashboard.warning.engine import EngineState, run_engine
    from dashboard.warning.families import CaseDetectors, CountyFeeds

    state = EngineState(families=[CountyFeeds(stale_after=STALE_AFTER), CaseDetectors()], budget={})
    return run_engine(world["city"], Scope.whole_deployment(CITY), Moment(datetime.now(UTC), TZ), state=state,
                      forecast=False)


def _copied(engine) -> bool:
    with engine.connect() as conn:
        rows = rollup.status(conn, stale_after=STALE_AFTER)
    return bool(rows) and all(r["state"] == "streaming" and not r["tables_copying"] for r in rows)


def _count_like(engine, pattern: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM cases WHERE code LIKE :c"), {"c": pattern}).scalar()


def test_rollup_status_prints_each_source_with_its_lag_and_rows(world):
    done = _cli(world["city_url"], "rollup", "status", root=CITY)
    assert done.returncode == 0, done.stderr
    assert "taicang" in done.stdout and "wuzhong" in done.stdout and "streaming" in done.stdout
    import json
    done = _cli(world["city_url"], "rollup", "status", "--json", root=CITY)
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert rows["taicang"]["county"] == A and rows["taicang"]["rows"]["cases"] > 0
    assert rows["taicang"]["lag_seconds"] is not None


def test_init_db_names_the_province_cities_and_counties_from_the_bundled_list(world):
    city = world["clusters"]["city"]
    province_url = city.create_database("province")
    done = _cli(province_url, "init-db", root="32")
    assert done.returncode == 0, done.stderr
    engine = make_engine(province_url)
    try:
        with engine.connect() as conn:
            levels = dict(conn.execute(text("SELECT level, count(*) FROM regions GROUP BY level")).all())
            names = dict(conn.execute(text("SELECT code, name FROM regions WHERE code IN ('32', '3205', '320585')")).all())
    finally:
        engine.dispose()
    assert levels == {"province": 1, "city": 13, "county": 95}
    assert names == {"32": "江苏省", "3205": "苏州市", "320585": "太仓市"}
    # The province subscribes to the same county as the city (a second slot on its publication):
    # province -> city -> county, the same figures at every level, the breadcrumb from 江苏省.
    engine = make_engine(province_url)
    try:
        rollup.subscribe(engine, "taicang", world["clusters"][A].libpq_uri("platform"))
        _wait("the province's copy of 太仓", lambda: _copied(engine))
        m = Moment(world["now"], TZ)
        own = _summary(world["engines"][A], Scope(A, A), m)
        for region in ("32", CITY, A):
            got = _summary(engine, Scope(region, "32"), m)
            assert {k: got[k] for k in ("cases", "staffing", "rate_counts")} == \
                {k: own[k] for k in ("cases", "staffing", "rate_counts")}, region
        with engine.connect() as conn:
            from data_access.regions import region_path
            kids = figures.case_figures_by_child(conn, Scope("32", "32"), m)
            path = region_path(conn, Scope("32", "32"), A + "100")
        assert set(kids) == {CITY} and kids[CITY] == own["cases"]
        assert [name for _, name in path][:3] == ["江苏省", "苏州市", "太仓市"]
    finally:
        from tests.pg_clusters import drop_subscription
        drop_subscription(province_url, "gw_taicang")
        engine.dispose()
    with world["city"].connect() as conn:  # the city: its province above, its own counties below
        codes = set(conn.execute(text("SELECT code FROM regions WHERE length(code) <= 6")).scalars())
    assert {"32", "3205", A, B} <= codes and not any(c.startswith("3201") for c in codes)


def test_a_source_without_logical_replication_gets_the_fix(world, tmp_path):
    """The machine's main PostgreSQL runs with wal_level = replica."""
    from tests.conftest import PG_URL

    engine = make_engine(PG_URL)
    try:
        with engine.connect() as conn:
            if conn.exec_driver_sql("SHOW wal_level").scalar() == "logical":
                pytest.fail("the main PostgreSQL has wal_level = logical: this test needs one without it")
        with pytest.raises(rollup.RollupError, match="wal_level = logical"):
            rollup.publish(engine, A)
        with pytest.raises(rollup.RollupError, match="has no publication gridwall_rollup"):
            rollup.subscribe(world["city"], "nothing", world["clusters"]["city"].libpq_uri("postgres"))
    finally:
        engine.dispose()
    # A role without REPLICATION on the county, and one that may not subscribe on the city.
    for cluster, db in ((world["clusters"][A], "platform"), (world["clusters"]["city"], "city")):
        with make_engine(cluster.url(db)).begin() as conn:
            conn.exec_driver_sql("DO $$ BEGIN CREATE ROLE plain_user LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    county = make_engine(world["clusters"][A].url("platform").replace("postgres@", "plain_user@"))
    city = make_engine(world["city_url"].replace("postgres@", "plain_user@"))
    try:
        with pytest.raises(rollup.RollupError, match="ALTER ROLE plain_user WITH REPLICATION"):
            rollup.publish(county, A)
        with pytest.raises(rollup.RollupError, match="may not create subscriptions"):
            rollup.subscribe(city, "again", world["clusters"][A].libpq_uri("platform"))
    finally:
        county.dispose()
        city.dispose()


@pytest.mark.browser
def test_the_city_wall_marks_the_stale_county_in_its_ranking_and_map_and_clears_it(world, dash_duo):
    from selenium.webdriver.support.wait import WebDriverWait

    from dashboard.app import create_app
    from dashboard.core.config import Settings
    from tests.test_outage_proxy import free_port

    app = create_app(Settings(database_url=world["city_url"], root=CITY, secret_key="rollup-test",
                              rollup_stale_seconds=STALE_AFTER), auth=False)
    dash_duo.start_server(app, port=free_port())
    wait = WebDriverWait(dash_duo.driver, 45, poll_frequency=0.25)
    script = ("return Array.from(document.querySelectorAll('.rt-row[data-stale=true]'))"
              ".map(e => e.textContent)")
    label = "return Array.from(document.querySelectorAll('.leaflet-tooltip')).map(e => e.textContent).join('|')"
    rows = wait.until(lambda d: d.execute_script(script) or None)
    assert not any("吴中区" in r or "太仓市" in r for r in rows)  # the connected counties are live
    assert any("未接入" in r for r in rows)  # 常熟市 and the others: never connected
    world["proxy"].cut()
    try:
        stale = wait.until(lambda d: [r for r in d.execute_script(script) if "吴中区" in r] or None)
        assert "停更" in stale[0]
        wait.until(lambda d: "吴中区（停更" in d.execute_script(label))
        assert not any("太仓市" in r for r in dash_duo.driver.execute_script(script))
    finally:
        world["proxy"].restore()
    wait.until(lambda d: not [r for r in d.execute_script(script) if "吴中区" in r])
    assert dash_duo.get_logs() == [] or all(e["level"] != "SEVERE" for e in dash_duo.get_logs())


def test_the_workers_rollup_duty_beats_on_a_publishing_county_and_idles_elsewhere(world, tmp_path):
    from dashboard.rollup.heartbeat import Heartbeat

    duty, m = Heartbeat(), Moment(datetime.now(UTC), TZ)
    with world["engines"][A].connect() as conn:
        before = conn.execute(text("SELECT beat_at FROM gw_rollup_heartbeat")).scalar()
    report = duty(world["engines"][A], Scope(A, A), m)
    assert report.county == A and report.at >= before
    assert duty(world["city"], Scope(CITY, CITY), m) is None  # the city publishes nothing
    sqlite = make_engine(f"sqlite:///{tmp_path / 'county.db'}")
    init_db(sqlite)
    assert duty(sqlite, Scope(A, A), m) is None
    sqlite.dispose()
