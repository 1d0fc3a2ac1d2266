"""Configuration: environment variables ``GRIDWALL_*``, optionally a TOML file with the same keys.

The TOML file is ``$GRIDWALL_CONFIG`` or ``gridwall.toml`` in the working directory; keys are the
variable names without the prefix, in lower case (``database_url = "..."``). Environment wins.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

VAR_DIR = Path(os.environ.get("GRIDWALL_VAR_DIR", "var"))

log = logging.getLogger(__name__)

# The wall's type and spacing scale (``?scale=`` overrides it per wall; assets/gridwall.js).
SCALE_RANGE = (0.5, 3.0)
# The spliced walls whose seams the wall's layout knows (columns x rows of screens; assets/wall.css).
SEAM_LAYOUTS = ("1x1", "3x1", "2x2")


def _toml_file() -> Path | None:
    explicit = os.environ.get("GRIDWALL_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("gridwall.toml")
    return local if local.exists() else None


class StaffingSettings(BaseModel):
    """``[staffing]``: what the wall shows of the patrol app's pings (docs/security.md, "Staffing
    without surveillance"). ``detail = "counts"`` (the default) shows offline workers as counts per
    street; ``"names"`` lists them by name, and then to ``center`` users only."""

    detail: Literal["names", "counts"] = "counts"


# The alert kinds the engine raises (dashboard/analytics/findings.py KINDS; core may not import analytics).
BUDGET_KINDS = ("spike", "cluster", "repeat", "sla", "staffing", "underreport", "sensitive", "stale")


class WarningSettings(BaseModel):
    """``[warning]``: the early-warning engine. ``[warning.budget]``: each detector's alarm budget, at
    most N new alerts of that kind per street and ISO week (``spike = 2``); the engine raises the
    strongest and suppresses the rest, logging them (dashboard/warning/budget.py). 0 or absent: no cap."""

    budget: dict[str, int] = {}
    # Rises: the alerts a street may see a week on the deployment's own last 3 weeks, to which the
    # per-test alphas are raised (never lowered; dashboard/analytics/spikes.py rise_scale). 0: fixed alphas.
    rise_alarm_target: float = Field(default=0.5, ge=0.0, le=7.0)

    @field_validator("budget")
    @classmethod
    def _known_kinds(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(BUDGET_KINDS))
        if unknown:
            raise ValueError(f"[warning.budget] unknown kinds {unknown}; known: {', '.join(BUDGET_KINDS)}")
        bad = sorted(k for k, n in v.items() if not 0 <= n <= 1000)
        if bad:
            raise ValueError(f"[warning.budget] {', '.join(bad)}: from 0 (no cap) to 1000 alerts a street and week")
        return {k: n for k, n in v.items() if n > 0}


class ScoreRuleSetting(BaseModel):
    """One rule of the composite score: ``figure = {weight = 30, target = 0.95, better = "higher"}``;
    ``target = "siblings_median"``: the median of the siblings' values (siblings with workers > 0)."""

    weight: float
    target: float | Literal["siblings_median"]
    better: Literal["higher", "lower"]

    @field_validator("weight", "target")
    @classmethod
    def _not_negative(cls, v):
        if isinstance(v, (int, float)) and v < 0:
            raise ValueError(f"must not be negative ({v})")
        return v


# contract.md, "Composite score and ranking": the default rules.
DEFAULT_SCORE_RULES = {
    "on_time_rate": ScoreRuleSetting(weight=30, target=0.95, better="higher"),
    "closed_rate": ScoreRuleSetting(weight=15, target=0.98, better="higher"),
    "satisfied_rate": ScoreRuleSetting(weight=20, target=0.95, better="higher"),
    "return_rate": ScoreRuleSetting(weight=10, target=0.05, better="lower"),
    "rework_rate": ScoreRuleSetting(weight=10, target=0.05, better="lower"),
    "reports_per_worker": ScoreRuleSetting(weight=15, target="siblings_median", better="higher"),
}


class ReviewSettings(BaseModel):
    """``[review.score]``: the composite score's rules, one per figure (they replace the defaults)."""

    score: dict[str, ScoreRuleSetting] = DEFAULT_SCORE_RULES

    @field_validator("score")
    @classmethod
    def _known_figures(cls, v: dict) -> dict:
        from data_access.review import SCORABLE_KEYS

        unknown = sorted(set(v) - set(SCORABLE_KEYS))
        if unknown:
            raise ValueError(f"[review.score] names unknown figures {unknown}; known: {', '.join(SCORABLE_KEYS)}")
        if not v:
            raise ValueError("[review.score] needs at least one rule")
        return v


class PackSettings(BaseModel):
    """``[packs]``: the scheduled meeting packs of ``gridwall worker`` (周报归档). Each week, once
    ``weekday`` (1 = Monday ... 7 = Sunday) at ``time`` (local, HH:MM) has passed, the last complete
    week's pack is made for the root county and each of its streets in each of ``formats``; up to
    ``catch_up_weeks`` earlier weeks still without one are made too (a worker that was down)."""

    enabled: bool = True
    weekday: int = 1
    time: str = "07:00"
    catch_up_weeks: int = 4
    formats: list[Literal["pdf", "xlsx"]] = ["pdf", "xlsx"]

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, v: int) -> int:
        if not 1 <= v <= 7:
            raise ValueError("[packs] weekday: 1 (Monday) to 7 (Sunday)")
        return v

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        from datetime import time

        try:
            parsed = time.fromisoformat(v.strip())
        except (AttributeError, ValueError):
            raise ValueError(f"[packs] time: HH:MM local time, not {v!r}") from None
        return parsed.strftime("%H:%M")

    @field_validator("catch_up_weeks")
    @classmethod
    def _catch_up(cls, v: int) -> int:
        if not 0 <= v <= 52:
            raise ValueError("[packs] catch_up_weeks: 0 to 52")
        return v

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list) -> list:
        if not v:
            raise ValueError("[packs] formats: at least one of pdf, xlsx")
        return list(dict.fromkeys(v))


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no user, password, query (a robot's ``key=``,
    ``access_token=``) or fragment. What logs, pages and errors may show of a channel's address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(malformed URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"


PUSH_KINDS = ("wecom", "dingtalk", "email", "webhook")
PUSH_SEVERITIES = ("info", "warning", "critical")
_URL_SCHEMES = {"wecom": ("https", "http"), "dingtalk": ("https", "http"), "webhook": ("https", "http"),
                "email": ("smtp", "smtps")}


class PushChannel(BaseModel):
    """``[[push.channel]]``: a WeCom or DingTalk group robot, a mailbox (SMTP) or a webhook. ``url``
    and ``secret`` are secrets (a robot's URL carries its key): only ``display_url`` is ever shown."""

    name: str
    kind: Literal["wecom", "dingtalk", "email", "webhook"]
    url: SecretStr
    secret: SecretStr | None = None
    to: list[str] = []
    sender: str | None = None  # email: the From address (default: the SMTP user, else gridwall@this host)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v):
            raise ValueError(f"[[push.channel]] name {v!r}: 1-64 letters, digits, '_', '.', '-'")
        return v

    @model_validator(mode="after")
    def _usable(self):
        url = self.url.get_secret_value().strip()
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        schemes = _URL_SCHEMES[self.kind]
        if parts is None or parts.scheme not in schemes or not host:
            raise ValueError(f"[[push.channel]] {self.name} ({self.kind}): the url must start with "
                             f"{' or '.join(s + '://' for s in schemes)} and name a host")
        if self.kind == "dingtalk" and not (self.secret and self.secret.get_secret_value()):
            raise ValueError(f"[[push.channel]] {self.name}: a dingtalk robot needs its signing secret (secret = ...)")
        if self.kind == "email":
            if not self.to or not all("@" in addr for addr in self.to):
                raise ValueError(f"[[push.channel]] {self.name}: an email channel needs to = [\"someone@example.org\"]")
        elif self.to or self.sender:
            raise ValueError(f"[[push.channel]] {self.name}: to and sender are for email channels only")
        return self

    @property
    def display_url(self) -> str:
        return redact_url(self.url.get_secret_value().strip())


class PushRoute(BaseModel):
    """``[[push.route]]``: which alerts go to which channels, and where an unacknowledged critical
    alert escalates to."""

    region: str = ""  # a region code prefix; empty: every region
    min_severity: Literal["info", "warning", "critical"] = "warning"
    kinds: list[str] = []  # empty: all kinds
    channels: list[str] = []
    escalate_after_min: int | None = None
    escalate_to: list[str] = []

    @field_validator("region")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.strip()
        if v and (not v.isdigit() or len(v) > 15):
            raise ValueError(f"[[push.route]] region {v!r}: a region code (prefix), digits only")
        return v

    @model_validator(mode="after")
    def _escalation(self):
        if self.escalate_to and (self.escalate_after_min is None or not 1 <= self.escalate_after_min <= 7 * 24 * 60):
            raise ValueError("[[push.route]] escalate_to needs escalate_after_min (1 to 10080 minutes)")
        if not self.channels and not self.escalate_to:
            raise ValueError("[[push.route]] needs channels (or escalate_to)")
        return self


class PushSettings(BaseModel):
    """``[push]``: channels, routes and the dispatcher's knobs (docs/interfaces.md, "Push").

    ``poll_seconds``: the dispatcher's pass interval; ``per_minute``: messages per channel per
    rolling minute (robots refuse more than 20); a failing channel is tried again after
    ``retry_first_seconds``, doubling up to ``retry_max_seconds``; ``lookback_hours``: how far back
    the dispatcher looks for alerts other systems wrote; ``timeout_seconds`` per send;
    ``lease_seconds``: the push duty's single-instance lease where no PostgreSQL advisory lock is had."""

    channel: list[PushChannel] = []
    route: list[PushRoute] = []
    poll_seconds: float = 1.0
    per_minute: int = 20
    retry_first_seconds: float = 5.0
    retry_max_seconds: float = 300.0
    lookback_hours: float = 24.0
    timeout_seconds: float = 10.0
    lease_seconds: float = 30.0

    @model_validator(mode="after")
    def _consistent(self):
        names = [c.name for c in self.channel]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"[[push.channel]] names used twice: {', '.join(twice)}")
        for i, route in enumerate(self.route, 1):
            unknown = sorted(set(route.channels + route.escalate_to) - set(names))
            if unknown:
                raise ValueError(f"[[push.route]] #{i} names unknown channels {unknown}; "
                                 f"configured: {', '.join(names) or 'none'}")
        if not 0.1 <= self.poll_seconds <= 60 or not 1 <= self.per_minute <= 1000:
            raise ValueError("[push] poll_seconds: 0.1 to 60; per_minute: 1 to 1000")
        if not 0 < self.retry_first_seconds <= self.retry_max_seconds:
            raise ValueError("[push] retry_first_seconds must be > 0 and <= retry_max_seconds")
        if self.lookback_hours <= 0 or self.timeout_seconds <= 0 or self.lease_seconds < 3:
            raise ValueError("[push] lookback_hours and timeout_seconds > 0, lease_seconds >= 3")
        return self

    def find(self, name: str) -> PushChannel | None:
        return next((c for c in self.channel if c.name == name), None)


class _EnvSettings(EnvSettingsSource):
    """The environment, except ``GRIDWALL_PUSH``: that variable is the wall's live channel switch
    (on/off, callbacks/live/push.py), not the ``[push]`` table."""

    def get_field_value(self, field, field_name: str):
        if field_name == "push":
            return None, field_name, False
        return super().get_field_value(field, field_name)


def feed_stall_seconds(config: Mapping[str, Any]) -> float:
    """``feed_stall_hours`` in seconds, from a Flask app's config (``GRIDWALL_FEED_STALL_HOURS``, set by
    the app factory; the setting's default when an app was made without it)."""
    hours = config.get("GRIDWALL_FEED_STALL_HOURS") or Settings.model_fields["feed_stall_hours"].default
    return float(hours) * 3600


class Settings(BaseSettings):
    # hide_input_in_errors: a bad value must not echo the secrets around it (a robot's key, a password)
    model_config = SettingsConfigDict(env_prefix="GRIDWALL_", extra="ignore", hide_input_in_errors=True)

    database_url: str = ""
    redis_url: str | None = None
    root: str | None = None
    timezone: str = "Asia/Shanghai"
    auth: str = "on"
    secret_key: str | None = None
    # The wall's address as its users reach it: the links in packs (and, with push, in messages).
    public_url: str = "http://127.0.0.1:8050"
    # GET /metrics (dashboard/web/metrics.py): with a token only "Authorization: Bearer <token>";
    # without one only loopback callers.
    metrics_token: str | None = None
    # The wall's memory watchdog (assets/heartbeat.js): a wall whose JS heap passes this many MB reloads
    # itself (keeping its URL), at most once per 5 minutes.
    wall_heap_mb: int = 1536
    # Roll-up (docs/scale.md): a county's feed is stale when its last heartbeat that reached this
    # database is older than this; a publishing county beats every rollup_beat_seconds.
    rollup_stale_seconds: float = 60.0
    rollup_beat_seconds: float = 10.0
    # The platform's feed has stalled (数据停滞: the wall's badge, /healthz "feed") when its last case
    # change anywhere in the deployment is older than this: a county's platform changes cases every
    # few minutes day and night, so hours of silence mean a broken sync, not a quiet county.
    feed_stall_hours: float = 6.0

    # Security (docs/security.md). Login throttle: this many failures of one user name from one
    # address within the window lock that pair for lock_minutes.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_lock_minutes: int = 15
    session_hours: float = 12.0  # a password or single-sign-on session ends after this
    kiosk_days: int = 365  # a kiosk session's cookie; revoking its token ends it at once
    secure_cookies: bool = False  # set when the wall is served over HTTPS
    max_request_bytes: int = 1024 * 1024  # a larger body answers 413 before authentication
    # Single sign-on (dashboard/sso.py). sso_role_map: group -> "role" or "role:region".
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile"
    oidc_username_claim: str = "preferred_username"
    oidc_role_claim: str = "groups"
    sso_role_map: dict[str, str] = {}
    sso_region_claim: str | None = None
    proxy_user_header: str | None = None
    proxy_groups_header: str | None = None
    proxy_trusted_ips: Annotated[list[str], NoDecode] = []
    # The wall's display (docs/interfaces.md, ``?scale=`` and ``?seams=`` win): a value out of range
    # or not understood is ignored with the default, as in the URL.
    scale: float = 1.0
    seams: str | None = None
    staffing: StaffingSettings = StaffingSettings()
    warning: WarningSettings = WarningSettings()
    review: ReviewSettings = ReviewSettings()
    packs: PackSettings = PackSettings()
    push: PushSettings = PushSettings()

    @field_validator("auth")
    @classmethod
    def _auth_on_off(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("on", "off"):
            raise ValueError("GRIDWALL_AUTH must be 'on' or 'off'")
        return v

    @field_validator("feed_stall_hours")
    @classmethod
    def _stall_hours(cls, v: float) -> float:
        if not 0 < v <= 24 * 30:
            raise ValueError("GRIDWALL_FEED_STALL_HOURS must be more than 0 and at most 720 (hours)")
        return v

    @field_validator("wall_heap_mb")
    @classmethod
    def _heap_ceiling(cls, v: int) -> int:
        if not 64 <= v <= 65536:
            raise ValueError("GRIDWALL_WALL_HEAP_MB must be from 64 to 65536 (MB)")
        return v

    @field_validator("max_request_bytes")
    @classmethod
    def _room_for_callbacks(cls, v: int) -> int:
        if v < 64 * 1024:
            raise ValueError("GRIDWALL_MAX_REQUEST_BYTES must be at least 65536 (the wall's callbacks)")
        return v

    @field_validator("proxy_trusted_ips", mode="before")
    @classmethod
    def _ip_list(cls, v):
        if isinstance(v, str):  # "10.0.0.1, 10.0.1.0/24" from the environment
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    @field_validator("scale", mode="before")
    @classmethod
    def _scale_in_range(cls, v) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = float("nan")
        if not SCALE_RANGE[0] <= x <= SCALE_RANGE[1]:  # NaN fails too
            log.warning("GRIDWALL_SCALE %r ignored: not a number from %g to %g", v, *SCALE_RANGE)
            return 1.0
        return x

    @field_validator("seams", mode="before")
    @classmethod
    def _known_seams(cls, v) -> str | None:
        if v is None or v == "":
            return None
        text = v.strip().lower() if isinstance(v, str) else ""
        if text not in SEAM_LAYOUTS:
            log.warning("GRIDWALL_SEAMS %r ignored: one of %s", v, ", ".join(SEAM_LAYOUTS))
            return None
        return None if text == "1x1" else text

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        ZoneInfo(v)  # raises for an unknown zone
        return v

    @field_validator("root")
    @classmethod
    def _root_code(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.isdigit() or len(v) not in (2, 4, 6, 9, 12):
            raise ValueError("GRIDWALL_ROOT must be a 2 (province: a roll-up), 4 (city: a roll-up), 6, 9 or 12 digit "
                             "region code")
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, _EnvSettings(settings_cls)]
        toml = _toml_file()
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(VAR_DIR / 'gridwall.db').resolve()}"

    def effective_secret_key(self) -> str:
        """The signing key: configured, else generated once and kept under ``var/``."""
        if self.secret_key:
            return self.secret_key
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path = VAR_DIR / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
