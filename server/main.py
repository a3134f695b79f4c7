"""Process entry: resolve backing services, migrate if asked, serve until a signal."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys

import uvloop

from db.migrate import current_is_head, upgrade
from server.app import build_server
from server.backing import resolve
from server.gateway.serve import RunningGateway, start_gateway
from server.settings import Settings

log = logging.getLogger("agentregistry")


async def serve(settings: Settings) -> None:
    backing = resolve(
        settings.database_url, settings.redis_url, settings.data_dir, settings.database_read_url
    )
    try:
        if settings.migrate_on_start:
            upgrade(backing.database_url)
        elif not current_is_head(backing.database_url):
            raise SystemExit(
                "database schema is not at the latest revision: run `make migrate` first"
            )
        scheduler = _start_scheduler(backing.database_url, backing.redis_url)
        app, port = await build_server(settings, backing)
        await app.start()
        log.info("agent registry listening on %s:%d", settings.grpc_host, port)
        gateway = await _start_gateway(settings, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down (grace %.0f s)", settings.shutdown_grace_s)
        if gateway is not None:
            await gateway.stop()
        await app.stop(settings.shutdown_grace_s)
        scheduler.terminate()
        scheduler.wait(timeout=settings.shutdown_grace_s)
    finally:
        backing.close()


async def _start_gateway(settings: Settings, grpc_port: int) -> RunningGateway | None:
    """JSON over HTTP next to gRPC, so the API works without Envoy."""
    if not settings.gateway_enabled:
        return None
    gateway = await start_gateway(settings.http_host, settings.http_port, f"127.0.0.1:{grpc_port}")
    log.info("JSON gateway listening on http://%s:%d", settings.http_host, gateway.port)
    return gateway


def _start_scheduler(database_url: str, redis_url: str) -> subprocess.Popen[bytes]:
    """The maintenance scheduler runs beside the server, on the same backing services."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "scheduler"], env=env)


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
