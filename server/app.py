"""Wiring: build_server(settings, backing) gives a started-ready server and its port."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    auth_service_pb2,
    auth_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, session_factory
from db.probe import ping
from db.uow import UnitOfWorkFactory
from server.attestations.service import AttestationService
from server.attestations.servicer import AttestationServicer
from server.auth.service import AuthService
from server.auth.servicer import AuthServicer
from server.auth.store import AuthStore
from server.backing import BackingServices
from server.health import HealthMonitor
from server.interceptors.access_log import AccessLogInterceptor
from server.interceptors.auth import AuthInterceptor
from server.interceptors.errors import ErrorInterceptor
from server.registry.service import RegistryService
from server.registry.servicer import RegistryServicer
from server.settings import Settings
from server.trust.service import ReputationService
from server.trust.servicer import ReputationServicer
from server.trust.signal import TrustSignal

log = logging.getLogger(__name__)

SERVICE_NAMES = [
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name,
    attestation_service_pb2.DESCRIPTOR.services_by_name["AttestationService"].full_name,
    attestation_service_pb2.DESCRIPTOR.services_by_name["ReputationService"].full_name,
]


@dataclass
class RegistryServer:
    """The gRPC server plus what it owns, so one stop() releases everything."""

    server: grpc.aio.Server
    port: int
    engine: AsyncEngine
    redis: Redis
    health: HealthMonitor
    _stopped: bool = field(default=False, repr=False)

    async def start(self) -> None:
        await self.server.start()
        await self.health.start()
        log.info("serving gRPC on port %d", self.port)

    async def stop(self, grace_s: float) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.health.stop()
        await self.server.stop(grace_s)
        await self.redis.aclose()
        await self.engine.dispose()


def _server_options() -> list[tuple[str, int]]:
    return [
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.max_receive_message_length", 1 << 20),
        ("grpc.so_reuseport", 1),
    ]


async def build_server(settings: Settings, backing: BackingServices) -> tuple[RegistryServer, int]:
    engine = create_engine(backing.database_url, pool_size=settings.db_pool_size)
    redis = Redis.from_url(backing.redis_url)
    uow = UnitOfWorkFactory(session_factory(engine))
    auth_store = AuthStore(redis)
    auth = AuthService(
        uow,
        auth_store,
        challenge_ttl_s=settings.challenge_ttl_s,
        session_ttl_s=settings.session_ttl_s,
    )
    server = grpc.aio.server(
        interceptors=[AccessLogInterceptor(), ErrorInterceptor(), AuthInterceptor(auth)],
        options=_server_options(),
    )
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(
        RegistryServicer(RegistryService(uow, auth_store)), server
    )
    auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(auth), server)
    attestations = AttestationService(
        uow, TrustSignal(redis), clock_skew_s=settings.attestation_clock_skew_s
    )
    attestation_service_pb2_grpc.add_AttestationServiceServicer_to_server(
        AttestationServicer(attestations), server
    )
    attestation_service_pb2_grpc.add_ReputationServiceServicer_to_server(
        ReputationServicer(ReputationService(uow)), server
    )

    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_name = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
    reflection.enable_server_reflection(
        [*SERVICE_NAMES, health_name, reflection.SERVICE_NAME], server
    )
    monitor = HealthMonitor(
        health_servicer,
        SERVICE_NAMES,
        {"postgres": lambda: ping(engine), "redis": redis.ping},
        settings.health_probe_interval_s,
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    return RegistryServer(server, port, engine, redis, monitor), port
