"""Configuration: environment variables ``GRIDWALL_*``, optionally a TOML file with the same keys.

The TOML file is ``$GRIDWALL_CONFIG`` or ``gridwall.toml`` in the working directory; keys are the
variable names without the prefix, in lower case (``database_url = "..."``). Environment wins.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

VAR_DIR = Path(os.environ.get("GRIDWALL_VAR_DIR", "var"))


def _toml_file() -> Path | None:
    explicit = os.environ.get("GRIDWALL_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("gridwall.toml")
    return local if local.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDWALL_", extra="ignore")

    database_url: str = ""
    redis_url: str | None = None
    root: str | None = None
    timezone: str = "Asia/Shanghai"
    auth: str = "on"
    secret_key: str | None = None

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
