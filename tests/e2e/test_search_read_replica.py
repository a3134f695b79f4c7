"""DATABASE_READ_URL: search traffic goes to the read database, writes to the primary."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import grpc
import psycopg
import pytest
from agentregistry.v1 import registry_service_pb2_grpc
from agentregistry.v1 import search_service_pb2 as pb

from db.embedded import create_database, drop_database
from db.engine import libpq_url
from db.migrate import upgrade
from server.app import build_server
from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.search_support import search_stub, word
from tests.factories import register


@pytest.fixture
async def replica_channel(
    postgres_server_url: str, backing: BackingServices
) -> AsyncIterator[tuple[grpc.aio.Channel, str]]:
    # A separate database stands in for the replica, so we can tell which one answered.
    name = f"replica_{uuid.uuid4().hex[:12]}"
    replica_url = create_database(postgres_server_url, name)
    upgrade(replica_url)
    settings = Settings(
        grpc_port=0,
        database_url=backing.database_url,
        database_read_url=replica_url,
        redis_url=backing.redis_url,
    )
    app, port = await build_server(
        settings, BackingServices(backing.database_url, backing.redis_url, replica_url)
    )
    await app.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel, replica_url
    finally:
        await app.stop(0)
        drop_database(postgres_server_url, name)


async def test_search_reads_the_replica_and_writes_go_to_the_primary(replica_channel) -> None:
    channel, replica_url = replica_channel
    only_on_replica, only_on_primary = word(), word()
    with psycopg.connect(libpq_url(replica_url)) as conn:
        conn.execute(
            "INSERT INTO agents (id, display_name, agent_type, public_key)"
            " VALUES ('ag_0000replica0000', %s, 'tool', %s)",
            (f"Replica {only_on_replica}", os.urandom(32)),
        )
    registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
    written = await register(registry, display_name=f"Primary {only_on_primary}")
    search = search_stub(channel)

    on_replica = await search.SearchAgents(pb.SearchAgentsRequest(query=only_on_replica))
    on_primary = await search.SearchAgents(pb.SearchAgentsRequest(query=only_on_primary))

    assert [r.agent.name for r in on_replica.results] == ["agents/ag_0000replica0000"]
    assert on_primary.results == []  # registered through the primary, not (yet) replicated
    assert written.name.startswith("agents/")
