"""The push channel (callbacks/push.py): each new data version reaches an open wall as one event.

Server side through Flask's test client (the event stream runs in the test's thread, so the
statements it sends can be counted), on SQLite and PostgreSQL; the browser side in headless
Chromium: the wall takes new cases from the channel without ticking.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone

import pytest

from callbacks.live import outage, push, versions
from callbacks.live import signal as live_signal
from dashboard.app import create_app
from dashboard.core.config import Settings
from data_access.db import dispose_all

from .api_seed import FAST_HASHER, PASSWORD, add_users
from .test_live_signal import StatementCounter, pin_live_signal
from .wall_browser_support import start_wall
from .wall_fixtures import insert_case, seed_small_county

UTC = timezone.utc


class EventStream:
    """Server-Sent Events read from a streamed test-client response."""

    def __init__(self, response):
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def next(self, kind: str | None = None, limit: int = 50) -> tuple[str, dict]:
        """The next event (of ``kind``, skipping others), as (kind, data)."""
        for _ in range(limit):
            while "\n\n" not in self.buffer:
                chunk = next(self.chunks)
                self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            block, self.buffer = self.buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" not in fields:
                continue  # the retry line
            if kind is None or fields["event"] == kind:
                return fields["event"], json.loads(fields["data"])
        raise AssertionError(f"no {kind} event in {limit} events")

    def close(self) -> None:
        self.response.close()


@pytest.fixture
def push_app(engine, backend_url, monkeypatch):
    seed_small_county(engine)
    pin_live_signal(monkeypatch)
    monkeypatch.setattr(push, "MIN_GAP_SECONDS", 0.0)
    app = create_app(Settings(database_url=backend_url, secret_key="push-test"), auth=False)
    yield app
    live_signal.forget(backend_url)


def open_events(client, search: str = "") -> EventStream:
    resp = client.get("/live/events", query_string={"search": search}, buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    return EventStream(resp)


def test_a_new_case_arrives_as_one_frame_carrying_only_the_new_entry(push_app, engine):
    events = open_events(push_app.server.test_client())
    _, first = events.next("frame")
    assert first["live"]["view"] == "320585|live" and not first["live"]["stale"]
    slow = {k: first["slow"][k] for k in ("v", "view", "stale")}
    assert slow == {"v": first["live"]["v"], "view": "320585|live", "stale": False}
    assert first["slow"]["alerts"]  # the alerts token: a new alert passes the panels on at once
    assert set(first["entries"]) == set(first["keys"]) and len(first["keys"]) == 30
    open_before = int(first["tiles"]["kpi-open"])

    insert_case(engine, "320585-PUSH-1", datetime.now(UTC))
    _, frame = events.next("frame")
    assert frame["live"]["v"] != first["live"]["v"]
    assert frame["keys"][0] == "320585-PUSH-1" and frame["keys"][1:] == first["keys"][:-1]
    assert list(frame["entries"]) == ["320585-PUSH-1"]  # the wall has the others already
    entry = frame["entries"]["320585-PUSH-1"]
    assert entry["props"]["data-case-code"] == "320585-PUSH-1" and "新上报" in json.dumps(entry, ensure_ascii=False)
    assert int(frame["tiles"]["kpi-open"]) == open_before + 1
    events.close()


def test_a_quiet_channel_beats_without_a_query_and_frames_are_built_once(push_app, backend_url):
    client = push_app.server.test_client()
    counter = StatementCounter(backend_url)
    try:
        # (One stream at a time: each holds a request context, and here they share the test's thread.)
        one = open_events(client)
        one.next("frame")
        assert counter.take(), "the first frame of a version reads the database"
        one.close()
        two = open_events(client)
        _, frame = two.next("frame")
        assert len(frame["entries"]) == 30
        assert counter.take() == [], "another wall of the same version reuses the frame"
        for _ in range(2):
            kind, beat = two.next()
            assert kind == "beat" and beat["t"] > 0
        assert counter.take() == [], "a quiet second costs no query"
        two.close()
    finally:
        counter.close()


def test_the_channel_says_stale_while_the_database_is_down_then_sends_everything_again(push_app, monkeypatch):
    events = open_events(push_app.server.test_client())
    events.next("frame")
    real = versions.live_version

    def down(*args, **kwargs):
        raise outage.DataUnavailable("cut", since=datetime(2026, 11, 26, 2, 0, 1, tzinfo=UTC))

    monkeypatch.setattr(versions, "live_version", down)
    _, stale = events.next("frame")
    assert stale["live"]["stale"] is True and stale["live"]["since_text"] == "10:00:01"
    assert "keys" not in stale
    monkeypatch.setattr(versions, "live_version", real)
    _, back = events.next("frame")
    assert back["live"]["stale"] is False and len(back["entries"]) == 30  # the whole stream again
    events.close()


def test_forged_and_surplus_requests_get_a_clear_answer(push_app, monkeypatch):
    client = push_app.server.test_client()
    assert client.get("/live/events", query_string={"search": "?region=" + "9" * 500}).status_code == 400
    push_app.server.config["GRIDWALL_PUSH_SLOTS"] = 1
    first = open_events(client)
    first.next("frame")
    full = client.get("/live/events", buffered=False)  # refused before any stream starts
    assert full.status_code == 503 and full.headers["Retry-After"] == "30"
    first.close()  # closing a stream gives its slot back
    assert push.open_connections() == 0
    again = open_events(client)
    again.next("frame")
    again.close()
    # A foreign region in the search is narrowed by the server-side scope, never trusted.
    foreign = open_events(client, "?region=320583")
    _, frame = foreign.next("frame")
    assert frame["live"]["view"] == "320585|live"
    foreign.close()


def _refused(resp, caplog, what: str) -> None:
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "30"  # the wall falls back to the tick
    assert f"the {what} cap of 2 streams is reached" in caplog.text


def test_one_user_cannot_take_every_slot_and_kiosk_screens_count_as_their_user(engine, backend_url, monkeypatch,
                                                                                caplog):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    seed_small_county(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="push-test"), auth=True)
    app.server.config.update(GRIDWALL_PUSH_SLOTS=50, GRIDWALL_PUSH_SLOTS_PER_USER=2,
                             GRIDWALL_PUSH_SLOTS_PER_ADDRESS=50)
    screens = []
    for _ in range(3):  # one kiosk link opened on three screens: three sessions of the wall user
        screen = app.server.test_client()
        assert screen.get(f"/kiosk/{tokens['wall_a']}").status_code == 302
        screens.append(screen)
    # (Streams are opened and not read: the slot is taken before the first byte. Each holds a request
    # context in the test's thread, so they are closed in the reverse order.)
    held = [open_events(screen) for screen in screens[:2]]
    with caplog.at_level(logging.WARNING, logger="callbacks.live.push"):
        third = screens[2].get("/live/events", buffered=False)
    _refused(third, caplog, "user")
    assert "wall_a" in caplog.text
    duty = app.server.test_client()
    assert duty.post("/login", data={"username": "center1", "password": PASSWORD}).status_code == 302
    theirs = open_events(duty)  # another user still gets a slot
    assert (push.open_connections(user="wall_a"), push.open_connections(user="center1")) == (2, 1)
    theirs.close()
    held.pop().close()  # a stream that ends gives its slot back to its user
    again = open_events(screens[2])
    again.close()
    held.pop().close()
    assert push.open_connections() == 0 and push.open_connections(user="wall_a") == 0
    live_signal.forget(backend_url)
    dispose_all()


def test_one_address_cannot_take_every_slot(push_app, caplog):
    push_app.server.config.update(GRIDWALL_PUSH_SLOTS=50, GRIDWALL_PUSH_SLOTS_PER_ADDRESS=2)
    client = push_app.server.test_client()
    held = [open_events(client) for _ in range(2)]
    with caplog.at_level(logging.WARNING, logger="callbacks.live.push"):
        # a forged X-Forwarded-For from an untrusted peer does not make a new address
        full = client.get("/live/events", buffered=False, headers={"X-Forwarded-For": "10.9.9.9"})
    _refused(full, caplog, "address")
    other = push_app.server.test_client().get("/live/events", buffered=False,
                                              environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    assert push.open_connections(address="127.0.0.1") == 2 and push.open_connections(address="10.1.2.3") == 1
    other.close()
    while held:
        held.pop().close()
    assert push.open_connections() == 0 and push.open_connections(address="127.0.0.1") == 0


def test_without_the_change_signal_the_channel_tells_the_page_to_tick(engine, backend_url):
    seed_small_county(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="push-test"), auth=False)
    app.server.config["GRIDWALL_LIVE_SIGNAL"] = "off"
    resp = app.server.test_client().get("/live/events")
    assert resp.status_code == 200 and "event: off" in resp.get_data(as_text=True)


def test_the_channel_needs_a_session_and_ends_when_the_kiosk_token_is_revoked(engine, backend_url, monkeypatch):
    monkeypatch.setattr("dashboard.identity.users._hasher", FAST_HASHER)
    monkeypatch.setattr(push, "RECHECK_SECONDS", 0.0)
    seed_small_county(engine)
    tokens = add_users(engine)
    app = create_app(Settings(database_url=backend_url, secret_key="push-test"), auth=True)
    client = app.server.test_client()
    assert client.get("/live/events").status_code == 401
    assert client.get(f"/kiosk/{tokens['wall_a']}").status_code == 302
    events = open_events(client)
    events.next("beat")  # the session holds: the channel runs
    from dashboard.identity.users import revoke_tokens

    assert revoke_tokens(engine, "wall_a") >= 1
    kind, _ = events.next("end")
    assert kind == "end"
    events.close()
    live_signal.forget(backend_url)
    dispose_all()


# --- in the browser ----------------------------------------------------------------------------------

def test_the_wall_takes_new_cases_from_the_channel_without_ticking(dash_duo, engine, backend_url):
    seed_small_county(engine)
    start_wall(dash_duo, backend_url)
    dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=30)
    deadline = time.time() + 30
    while dash_duo.driver.execute_script("return window.gridwallLive().push") != "delivering":
        assert time.time() < deadline, "the push channel never delivered"
        time.sleep(0.2)
    pokes = dash_duo.driver.execute_script("return window.gridwallLive().pokes")

    insert_case(engine, "320585-PUSH-B", datetime.now(UTC))
    dash_duo.wait_for_element('#case-stream [data-case-code="320585-PUSH-B"]', timeout=15)
    first = dash_duo.find_elements("#case-stream [data-case-code]")[0]
    assert first.get_attribute("data-case-code") == "320585-PUSH-B"
    assert "case--fresh" in first.get_attribute("class")
    assert dash_duo.driver.execute_script("return window.gridwallLive().pokes") == pokes
    assert dash_duo.get_logs() == []


def test_with_push_off_the_tick_draws_the_stream_and_inserts_only_the_new_entry(dash_duo, engine, backend_url):
    seed_small_county(engine)
    app = start_wall(dash_duo, backend_url, push=False)
    assert app.server.config["GRIDWALL_PUSH"] == "off"
    dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=30)
    # Mark the entries on screen: an insert keeps them, a redraw would replace them.
    marked = dash_duo.driver.execute_script(
        "var e = document.querySelectorAll('#case-stream [data-case-code]');"
        "e.forEach(function (n) { n.__gwOld = true; }); return e.length;")

    insert_case(engine, "320585-TICK-B", datetime.now(UTC))
    dash_duo.wait_for_element('#case-stream [data-case-code="320585-TICK-B"]', timeout=15)
    state = dash_duo.driver.execute_script(
        "var e = Array.prototype.slice.call(document.querySelectorAll('#case-stream [data-case-code]'));"
        "return {push: window.gridwallLive().push, first: e[0].getAttribute('data-case-code'),"
        " fresh: e[0].classList.contains('case--fresh'), kept: e.slice(1).filter(function (n) { return n.__gwOld; }).length};")
    assert state["push"] == "off" and state["first"] == "320585-TICK-B" and state["fresh"]
    assert state["kept"] == min(marked, 29)
    assert dash_duo.get_logs() == []


def test_the_renderers_undo_history_stays_short(dash_duo, engine, backend_url):
    """Each set_props of an input adds to Dash's undo history; on a wall that never sleeps it must not grow."""
    seed_small_county(engine)
    start_wall(dash_duo, backend_url)
    dash_duo.wait_for_element("#case-stream [data-case-code]", timeout=30)
    dash_duo.driver.execute_script(
        "for (var i = 0; i < 300; i += 1) { window.dash_clientside.set_props('kpi-open', {children: String(i)}); }")
    time.sleep(1.5)
    # 20 kept, plus whatever the wall's own frames added since the last trim: far from 300.
    assert dash_duo.driver.execute_script("return window.store.getState().history.past.length") <= 30
