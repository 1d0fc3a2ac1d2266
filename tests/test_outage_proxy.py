"""Never dark, never lying: the wall through real outages of PostgreSQL and Redis (headless Chromium).

Both services are reached through a TCP proxy the test controls (tests/tcp_proxy.py): ``cut()``
drops every connection and refuses new ones, ``restore()`` lets them through again. The database
outage must mark ``#freshness`` stale with "数据中断 自 hh:mm:ss" while the figures keep their last
values, and end by itself; the Redis outage must change nothing on the wall. The waits below are
generous on purpose (a loaded machine); bench/outage.py measures how long detection and recovery take.
"""

from __future__ import annotations

import re
import socket
import uuid
from datetime import datetime, timezone

import pytest
import redis
from selenium.webdriver.support.wait import WebDriverWait

from callbacks.live import signal as live_signal
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import get_engine, init_db
from data_access.figures import case_figures
from data_access.moment import Moment
from data_access.scope import Scope

from .conftest import PG_URL, REDIS_URL, _drop_pg_schema, _pg_schema_engine, pg_schema_url
from .tcp_proxy import TcpProxy
from .wall_fixtures import COUNTY, insert_case, seed_small_county

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]

UTC = timezone.utc
WAIT = 30  # seconds; generous, see the module docstring
PG_HOST, PG_PORT = "127.0.0.1", 5432


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pg_county():
    """The hand-made county in its own PostgreSQL schema: (direct engine, schema)."""
    schema = f"gwout_{uuid.uuid4().hex[:10]}"
    engine = _pg_schema_engine(schema)
    init_db(engine)
    seed_small_county(engine)
    yield engine, schema
    engine.dispose()
    _drop_pg_schema(schema)


def schema_url(schema: str, port: int = PG_PORT) -> str:
    base = PG_URL.replace(f"{PG_HOST}:{PG_PORT}", f"{PG_HOST}:{port}")
    return pg_schema_url(schema, base)


def open_cases(engine) -> int:
    with engine.connect() as conn:
        return case_figures(conn, Scope(COUNTY, COUNTY), Moment.now(Settings(secret_key="x").tz))["open"]


def start(dash_duo, database_url: str, redis_url: str | None = None):
    app = create_app(Settings(database_url=database_url, redis_url=redis_url, secret_key="outage-test"),
                     auth=False)
    dash_duo.start_server(app, port=free_port())
    return app


def freshness(dash_duo) -> tuple[str, str]:
    el = dash_duo.find_element("#freshness")
    return el.text, el.get_attribute("data-stale")


def stream_codes(dash_duo) -> list[str]:
    return [e.get_attribute("data-case-code") for e in dash_duo.find_elements("#case-stream [data-case-code]")]


def test_database_outage_keeps_the_wall_and_recovers(dash_duo, pg_county):
    engine, schema = pg_county
    with TcpProxy(PG_HOST, PG_PORT) as proxy:
        url = schema_url(schema, proxy.port)
        app = start(dash_duo, url)
        health = app.server.test_client()
        try:
            shown_open = str(open_cases(engine))
            dash_duo.wait_for_text_to_equal("#kpi-open", shown_open, timeout=WAIT)
            dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=WAIT)
            dash_duo.wait_for_element('#freshness[data-stale="false"]', timeout=WAIT)
            assert freshness(dash_duo)[0] == "实时"
            codes = stream_codes(dash_duo)
            assert health.get("/healthz").get_json()["database"] == "ok"

            proxy.cut()
            dash_duo.wait_for_element('#freshness[data-stale="true"]', timeout=WAIT)
            text, _ = freshness(dash_duo)
            assert re.fullmatch(r"数据中断 自 \d{2}:\d{2}:\d{2}", text), text
            # The last good values stay: no blank tiles, no emptied stream.
            assert dash_duo.find_element("#kpi-open").text == shown_open
            assert stream_codes(dash_duo) == codes
            body = health.get("/healthz").get_json()
            assert body["status"] == "degraded" and body["database"] == "down"
            # The notice keeps the moment the outage began.
            dash_duo.wait_for_element('#freshness[data-stale="true"]')
            assert freshness(dash_duo)[0] == text

            proxy.restore()
            dash_duo.wait_for_element('#freshness[data-stale="false"]', timeout=WAIT)
            assert freshness(dash_duo)[0] == "实时"
            code = f"320585-OUTAGE-{uuid.uuid4().hex[:6]}"
            insert_case(engine, code, datetime.now(UTC))
            dash_duo.wait_for_element(f'#case-stream [data-case-code="{code}"]', timeout=WAIT)
            dash_duo.wait_for_text_to_equal("#kpi-open", str(int(shown_open) + 1), timeout=WAIT)
            assert health.get("/healthz").get_json()["database"] == "ok"
            # No error dialog, no failed request in the console at any point.
            assert dash_duo.get_logs() == []
            assert not dash_duo.find_elements(".dash-fe-error__title")
        finally:
            live_signal.forget(url)
            get_engine(url).dispose()


def test_redis_outage_falls_back_to_the_local_cache(dash_duo, pg_county):
    engine, schema = pg_county
    redis_db = REDIS_URL.rsplit("/", 1)[-1]
    with TcpProxy("127.0.0.1", 6379) as proxy:
        redis_url = f"redis://127.0.0.1:{proxy.port}/{redis_db}"
        url = schema_url(schema)
        app = start(dash_duo, url, redis_url)
        health = app.server.test_client()
        prefix = app.server.config["GRIDWALL_CACHE_PREFIX"]
        direct = redis.Redis.from_url(REDIS_URL)
        try:
            dash_duo.wait_for_text_to_equal("#kpi-open", str(open_cases(engine)), timeout=WAIT)
            assert health.get("/healthz").get_json()["cache"] == "ok"
            assert direct.keys(f"{prefix}figures*")  # the figures went through Redis

            proxy.cut()
            body = health.get("/healthz").get_json()
            assert body["cache"] == "down" and body["status"] == "degraded" and body["database"] == "ok"
            code = f"320585-NOREDIS-{uuid.uuid4().hex[:6]}"
            insert_case(engine, code, datetime.now(UTC))
            dash_duo.wait_for_element(f'#case-stream [data-case-code="{code}"]', timeout=WAIT)
            assert freshness(dash_duo)[1] == "false"

            proxy.restore()
            assert health.get("/healthz").get_json()["cache"] == "ok"
            direct.delete(*direct.keys(f"{prefix}*"))
            code = f"320585-REDIS-{uuid.uuid4().hex[:6]}"
            insert_case(engine, code, datetime.now(UTC))
            dash_duo.wait_for_element(f'#case-stream [data-case-code="{code}"]', timeout=WAIT)
            # Back on Redis once the breaker lets it be tried again.
            WebDriverWait(dash_duo.driver, WAIT, poll_frequency=0.5).until(
                lambda _: bool(direct.keys(f"{prefix}stream*")))
            assert dash_duo.get_logs() == []
        finally:
            direct.close()
            live_signal.forget(url)
            get_engine(url).dispose()
