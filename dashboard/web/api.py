"""The HTTP API: ``/healthz`` and ``/api/v1/*`` (interfaces.md, "HTTP").

Authentication happens in ``dashboard.identity.auth`` before a view runs; here every view narrows the
caller's server-side scope to the asked region. Bad input answers 400, a region outside the
scope 403, an unknown region 400 (interfaces.md), an unreachable database 503 — never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from dashboard.analytics import scoring
from dashboard.core.config import ReviewSettings, feed_stall_seconds
from dashboard.core.duty_status import KNOWN_DUTIES
from dashboard.core.outward import outward
from dashboard.identity.auth import RoleRequired, audit, current_scope, current_user, has_role, require_role
from dashboard.pack import FORMATS as PACK_FORMATS
from dashboard.pack import MEDIA_TYPES as PACK_MEDIA_TYPES
from dashboard.pack import build_pack, pack_filename
from dashboard.usecases.feeds import region_freshness
from dashboard.usecases import review_bodies as bodies
from dashboard.usecases.alert_quality import MIN_JUDGED, detector_quality
from dashboard.usecases.alert_view import alert_view
from data_access.dispositions import DISPOSITIONS, MAX_NOTE
from dashboard.usecases.alerts import acknowledge_alert
from dashboard.web.openapi import openapi_document
from data_access import commitments as commitments_db
from data_access import figures
from data_access import packs as packs_db
from data_access import rollup
from data_access.alerts import STATUSES as ALERT_STATUSES
from data_access.alerts import list_alerts
from data_access.case_list import STATES as CASE_STATES
from data_access.case_list import list_cases
from data_access.db import get_engine
from data_access.duties import last_successes
from data_access.health import database_status
from data_access.moment import MAX_YEAR, MIN_YEAR, Moment, parse_moment
from data_access.period import Period, PeriodError, parse_period
from data_access.regions import NoRoot, children, region_name
from data_access.review_departments import case_flow_as_of
from data_access.scope import REGION_CODE, BadRegionCode, Scope, ScopeError, code_level
from data_access.users import audit_rows

MAX_LIMIT = 1000
# Who sees the concealment watch (layouts/review_forecast.py WATCH_ROLES says the same for the page).
CONCEALMENT_ROLES = ("center", "leader")
DEFAULT_LIMIT = 100

bp = Blueprint("gridwall_api", __name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _json(obj, status: int = 200) -> Response:
    body = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    resp = Response(body, status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return _json({"error": exc.message}, exc.status)


@bp.errorhandler(RoleRequired)
def _role_required(exc: RoleRequired):
    return _json({"error": exc.description}, 403)


@bp.errorhandler(SQLAlchemyError)
def _database_error(exc):
    current_app.logger.warning("API database error: %s", exc)
    return _json({"error": "database unavailable"}, 503)


@bp.errorhandler(NoRoot)
def _no_root(exc):
    return _json({"error": str(exc)}, 503)


# --- request parsing -------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("GRIDWALL_TIMEZONE") or "Asia/Shanghai")


def _engine():
    return get_engine(current_app.config["GRIDWALL_DATABASE_URL"])


def _moment() -> Moment:
    text = request.args.get("at")
    if text is None or text == "":
        return Moment.now(_tz())
    try:
        at = parse_moment(text, _tz())  # ValueError also for a year outside MIN_YEAR..MAX_YEAR
    except (ValueError, OverflowError):
        raise ApiError(400, f"malformed at {text[:40]!r}: ISO 8601 from {MIN_YEAR} to {MAX_YEAR} expected, "
                            "e.g. 2026-11-26T10:00")
    return Moment(at, _tz())


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _limit() -> int:
    text = request.args.get("limit")
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not _ascii_digits(text) or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, f"malformed limit {text[:20]!r}: an integer from 1 to {MAX_LIMIT}")
    return int(text)


def _choice(name: str, allowed, default: str | None) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise ApiError(400, f"malformed {name} {value[:20]!r}: one of {', '.join(allowed)}")
    return value


def _caller_scope() -> Scope:
    try:
        return current_scope()
    except ScopeError:
        raise ApiError(403, "your account's region is outside this deployment")


def _scope(conn, code: str | None) -> tuple[Scope, str]:
    """The caller's scope narrowed to ``code`` (default: the caller's region) and its name."""
    base = _caller_scope()
    try:
        if code and not (_ascii_digits(code) and REGION_CODE.fullmatch(code)):
            raise BadRegionCode(code)
        scope = base.narrow(code)
    except BadRegionCode:
        raise ApiError(400, f"malformed region code {str(code)[:20]!r}: 4, 6, 9, 12 or 15 digits")
    except ScopeError:
        raise ApiError(403, f"region {code} is outside your scope")
    name = region_name(conn, scope, scope.region)
    if name is None:
        if scope.region != scope.root:
            raise ApiError(400, f"unknown region {scope.region}")
        name = scope.region
    return scope, name


def _local(value: datetime | None) -> str | None:
    return value.astimezone(_tz()).isoformat(timespec="seconds") if value is not None else None


# --- routes ----------------------------------------------------------------------------------

@bp.get("/healthz")
def healthz():
    now = datetime.now(timezone.utc)
    try:
        db_ok, newest = database_status(_engine(), now)
    except Exception:  # e.g. an unusable database URL
        db_ok, newest = False, None
    cache = _cache_status(current_app.config.get("GRIDWALL_REDIS_URL"))
    status = "ok" if db_ok and cache != "down" else "degraded"
    return _json({"status": status, "database": "ok" if db_ok else "down", "cache": cache,
                  "data_as_of": _local(newest), "feed": _feed(db_ok, newest, now), "duties": _duties(db_ok)})


def _feed(db_ok: bool, newest: datetime | None, now: datetime) -> str:
    """"stalled" when the platform's last case change is older than ``feed_stall_hours`` (the wall
    says 数据停滞), "ok" when newer, "unknown" without cases or a database."""
    if not db_ok or newest is None:
        return "unknown"
    return "stalled" if (now - newest).total_seconds() > feed_stall_seconds(current_app.config) else "ok"


def _duties(db_ok: bool) -> dict:
    """Each worker duty's last successful run (gw_duties); null when never, or not readable now. No
    holder here (an open path): /ops shows who holds each duty."""
    done: dict = {}
    if db_ok:
        try:
            with _engine().connect() as conn:
                done = last_successes(conn)
        except Exception:  # noqa: BLE001 - e.g. a database without gw_duties yet
            done = {}
    return {name: {"last_success": _local(done.get(name))} for name in sorted(set(KNOWN_DUTIES) | set(done))}


def _cache_status(url: str | None) -> str:
    if not url:
        return "local"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        return "down"
    return "ok"


@bp.get("/api/v1/openapi.json")
def openapi():
    return _json(openapi_document())


@bp.get("/api/v1/summary")
def summary():
    m = _moment()
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
        body = {"region": scope.region, "name": name, "at": m.local_iso(), **figures.summary(conn, scope, m)}
    return _json(body)


@bp.get("/api/v1/regions/<code>/children")
def region_children(code: str):
    m = _moment()
    with _engine().connect() as conn:
        scope, _ = _scope(conn, code)
        by_child = figures.case_figures_by_child(conn, scope, m)
        rows = children(conn, scope)
        fresh = rollup.freshness(conn, stale_after=current_app.config["GRIDWALL_ROLLUP_STALE_SECONDS"]) if scope.rollup else None
    empty = dict.fromkeys(figures.CASE_KEYS, 0)
    out = []
    for row in rows:
        item = {"code": row["code"], "name": row["name"], "level": code_level(row["code"]),
                "cases": {**empty, **by_child.get(row["code"], {})}}
        if fresh is not None:  # a roll-up database: each child's feed (contract 1.1)
            stale, as_of = region_freshness(fresh, row["code"])
            item.update(stale=stale, data_as_of=_local(as_of))
        out.append(item)
    return _json(out)


@bp.get("/api/v1/cases")
def cases():
    state = _choice("state", tuple(CASE_STATES), "open")
    fmt = _choice("format", ("json", "csv"), "json")
    limit = _limit()
    m = _moment()
    with _engine().connect() as conn:
        scope, _ = _scope(conn, request.args.get("region"))
        rows = list_cases(conn, scope, m, state, limit)
    rows = outward([{**row, **{k: _local(row[k]) for k in ("reported_at", "resolve_due_at")}} for row in rows])
    if fmt == "csv":
        audit("export", {"what": "cases", "region": scope.region, "state": state, "rows": len(rows),
                         "at": m.local_iso()})
        return _csv(rows, f"cases-{scope.region}-{state}.csv")
    return _json(rows)


def _score_rules() -> list[scoring.Rule]:
    """The composite score's rules: ``[review.score]`` of the settings the app was made with
    (``GRIDWALL_REVIEW_SCORE``, validated at start), else the contract's defaults."""
    configured = current_app.config.get("GRIDWALL_REVIEW_SCORE") or ReviewSettings().score
    return scoring.rules_from_settings(configured)


def _period(m: Moment) -> Period:
    """The review period of the request (``period``, ``date``, ``end``) at T: 400 when malformed, not
    started by T, too long, or outside the years a moment may take (its comparisons go a year back)."""
    try:
        period = parse_period(request.args.get("period"), request.args.get("date"), request.args.get("end"),
                              _tz(), m.at)
        if not (MIN_YEAR <= period.first.year and period.last.year <= MAX_YEAR):
            raise PeriodError(f"period out of range ({MIN_YEAR}-{MAX_YEAR})")
    except PeriodError as exc:
        raise ApiError(400, f"{exc} (period {exc.reason})")
    return period


@bp.get("/api/v1/review")
def review_period():
    """The period figures of a region (interfaces.md, ``/api/v1/review``)."""
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.review_body(_engine(), scope, name, period, m, _score_rules())))


@bp.get("/api/v1/review/hot-issues")
def review_hot_issues():
    """Categories whose reported cases rose beyond chance against the previous period and last year
    (dashboard/analytics/hot_issues.py: exact conditional binomial test, Holm-adjusted p < 0.01)."""
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.hot_issues_body(_engine(), scope, name, period, m)))


@bp.get("/api/v1/review/trend")
def review_trend():
    """The main period figures of each of the 26 ISO weeks up to the period's end (each week as
    /api/v1/review would give it for that week at T)."""
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.trend_body(_engine(), scope, name, period, m)))


@bp.get("/api/v1/review/forecast")
def review_forecast():
    """The coming week (预测研判) of a region from T: the engine's stored forecast per street x major
    category with 80 % intervals, the hotspot grids, and the forecasts' record over the 8 complete
    weeks before T's week (dashboard/analytics/forecast_record.py). No period: it looks ahead from T."""
    m = _moment()
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.forecast_body(_engine(), scope, name, m)))


ALERT_QUALITY_ROLES = ("center", "leader")  # layouts/review_alert_quality.py ROLES


@bp.get("/api/v1/review/concealment")
def review_concealment():
    """The communities the engine flagged as 疑似瞒报漏报 during the period, with their evidence (roles
    ``center`` and ``leader`` only: a street user is refused whatever it asks)."""
    require_role(*CONCEALMENT_ROLES)
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.concealment_body(_engine(), scope, name, period, m)))


@bp.get("/api/v1/review/alert-quality")
def review_alert_quality():
    """Each detector's alerts in the period and the duty officers' dispositions of them (预警研判质量;
    roles ``center`` and ``leader``, as on the page)."""
    require_role(*ALERT_QUALITY_ROLES)
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
        rows = detector_quality(conn, scope, period.start, min(period.end, m.at))
    return _json({"region": scope.region, "name": name, "start": period.first.isoformat(),
                  "end": period.last.isoformat(), "min_judged": MIN_JUDGED, "detectors": rows})


@bp.get("/api/v1/review/pack")
def review_pack():
    """The meeting pack (研判会商材料) of a region and period as a download: ``format=pdf`` (default) or
    ``xlsx``; the same bodies as the review routes (dashboard.pack), the concealment watch only for
    center and leader. Parameters and errors as ``/api/v1/review``."""
    fmt = _choice("format", PACK_FORMATS, "pdf")
    m = _moment()
    period = _period(m)
    with _engine().connect() as conn:
        scope, name = _scope(conn, request.args.get("region"))
    user = current_user()
    role = user.role if user is not None else "leader"  # auth off: the loopback demo sees what a leader sees
    data = build_pack(_engine(), scope, period, m, role=role, fmt=fmt, rules=_score_rules(),
                      public_url=current_app.config.get("GRIDWALL_PUBLIC_URL") or "", tz=_tz())
    audit("export", {"what": "pack", "format": fmt, "region": scope.region, "period": period.to_dict(),
                     "bytes": len(data), "at": m.local_iso()})
    resp = Response(data, mimetype=PACK_MEDIA_TYPES[fmt])
    ascii_name = pack_filename(scope.region, period, fmt)
    resp.headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                           f"filename*=UTF-8''{quote(pack_filename(scope.region, period, fmt, name))}")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# A case code as a platform writes it (contract.md: 320585-20261126-00042).
CASE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@bp.get("/api/v1/cases/<code>/flow")
def case_flow(code: str):
    """A case's flow log (``case_actions`` in order, org names, notes masked) as it stood at T. A case
    outside the caller's scope answers 404 like an unknown one: no probing."""
    if not CASE_CODE.fullmatch(code):
        raise ApiError(400, "malformed case code: ASCII letters, digits, '-', '_' or '.', at most 64 characters")
    m = _moment()
    scope = _caller_scope()
    with _engine().connect() as conn:
        flow = case_flow_as_of(conn, scope, code, m.at)
    if flow is None:
        raise ApiError(404, "no such case in your scope")
    body = {**flow, "at": m.local_iso(), "reported_at": _local(flow["reported_at"]),
            "closed_at": _local(flow["closed_at"]),
            "actions": [{**step, "ts": _local(step["ts"])} for step in flow["actions"]]}
    return _json(outward(body))


# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(rows: list[dict], filename: str) -> Response:
    out = io.StringIO()
    if rows:
        writer = csv.writer(out)
        writer.writerow(list(rows[0]))
        for row in rows:
            writer.writerow([_cell(v) for v in row.values()])
    # A BOM so that Excel on Chinese Windows reads UTF-8.
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _alert_json(row: dict) -> dict:
    """An alert as the API shows it (detail parsed, local times), masked."""
    if isinstance(row.get("disposition"), dict):
        row = {**row, "disposition": {**row["disposition"], "at": _local(row["disposition"].get("at"))}}
    detail = row.get("detail")
    try:
        detail = json.loads(detail) if detail else None
    except (TypeError, ValueError):
        pass  # not JSON: shown as text
    return outward({**row, "detail": detail, **{k: _local(row[k]) for k in ("created_at", "ack_at", "resolved_at")}})


@bp.get("/api/v1/alerts")
def alerts():
    status = _choice("status", ALERT_STATUSES, None)
    limit = _limit()
    m = _moment()
    with _engine().connect() as conn:
        scope, _ = _scope(conn, request.args.get("region"))
        rows = list_alerts(conn, scope, m, status, limit)
    return _json([_alert_json(row) for row in rows])


def _disposition_body() -> tuple[str | None, str | None]:
    """The optional JSON body of an acknowledgement: {"disposition": "confirmed" | "false_alarm" |
    "known", "note": "..."}; no body (version 1 callers) acknowledges without a judgement."""
    if not request.get_data(cache=True):
        return None, None
    body = _body()
    disposition, note = body.get("disposition"), body.get("note")
    if disposition is not None and disposition not in DISPOSITIONS:
        raise ApiError(400, f"disposition must be one of {', '.join(DISPOSITIONS)}")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ApiError(400, f"note must be text of at most {MAX_NOTE} characters")
    if note and disposition is None:
        raise ApiError(400, "a note needs a disposition")
    return disposition, note


@bp.get("/api/v1/alerts/<alert_id>")
def alert_one(alert_id: str):
    """One alert with its evidence and cases (the phone page's and the wall panel's content)."""
    if not _ascii_digits(alert_id) or len(alert_id) > 18:
        raise ApiError(400, f"malformed alert id {alert_id[:20]!r}")
    with _engine().connect() as conn:
        view = alert_view(conn, _caller_scope(), int(alert_id), _tz(), datetime.now(timezone.utc))
    if view is None:
        raise ApiError(404, f"no alert {alert_id} in your scope")
    return _json(view)


@bp.post("/api/v1/alerts/<alert_id>/ack")
def alert_ack(alert_id: str):
    if not _ascii_digits(alert_id) or len(alert_id) > 18:
        raise ApiError(400, f"malformed alert id {alert_id[:20]!r}")
    user = require_role("center")
    disposition, note = _disposition_body()
    outcome = acknowledge_alert(_engine(), _caller_scope(), user, int(alert_id), via="api",
                                disposition=disposition, note=note)
    if outcome.status == "not_found":
        raise ApiError(404, outcome.reason)
    if outcome.status in ("closed", "elsewhere"):
        raise ApiError(409, outcome.reason)
    return _json(_alert_json(outcome.alert))


@bp.get("/api/v1/audit")
def audit_log():
    """The audit log (gw_audit) of the caller's scope, newest first; duty officers (center) only."""
    require_role("center")
    scope = _caller_scope()
    limit = _limit()
    action = request.args.get("action") or None
    if action is not None and not (len(action) <= 32 and action.isascii() and action.replace("_", "").isalnum()):
        raise ApiError(400, f"malformed action {action[:20]!r}")
    username = request.args.get("user") or None
    if username is not None and len(username) > 64:
        raise ApiError(400, "malformed user: at most 64 characters")
    before = request.args.get("before")
    if before is not None and (not _ascii_digits(before) or len(before) > 18):
        raise ApiError(400, f"malformed before {before[:20]!r}: an audit row id")
    with _engine().connect() as conn:
        rows = audit_rows(conn, scope, action, limit, username=username, before_id=int(before) if before else None)
    out = []
    for row in rows:
        try:
            detail = json.loads(row["detail"]) if row["detail"] else None
        except (TypeError, ValueError):
            detail = row["detail"]
        out.append({**row, "ts": _local(row["ts"]), "detail": detail})
    return _json(out)


# --- commitments (督办事项): a review meeting's decisions, followed up at the next ------------------

COMMITMENT_WRITERS = ("center", "leader")  # a street reads its own, read-only


def _commitment_json(row: dict) -> dict:
    return bodies.commitment_json(row, Moment.now(_tz()))


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "a JSON object body expected")
    return body


def _one_commitment(conn, scope: Scope, commitment_id: int) -> dict:
    found = commitments_db.list_commitments(conn, scope, ids=[commitment_id])
    if not found:
        raise ApiError(404, f"no commitment {commitment_id} in your scope")
    return found[0]


@bp.get("/api/v1/commitments")
def commitments_list():
    """The commitments of a region (default: the caller's), oldest meeting first, with their history."""
    status = _choice("status", commitments_db.STATUSES, None)
    text = request.args.get("at")
    until = _moment().at if text else None
    with _engine().connect() as conn:
        scope, _ = _scope(conn, request.args.get("region"))
    return _json(outward(bodies.commitments_body(_engine(), scope, Moment.now(_tz()), status=status, until=until)))


@bp.post("/api/v1/commitments")
def commitments_create():
    """A new commitment (duty officers and leaders): 201 with it; 400 for bad fields, 403 outside the scope."""
    user = require_role(*COMMITMENT_WRITERS)
    body = _body()
    scope = _caller_scope()
    now = datetime.now(timezone.utc)
    values = {**body, "region_code": body.get("region") or scope.region}
    try:
        with _engine().begin() as conn:
            new_id = commitments_db.create_commitment(conn, scope, values, user.username if user else None, now)
            row = _one_commitment(conn, scope, new_id)
    except commitments_db.CommitmentError as exc:
        raise ApiError(400, str(exc))
    except BadRegionCode:
        raise ApiError(400, "malformed region code: 4, 6, 9, 12 or 15 digits")
    except ScopeError:
        raise ApiError(403, f"region {values['region_code']} is outside your scope")
    audit("commitment_create", {"id": new_id, "region": row["region_code"], "due": row["due_date"].isoformat()})
    return _json(outward(_commitment_json(row)), 201)


@bp.patch("/api/v1/commitments/<commitment_id>")
def commitments_update(commitment_id: str):
    """Change a commitment's status or due date, or add an evidence note (duty officers and leaders)."""
    if not _ascii_digits(commitment_id) or len(commitment_id) > 18:
        raise ApiError(400, f"malformed commitment id {commitment_id[:20]!r}")
    user = require_role(*COMMITMENT_WRITERS)
    body = _body()
    scope = _caller_scope()
    now = datetime.now(timezone.utc)
    try:
        with _engine().begin() as conn:
            if not commitments_db.update_commitment(conn, scope, int(commitment_id), body,
                                                    user.username if user else None, now):
                raise ApiError(404, f"no commitment {commitment_id} in your scope")
            row = _one_commitment(conn, scope, int(commitment_id))
    except commitments_db.CommitmentError as exc:
        raise ApiError(400, str(exc))
    audit("commitment_update", {"id": row["id"], "region": row["region_code"],
                                **{k: body[k] for k in ("status", "due_date") if k in body}})
    return _json(outward(_commitment_json(row)))


# --- the archive of meeting packs (周报归档), made by gridwall worker -----------------------------

# Who sees the county's pack (audience "leader": it carries the concealment watch); everyone else
# (a street, a wall) sees the streets' packs of its scope only.
PACK_LEADER_ROLES = CONCEALMENT_ROLES
PACK_WEEKS = 12  # the list's default span, as on /review
PACK_TYPES = {"pdf": "application/pdf",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def pack_audiences() -> tuple[str, ...]:
    return ("leader", "street") if has_role(*PACK_LEADER_ROLES) else ("street",)


def _pack_json(row: dict) -> dict:
    return {"id": row["id"], "region": row["region_code"], "audience": row["audience"], "format": row["fmt"],
            "period": {"kind": row["period_kind"], "start": row["period_start"].isoformat(),
                       "end": row["period_end"].isoformat()},
            "size": row["size"], "filename": row["filename"], "made_at": _local(row["finished_at"]),
            "url": f"/api/v1/packs/{row['id']}"}


@bp.get("/api/v1/packs")
def packs_list():
    """The archived packs of a region and the regions below it (default: the caller's), newest week
    first, the last ``weeks`` weeks (default 12); a street never sees the county's (leaders') pack."""
    text = request.args.get("weeks")
    if text in (None, ""):
        weeks = PACK_WEEKS
    elif _ascii_digits(text) and 1 <= int(text) <= 520:
        weeks = int(text)
    else:
        raise ApiError(400, f"malformed weeks {text[:20]!r}: an integer from 1 to 520")
    m = _moment()
    today = m.at.astimezone(m.tz).date()
    since = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks)
    with _engine().connect() as conn:
        scope, _ = _scope(conn, request.args.get("region"))
        rows = packs_db.list_packs(conn, scope, audiences=pack_audiences(), since=since,
                                   made_by=m.at if request.args.get("at") else None)
    return _json(outward([_pack_json(r) for r in rows]))


@bp.get("/api/v1/packs/<pack_id>")
def packs_download(pack_id: str):
    """An archived pack's file. A pack outside the caller's scope, or the county's for a street, answers
    404 like an unknown one: no probing."""
    if not _ascii_digits(pack_id) or len(pack_id) > 18:
        raise ApiError(400, f"malformed pack id {pack_id[:20]!r}")
    scope = _caller_scope()
    with _engine().connect() as conn:
        row = packs_db.pack_content(conn, scope, int(pack_id), audiences=pack_audiences())
    if row is None:
        raise ApiError(404, f"no pack {pack_id} in your scope")
    audit("pack_download", {"id": row["id"], "region": row["region_code"], "format": row["fmt"],
                            "start": row["period_start"].isoformat()})
    name = row["filename"] or f"{row['region_code']}_{row['period_start'].isoformat()}.{row['fmt']}"
    fallback = f"gridwall-{row['region_code']}-{row['period_kind']}-{row['period_start'].isoformat()}.{row['fmt']}"
    resp = Response(bytes(row["content"]), mimetype=PACK_TYPES.get(row["fmt"], "application/octet-stream"))
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/api/v1/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/api/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(rest: str):
    raise ApiError(404, "no such API route; see /api/v1/openapi.json")


def register_api(server: Flask) -> None:
    server.register_blueprint(bp)
