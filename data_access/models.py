"""The contract's tables (contract.md, version 1) and gridwall's own ``gw_*`` tables.

Names and types of contract columns are fixed by the contract; gridwall only adds indexes and
its own tables. The platform tables are read-only for gridwall except ``alerts``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, Date, Float, Index, Integer, LargeBinary, SmallInteger, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)
    boundary: Mapped[str | None] = mapped_column(Text)


class Grid(Base):
    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    boundary: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    dept_type: Mapped[str | None] = mapped_column(Text)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(Integer)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    full_time: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool | None] = mapped_column(Boolean)


class StaffShift(Base):
    __tablename__ = "staff_shifts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (
        Index("ix_staff_shifts_staff_starts", "staff_id", "starts_at"),
        Index("ix_staff_shifts_ends_at", "ends_at"),
    )


class StaffPing(Base):
    __tablename__ = "staff_pings"
    staff_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    # (ts, staff_id): who pinged in a window is read from the index alone (the staffing figures'
    # last ping per worker, data_access/figures.py).
    __table_args__ = (Index("ix_staff_pings_ts_staff", "ts", "staff_id"),)


class Category(Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(4))
    name: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[str | None] = mapped_column(Text)
    accept_minutes: Mapped[int | None] = mapped_column(Integer)
    dispatch_minutes: Mapped[int | None] = mapped_column(Integer)
    resolve_hours: Mapped[int | None] = mapped_column(Integer)
    dept_type: Mapped[str | None] = mapped_column(Text)


OPEN_COVER_INCLUDE = ("resolve_due_at", "accepted_at", "accept_due_at", "dispatched_at", "dispatch_due_at")
OPEN_LATE = "closed_at IS NULL OR closed_at > resolve_due_at"  # the partial index ix_cases_open_late


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(4))
    source: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    address: Mapped[str | None] = mapped_column(Text)
    reporter_staff_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    handler_org_id: Mapped[int | None] = mapped_column(Integer)
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int | None] = mapped_column(Integer, default=0)
    returns: Mapped[int | None] = mapped_column(Integer, default=0)
    reworks: Mapped[int | None] = mapped_column(Integer, default=0)
    urges: Mapped[int | None] = mapped_column(Integer, default=0)
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    merged_into: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (
        # Region scope is a grid-code prefix, evaluated as a range on this index.
        Index("ix_cases_grid_reported", "grid_code", "reported_at"),
        # The figures read time windows (open at T, today, W7) of one region: the window is the
        # range, the grid code is checked in the index. With single-column indexes PostgreSQL ANDs
        # the window with a street's whole grid-code range (~100k entries at 1M cases): 4x slower
        # (docs/benchmarks.md). closed_at also serves both halves of "open at T": NULL and > T.
        Index("ix_cases_reported_at_grid", "reported_at", "grid_code"),
        Index("ix_cases_closed_at_grid", "closed_at", "grid_code"),
        Index("ix_cases_resolve_due_at_grid", "resolve_due_at", "grid_code"),
        # The review's return rate counts the cases first dispatched in a period (data_access/review.py).
        Index("ix_cases_dispatched_at_grid", "dispatched_at", "grid_code"),
        Index("ix_cases_status", "status"),
        Index("ix_cases_updated_at", "updated_at"),
        # Overdue at a moment E' (review, data_access/review.py): open at E' and due before it. Only
        # the cases open now or closed after their deadline can be (a few percent of all); the other
        # indexes would read every case closed since E' (a year of them for last year's E').
        # Covering, so SQLite never visits the table. The query repeats the condition verbatim.
        Index("ix_cases_open_late", "closed_at", "resolve_due_at", "reported_at", "grid_code",
              postgresql_where=text(OPEN_LATE), sqlite_where=text(OPEN_LATE)),
        # The cases open now, with every column the open-at-T figures read: an index-only scan of a
        # few thousand entries instead of a heap page per long-open case, scattered over the years
        # (data_access/figures.py _summary_statement; docs/scale.md).
        Index("ix_cases_open_cover", "grid_code", "reported_at",
              postgresql_include=list(OPEN_COVER_INCLUDE),
              postgresql_where=text("closed_at IS NULL"), sqlite_where=text("closed_at IS NULL")),
    )


class CaseAction(Base):
    __tablename__ = "case_actions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action: Mapped[str | None] = mapped_column(Text)
    from_org_id: Mapped[int | None] = mapped_column(Integer)
    to_org_id: Mapped[int | None] = mapped_column(Integer)
    actor_staff_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_case_actions_case_id", "case_id"),
        Index("ix_case_actions_ts", "ts"),
        # The review's flow-log figures read one kind of action over a time range (the returns,
        # reworks and extensions before E', the urges, dispatches and returns in P) and need only the
        # case and the orgs: an index-only range scan instead of reading every action of the period
        # (data_access/review.py; docs/benchmarks.md, section 7).
        Index("ix_case_actions_action_ts", "action", "ts", "case_id", "from_org_id", "to_org_id"),
    )


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(15))
    category_code: Mapped[str | None] = mapped_column(String(4))
    title: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    ack_by: Mapped[str | None] = mapped_column(Text)
    ack_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str | None] = mapped_column(Text)
    dedup_key: Mapped[str | None] = mapped_column(Text, unique=True)
    __table_args__ = (
        Index("ix_alerts_region_created", "region_code", "created_at"),
        Index("ix_alerts_status", "status"),
    )


CONTRACT_TABLES = (Region, Grid, Org, Staff, StaffShift, StaffPing, Category, Case, CaseAction, Alert)


# --- gridwall's own tables -------------------------------------------------------------------

class GwUser(Base):
    __tablename__ = "gw_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(12))
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GwToken(Base):
    __tablename__ = "gw_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GwAudit(Base):
    __tablename__ = "gw_audit"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    # The region of the row's user when it was written (NULL: a root user, the system, no known
    # user): audit reads are scoped by it; NULL rows are seen at the root only.
    region_code: Mapped[str | None] = mapped_column(String(12))


class GwWarnState(Base):
    """The early-warning engine's own state: the single-instance lease (SQLite) and daily jobs done."""

    __tablename__ = "gw_warn_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- forecasts (预测研判), written by the early-warning engine once a day -----------------------

class GwForecast(Base):
    """Expected cases per region (street or the root) x major category x future local day."""

    __tablename__ = "gw_forecasts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    category_code: Mapped[str] = mapped_column(String(4))
    day: Mapped[date] = mapped_column(Date)
    expected: Mapped[float | None] = mapped_column(Float)
    lo80: Mapped[float | None] = mapped_column(Float)
    hi80: Mapped[float | None] = mapped_column(Float)
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the point forecast for absolute error (NB median); ``expected`` is the mean, which sums up
    median: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_gw_forecasts_region_day", "region_code", "day"),)


class GwHotspot(Base):
    """Next week's hotspot grids: the grids expected to report the most cases from ``week_start``."""

    __tablename__ = "gw_hotspots"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    week_start: Mapped[date] = mapped_column(Date)
    rank: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float | None] = mapped_column(Float)
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_gw_hotspots_made_grid", "made_at", "grid_code"),)


class GwSession(Base):
    """Server-side login sessions: the browser's cookie holds a random id, only its SHA-256 is kept.

    Live while ``ended_at`` is NULL (logout, disabling the user or a new password end it).
    """

    __tablename__ = "gw_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    via: Mapped[str] = mapped_column(String(16))  # password, oidc or kiosk
    token_id: Mapped[int | None] = mapped_column(Integer)  # the kiosk link it was started from
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- commitments (督办事项 / 会议决定): what a review meeting decided, followed up at the next ------

class GwCommitment(Base):
    """A decision of a review meeting: who (``owner_org_id``) does what (``text``) in which region by
    when (``due_date``); ``status`` open, done or dropped. Linked cases and alerts are JSON lists of
    case codes and alert ids. Its dated history is ``gw_commitment_events``."""

    __tablename__ = "gw_commitments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    text: Mapped[str] = mapped_column(Text)
    meeting_date: Mapped[date] = mapped_column(Date)
    period_kind: Mapped[str | None] = mapped_column(String(8))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    owner_org_id: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    case_codes: Mapped[str | None] = mapped_column(Text)
    alert_ids: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_gw_commitments_region_status", "region_code", "status"),)


class GwCommitmentEvent(Base):
    """One dated change of a commitment: created, a new status or due date, an evidence note."""

    __tablename__ = "gw_commitment_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(BigId, index=True)
    ts: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # created, status, due, note
    status: Mapped[str | None] = mapped_column(String(8))
    due_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


# --- the archive of meeting packs (周报归档), written by the worker's scheduled pack duty ----------

class GwPack(Base):
    """One archived meeting pack: a region's period in one format. The row is also the claim that
    makes the scheduled duty exactly-once across workers and hosts: a worker inserts it as
    ``building`` (the unique key refuses a second), then stores the file (``content``: the archive
    lives in the database, so hosts share it without a shared disk) and marks it ``ready``, or
    ``failed`` with the error (retried with backoff). ``audience``: ``leader`` (the county's pack,
    with the concealment watch: roles center and leader only) or ``street`` (a street's, without)."""

    __tablename__ = "gw_packs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    fmt: Mapped[str] = mapped_column(String(8))  # pdf, xlsx
    audience: Mapped[str] = mapped_column(String(8))  # leader, street
    status: Mapped[str] = mapped_column(String(10))  # building, ready, failed
    claimed_by: Mapped[str | None] = mapped_column(String(128))  # the worker: host:pid
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("region_code", "period_kind", "period_start", "fmt", name="uq_gw_packs_key"),)


# --- push (告警推送): what is owed to each channel, and what each send did -----------------------

class GwPushOutbox(Base):
    """One alert owed to one channel at one tier (0: the matching routes' channels; k > 0: the
    escalation after k minutes unacknowledged). The unique key makes enqueueing idempotent; a row is
    ``pending`` until a send carrying it succeeds (``sent``), or, for an escalation, until the alert
    is no longer ``new`` (``cancelled``). ``last_error`` is redacted."""

    __tablename__ = "gw_push_outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))  # pending, sent, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "tier", name="uq_gw_push_outbox_key"),
        Index("ix_gw_push_outbox_state_channel", "state", "channel", "next_attempt_at"),
    )


class GwPushSend(Base):
    """One message sent (or tried) to a channel: the shared rate limit (messages per channel per
    rolling minute, whichever process sent them), the channel's backoff and its state on /ops.
    ``purpose``: ``alerts`` or ``test`` (``gridwall push test``)."""

    __tablename__ = "gw_push_sends"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    purpose: Mapped[str | None] = mapped_column(String(8))
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_gw_push_sends_channel_sent", "channel", "sent_at"),)


# --- wall self-health (/ops): each open wall's heartbeat, each worker duty's instances ---------

class GwWall(Base):
    """One wall (a browser, named by a random id it keeps in localStorage): its last heartbeat
    (``POST /live/heartbeat``, every 30 s). ``live_since``: the first heartbeat after its last silence of
    more than the dark threshold (when it came back). ``dark_alert_id``: the open alert of kind
    ``wall`` raised by the ``walls`` duty while a kiosk wall is silent (ended when it reports again)."""

    __tablename__ = "gw_walls"
    wall_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64))
    kiosk: Mapped[bool] = mapped_column(Boolean, default=False)  # a kiosk session (a ``wall`` user)
    region_code: Mapped[str | None] = mapped_column(String(15), index=True)  # clamped to the user's scope
    layout: Mapped[str | None] = mapped_column(Text)  # JSON: the display the URL asks for
    frame_age: Mapped[float | None] = mapped_column(Float)  # seconds, as the wall reported it
    heap_mb: Mapped[float | None] = mapped_column(Float)
    version: Mapped[str | None] = mapped_column(String(64))  # the code version the page was served with
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    live_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dark_alert_id: Mapped[int | None] = mapped_column(BigInteger)


class GwDuty(Base):
    """One instance (``host:pid:nonce``) of a worker duty (``warning``, ``packs``, ``walls`` ...), as
    ``run_loop`` reports it: ``active`` (holds the duty's lock), ``standby`` or ``stopped``, when it
    was last seen and when it last finished a run. A duty's last success is the newest over its
    instances."""

    __tablename__ = "gw_duties"
    duty: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))  # active, standby, stopped
    lock_kind: Mapped[str | None] = mapped_column(String(16))
    interval_s: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- dispositions (研判结论): a duty officer's judgement of an alert when acknowledging it -----

class GwAlertDisposition(Base):
    """What the duty officer who acknowledged an alert judged it to be: ``confirmed`` (属实),
    ``false_alarm`` (误报) or ``known`` (已知: right, but nothing new), with a note. One row per alert
    (a later judgement replaces it; taking the acknowledgement back deletes it). ``kind`` and
    ``region_code`` are the alert's, copied so that each detector's precision is one scoped read."""

    __tablename__ = "gw_alert_dispositions"
    alert_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str | None] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(15))
    alert_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposition: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __table_args__ = (Index("ix_gw_alert_dispositions_created", "alert_created_at", "region_code"),)


GW_TABLES = (GwUser, GwToken, GwAudit, GwWarnState, GwForecast, GwHotspot, GwSession, GwCommitment,
             GwCommitmentEvent, GwPack, GwAlertDisposition, GwPushOutbox, GwPushSend, GwWall, GwDuty)
