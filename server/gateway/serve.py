"""Run the gateway with uvicorn inside the gRPC server's event loop.

One process and one loop: the gateway only transcodes and awaits the gRPC
call, so a second process would add a hop to manage without adding capacity;
production puts Envoy in front instead. Signals stay with server/main.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from server.gateway.app import Gateway, create_app

START_POLLS = 1000  # x 10 ms


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the host process owns SIGINT/SIGTERM and stops us through stop()


@dataclass
class RunningGateway:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def start_gateway(host: str, port: int, grpc_target: str) -> RunningGateway:
    """Bind first (port 0 picks a free one), then serve until stop()."""
    sock = bind(host, port)
    config = uvicorn.Config(
        create_app(Gateway(grpc_target)),
        log_config=None,
        access_log=False,
        # The peer is the client: X-Forwarded-For is appended to, never believed here.
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(START_POLLS):
        if server.started:
            return RunningGateway(server, task, sock.getsockname()[1])
        if task.done():
            task.result()  # raises the start-up error
        await asyncio.sleep(0.01)
    server.should_exit = True
    raise RuntimeError("the JSON gateway did not start within 10 s")
