"""Wiring: build_server(settings, backing) gives a started-ready server and its port."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from agentregistry.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    agent_card_service_pb2,
    agent_card_service_pb2_grpc,
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    domain_service_pb2,
    domain_service_pb2_grpc,
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    search_service_pb2,
    search_service_pb2_grpc,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.breaker import Breaker
from db.deadlines import Deadlines
from db.engine import create_engine, session_factory
from db.outbox_signal import OutboxListener
from db.point_reads import PointReads
from db.probe import ping
from db.repositories.search import SearchReads
from db.uow import UnitOfWorkFactory
from server import reflection_v1
from server.admin.service import AdminService
from server.admin.servicer import AdminServicer
from server.attestations.service import AttestationService
from server.attestations.servicer import AttestationServicer
from server.auth.api_keys import ApiKeyService
from server.auth.service import AuthService
from server.auth.servicer import AuthServicer
from server.auth.store import AuthStore
from server.backing import BackingServices
from server.cache.aside import CacheAside
from server.cache.responses import CachedResponses
from server.calls.auth import Authenticator
from server.calls.layer import CallLayer
from server.calls.method_table import MethodTable
from server.calls.rate_limit import Admission, CallerKeys
from server.cards.service import CardService
from server.cards.servicer import AgentCardServicer
from server.domain import paging
from server.domain_proofs.service import DomainService
from server.domain_proofs.servicer import DomainServicer
from server.embeddings.model import load_embedder
from server.embeddings.queries import QueryVectors
from server.events.follower import OutboxFollower
from server.events.hub import WatchHub
from server.events.service import EventFeed
from server.events.watch import Watches
from server.health import HealthMonitor
from server.hot.channel import ScriptChannel
from server.observability.build_info import software_version
from server.observability.metrics import DB_POOL_CONNECTIONS
from server.presence.coalescer import BeatCoalescer
from server.presence.event_push import PUSHED, EventPusher
from server.presence.runtime import PresenceRuntime
from server.presence.service import PresenceService
from server.presence.servicer import PresenceServicer
from server.presence.store import PresenceStore
from server.presence.streams import StreamRegistry
from server.ratelimit.auth_failures import AuthFailureGate
from server.ratelimit.limiter import RateLimiter
from server.ratelimit.policy import Budgets
from server.redis_breaker import RedisBreaker, guarded_pool
from server.registry.cached import RegistryCache
from server.registry.service import RegistryService
from server.registry.servicer import RegistryServicer
from server.search.names import NAME_EVENTS, NameFollower, NameIndex
from server.search.service import SearchService
from server.search.servicer import SearchServicer
from server.settings import Settings
from server.tasks import bounded
from server.trust.service import ReputationService
from server.trust.servicer import ReputationServicer
from server.trust.signal import TrustSignal
from server.webhooks.service import WebhookService
from server.webhooks.servicer import WebhookServicer

log = logging.getLogger(__name__)

SERVICE_NAMES = [
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    webhook_service_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name,
    presence_service_pb2.DESCRIPTOR.services_by_name["PresenceService"].full_name,
    search_service_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name,
    attestation_service_pb2.DESCRIPTOR.services_by_name["AttestationService"].full_name,
    attestation_service_pb2.DESCRIPTOR.services_by_name["ReputationService"].full_name,
    agent_card_service_pb2.DESCRIPTOR.services_by_name["AgentCardService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    domain_service_pb2.DESCRIPTOR.services_by_name["DomainService"].full_name,
]


@dataclass
class RegistryServer:
    """The gRPC server plus what it owns, so one stop() releases everything."""

    server: grpc.aio.Server
    port: int
    engine: AsyncEngine
    redis: Redis
    health: HealthMonitor
    cache: CacheAside
    limiter: RateLimiter | None
    presence: PresenceRuntime | None = None
    _stopped: bool = field(default=False, repr=False)
    # Search traffic's engine when DATABASE_READ_URL points at a replica.
    read_engine: AsyncEngine | None = None
    # Typeahead's names: loaded before the server answers, then kept up to date.
    names: NameFollower | None = None
    # The process's one poll of the outbox (typeahead names, events down streams).
    follower: OutboxFollower | None = None
    # The primary-key reads behind cache misses, on a pool of their own.
    point_reads: PointReads | None = None
    # Postgres deadlines: their liveness probes hold a connection each.
    deadlines: Deadlines | None = None

    async def start(self) -> None:
        if self.point_reads is not None:
            await self.point_reads.open()
        position = await self.follower.position() if self.follower is not None else 0
        if self.names is not None:
            await self.names.load()  # after `position`: what commits meanwhile follows
        if self.follower is not None:
            self.follower.start(position)
        if self.presence is not None:
            await self.presence.start()
        await self.server.start()
        await self.health.start()
        log.debug("serving gRPC on port %d", self.port)  # the worker says so, with its host

    async def stop(self, grace_s: float) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.health.stop()
        if self.follower is not None:
            await bounded("outbox follower", self.follower.stop())
        if self.presence is not None:
            await self.presence.stop()
        await self.server.stop(grace_s)
        await self.redis.aclose()
        if self.point_reads is not None:
            await self.point_reads.close()
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()
        if self.deadlines is not None:
            await self.deadlines.close()


def _pool_gauges(engine: AsyncEngine) -> Callable[[], None]:
    def update() -> None:
        pool = engine.sync_engine.pool
        checked_out = pool.checkedout()  # type: ignore[attr-defined]
        DB_POOL_CONNECTIONS.labels("in_use").set(checked_out)
        DB_POOL_CONNECTIONS.labels("idle").set(pool.checkedin())  # type: ignore[attr-defined]

    return update


def _server_options() -> list[tuple[str, int]]:
    return [
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.max_receive_message_length", 1 << 20),
        ("grpc.so_reuseport", 1),
    ]


async def build_server(settings: Settings, backing: BackingServices) -> tuple[RegistryServer, int]:
    if settings.page_token_secret is not None:
        paging.configure(settings.page_token_secret.get_secret_value().encode())
    deadlines = _deadlines(settings)
    engine = create_engine(
        backing.database_url, pool_size=settings.db_pool_size, deadlines=deadlines
    )
    # One "Redis is not answering" state for the script channel and redis-py's pool.
    redis_breaker = RedisBreaker()
    redis = _redis(settings, backing.redis_url, redis_breaker)
    uow = UnitOfWorkFactory(session_factory(engine), deadlines.breaker.refuse_if_open)
    cache = CacheAside(redis, enabled=settings.cache_enabled)
    # The scripts a call waits on go over one pipelined connection (server/hot/channel.py).
    channel = ScriptChannel.for_url(
        backing.redis_url,
        reply_timeout_s=settings.redis_reply_timeout_s,
        connect_timeout_s=settings.redis_connect_timeout_s,
        max_waiting=settings.redis_max_waiting,
        breaker=redis_breaker,
    )
    presence = _build_presence(settings, uow, redis, channel)
    auth_store = AuthStore(redis)
    # Ending a session or deleting an API key ends the heartbeat stream it opened.
    auth = AuthService(
        uow,
        auth_store,
        challenge_ttl_s=settings.challenge_ttl_s,
        session_ttl_s=settings.session_ttl_s,
        streams=presence.service,
    )
    api_keys = ApiKeyService(uow, redis, presence.service)
    limiter = None
    if settings.rate_limit_enabled:
        limiter = RateLimiter(Budgets(settings.rate_limits), channel)
    failures = AuthFailureGate(limiter) if limiter is not None else None
    authenticator = Authenticator(
        auth, api_keys, failures, settings.trusted_proxy_hops, settings.trusted_proxies
    )
    admission = None
    if limiter is not None:
        admission = Admission(limiter, settings.trusted_proxy_hops, settings.trusted_proxies)
    layer = CallLayer(authenticator, admission, settings.heartbeat_interval_s)
    server = grpc.aio.server(options=_server_options())
    # Every service below registers here, each handler wrapped in the call layer once.
    table = MethodTable(layer.wrap)
    feed = EventFeed(uow, poll_interval_s=settings.watch_poll_interval_s)
    hub = WatchHub()
    watches = Watches(
        feed,
        hub,
        keepalive_s=settings.watch_keepalive_s,
        poll_interval_s=settings.watch_poll_interval_s,
        max_per_principal=settings.watch_max_per_principal,
    )
    names = NameFollower(NameIndex(), SearchReads(engine))
    listener = OutboxListener(backing.database_url, retry_s=settings.watch_poll_interval_s)
    follower = OutboxFollower(feed, listener)
    follower.subscribe(NAME_EVENTS, names.apply)
    follower.subscribe(PUSHED, EventPusher(presence.service.streams))
    follower.subscribe(None, hub.publish)  # every WatchEvents stream of this process
    registry_cache = RegistryCache(cache)
    responses = CachedResponses(cache, presence.service, channel)
    point_reads = PointReads(backing.database_url, settings.db_pool_size, deadlines)
    registry_service = RegistryService(
        uow, point_reads, auth_store, registry_cache, presence.service, names.index
    )
    domain_service_pb2_grpc.add_DomainServiceServicer_to_server(
        DomainServicer(
            DomainService(
                uow,
                registry_cache,
                allow_loopback=settings.domain_allow_loopback,
                timeout_s=settings.domain_fetch_timeout_s,
            )
        ),
        table,
    )
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminServicer(AdminService(uow, auth_store, api_keys, registry_cache, presence.service)),
        table,
    )
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(
        RegistryServicer(
            registry_service,
            responses,
            watches,
            CallerKeys(settings.trusted_proxy_hops, settings.trusted_proxies),
        ),
        table,
    )
    agent_card_service_pb2_grpc.add_AgentCardServiceServicer_to_server(
        AgentCardServicer(
            CardService(
                registry_service,
                uow,
                allow_loopback=settings.webhook_allow_loopback,
                base_url=settings.registry_url,
                software_version=software_version(),
                domain_allow_loopback=settings.domain_allow_loopback,
            )
        ),
        table,
    )
    presence_service_pb2_grpc.add_PresenceServiceServicer_to_server(
        PresenceServicer(presence.service), table
    )
    webhooks = WebhookService(
        uow,
        allow_loopback=settings.webhook_allow_loopback,
        max_per_agent=settings.webhook_max_per_agent,
    )
    webhook_service_pb2_grpc.add_WebhookServiceServicer_to_server(WebhookServicer(webhooks), table)
    auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(auth, api_keys), table)
    read_url = backing.database_read_url or settings.database_read_url
    read_engine = None
    if read_url:
        read_engine = create_engine(read_url, pool_size=settings.db_pool_size, deadlines=deadlines)
    search_reads = SearchReads(read_engine or engine)
    search_service_pb2_grpc.add_SearchServiceServicer_to_server(
        SearchServicer(
            SearchService(search_reads, names.index, _query_vectors(settings)),
            responses,
        ),
        table,
    )
    attestations = AttestationService(
        uow, TrustSignal(redis), clock_skew_s=settings.attestation_clock_skew_s
    )
    attestation_service_pb2_grpc.add_AttestationServiceServicer_to_server(
        AttestationServicer(attestations), table
    )
    attestation_service_pb2_grpc.add_ReputationServiceServicer_to_server(
        ReputationServicer(ReputationService(uow, point_reads), responses), table
    )

    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, table)
    health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
    reflector = ReflectionServicer(
        [*SERVICE_NAMES, health_name, reflection.SERVICE_NAME, reflection_v1.SERVICE_NAME]
    )
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(reflector, table)
    reflection_v1.add_v1_reflection(reflector, table)
    server.add_generic_rpc_handlers((table,))
    monitor = HealthMonitor(
        health_servicer,
        SERVICE_NAMES,
        {"postgres": lambda: ping(engine), "redis": redis.ping},
        settings.health_probe_interval_s,
        on_tick=_pool_gauges(engine),
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    app = RegistryServer(
        server,
        port,
        engine,
        redis,
        monitor,
        cache,
        limiter,
        presence,
        read_engine=read_engine,
        names=names,
        follower=follower,
        point_reads=point_reads,
        deadlines=deadlines,
    )
    return app, port


def _deadlines(settings: Settings) -> Deadlines:
    """What a stalled Postgres may cost a call (db/deadlines.py)."""
    return Deadlines(
        pool_timeout_s=settings.db_pool_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
        statement_timeout_s=settings.db_statement_timeout_s,
        ping_timeout_s=settings.db_ping_timeout_s,
        breaker=Breaker(settings.db_breaker_cool_down_s),
    )


def _redis(settings: Settings, url: str, breaker: RedisBreaker) -> Redis:
    """redis-py for everything off the script channel, every wait bounded. A blocking pool:
    a burst of stream opens waits (bounded in time and number) for a connection instead of
    failing; while Redis is known not to answer, calls are refused before the wait."""
    pool = guarded_pool(
        url,
        breaker,
        max_waiting=settings.redis_max_waiting,
        timeout=settings.redis_pool_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
    )
    return Redis(connection_pool=pool)


def _query_vectors(settings: Settings) -> QueryVectors:
    """Semantic search when enabled and the model loads; text-only otherwise (logged)."""
    if not settings.semantic_search_enabled:
        log.info("semantic search disabled: search ranks by text alone")
        return QueryVectors(None)
    embedder = load_embedder()
    if embedder is not None:
        embedder.warm()
    return QueryVectors(embedder)


def _build_presence(
    settings: Settings, uow: UnitOfWorkFactory, redis: Redis, channel: ScriptChannel
) -> PresenceRuntime:
    store = PresenceStore(redis, settings.presence_namespace, channel)
    coalescer = BeatCoalescer(store, settings.presence_write_interval_ms / 1000)
    service = PresenceService(
        uow,
        store,
        coalescer,
        StreamRegistry(settings.presence_max_opening, settings.presence_max_open_rate),
        interval_s=settings.heartbeat_interval_s,
        ttl_s=settings.presence_ttl_s,
    )
    return PresenceRuntime(service, store, coalescer)
