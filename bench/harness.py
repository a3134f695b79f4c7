"""What every benchmark needs: cached backing data, a server process, percentiles, the machine."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.backing import start_embedded_redis

DATA = Path(".data")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def bench_redis(name: str) -> tuple[str, object]:
    return start_embedded_redis(DATA / f"bench-{name}" / "redis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """A real server process (its own interpreter, as in production), ready when healthy."""
    port = free_port()
    full_env = {
        **os.environ,
        "GRPC_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "AUTO_MIGRATE": "false",
        "HEALTH_PROBE_INTERVAL_S": "3600",
        **env,
    }
    process = subprocess.Popen([sys.executable, "-m", "server"], env=full_env)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                channel.close()
                return process, port
        except grpc.RpcError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not become healthy within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def run_load(
    call: Callable[[int], Awaitable[object]],
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> LoadResult:
    """Closed-loop load: `concurrency` workers call back to back until time or count runs out."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal errors, issued
        while time.perf_counter() < deadline and issued < max_requests:
            index = issued
            issued += 1
            started = time.perf_counter()
            try:
                await call(index)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(latencies), errors, time.perf_counter() - started, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(bench: str, metrics: dict[str, float | int]) -> None:
    print(json.dumps({"bench": bench, "metrics": metrics}))


def listeners(port: int) -> int:
    """Sockets listening on the port (one per worker under SO_REUSEPORT; IPv4 or IPv6 ones)."""
    suffix = f":{port:04X}"
    lines = [
        line.split()
        for table in ("/proc/net/tcp", "/proc/net/tcp6")
        for line in Path(table).read_text().splitlines()[1:]
    ]
    return sum(1 for fields in lines if fields[1].endswith(suffix) and fields[3] == "0A")


def start_workers(env: dict[str, str], count: int) -> tuple[list[subprocess.Popen[bytes]], int]:
    """`count` real `python -m server.worker` processes on one port, ready when all listen."""
    port = free_port()
    full_env = {
        **os.environ,
        "GRPC_HOST": "127.0.0.1",
        "GRPC_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "AUTO_MIGRATE": "false",
        "HEALTH_PROBE_INTERVAL_S": "3600",
        **env,
    }
    workers = [
        subprocess.Popen([sys.executable, "-m", "server.worker"], env=full_env)
        for _ in range(count)
    ]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(w.poll() is not None for w in workers):
            break
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            if status == health_pb2.HealthCheckResponse.SERVING and listeners(port) >= count:
                channel.close()
                return workers, port
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    channel.close()
    for worker in workers:
        worker.kill()
    raise SystemExit(f"{count} workers did not all serve within 60 s")
