"""One frozen settings object, read from the environment once at start."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AliasGenerator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_PREFIX = "AGENTREGISTRY_"


def _env_names(field: str) -> AliasChoices:
    """`AGENTREGISTRY_GRPC_PORT` is the documented name; the bare `GRPC_PORT` is accepted too,
    because DATABASE_URL and REDIS_URL are the conventional names every platform sets."""
    return AliasChoices(ENV_PREFIX + field.upper(), field.upper(), field)


class Settings(BaseSettings):
    """Every knob of the server. Unset URLs mean "start the embedded default"."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=AliasGenerator(validation_alias=_env_names),
        validate_by_name=True,
    )

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    # JSON over HTTP: where `make run` has Envoy (envoy/envoy.yaml) listen, in front of gRPC.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # Where clients reach the registry's JSON edge (scheme, host, optional port and path
    # prefix; no trailing slash): the URL its own A2A card and its agents' cards name.
    # Unset, the local Envoy (http_host:http_port), as `make run` serves it.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")

    # Server processes sharing the gRPC port; default one per core.
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)

    database_url: str | None = None
    database_read_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=16, ge=1, le=100)
    # Deadlines on every wait for a backing service: a stalled Postgres or Redis (alive,
    # connected, silent) costs a call at most these before it fails UNAVAILABLE.
    # Postgres: wait for a pooled connection; open one (libpq's minimum is 2 s); a
    # statement, which Postgres cancels past this and the server stops waiting for 1 s later.
    db_pool_timeout_s: float = Field(default=3.0, gt=0)
    db_connect_timeout_s: int = Field(default=2, ge=2, le=60)
    db_statement_timeout_s: float = Field(default=5.0, gt=0)
    # The liveness ping before a pooled connection is used: unanswered this long, Postgres
    # counts as not answering, and calls are then refused at once for the cool-down, after
    # which one probe at a time asks again (db/breaker.py).
    db_ping_timeout_s: float = Field(default=0.5, gt=0)
    db_breaker_cool_down_s: float = Field(default=1.0, gt=0)
    # Redis: a reply to the hot path's scripts (server/hot/channel.py) and to any other
    # command; opening a connection; waiting for a pooled one. Once redis_max_waiting
    # commands wait on the scripts' connection, calls are refused at once.
    redis_reply_timeout_s: float = Field(default=1.0, gt=0)
    redis_socket_timeout_s: float = Field(default=1.0, gt=0)
    redis_connect_timeout_s: float = Field(default=1.0, gt=0)
    redis_pool_timeout_s: float = Field(default=5.0, gt=0)
    redis_max_waiting: int = Field(default=10_000, ge=1)

    # Signs page tokens (HMAC): every instance serving the same clients must share it.
    # Unset, `python -m server` keeps one under DATA_DIR for its own workers.
    page_token_secret: SecretStr | None = Field(default=None, min_length=16)

    session_ttl_s: int = Field(default=3600, ge=60, le=86_400)
    challenge_ttl_s: int = Field(default=60, ge=1, le=600)

    # Read cache (Redis, cache-aside) for public reads.
    cache_enabled: bool = True
    # Rate limits: budgets per tier and method class, shared through Redis.
    rate_limit_enabled: bool = True
    # JSON overrides, e.g. {"anonymous.read": "100/minute"}; see server/ratelimit/policy.py.
    rate_limits: str | None = None
    # x-forwarded-for is believed only from these peers (addresses or CIDR blocks,
    # comma-separated): the Envoy in front. Anyone else is limited by their own address.
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = (
        ipaddress.ip_network("127.0.0.1"),
    )
    # Proxies that append to x-forwarded-for, counting that Envoy (0 = always use the peer).
    trusted_proxy_hops: int = Field(default=1, ge=0, le=10)

    # Scheduler jobs.
    cleanup_interval_s: float = Field(default=3600.0, gt=0)
    event_retention_days: int = Field(default=7, ge=1)

    # Webhooks (server/webhooks, scheduler/jobs/webhook_delivery.py).
    # Loopback URLs (and plain http to them) are refused unless this is on (local runs, tests);
    # agent card URLs (server/cards/fetch.py) follow the same rule.
    webhook_allow_loopback: bool = False
    webhook_delivery_interval_s: float = Field(default=1.0, gt=0)
    # How long one delivery run keeps draining due deliveries before it yields its lease.
    webhook_run_budget_s: float = Field(default=20.0, gt=0)
    # One delivery attempt as a whole (resolve, connect, send, response headers).
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_concurrency: int = Field(default=100, ge=1, le=1000)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_retry_base_s: float = Field(default=10.0, gt=0)
    webhook_retry_cap_s: float = Field(default=1800.0, gt=0)
    webhook_disable_after_failures: int = Field(default=10, ge=1)
    webhook_max_per_agent: int = Field(default=20, ge=1)
    delivery_retention_days: int = Field(default=7, ge=1)
    # How often the process's one outbox follower looks for new events (it feeds every
    # WatchEvents stream of the process, typeahead names and heartbeat-stream pushes).
    watch_poll_interval_s: float = Field(default=0.2, gt=0)
    # Concurrent WatchEvents streams one caller (agent, API key, else client address) may
    # hold in one server process; past it RESOURCE_EXHAUSTED (TOO_MANY_WATCHES).
    watch_max_per_principal: int = Field(default=16, ge=1)
    # A quiet WatchEvents stream sends a KEEPALIVE this often (below every proxy idle timeout).
    watch_keepalive_s: float = Field(default=30.0, gt=0)
    # Presence (heartbeats): beat interval and TTL announced to agents, the coalesced Redis
    # write period, the sweep and Postgres flush jobs, and the sweep's self-preservation cap.
    heartbeat_interval_s: float = Field(default=30.0, gt=0)
    presence_ttl_s: float = Field(default=90.0, gt=0)
    presence_write_interval_ms: float = Field(default=50.0, gt=0, le=1000)
    # Heartbeat-stream opens one process serves at once and begins per second; past either
    # UNAVAILABLE with a retry delay that spreads a reconnecting herd (presence/streams.py).
    presence_max_opening: int = Field(default=1000, ge=1)
    presence_max_open_rate: float = Field(default=2000.0, gt=0)
    presence_sweep_interval_s: float = Field(default=10.0, gt=0)
    presence_flush_interval_s: float = Field(default=15.0, gt=0)
    presence_flush_batch: int = Field(default=5000, ge=1, le=50_000)
    presence_self_preservation_ratio: float = Field(default=0.15, gt=0, le=1)
    presence_self_preservation_min_agents: int = Field(default=20, ge=0)
    presence_namespace: str = "presence"
    # Attestations and trust.
    attestation_clock_skew_s: float = Field(default=300.0, gt=0)
    trust_check_interval_s: float = Field(default=5.0, gt=0)
    trust_recompute_interval_s: float = Field(default=60.0, gt=0)
    trust_damping: float = Field(default=0.85, gt=0, lt=1)
    # A capability is verified by net support of this many ordinary raters (each weighs at
    # most one), from at least trust_verify_groups independent seed groups.
    trust_verify_threshold: float = Field(default=2.0, gt=0)
    trust_verify_groups: int = Field(default=3, ge=1)
    # Domain proofs: loopback http hosts allowed only for local runs and tests (as webhooks).
    domain_allow_loopback: bool = False
    # One proof fetch as a whole (resolve, connect, headers, body).
    domain_fetch_timeout_s: float = Field(default=5.0, gt=0)
    domain_recheck_interval_s: float = Field(default=6 * 3600.0, gt=0)
    domain_recheck_batch: int = Field(default=200, ge=1, le=10_000)

    # Semantic search: how often the embedding job follows the outbox; off = text-only search.
    embedding_interval_s: float = Field(default=2.0, gt=0)
    semantic_search_enabled: bool = True

    health_probe_interval_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Envoy's own line per request (JSON, beside the service's logs): off, failed requests
    # only, or all; EDGE_ACCESS_LOG_PERCENT samples what is on.
    edge_access_log: Literal["off", "errors", "all"] = "off"
    edge_access_log_percent: float = Field(default=100.0, gt=0, le=100)
    # Prometheus /metrics on its own port (never through the JSON edge); 0 picks a free one.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # Run `make migrate` as its own step in production; the embedded default migrates itself.
    auto_migrate: bool | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(ipaddress.ip_network(p.strip()) for p in value.split(",") if p.strip())
        return value

    @model_validator(mode="after")
    def _read_url_needs_primary(self) -> Settings:
        if self.database_read_url and not self.database_url:
            raise ValueError("DATABASE_READ_URL needs DATABASE_URL")
        return self

    @property
    def registry_url(self) -> str:
        """The public URL, or the local edge's: a wildcard listen address reached on loopback."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.http_host in ("", "0.0.0.0", "::", "[::]") else self.http_host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self.http_port}"

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def migrate_on_start(self) -> bool:
        return self.embedded if self.auto_migrate is None else self.auto_migrate


def load_settings() -> Settings:
    """Settings from the environment, or exit naming every bad variable (never a traceback)."""
    try:
        return Settings()
    except ValidationError as error:
        problems = [
            f"  {'.'.join(str(part) for part in issue['loc']).upper()}: {issue['msg']}"
            for issue in error.errors()
        ]
        raise SystemExit("invalid configuration:\n" + "\n".join(problems)) from None
