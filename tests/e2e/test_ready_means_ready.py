"""`python -m server` prints its URLs only once a call through them is answered."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import grpc
import httpx
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc

from server.backing import BackingServices

_START_DEADLINE_S = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _lines_until(stream: asyncio.StreamReader, marker: str, seen: list[str]) -> None:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError(f"server exited before printing {marker!r}: {seen[-20:]}")
        seen.append(line)
        if marker in line:
            return


async def test_urls_appear_only_when_calls_through_them_succeed(
    backing: BackingServices, tmp_path: Path
) -> None:
    grpc_port, http_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": backing.database_url,
        "REDIS_URL": backing.redis_url,
        "GRPC_PORT": str(grpc_port),
        "HTTP_PORT": str(http_port),
        "METRICS_PORT": "0",
        "WORKERS": "1",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
    }
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        await asyncio.wait_for(
            _lines_until(process.stderr, "JSON over HTTP (Envoy) on http://", seen),
            _START_DEADLINE_S,
        )
        printed_after = time.monotonic() - started
        # The same instant the URL appears, both URLs answer: no 503 from the edge.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as http:
            response = await http.get("/v1/agents")
            assert response.status_code == 200, response.text
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
            await stub.ListAgents(registry_service_pb2.ListAgentsRequest(), timeout=10)
        starting = next(i for i, line in enumerate(seen) if "starting" in line)
        serving = next(i for i, line in enumerate(seen) if "serving after" in line)
        assert starting < serving
        print(f"cold start to first answer: {printed_after:.1f} s")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
