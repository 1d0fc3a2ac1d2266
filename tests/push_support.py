"""Fake push receivers on loopback and helpers for the push tests (tests/test_push_*.py).

``FakeRobot`` is a threaded http.server that answers like a WeCom robot (``kind="wecom"``: markdown
content at most 4,096 bytes), a DingTalk robot (``kind="dingtalk"``: checks the ``timestamp`` and
``sign`` of each request against its secret and its clock) or a webhook receiver (``kind="webhook"``:
any JSON, answers 200). ``mode`` switches it down: ``http500``, ``errcode`` (HTTP 200 with
``errcode`` not 0) or ``silent`` (reads the request, never answers until the client gave up). Every
message it accepted is kept in ``messages`` with the time (of its clock) it arrived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import insert

from dashboard.core.config import PushSettings
from dashboard.push.dispatcher import Dispatcher
from data_access.models import Alert, Region

UTC = timezone.utc
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
PUBLIC_URL = "http://wall.example.org:8050"
WECOM_KEY = "wecom-KEY-5f1d2c3b-never-shown"
DING_TOKEN = "ding-TOKEN-9a8b7c-never-shown"
DING_SECRET = "SECdingtalk-secret-never-shown"


class FakeClock:
    """A clock the test moves: ``now()`` for the dispatcher and the robots, ``advance(seconds)``."""

    def __init__(self, start: datetime = T0):
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


class FakeRobot:
    def __init__(self, kind: str = "wecom", *, secret: str | None = None, clock=None, hang: float = 2.0):
        self.kind = kind
        self.secret = secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.hang = hang
        self.mode = "up"
        self.messages: list[dict] = []  # accepted: {"at", "body", "headers", "size"}
        self.refused: list[str] = []  # why each request was turned down
        self.attempts = 0
        self._lock = threading.Lock()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer = robot._answer(self.path, raw, dict(self.headers))
                if status is None:  # silent: hold the connection until the client has given up
                    time.sleep(robot.hang)
                    self.close_connection = True
                    return
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        if self.kind == "wecom":
            return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={WECOM_KEY}"
        if self.kind == "dingtalk":
            return f"http://127.0.0.1:{self.port}/robot/send?access_token={DING_TOKEN}"
        return f"http://127.0.0.1:{self.port}/hooks/gridwall"

    def __enter__(self) -> "FakeRobot":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, path: str, raw: bytes, headers: dict) -> tuple[int | None, dict]:
        with self._lock:
            self.attempts += 1
            mode = self.mode
        if mode == "silent":
            return None, {}
        if mode == "http500":
            return 500, {"error": "internal"}
        if mode == "errcode":  # the robot's message echoes the request's URL (its key): redaction's job
            return 200, {"errcode": 45009, "errmsg": f"api freq out of limit, url: {path}"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return self._refuse("not JSON", 200, {"errcode": 40000, "errmsg": "bad json"})
        now = self.clock()
        if self.kind == "dingtalk":
            why = self._dingtalk_refusal(path, now)
            if why:
                return self._refuse(why, 200, {"errcode": 310000, "errmsg": why})
        size = 0
        if self.kind in ("wecom", "dingtalk"):
            md = body.get("markdown") or {}
            text = md.get("content") if self.kind == "wecom" else md.get("text")
            if body.get("msgtype") != "markdown" or not isinstance(text, str):
                return self._refuse("not markdown", 200, {"errcode": 40008, "errmsg": "invalid message type"})
            size = len(text.encode("utf-8"))
            if size > 4096:
                return self._refuse(f"{size} bytes", 200, {"errcode": 40058, "errmsg": "content exceed max length"})
        with self._lock:
            self.messages.append({"at": now, "body": body, "headers": headers, "raw": raw, "size": size})
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _dingtalk_refusal(self, path: str, now: datetime) -> str | None:
        query = parse_qs(urlsplit(path).query)
        if query.get("access_token") != [DING_TOKEN]:
            return "token missing"
        try:
            ms = int(query["timestamp"][0])
            sign = query["sign"][0]  # parse_qs has undone the URL encoding
        except (KeyError, ValueError, IndexError):
            return "timestamp or sign missing"
        if abs(now.timestamp() * 1000 - ms) > 3600 * 1000:
            return "timestamp out of range"
        expected = base64.b64encode(hmac.new(self.secret.encode(), f"{ms}\n{self.secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(sign, expected):
            return "sign not match"
        return None

    def _refuse(self, why: str, status: int, answer: dict):
        with self._lock:
            self.refused.append(why)
        return status, answer

    # --- reading what arrived ---

    def texts(self) -> list[str]:
        out = []
        for m in self.messages:
            body = m["body"]
            if self.kind == "wecom":
                out.append(body["markdown"]["content"])
            elif self.kind == "dingtalk":
                out.append(body["markdown"]["text"])
            else:
                out.append(body.get("text", ""))
        return out

    def alert_ids(self) -> list[int]:
        """The alert ids of every link in every accepted message, in order (repeats kept)."""
        import re

        return [int(x) for text in self.texts() for x in re.findall(r"/\?alert=(\d+)", text)]


def push_settings(channels: list[dict], routes: list[dict] | None = None, **knobs) -> PushSettings:
    """``[push]`` as TOML would give it; default route: every alert from warning up to every channel."""
    if routes is None:
        routes = [{"region": "", "min_severity": "info", "channels": [c["name"] for c in channels]}]
    return PushSettings.model_validate({"channel": channels, "route": routes, **knobs})


def dispatcher(engine, push: PushSettings, clock) -> Dispatcher:
    from zoneinfo import ZoneInfo

    return Dispatcher(engine, push, public_url=PUBLIC_URL, tz=ZoneInfo("Asia/Shanghai"), clock=clock)


def add_region(engine, code: str = "320585", name: str = "太仓市", level: str = "county") -> None:
    with engine.begin() as conn:
        conn.execute(insert(Region.__table__).values(code=code, name=name, level=level,
                                                     parent_code=code[:-3] if len(code) > 6 else None))


def add_alert(engine, *, created_at: datetime, severity: str = "warning", kind: str = "spike",
              region_code: str = "320585100", title: str = "城厢镇 市容环境类事件骤增", source: str = "gridwall",
              status: str = "new", detail: dict | None = None, dedup_key: str | None = None) -> int:
    detail = detail if detail is not None else {"observed": 12, "expected": 3, "window": {"days": 7},
                                               "case_ids": [1, 2, 3]}
    with engine.begin() as conn:
        return int(conn.execute(insert(Alert.__table__).values(
            created_at=created_at, kind=kind, severity=severity, region_code=region_code, title=title,
            detail=json.dumps(detail, ensure_ascii=False), status=status, source=source, dedup_key=dedup_key)
            .returning(Alert.__table__.c.id)).scalar())
