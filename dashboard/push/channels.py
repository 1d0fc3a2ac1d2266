"""Sending one message through one channel: WeCom and DingTalk group robots, webhooks (HTTP POST
of JSON, stdlib urllib) and mail (stdlib smtplib). ``send`` returns when the far end accepted the
message and raises ``SendFailed`` otherwise; its reason is already redacted (no URL query, key,
secret or password), fit for logs, the send log and /ops.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote, quote_plus, unquote, urlsplit

from dashboard.core.config import PushChannel

from .messages import Message

MAX_ANSWER = 64 * 1024
USER_AGENT = "gridwall-push/1"


class SendFailed(Exception):
    """The channel did not take the message; ``str()`` is the redacted reason."""


def _secrets_of(channel: PushChannel) -> list[str]:
    """Every string of the channel that must never be shown, longest first, also URL-(un)quoted."""
    url = channel.url.get_secret_value().strip()
    found = [url]
    parts = urlsplit(url)
    if parts.query:
        found.append(parts.query)
        for pair in parts.query.split("&"):
            found.append(pair.partition("=")[2])
    found += [parts.password or "", parts.username or ""]
    if channel.secret is not None:
        found.append(channel.secret.get_secret_value())
    more = [variant for s in found if s for variant in (quote(s, safe=""), quote_plus(s), unquote(s))]
    return sorted({s for s in found + more if len(s) >= 3}, key=len, reverse=True)


def redact(text: str, channel: PushChannel) -> str:
    for secret in _secrets_of(channel):
        text = text.replace(secret, "***")
    return text


def send(channel: PushChannel, message: Message, *, now: datetime, timeout: float, public_url: str = "") -> None:
    """Deliver ``message`` through ``channel``; ``now`` is the time a signature carries."""
    try:
        _SENDERS[channel.kind](channel, message, now, timeout, public_url)
    except SendFailed as exc:
        raise SendFailed(redact(str(exc), channel)) from None
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the caller gets a redacted reason
        raise SendFailed(redact(f"{type(exc).__name__}: {exc}", channel)) from None


# --- HTTP: robots and webhooks ------------------------------------------------------------------

def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - the scheme is checked at load
            return answer.status, answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        raise SendFailed(f"HTTP {exc.code}") from None
    except (TimeoutError, socket.timeout):
        raise SendFailed(f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise SendFailed(f"no answer within {timeout:g} s") from None
        raise SendFailed(f"cannot connect: {reason}") from None
    except (ConnectionError, OSError) as exc:  # the connection dropped without an answer
        raise SendFailed(f"no answer: {type(exc).__name__}") from None


def _robot_answer(status: int, answer: bytes) -> None:
    """WeCom and DingTalk answer HTTP 200 with ``{"errcode": 0, ...}``; anything else failed."""
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")
    try:
        data = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SendFailed("the robot's answer is not JSON") from None
    code = data.get("errcode") if isinstance(data, dict) else None
    if code != 0:
        errmsg = str(data.get("errmsg", ""))[:200] if isinstance(data, dict) else ""
        raise SendFailed(f"errcode {code}: {errmsg}".rstrip(": "))


def _wecom(channel: PushChannel, message: Message, now: datetime, timeout: float, public_url: str) -> None:
    body = {"msgtype": "markdown", "markdown": {"content": message.body}}
    _robot_answer(*_post(channel.url.get_secret_value().strip(), _json(body), {}, timeout))


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: URL-encoded base64 of HMAC-SHA256(secret, f"{timestamp}\\n{secret}")."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def _dingtalk(channel: PushChannel, message: Message, now: datetime, timeout: float, public_url: str) -> None:
    ms = int(now.timestamp() * 1000)
    url = channel.url.get_secret_value().strip()
    signed = f"{url}{'&' if '?' in url else '?'}timestamp={ms}&sign={dingtalk_sign(channel.secret.get_secret_value(), ms)}"
    body = {"msgtype": "markdown", "markdown": {"title": message.subject, "text": message.body}}
    _robot_answer(*_post(signed, _json(body), {}, timeout))


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``X-Gridwall-Signature``: ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_body(message: Message) -> dict:
    return {"alerts": [{"id": i.id, "kind": i.kind, "severity": i.severity, "region_code": i.region_code,
                        "title": i.title, "created_at": i.created_at.isoformat(), "link": i.link,
                        "evidence": i.evidence} for i in message.items],
            "text": message.body}


def _webhook(channel: PushChannel, message: Message, now: datetime, timeout: float, public_url: str) -> None:
    body = _json(webhook_body(message))
    timestamp = str(int(now.timestamp()))
    headers = {"X-Gridwall-Timestamp": timestamp}
    if channel.secret is not None and channel.secret.get_secret_value():
        headers["X-Gridwall-Signature"] = webhook_signature(channel.secret.get_secret_value(), timestamp, body)
    status, _ = _post(channel.url.get_secret_value().strip(), body, headers, timeout)
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")


def _json(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


# --- mail -----------------------------------------------------------------------------------

def _email(channel: PushChannel, message: Message, now: datetime, timeout: float, public_url: str) -> None:
    """``smtp://[user[:password]@]host[:port]`` (STARTTLS when the server offers it; then, and only
    then, a login) or ``smtps://...`` (TLS from the start, port 465 by default). A password may also
    be given as the channel's ``secret``."""
    parts = urlsplit(channel.url.get_secret_value().strip())
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else (
        channel.secret.get_secret_value() if channel.secret is not None else None)
    sender = channel.sender or (user if user and "@" in user else f"gridwall@{socket.getfqdn()}")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(channel.to)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(message.body, charset="utf-8")
    context = ssl.create_default_context()
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout)
        with client:
            client.ehlo()
            secure = parts.scheme == "smtps"
            if not secure and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                secure = True
            if user and password:
                if not secure:
                    raise SendFailed("the server offers no STARTTLS: the password is not sent in clear")
                client.login(user, password)
            refused = client.send_message(mail)
    except SendFailed:
        raise
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error[:200]!r}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(f"SMTP refused every recipient ({len(exc.recipients)})") from None
    except (TimeoutError, socket.timeout):
        raise SendFailed(f"no answer within {timeout:g} s") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"SMTP: {type(exc).__name__}: {exc}") from None
    # Some recipients refused, others not: sent (trying again would mail the others twice).
    del refused


_SENDERS = {"wecom": _wecom, "dingtalk": _dingtalk, "webhook": _webhook, "email": _email}
