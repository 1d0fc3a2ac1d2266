"""Push (告警推送): the outbox ``gw_push_outbox`` and the send log ``gw_push_sends``.

The outbox holds one row per (alert, channel, tier), unique: tier 0 is owed to the channels of the
routes an alert matches, tier k > 0 to a route's ``escalate_to`` channels once a critical alert has
stayed ``new`` for k minutes. Enqueueing is an insert that does nothing when the row exists, so the
warning engine (in the transaction that inserts the alert), the dispatcher's scan of recent alerts
and any number of restarts write each row once. A row is ``pending`` until a send that carried it
succeeded (``sent``, never sent again) or, for an escalation, until its alert stopped being ``new``
(``cancelled``).

The send log has one row per message sent or tried, whichever process sent it (the dispatcher,
``gridwall push test``): it is the rate limit shared by all of them, a channel's backoff after
failures and the channel's state on /ops. Errors stored here are already redacted by the caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .alerts_write import engine_read_state, write_state
from .models import Alert, Grid, GwPushOutbox, GwPushSend, Region
from .types import as_utc

o = GwPushOutbox.__table__.c
s = GwPushSend.__table__.c
a = Alert.__table__.c
r = Region.__table__.c
g = Grid.__table__.c

STATES = ("pending", "sent", "cancelled")
MAX_ERROR = 500
ENABLED_STATE = "push:enabled_at"  # gw_warn_state: when a dispatcher first ran with a channel
_ALERT_COLUMNS = (a.id, a.created_at, a.kind, a.severity, a.region_code, a.title, a.detail, a.status, a.source)


# --- the outbox -----------------------------------------------------------------------------

def enqueue(conn: Connection, rows: Iterable[tuple[int, str, int]], now: datetime) -> int:
    """Owe each (alert_id, channel, tier) unless it is owed (or was sent) already; the number added."""
    values = [{"alert_id": alert_id, "channel": channel, "tier": tier, "state": "pending", "attempts": 0,
               "created_at": now, "next_attempt_at": now} for alert_id, channel, tier in dict.fromkeys(rows)]
    if not values:
        return 0
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(GwPushOutbox.__table__)
        stmt = ins.on_conflict_do_nothing(index_elements=["alert_id", "channel", "tier"]).returning(o.id)
        return sum(1 for v in values if conn.execute(stmt.values(**v)).first() is not None)
    added = 0  # pragma: no cover - another backend
    for v in values:
        if conn.execute(select(o.id).where(o.alert_id == v["alert_id"], o.channel == v["channel"],
                                           o.tier == v["tier"])).first() is None:
            try:
                conn.execute(insert(GwPushOutbox.__table__).values(**v))
                added += 1
            except IntegrityError:
                pass
    return added


def unqueued_new_alerts(conn: Connection, since: datetime, until: datetime, severities: Iterable[str],
                        after: tuple[datetime, int] | None = None, limit: int = 500) -> list[dict]:
    """Alerts of any source, ``new``, of one of ``severities``, created in [since, until], that nothing
    is owed for yet, oldest first, ``limit`` at a time: ``after`` is the (created_at, id) of the last
    one of the previous batch. Alerts no route matches come back each time: the caller decides again."""
    owed = exists().where(o.alert_id == a.id, o.tier == 0)
    stmt = (select(*_ALERT_COLUMNS)
            .where(a.status == "new", a.severity.in_(list(severities)), a.created_at >= since,
                   a.created_at <= until, ~owed)
            .order_by(a.created_at, a.id).limit(limit))
    if after is not None:
        stmt = stmt.where(or_(a.created_at > after[0], and_(a.created_at == after[0], a.id > after[1])))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def owed_keys(conn: Connection, alert_ids: list[int]) -> set[tuple[int, str, int]]:
    """(alert_id, channel, tier) of every row, in any state, of these alerts."""
    if not alert_ids:
        return set()
    return {tuple(r) for r in conn.execute(select(o.alert_id, o.channel, o.tier).where(o.alert_id.in_(alert_ids)))}


def escalation_candidates(conn: Connection, created_since: datetime, created_by: datetime,
                          enabled: datetime) -> list[dict]:
    """Critical alerts still ``new``, created in [created_since, created_by], and either created
    since push was ``enabled`` or owed at tier 0 (the engine owes its alerts from its first run with
    push configured): the ones an escalation may concern."""
    pushed = exists().where(o.alert_id == a.id, o.tier == 0)
    stmt = (select(*_ALERT_COLUMNS)
            .where(a.status == "new", a.severity == "critical", a.created_at >= created_since,
                   a.created_at <= created_by, or_(a.created_at >= enabled, pushed))
            .order_by(a.created_at, a.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def cancel_unsendable(conn: Connection) -> int:
    """Pending rows that must not be sent are cancelled: escalations whose alert is no longer ``new``
    (acknowledged, resolved, dismissed), and any row whose alert is gone from ``alerts``."""
    still_new = exists().where(a.id == o.alert_id, a.status == "new")
    still_there = exists().where(a.id == o.alert_id)
    return conn.execute(update(GwPushOutbox.__table__)
                        .where(o.state == "pending", or_(and_(o.tier > 0, ~still_new), ~still_there))
                        .values(state="cancelled")).rowcount


def due_channels(conn: Connection, now: datetime) -> list[str]:
    """Channels with at least one pending row due by ``now``."""
    return [c for (c,) in conn.execute(select(o.channel).where(o.state == "pending", o.next_attempt_at <= now)
                                       .group_by(o.channel).order_by(o.channel))]


def due_rows(conn: Connection, channel: str, now: datetime, limit: int = 1000) -> list[dict]:
    """The pending rows of ``channel`` due by ``now``, each with its alert (``alert_*`` keys), in the
    order of the alerts; an escalation whose alert is no longer ``new`` is left out."""
    stmt = (select(o.id, o.alert_id, o.tier, o.attempts, *[c.label(f"alert_{c.name}") for c in _ALERT_COLUMNS[1:]])
            .select_from(GwPushOutbox.__table__.join(Alert.__table__, a.id == o.alert_id))
            .where(o.channel == channel, o.state == "pending", o.next_attempt_at <= now,
                   or_(o.tier == 0, a.status == "new"))
            .order_by(a.created_at, o.alert_id, o.tier).limit(limit))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def mark_sent(conn: Connection, ids: list[int], at: datetime) -> int:
    if not ids:
        return 0
    return conn.execute(update(GwPushOutbox.__table__).where(o.id.in_(ids), o.state == "pending")
                        .values(state="sent", sent_at=at, attempts=o.attempts + 1, last_error=None)).rowcount


def mark_failed(conn: Connection, ids: list[int], retry_at: datetime, error: str) -> int:
    """A send carrying these rows failed: they stay pending, tried again from ``retry_at``."""
    if not ids:
        return 0
    return conn.execute(update(GwPushOutbox.__table__).where(o.id.in_(ids), o.state == "pending")
                        .values(attempts=o.attempts + 1, next_attempt_at=retry_at,
                                last_error=error[:MAX_ERROR])).rowcount


def defer_pending(conn: Connection, channel: str, until: datetime) -> int:
    """Every pending row of ``channel`` due before ``until`` waits until then (the channel backs off)."""
    return conn.execute(update(GwPushOutbox.__table__)
                        .where(o.channel == channel, o.state == "pending", o.next_attempt_at < until)
                        .values(next_attempt_at=until)).rowcount


def outbox_depth(conn: Connection) -> int:
    """Rows still owed (pending), all channels."""
    return int(conn.execute(select(func.count()).where(o.state == "pending")).scalar() or 0)


def outbox_rows(conn: Connection, alert_id: int | None = None) -> list[dict]:
    """Outbox rows (of one alert), for diagnostics and tests."""
    stmt = select(GwPushOutbox.__table__).order_by(o.alert_id, o.tier, o.channel)
    if alert_id is not None:
        stmt = stmt.where(o.alert_id == alert_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


# --- the send log ---------------------------------------------------------------------------

def log_send(conn: Connection, channel: str, at: datetime, *, ok: bool, alerts: int, purpose: str = "alerts",
             error: str | None = None) -> None:
    conn.execute(insert(GwPushSend.__table__).values(channel=channel, sent_at=at, ok=ok, alerts=alerts,
                                                     purpose=purpose, error=(error or None) and error[:MAX_ERROR]))


def sends_since(conn: Connection, channel: str, since: datetime) -> int:
    """Messages sent or tried to ``channel`` from ``since`` on (the rate limit counts every try)."""
    return int(conn.execute(select(func.count()).where(s.channel == channel, s.sent_at >= since)).scalar() or 0)


def send_times_since(conn: Connection, channel: str, since: datetime) -> list[datetime]:
    """When each message to ``channel`` from ``since`` on was sent or tried, oldest first."""
    return [as_utc(t) for (t,) in conn.execute(select(s.sent_at).where(s.channel == channel, s.sent_at >= since)
                                               .order_by(s.sent_at))]


def failure_streak(conn: Connection, channel: str) -> tuple[int, datetime | None]:
    """(failed sends to ``channel`` since its last success, the latest of them)."""
    last_ok = select(func.max(s.sent_at)).where(s.channel == channel, s.ok.is_(True)).scalar_subquery()
    row = conn.execute(select(func.count(), func.max(s.sent_at))
                       .where(s.channel == channel, s.ok.is_(False),
                              or_(last_ok.is_(None), s.sent_at > last_ok))).one()
    return int(row[0] or 0), as_utc(row[1])


def channel_states(conn: Connection, names: list[str], now: datetime) -> dict[str, dict[str, Any]]:
    """Each channel's state for /ops: ``state`` ``ok`` (its latest send succeeded), ``failing`` (the
    latest failed) or ``idle`` (never sent); ``last_ok_at``, ``last_error_at``, ``last_error``
    (redacted), ``pending`` (rows owed), ``sent_last_hour`` (messages that succeeded in the hour up to
    ``now``). Test messages (``gridwall push test``) count: they went through the same channel."""
    if not names:
        return {}
    hour_ago = now - timedelta(hours=1)
    times = {row.channel: row for row in conn.execute(
        select(s.channel,
               func.max(s.sent_at).filter(s.ok.is_(True)).label("last_ok"),
               func.max(s.sent_at).filter(s.ok.is_(False)).label("last_error"),
               func.count().filter(s.ok.is_(True), s.sent_at > hour_ago, s.sent_at <= now).label("hour"))
        .where(s.channel.in_(names)).group_by(s.channel))}
    pending = dict(conn.execute(select(o.channel, func.count()).where(o.channel.in_(names), o.state == "pending")
                                .group_by(o.channel)).all())
    out = {}
    for name in names:
        row = times.get(name)
        last_ok = as_utc(row.last_ok) if row is not None else None
        last_error_at = as_utc(row.last_error) if row is not None else None
        last_error = None
        if last_error_at is not None:
            last_error = conn.execute(select(s.error).where(s.channel == name, s.ok.is_(False))
                                      .order_by(s.sent_at.desc(), s.id.desc()).limit(1)).scalar()
        if last_ok is None and last_error_at is None:
            state = "idle"
        elif last_error_at is not None and (last_ok is None or last_error_at > last_ok):
            state = "failing"
        else:
            state = "ok"
        out[name] = {"state": state, "last_ok_at": last_ok, "last_error_at": last_error_at,
                     "last_error": last_error, "pending": int(pending.get(name, 0)),
                     "sent_last_hour": int(row.hour) if row is not None else 0}
    return out


def place_names(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """Each region or grid code in words for a message, from the street down ("城厢镇 · 东门社区 ·
    第三网格"; a county or city: its own name); the code itself when nothing is known. Whole
    deployment, no scope: messages go to channels, not to a user."""
    codes = {c for c in codes if c}
    wanted = {c[:n] for c in codes for n in (2, 4, 6, 9, 12) if len(c) >= n}
    names = dict(conn.execute(select(r.code, r.name).where(r.code.in_(wanted))).all()) if wanted else {}
    grids = [c for c in codes if len(c) == 15]
    if grids:
        names.update(conn.execute(select(g.code, g.name).where(g.code.in_(grids))).all())
    out = {}
    for code in codes:
        if len(code) <= 6:
            out[code] = names.get(code) or code
            continue
        parts = [names.get(code[:n]) for n in (9, 12, 15) if len(code) >= n]
        parts = [p for p in parts if p]
        out[code] = " · ".join(parts) if parts else (names.get(code[:6]) or code)
    return out


# --- housekeeping ---------------------------------------------------------------------------

def prune(conn: Connection, before: datetime) -> tuple[int, int]:
    """Forget sends older than ``before`` and finished outbox rows (sent, cancelled) made before it.
    ``before`` must lie before the dispatcher's look-back window: a forgotten row is no longer the
    key that keeps its alert from being enqueued again."""
    sends = conn.execute(GwPushSend.__table__.delete().where(s.sent_at < before)).rowcount
    rows = conn.execute(GwPushOutbox.__table__.delete()
                        .where(o.state.in_(("sent", "cancelled")), o.created_at < before)).rowcount
    return sends, rows


def enabled_since(conn: Connection, now: datetime) -> datetime:
    """When push was first enabled here (a dispatcher first ran with a channel): recorded by the
    first call, so that turning push on does not push the alerts of the days before."""
    value = engine_read_state(conn, ENABLED_STATE)
    if value:
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    write_state(conn, ENABLED_STATE, as_utc(now).isoformat(), now)
    return as_utc(now)

