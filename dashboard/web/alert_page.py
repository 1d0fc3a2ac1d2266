"""The alert page for a phone: ``/?alert=ID`` opened inside WeCom's or DingTalk's own browser (the
link every pushed message carries) answers a small server-rendered page instead of the 1920-pixel
wall: what, where, since when, the evidence, the cases, and 确认 for duty officers (``center``), which
asks for the disposition (属实 / 误报 / 已知, with a note) and can change it later.

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
from dashboard.usecases.alert_view import alert_view, parse_alert_id
from dashboard.usecases.alerts import acknowledge_alert
from data_access.db import get_engine
from data_access.dispositions import DISPOSITIONS, MAX_NOTE

bp = Blueprint("gridwall_alert_page", __name__, template_folder="templates")

PHONE_AGENT = re.compile(r"Mobile|Android|iPhone|iPod|MicroMessenger|wxwork|DingTalk|HarmonyOS", re.I)
ACK_MESSAGES = {"ok": "已确认并记录研判结论，升级提醒已停止", "closed": "该预警已消除或撤销，无需确认",
                "not_found": "预警不存在或不在您的范围内", "elsewhere": "该预警来自县（市、区）平台，请由该县指挥中心确认"}


def wants_phone_page() -> bool:
    view = request.args.get("view")
    if view in ("phone", "wall"):
        return view == "phone"
    return bool(PHONE_AGENT.search(request.headers.get("User-Agent", "")))


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai")


def names_shown() -> bool:
    """Offline workers by name in the evidence: only with ``[staffing] detail = "names"`` and to
    ``center`` users (docs/security.md, "Staffing without surveillance"), as on the wall."""
    return current_app.config.get("GRIDWALL_STAFFING_DETAIL") == "names" and has_role("center")


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def _page(alert: dict | None, status: int, message: str | None = None, bad: bool = False):
    user = current_user()
    can_ack = has_role("center")
    chart = phone_chart((alert or {}).get("evidence_detail"))
    return render_template("alert_phone.html", alert=alert, can_ack=can_ack, message=message, bad=bad,
                           user=user.username if user else None, chart=chart), status


def phone_chart(ev: dict | None, w: int = 340, h: int = 140) -> dict | None:
    """A rise's series as the phone page's inline SVG draws it: bars per day (the days that tripped
    it and the days after marked), the usual range as a polygon, the expected level and the alarm
    line as polylines, in a ``w`` x ``h`` box. None for any other evidence."""
    if not isinstance(ev, dict) or ev.get("kind") != "spike" or not ev.get("days"):
        return None
    days, n = ev["days"], len(ev["days"])
    values = [v for key in ("observed", "hi", "alarm_at", "expected") for v in ev.get(key) or [] if v is not None]
    top = max(values + [1])
    pad_top, pad_bottom = 14, 14
    step = w / n

    def y(v):
        return round(h - pad_bottom - (h - pad_top - pad_bottom) * v / top, 1)

    def x(i):
        return round(step * (i + 0.5), 1)

    def line(key):
        pts = [f"{x(i)},{y(v)}" for i, v in enumerate(ev.get(key) or []) if v is not None]
        return " ".join(pts) if len(pts) > 1 else None

    lo = [(i, v) for i, v in enumerate(ev.get("lo") or []) if v is not None]
    hi = [(i, v) for i, v in enumerate(ev.get("hi") or []) if v is not None]
    band = None
    if len(lo) > 1 and len(hi) > 1:
        band = " ".join([f"{x(i)},{y(v)}" for i, v in hi] + [f"{x(i)},{y(v)}" for i, v in reversed(lo)])
    bars = []
    for i, (day, count) in enumerate(zip(days, ev.get("observed") or [])):
        if count is None:
            continue
        bars.append({"x": round(step * i + step * 0.15, 1), "w": round(step * 0.7, 1), "y": y(count),
                     "h": round(y(0) - y(count), 1), "day": day, "n": count,
                     "tripped": bool(ev["tripped"][i]), "after": bool(ev["after"][i])})
    return {"w": w, "h": h, "bars": bars, "band": band, "expected": line("expected"), "alarm": line("alarm_at"),
            "top": f"{top:g}", "first": days[0][5:], "last": days[-1][5:],
            "tripped": [d for d, t in zip(days, ev["tripped"]) if t]}


def phone_alert_page():
    """Before the wall's own view: answer ``/?alert=ID`` from a phone with the phone page."""
    if request.method != "GET" or request.path != "/" or "alert" not in request.args or not wants_phone_page():
        return None
    alert_id = parse_alert_id(request.args.get("alert"))
    if alert_id is None:
        return _page(None, 400, "预警编号格式不正确", bad=True)
    with _engine().connect() as conn:
        alert = alert_view(conn, current_scope(), alert_id, _tz(), datetime.now(timezone.utc), names_shown())
    if alert is None:
        return _page(None, 404, ACK_MESSAGES["not_found"], bad=True)
    done = request.args.get("done")
    return _page(alert, 200, ACK_MESSAGES.get(done) if done else None, bad=done not in (None, "ok"))


@bp.post("/alert/<alert_id>/ack")
def phone_ack(alert_id: str):
    """确认 from the phone page: a form post (same-site Origin checked by dashboard.web.security), then
    back to the page with the outcome in words. Only ``center`` users (403 otherwise)."""
    number = parse_alert_id(alert_id)
    if number is None:
        return _page(None, 400, "预警编号格式不正确", bad=True)
    user = require_role("center")
    disposition, note = request.form.get("disposition"), request.form.get("note") or None
    if disposition not in DISPOSITIONS:
        return _page(None, 400, "请选择研判结论：属实、误报或已知", bad=True)
    if note is not None and len(note) > MAX_NOTE:
        return _page(None, 400, f"说明最多 {MAX_NOTE} 字", bad=True)
    outcome = acknowledge_alert(_engine(), current_scope(), user, number, via="phone",
                                disposition=disposition, note=note)
    current_app.logger.info("phone alert ack %s by %s: %s", number, user.username if user else "demo", outcome.status)
    return redirect("/?" + urlencode({"alert": number, "view": "phone", "done": outcome.status}), code=303)


def init_alert_page(server: Flask) -> None:
    """After the login requirement (registered before this): no user yet is a login, not this page."""
    server.register_blueprint(bp)
    server.before_request(phone_alert_page)
