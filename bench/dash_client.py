"""A simulated wall: an asyncio HTTP client that makes the requests a browser's dash-renderer makes.

It reads the app's callback graph (``/_dash-dependencies``) and initial layout (``/_dash-layout``)
like the renderer does, then plays the wall: every ``dcc.Interval`` ticks at its interval, every
server-side callback fires when one of its inputs changes (initially, by a tick, or by another
callback's response), with the current values of its inputs and states, and the responses update
those values. Clientside callbacks and pattern-matching callbacks (clicks) are left out: they
cost the server nothing, with one exception: the tick loop of assets/live.js, which asks for the
next tick (sets ``live-poke``) when the heartbeat of the previous one is in, at most every
``MIN_GAP`` seconds, and again after ``POKE_TIMEOUT`` without an answer. As in the renderer, a
callback is never in flight twice; a trigger that arrives meanwhile fires it again when the
answer is in.

With ``push=True`` the viewer plays the push channel of assets/live.js instead of the tick loop:
one ``GET /live/events`` held open, each frame applied to the stores (``live-version``,
``live-beat``, and ``live-slow`` when the frame's slow version moves, after a jitter), which fires the slower panels'
callbacks as in the browser.

Each response is also searched for case codes (``data-case-code``) with a given prefix, and the
first time each is seen is recorded: the server-to-viewer part of commit-to-screen latency.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MIN_GAP = 0.5  # assets/live.js MIN_GAP_MS
POKE_TIMEOUT = 3.5  # assets/live.js POKE_TIMEOUT_MS
SLOW_JITTER = 8.0  # assets/live.js SLOW_JITTER_MS


@dataclass
class Callback:
    output: str
    outputs: list[dict]  # [{"id", "property"}]
    multi: bool
    inputs: list[dict]
    state: list[dict]
    prevent_initial_call: bool


@dataclass
class App:
    """What every simulated viewer of one server shares: the callback graph and the initial values."""

    callbacks: list[Callback]
    initial: dict[tuple[str, str], Any]
    intervals: dict[str, dict]
    by_input: dict[tuple[str, str], list[int]]

    @classmethod
    async def load(cls, session: aiohttp.ClientSession, base: str) -> "App":
        async with session.get(f"{base}/_dash-dependencies") as r:
            deps = await r.json()
        async with session.get(f"{base}/_dash-layout") as r:
            layout = await r.json()
        callbacks = []
        for d in deps:
            if d.get("clientside_function") or _has_pattern(d):
                continue
            outs = _parse_outputs(d["output"])
            callbacks.append(Callback(d["output"], outs, d["output"].startswith(".."), d["inputs"], d["state"],
                                      bool(d.get("prevent_initial_call"))))
        initial: dict[tuple[str, str], Any] = {}
        intervals: dict[str, dict] = {}
        _walk(layout, initial, intervals)
        by_input: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, cb in enumerate(callbacks):
            for dep in cb.inputs:
                by_input[(dep["id"], dep["property"])].append(i)
        return cls(callbacks, initial, intervals, dict(by_input))


def _has_pattern(d: dict) -> bool:
    return any(str(x["id"]).startswith("{") for x in d["inputs"] + d["state"]) or d["output"].startswith("{") \
        or '{"' in d["output"]


def _parse_outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outs = []
    for p in parts:
        p = p.split("@")[0]  # allow_duplicate outputs carry a hash
        cid, prop = p.rsplit(".", 1)
        outs.append({"id": cid, "property": prop})
    return outs


def _walk(node: Any, values: dict, intervals: dict) -> None:
    if isinstance(node, list):
        for n in node:
            _walk(n, values, intervals)
        return
    if not isinstance(node, dict) or "props" not in node:
        return
    props = node["props"]
    cid = props.get("id")
    if isinstance(cid, str):
        for k, v in props.items():
            if k != "children" or not isinstance(v, (dict, list)):
                values[(cid, k)] = v
        if node.get("type") == "Interval":
            intervals[cid] = {"interval": props.get("interval", 1000), "disabled": props.get("disabled", False)}
            values.setdefault((cid, "n_intervals"), 0)
        if node.get("type") == "Location":
            values.setdefault((cid, "search"), "")
            values.setdefault((cid, "pathname"), "/")
            values.setdefault((cid, "hash"), "")
    _walk(props.get("children"), values, intervals)


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)  # per callback output
    errors: Counter = field(default_factory=Counter)  # per HTTP status / exception
    latency_ms: dict = field(default_factory=lambda: defaultdict(list))  # per callback output
    bytes_in: int = 0
    seen: dict = field(default_factory=dict)  # case code -> first time seen (epoch seconds)


class Viewer:
    """One simulated wall on its own session (its own kiosk login and cookies)."""

    def __init__(self, app: App, base: str, kiosk_path: str, code_prefix: str, search: str = "",
                 push: bool = False):
        self.app, self.base, self.kiosk_path, self.search = app, base, kiosk_path, search
        self.push = push
        self.slow: dict | None = None
        self.slow_pending: dict | None = None
        self.slow_timer = None
        self.push_live: dict | None = None
        self.code_re = re.compile(re.escape(code_prefix) + r"[0-9A-Za-z\-]+")
        self.values = dict(app.initial)
        self.values[("url", "search")] = search
        self.inflight: set[int] = set()
        self.again: dict[int, set[str]] = {}
        self.stats = Stats()
        self.session: aiohttp.ClientSession | None = None
        self.tasks: list[asyncio.Task] = []
        self.stopped = False
        self.poke_seq, self.poke_at, self.poke_timer = 0, time.monotonic(), None

    async def login(self) -> None:
        """The kiosk link: a session cookie for this viewer."""
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                             connector=aiohttp.TCPConnector(limit=6),
                                             timeout=aiohttp.ClientTimeout(total=60))
        async with self.session.get(self.base + self.kiosk_path, allow_redirects=True) as r:
            await r.read()
            if r.status != 200:
                raise RuntimeError(f"kiosk login answered {r.status}")

    async def start(self) -> None:
        """The page loads: every callback's initial call, then the intervals and the tick loop."""
        if self.session is None:
            await self.login()
        for i, cb in enumerate(self.app.callbacks):
            if not cb.prevent_initial_call:
                self._fire(i, set())
        for cid, spec in self.app.intervals.items():
            if not spec["disabled"]:
                self.tasks.append(asyncio.create_task(self._tick(cid, spec["interval"] / 1000.0)))
        if self.push:
            self.tasks.append(asyncio.create_task(self._push_loop()))
        elif ("live-poke", "data") in self.app.by_input:
            self.tasks.append(asyncio.create_task(self._poke_watchdog()))

    # --- the push channel of assets/live.js --------------------------------------------------------

    async def _push_loop(self) -> None:
        url = f"{self.base}/live/events"
        while not self.stopped:
            try:
                async with self.session.get(url, params={"search": self.search},
                                            timeout=aiohttp.ClientTimeout(total=None, sock_read=10)) as r:
                    if r.status != 200:
                        self.stats.errors[f"push {r.status}"] += 1
                        await asyncio.sleep(1.0)
                        continue
                    self.stats.requests["push-connect"] += 1
                    kind = None
                    async for raw in r.content:
                        line = raw.decode("utf-8", "replace").rstrip("\n")
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: "):
                            self._push_event(kind, line[6:])
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.stats.errors[f"push {type(exc).__name__}"] += 1
                await asyncio.sleep(1.0)
            except asyncio.CancelledError:
                return

    def _set_slow(self, slow: dict) -> None:
        self.slow = slow
        self.values[("live-slow", "data")] = slow
        self.slow_pending = None
        if self.slow_timer is not None:
            self.slow_timer.cancel()
            self.slow_timer = None

    def _slow_due(self) -> None:
        self.slow_timer = None
        if self.slow_pending is not None and not self.stopped:
            self._set_slow(self.slow_pending)
            self._changed({("live-slow", "data")})

    def _push_event(self, kind: str | None, text: str) -> None:
        done = time.time()
        self.stats.bytes_in += len(text)
        self.stats.requests[f"push-{kind}"] += 1
        if kind == "frame":
            for code in self.code_re.findall(text):
                self.stats.seen.setdefault(code, done)
        if kind not in ("frame", "beat"):
            return
        payload = json.loads(text)
        changed = {("live-beat", "data")}
        self.values[("live-beat", "data")] = {"t": payload.get("t")}
        if kind == "frame":
            self.push_live = payload.get("live")
            self.values[("live-version", "data")] = self.push_live
            changed.add(("live-version", "data"))
            if self.push_live and self.push_live.get("stale"):
                self.values[("live-slow", "data")] = self.slow = self.push_live
                changed.add(("live-slow", "data"))
        slow = payload.get("slow") if kind == "frame" else None
        shown = self.slow or {}
        if slow and (slow.get("v") != shown.get("v") or slow.get("view") != shown.get("view") or shown.get("stale")):
            if (self.slow is None or shown.get("stale") or slow.get("view") != shown.get("view")
                    or slow.get("alerts") != shown.get("alerts")):
                self._set_slow(slow)
                changed.add(("live-slow", "data"))
            elif self.slow_pending is None or self.slow_pending.get("v") != slow.get("v"):
                if self.slow_timer is not None:
                    self.slow_timer.cancel()
                self.slow_pending = slow
                self.slow_timer = asyncio.get_running_loop().call_later(random.random() * SLOW_JITTER,
                                                                         self._slow_due)
        self._changed(changed)

    # --- the tick loop of assets/live.js -----------------------------------------------------------

    def _schedule_poke(self) -> None:
        if self.poke_timer is None and not self.stopped:
            delay = max(0.0, self.poke_at + MIN_GAP - time.monotonic())
            self.poke_timer = asyncio.get_running_loop().call_later(delay, self._poke)

    def _poke(self) -> None:
        self.poke_timer = None
        self.poke_seq += 1
        self.poke_at = time.monotonic()
        self.values[("live-poke", "data")] = self.poke_seq
        self._changed({("live-poke", "data")})

    async def _poke_watchdog(self) -> None:
        while not self.stopped:
            await asyncio.sleep(1.0)
            if self.poke_timer is None and time.monotonic() - self.poke_at > POKE_TIMEOUT:
                self._schedule_poke()

    async def stop(self) -> None:
        self.stopped = True
        if self.poke_timer is not None:
            self.poke_timer.cancel()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()

    async def _tick(self, cid: str, seconds: float) -> None:
        start = time.monotonic()
        n = 0
        while not self.stopped:
            n += 1
            await asyncio.sleep(max(0.0, start + n * seconds - time.monotonic()))
            self.values[(cid, "n_intervals")] = n
            self._changed({(cid, "n_intervals")})

    def _changed(self, props: set[tuple[str, str]]) -> None:
        fired: dict[int, set[str]] = defaultdict(set)
        for p in props:
            for i in self.app.by_input.get(p, ()):
                fired[i].add(f"{p[0]}.{p[1]}")
        for i, ids in fired.items():
            self._fire(i, ids)

    def _fire(self, i: int, changed: set[str]) -> None:
        if self.stopped:
            return
        if i in self.inflight:
            self.again.setdefault(i, set()).update(changed)
            return
        self.inflight.add(i)
        self.tasks.append(asyncio.create_task(self._call(i, changed)))
        if len(self.tasks) > 200:
            self.tasks = [t for t in self.tasks if not t.done()]

    async def _call(self, i: int, changed: set[str]) -> None:
        cb = self.app.callbacks[i]
        body = {
            "output": cb.output,
            "outputs": cb.outputs if cb.multi else cb.outputs[0],
            "inputs": [{**d, "value": self.values.get((d["id"], d["property"]))} for d in cb.inputs],
            "changedPropIds": sorted(changed),
            "state": [{**d, "value": self.values.get((d["id"], d["property"]))} for d in cb.state],
        }
        started = time.time()
        try:
            async with self.session.post(f"{self.base}/_dash-update-component", json=body,
                                         headers={"Origin": self.base}) as r:
                raw = await r.read()
                status = r.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.stats.errors[type(exc).__name__] += 1
            raw, status = b"", None
        except asyncio.CancelledError:
            return
        finally:
            self.inflight.discard(i)
        done = time.time()
        self.stats.requests[cb.output] += 1
        self.stats.latency_ms[cb.output].append((done - started) * 1000.0)
        self.stats.bytes_in += len(raw)
        updated: set[tuple[str, str]] = set()
        if status == 200 and raw:
            text = raw.decode("utf-8", "replace")
            for code in self.code_re.findall(text):
                self.stats.seen.setdefault(code, done)
            response = json.loads(text).get("response", {})
            for cid, props in response.items():
                for prop, value in props.items():
                    if isinstance(value, dict) and value.get("__dash_patch_update"):
                        continue  # a Patch (the stream's prepend): the store that follows it is what we send back
                    self.values[(cid, prop)] = value
                    updated.add((cid, prop))
        elif status not in (200, 204):
            self.stats.errors[str(status)] += 1
        if ("live-beat", "data") in updated and not self.push:
            self._schedule_poke()
        if updated:
            self._changed(updated)
        pending = self.again.pop(i, None)
        if pending is not None:
            self._fire(i, pending)
