"""Live within a second, cheaply: the change signal, shared results per version, no query on a quiet tick.

Runs on SQLite and PostgreSQL; the stampede test also through Redis (two apps = two workers).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from dash import no_update
from sqlalchemy import event, insert, update

from callbacks import wall
from callbacks.live import outage
from callbacks.live import signal as live_signal
from callbacks.live import tick as live
from callbacks.live.cache import shared_versioned
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.changes import data_version, window_start
from data_access.db import get_engine
from data_access.models import Alert, Case
from data_access.scope import Scope

from .conftest import REDIS_URL
from .wall_fixtures import COUNTY, insert_case, seed_small_county

UTC = timezone.utc
ROOT = Scope(COUNTY, COUNTY)


T0 = datetime.now(UTC)  # the polls of a test share one window (no quarter-hour boundary in between)


def fingerprint(engine) -> tuple:
    with engine.connect() as conn:
        return data_version(conn, ROOT, T0)


def test_the_fingerprint_moves_with_every_kind_of_change(engine):
    seed_small_county(engine)
    first = fingerprint(engine)
    assert fingerprint(engine) == first  # nothing changed, nothing moves

    now = datetime.now(UTC)
    insert_case(engine, "320585-SIG-1", now)
    after_insert = fingerprint(engine)
    assert after_insert != first

    # An update that commits late: its updated_at is older than the newest one already seen.
    with engine.begin() as conn:
        conn.execute(update(Case).where(Case.code == "320585-SIG-1").values(status="accepted",
                                                                           updated_at=now - timedelta(seconds=30)))
    after_update = fingerprint(engine)
    assert after_update != after_insert

    # A late report written without updated_at (platforms that never fill it).
    with engine.begin() as conn:
        conn.execute(insert(Case).values(code="320585-SIG-2", title="t", category_code="0101", status="reported",
                                         reported_at=now - timedelta(days=3), grid_code="320585100001001",
                                         updated_at=None))
    after_late = fingerprint(engine)
    assert after_late != after_update

    with engine.begin() as conn:
        conn.execute(update(Alert).where(Alert.dedup_key == "t-spike").values(status="acknowledged"))
    after_ack = fingerprint(engine)
    assert after_ack != after_late

    # A case outside the deployment's root changes nothing the wall shows.
    insert_case(engine, "320583-ELSEWHERE", now, grid_code="320583100001001")
    assert fingerprint(engine) == after_ack


def test_the_window_starts_on_a_fixed_quarter_hour():
    t = datetime(2026, 11, 26, 2, 7, 31, tzinfo=UTC)
    assert window_start(t) == datetime(2026, 11, 26, 1, 45, tzinfo=UTC)
    assert window_start(t + timedelta(minutes=7)) == window_start(t)


def pin_live_signal(monkeypatch) -> None:
    """Only rows change the version during a test, and a failed read is retried at once."""
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.0)
    # No time-driven refresh and no window move during a test.
    monkeypatch.setattr(live_signal, "REFRESH_SECONDS", 10**7)
    # A poller starved by a busy machine must not turn these tests into outage tests.
    monkeypatch.setattr(live_signal, "STALE_AFTER", 600.0)
    monkeypatch.setattr(live_signal, "data_version", lambda conn, scope, now, **kw: data_version(conn, scope, T0, **kw))


@pytest.fixture
def wall_app(engine, backend_url, monkeypatch):
    seed_small_county(engine)
    pin_live_signal(monkeypatch)
    app = create_app(Settings(database_url=backend_url, secret_key="signal-test"), auth=False)
    with app.server.test_request_context("/"):
        yield app
    live_signal.forget(backend_url)


class StatementCounter:
    """SQL statements this thread sends to the wall's engine (the change poller runs in its own)."""

    def __init__(self, url: str):
        self.engine = get_engine(url)
        self.thread = threading.get_ident()
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        if threading.get_ident() == self.thread:
            self.statements.append(statement)

    def take(self) -> list[str]:
        out, self.statements = self.statements, []
        return out

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def a_tick(shown_signal, figures_state, stream_state):
    """What one viewer's browser asks in one tick: the signal, then the data callbacks when it moved."""
    signal, _slow, _beat = live.update_signal(1, "", shown_signal)
    if signal is no_update:
        return shown_signal, figures_state, stream_state, False
    figures = wall.update_figures(signal, "", figures_state)
    stream, new_stream_state = wall.update_stream(signal, "", stream_state)
    return signal, figures[-1], (new_stream_state if new_stream_state is not no_update else stream_state), True


def test_a_tick_without_change_runs_no_query(wall_app, engine, backend_url):
    live_signal.refresh_all()
    counter = StatementCounter(backend_url)
    try:
        viewer = a_tick(None, None, None)
        assert viewer[3] and counter.take()  # the first tick of the first viewer computes

        for _ in range(3):  # nothing changed: the tick is answered from the poller's version
            viewer = a_tick(*viewer[:3])
            assert viewer[3] is False
            assert counter.take() == []

        # A second viewer arriving now reads the shared results.
        second = a_tick(None, None, None)
        assert second[3] and counter.take() == []

        insert_case(engine, "320585-20991231-00042", datetime.now(UTC) - timedelta(seconds=1))
        live_signal.refresh_all()
        counter.take()  # the poll itself
        viewer = a_tick(*viewer[:3])
        assert viewer[3] and counter.take()  # something changed: computed once ...
        second = a_tick(*second[:3])
        assert second[3] and counter.take() == []  # ... and shared
        assert viewer[2]["keys"][0] == second[2]["keys"][0] == "320585-20991231-00042"
    finally:
        counter.close()


def test_forged_or_foreign_versions_are_not_computed(wall_app, backend_url):
    live_signal.refresh_all()
    good, _, _ = live.update_signal(1, "", None)
    assert wall.update_figures(good, "", None)[0].isdigit()
    counter = StatementCounter(backend_url)
    try:
        bucket = good["v"].split(".")[1]
        for forged in ("0123456789ab.%s.0000000000" % bucket, "x", None, 7, good["v"] + "0"):
            out = wall.update_figures({**good, "v": forged}, "", None)
            assert out[0].isdigit()
            assert counter.take() == []  # answered with the server's own (cached) version
    finally:
        counter.close()


def test_slower_panels_follow_one_version_per_epoch_shared_by_every_viewer(wall_app, engine, monkeypatch):
    epoch = [1000]
    monkeypatch.setattr(live, "_epoch", lambda: epoch[0])
    live_signal.refresh_all()
    signal, slow, _ = live.update_signal(1, "", None, None)
    assert slow["v"] == signal["v"]
    insert_case(engine, "320585-SLOW-1", datetime.now(UTC))
    live_signal.refresh_all()
    newer, slow_again, _ = live.update_signal(2, "", signal, slow)
    assert newer["v"] != signal["v"] and slow_again is no_update  # same epoch: the panels keep theirs
    _, arriving, _ = live.update_signal(1, "", None, None)
    assert arriving["v"] == signal["v"]  # a wall opened now asks for the same panels as the others
    epoch[0] += 1
    later, slow_later, _ = live.update_signal(3, "", newer, slow)
    assert later is no_update and slow_later["v"] == newer["v"]  # the next epoch, without a new version


def test_a_new_alert_moves_the_slower_panels_within_the_epoch(wall_app, engine, monkeypatch):
    monkeypatch.setattr(live, "_epoch", lambda: 2000)
    live_signal.refresh_all()
    signal, slow, _ = live.update_signal(1, "", None, None)
    insert_case(engine, "320585-SLOW-2", datetime.now(UTC))
    live_signal.refresh_all()
    newer, slow_again, _ = live.update_signal(2, "", signal, slow)
    assert newer["v"] != signal["v"] and slow_again is no_update  # a case waits for the next epoch
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(
            created_at=datetime.now(UTC), kind="sensitive", severity="critical", region_code="320585100",
            title="疑似群体聚集", detail="{}", status="new", source="gridwall", dedup_key="slow-alert"))
    live_signal.refresh_all()
    latest, slow_alert, _ = live.update_signal(3, "", newer, slow)
    assert slow_alert["v"] == latest["v"] and slow_alert["alerts"] != slow["alerts"]  # an alert does not


def test_the_tick_answers_the_tiles_and_the_stream_when_the_version_moves(wall_app, engine):
    live_signal.refresh_all()
    first = live.update_tick(1, "", None, None, None, None)
    signal, slow, beat = first[:3]
    figures, stream = first[3:3 + len(wall.figure_output_list())], first[3 + len(wall.figure_output_list()):]
    assert signal["v"] and figures[0].isdigit() and stream[0]["full"] and stream[1]["keys"]
    again = live.update_tick(2, "", signal, slow, figures[-1], stream[1])
    assert again[0] is no_update and all(v is no_update for v in again[3:])  # nothing new: a heartbeat
    insert_case(engine, "320585-TICK-1", datetime.now(UTC) - timedelta(seconds=1))
    live_signal.refresh_all()
    moved = live.update_tick(3, "", signal, slow, figures[-1], stream[1])
    assert moved[0]["v"] != signal["v"]
    feed, state = moved[3 + len(wall.figure_output_list()):]
    assert state["keys"][0] == "320585-TICK-1" and list(feed["entries"]) == ["320585-TICK-1"]


def test_one_computation_for_many_viewers_at_once(tmp_path):
    """Eight threads in each of two 'workers' sharing Redis ask for the same new version at once."""
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    apps = [create_app(Settings(database_url=url, secret_key="k", redis_url=REDIS_URL), auth=False)
            for _ in range(2)]
    calls = []
    key = f"stampede:{time.time_ns()}"

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"open": 7}

    results = []

    def viewer(app):
        with app.server.test_request_context("/"):
            results.append(shared_versioned(key, compute))

    threads = [threading.Thread(target=viewer, args=(apps[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [{"open": 7}] * 16
    assert len(calls) == 1

    # Another worker holds the lock of a version: this one waits for its result instead of computing.
    from callbacks.live import cache as shared_cache

    key = f"stampede:{time.time_ns()}"

    def other_worker():
        with apps[1].server.test_request_context("/"):
            time.sleep(0.3)
            shared_cache._set(key, {"open": 8}, 30)

    def must_not_run():
        raise AssertionError("computed although another worker was at it")

    with apps[0].server.test_request_context("/"):
        assert shared_cache._add(f"lock:{key}", 5)
        worker = threading.Thread(target=other_worker)
        worker.start()
        assert shared_versioned(key, must_not_run) == {"open": 8}
        worker.join()
