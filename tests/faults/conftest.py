"""The fault suite's own Postgres and Redis, and a server on them.

The rest of the suite shares one embedded cluster; these tests stop and kill
theirs, so they never take it from under another test.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from db.embedded import create_database
from db.migrate import upgrade
from server.backing import BackingServices
from tests.e2e.servers import Instance, instance
from tests.faults.backing import FaultPostgres, FaultRedis, fault_settings


@pytest.fixture(scope="session")
def fault_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="agentregistry-faults-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_postgres(fault_dir: Path) -> Iterator[FaultPostgres]:
    cluster = FaultPostgres(fault_dir / "postgres")
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def fault_redis(fault_dir: Path) -> Iterator[FaultRedis]:
    redis = FaultRedis(fault_dir / "redis")
    yield redis
    redis.close()


@pytest.fixture(scope="session")
def fault_backing(fault_postgres: FaultPostgres, fault_redis: FaultRedis) -> BackingServices:
    database_url = create_database(fault_postgres.url, f"faults_{uuid.uuid4().hex[:12]}")
    upgrade(database_url)
    return BackingServices(database_url, fault_redis.url)


@pytest.fixture
async def fault_server(fault_backing: BackingServices) -> AsyncIterator[Instance]:
    async with instance(fault_settings(fault_backing), fault_backing) as server:
        yield server
