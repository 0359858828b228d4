"""Configuration from ``GATEWAY_*`` environment variables (and an optional ``.env``).

Built once by the app factory or the CLI and passed down; nothing reads the environment
anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/gateway.db"
_PLACEHOLDER_SECRETS = {"", "changeme", "changethis", "whsec_dev"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", extra="ignore", frozen=True
    )

    env: Literal["dev", "prod"] = "dev"
    country: str = Field(default="DE", pattern=r"^[A-Z]{2}$")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    base_url: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    test_database_url: str = ""
    pki_dir: Path = Path("certs")
    profiles_dir: Path = Path("profiles")
    record_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)  # one pushed national record
    # Every request, before any route (gateway.api.limits): the request target (414 over it),
    # all headers together (431; passports in Authorization make these the largest), and the
    # seconds a body may take to arrive (408, a client trickling its body).
    max_url_bytes: int = Field(default=8 * 1024, ge=256)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    body_timeout: float = Field(default=30.0, gt=0, le=600)
    trust_list: Path | None = None
    peer_timeout: float = Field(default=10.0, gt=0, le=120)  # seconds for a whole peer call
    peer_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)  # one peer answer
    # The whole /beacon-network answer, every member's part included: a slow peer is left out.
    beacon_network_timeout: float = Field(default=5.0, gt=0, le=120)
    passport_brokers: Path | None = None
    webhook_secrets: SecretStr = SecretStr("")
    small_count_floor: int = Field(default=5, ge=0)
    beacon_query_budget: int = Field(default=0, ge=0)
    trusted_proxies: str = ""
    log_level: str = "INFO"
    beacon_default_granularity: Literal["boolean", "count", "record"] = "count"
    beacon_max_limit: int = Field(default=1000, ge=1)
    beacon_max_scan: int = Field(default=100_000, ge=1)

    @field_validator("country", mode="before")
    @classmethod
    def _upper_country(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.env != "prod":
            return self
        secrets = self.webhook_secrets.get_secret_value().split()
        if not secrets or any(s in _PLACEHOLDER_SECRETS for s in secrets):
            raise ValueError("GATEWAY_WEBHOOK_SECRETS must hold real secrets when GATEWAY_ENV=prod")
        return self

    @property
    def public_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def gateway_id(self) -> str:
        """Reverse-domain identifier used as the Beacon id."""
        return f"eu.ehds.gateway.{self.country.lower()}"
