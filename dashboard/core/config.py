"""Configuration: environment variables ``GRIDWALL_*``, optionally a TOML file with the same keys.

The TOML file is ``$GRIDWALL_CONFIG`` or ``gridwall.toml`` in the working directory; keys are the
variable names without the prefix, in lower case (``database_url = "..."``). Environment wins.
"""

from __future__ import annotations

import logging
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, field_validator
from pydantic_settings import (
    BaseSettings,
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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDWALL_", extra="ignore")

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
    review: ReviewSettings = ReviewSettings()
    packs: PackSettings = PackSettings()

    @field_validator("auth")
    @classmethod
    def _auth_on_off(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in ("on", "off"):
            raise ValueError("GRIDWALL_AUTH must be 'on' or 'off'")
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
        if not v.isdigit() or len(v) not in (4, 6, 9, 12):
            raise ValueError("GRIDWALL_ROOT must be a 4, 6, 9 or 12 digit region code")
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
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
