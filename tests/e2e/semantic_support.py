"""A server on its own database for semantic search tests, and its embedding job.

Semantic search compares every agent with a vector, so these tests cannot share the
suite's database: the made-up words other tests use would come close to each other.
The response cache is off, so a page always reflects the vectors written last.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from agentregistry.v1 import search_service_pb2_grpc
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.embedded import create_database, drop_database
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.embeddings import embeddings
from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.servers import Instance, instance


@dataclass
class SemanticRegistry:
    server: Instance
    search: search_service_pb2_grpc.SearchServiceStub
    job: JobContext
    backing: BackingServices

    async def embed(self) -> dict[str, Any]:
        """One run of the embedding job, as the scheduler runs it."""
        return await embeddings(self.job)


@pytest.fixture(scope="module")
async def semantic(
    postgres_server_url: str, backing: BackingServices, settings: Settings
) -> AsyncIterator[SemanticRegistry]:
    name = f"test_semantic_{uuid.uuid4().hex[:10]}"
    database_url = create_database(postgres_server_url, name)
    upgrade(database_url)
    own = BackingServices(database_url, backing.redis_url)
    own_settings = settings.model_copy(
        update={"database_url": database_url, "cache_enabled": False}
    )
    engine: AsyncEngine = create_engine(database_url, pool_size=2)
    redis = Redis.from_url(backing.redis_url)
    try:
        async with instance(own_settings, own) as server:
            context = JobContext(
                own_settings, engine, UnitOfWorkFactory(session_factory(engine)), redis
            )
            yield SemanticRegistry(
                server, search_service_pb2_grpc.SearchServiceStub(server.channel), context, own
            )
    finally:
        await redis.aclose()
        await engine.dispose()
        drop_database(postgres_server_url, name)
