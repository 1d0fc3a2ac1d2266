"""The alert page for a phone: ``/?alert=ID`` opened inside WeCom's or DingTalk's own browser (the
link every pushed message carries) answers a small server-rendered page instead of the 1920-pixel
wall: what, where, since when, the evidence, the cases, and 确认 for duty officers (``center``).

Which one a request gets: ``view=phone`` or ``view=wall`` in the query decides; otherwise a phone's
browser (its User-Agent: Mobile, Android, iPhone, WeCom ``wxwork``, WeChat, DingTalk) gets this page
and every other browser the wall, which opens the same alert in its evidence panel
(``callbacks/alert_detail.py``). The login requirement runs first (a phone without a session is sent
to ``/login`` and comes back here); the alert must lie in the user's scope (else 404, the same answer
as for an alert that does not exist).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, redirect, render_template, request

from dashboard.identity.auth import current_scope, current_user, has_role, require_role
from dashboard.usecases.alert_view import alert_view
from dashboard.usecases.alerts import acknowledge_alert
from data_access.db import get_engine

bp = Blueprint("gridwall_alert_page", __name__, template_folder="templates")

PHONE_AGENT = re.compile(r"Mobile|Android|iPhone|iPod|MicroMessenger|wxwork|DingTalk|HarmonyOS", re.I)
MAX_ID_DIGITS = 18  # a 64-bit id; the API's /alerts/<id>/ack refuses longer the same way
ACK_MESSAGES = {"ok": "已确认，升级提醒已停止", "closed": "该预警已消除或撤销，无需确认",
                "not_found": "预警不存在或不在您的范围内"}


def wants_phone_page() -> bool:
    view = request.args.get("view")
    if view in ("phone", "wall"):
        return view == "phone"
    return bool(PHONE_AGENT.search(request.headers.get("User-Agent", "")))


def alert_id_arg(text: str | None) -> int | None:
    if not text or not text.isascii() or not text.isdigit() or len(text) > MAX_ID_DIGITS:
        return None
    return int(text)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai")


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def _page(alert: dict | None, status: int, message: str | None = None, bad: bool = False):
    user = current_user()
    can_ack = has_role("center")
    return render_template("alert_phone.html", alert=alert, can_ack=can_ack, message=message, bad=bad,
                           user=user.username if user else None), status


def phone_alert_page():
    """Before the wall's own view: answer ``/?alert=ID`` from a phone with the phone page."""
    if request.method != "GET" or request.path != "/" or "alert" not in request.args or not wants_phone_page():
        return None
    alert_id = alert_id_arg(request.args.get("alert"))
    if alert_id is None:
        return _page(None, 400, "预警编号格式不正确", bad=True)
    with _engine().connect() as conn:
        alert = alert_view(conn, current_scope(), alert_id, _tz(), datetime.now(timezone.utc))
    if alert is None:
        return _page(None, 404, ACK_MESSAGES["not_found"], bad=True)
    done = request.args.get("done")
    return _page(alert, 200, ACK_MESSAGES.get(done) if done else None, bad=done not in (None, "ok"))


@bp.post("/alert/<alert_id>/ack")
def phone_ack(alert_id: str):
    """确认 from the phone page: a form post (same-site Origin checked by dashboard.web.security), then
    back to the page with the outcome in words. Only ``center`` users (403 otherwise)."""
    number = alert_id_arg(alert_id)
    if number is None:
        return _page(None, 400, "预警编号格式不正确", bad=True)
    user = require_role("center")
    outcome = acknowledge_alert(_engine(), current_scope(), user, number, via="phone")
    current_app.logger.info("phone alert ack %s by %s: %s", number, user.username if user else "demo", outcome.status)
    return redirect("/?" + urlencode({"alert": number, "view": "phone", "done": outcome.status}), code=303)


def init_alert_page(server: Flask) -> None:
    """After the login requirement (registered before this): no user yet is a login, not this page."""
    server.register_blueprint(bp)
    server.before_request(phone_alert_page)
