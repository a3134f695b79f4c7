"""One frozen settings object, read from the environment once at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server. Unset URLs mean "start the embedded default"."""

    model_config = SettingsConfigDict(frozen=True, env_prefix="", extra="ignore")

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)

    database_url: str | None = None
    database_read_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=8, ge=1, le=100)

    session_ttl_s: int = Field(default=3600, ge=60, le=86_400)
    challenge_ttl_s: int = Field(default=60, ge=1, le=600)

    # Scheduler jobs.
    cleanup_interval_s: float = Field(default=3600.0, gt=0)
    event_retention_days: int = Field(default=7, ge=1)

    # Attestations and trust.
    attestation_clock_skew_s: float = Field(default=300.0, gt=0)
    trust_check_interval_s: float = Field(default=5.0, gt=0)
    trust_recompute_interval_s: float = Field(default=60.0, gt=0)
    trust_damping: float = Field(default=0.85, gt=0, lt=1)
    trust_verify_threshold: float = Field(default=150.0, gt=0)

    health_probe_interval_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    # Run `make migrate` as its own step in production; the embedded default migrates itself.
    auto_migrate: bool | None = None

    @model_validator(mode="after")
    def _read_url_needs_primary(self) -> Settings:
        if self.database_read_url and not self.database_url:
            raise ValueError("DATABASE_READ_URL needs DATABASE_URL")
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def migrate_on_start(self) -> bool:
        return self.embedded if self.auto_migrate is None else self.auto_migrate
