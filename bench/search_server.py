"""The server process the search benchmark talks to: the real build_server, no scheduler."""

from __future__ import annotations

import asyncio
import signal

from server.app import build_server
from server.backing import BackingServices
from server.settings import Settings


async def serve() -> None:
    settings = Settings()
    assert settings.database_url and settings.redis_url
    app, _ = await build_server(
        settings, BackingServices(settings.database_url, settings.redis_url)
    )
    await app.start()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    await app.stop(1)
