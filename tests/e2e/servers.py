"""Extra server instances on the same (or their own) backing services, for tests that need them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from agentregistry.v1 import auth_service_pb2_grpc, registry_service_pb2_grpc

from server.app import RegistryServer, build_server
from server.backing import BackingServices
from server.settings import Settings


class Instance:
    def __init__(self, app: RegistryServer, channel: grpc.aio.Channel) -> None:
        self.app = app
        self.channel = channel
        self.registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self.auth = auth_service_pb2_grpc.AuthServiceStub(channel)


@asynccontextmanager
async def instance(settings: Settings, backing: BackingServices) -> AsyncIterator[Instance]:
    app, port = await build_server(settings, backing)
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Instance(app, channel)
    finally:
        await app.stop(0)
