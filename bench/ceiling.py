"""`make bench-ceiling`: the registry's hot calls against a bare grpc.aio echo, in one run.

On the `make bench` registry (100,000 agents, 1,000,000 attestations, seeded once under
.data/bench-all/), three server sets run side by side on their own SO_REUSEPORT ports, each
with the same worker count: the bare echo (bench/ceiling_echo.py), the registry as served
(cache on) and the registry with its cache off. One C load generator (h2load) drives every
workload with request bodies encoded once beforehand, so the client costs the same for all.
Each repeat runs the echo and then every workload back to back; a workload's ratio is taken
against the echo of its own repeat, and the table shows medians over repeats, because the
machine's absolute speed drifts between minutes.

h2load sees only HTTP statuses, and a failed gRPC call is still HTTP 200, so every request
is checked once through a real channel before the load, and each run's received bytes are
compared with what that many good answers weigh (`ok %`).

Rate limits stay on (their cost is part of a call) with budgets no run can spend.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
from agentregistry.v1 import (
    attestation_service_pb2,
    presence_service_pb2,
    registry_service_pb2,
    search_service_pb2,
)
from google.protobuf.message import Message
from redis.asyncio import Redis

from bench import all_seed
from bench.harness import free_port, listeners, machine, report, start_workers, stop
from db.engine import libpq_url
from server.auth.principal import Tier
from server.auth.store import AuthStore
from server.backing import start_embedded_redis
from server.ratelimit.policy import MethodClass

UNLIMITED = json.dumps(
    {f"{tier.value}.{cls.value}": "100000000/minute" for tier in Tier for cls in MethodClass}
)


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    request: Message
    cached: bool = True  # which registry server set it runs against
    token: bool = False  # sends the agent's session token


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    ok_share: float


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds before each run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per workload (medians)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clients", type=int, default=32, help="h2load connections")
    parser.add_argument("--streams", type=int, default=1, help="requests in flight per client")
    return parser.parse_args()


def h2load_binary() -> str:
    found = shutil.which("h2load")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing h2load (Debian nghttp2-client)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "nghttp2-client"], check=True)
        found = shutil.which("h2load")
    if not found:
        raise SystemExit("h2load not found: install nghttp2-client (Debian) or nghttp2 (Homebrew)")
    return found


def grpc_frame(message: Message) -> bytes:
    body = message.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


def plan(url: str) -> tuple[str, str]:
    """An ordinary agent to read and beat for, and the top-scored one for its reputation."""
    with psycopg.connect(libpq_url(url)) as conn:
        ordinary = conn.execute(
            "SELECT id FROM agents WHERE id NOT LIKE 'ag_benchattest%' ORDER BY id LIMIT 1"
        ).fetchone()
        reputable = conn.execute(
            "SELECT id FROM agents ORDER BY trust_score DESC, id LIMIT 1"
        ).fetchone()
    assert ordinary and reputable, "the seeded registry is empty"
    return str(ordinary[0]), str(reputable[0])


def workloads(agent_id: str, reputable_id: str) -> list[Workload]:
    name = f"agents/{agent_id}"
    return [
        Workload(
            "get_agent_cached",
            "/agentregistry.v1.RegistryService/GetAgent",
            registry_service_pb2.GetAgentRequest(name=name),
        ),
        Workload(
            "get_agent_uncached",
            "/agentregistry.v1.RegistryService/GetAgent",
            registry_service_pb2.GetAgentRequest(name=name),
            cached=False,
        ),
        Workload(
            "get_reputation",
            "/agentregistry.v1.ReputationService/GetReputation",
            attestation_service_pb2.GetReputationRequest(name=f"agents/{reputable_id}/reputation"),
        ),
        Workload(
            "send_heartbeat",
            "/agentregistry.v1.PresenceService/SendHeartbeat",
            presence_service_pb2.SendHeartbeatRequest(name=name),
            token=True,
        ),
        Workload(
            "search_cached",
            "/agentregistry.v1.SearchService/SearchAgents",
            search_service_pb2.SearchAgentsRequest(query="python", page_size=20),
        ),
    ]


def answer_size(port: int, work: Workload, token: str) -> int:
    """One real call with the exact bytes h2load will send: it must succeed; its framed size."""
    metadata = [("authorization", f"Bearer {token}")] if work.token else []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(work.method)  # bytes in, bytes out
        answer = call(work.request.SerializeToString(), metadata=metadata, timeout=10)
    return 5 + len(answer)


def h2load(
    binary: str, port: int, work: Workload, token: str, args: argparse.Namespace, scratch: Path
) -> Run:
    body, log = scratch / f"{work.name}.bin", scratch / f"{work.name}.log"
    body.write_bytes(grpc_frame(work.request))
    headers = ["content-type: application/grpc", "te: trailers"]
    if work.token:
        headers.append(f"authorization: Bearer {token}")
    command = [
        binary, f"http://127.0.0.1:{port}{work.method}", "-d", str(body),
        "-c", str(args.clients), "-m", str(args.streams), "-t", "1",
        "-D", f"{args.duration}s", "--warm-up-time", f"{args.warmup}s", "--log-file", str(log),
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", output).group(1))  # type: ignore[union-attr]
    succeeded = int(re.search(r"(\d+) succeeded", output).group(1))  # type: ignore[union-attr]
    data = int(re.search(r"\((\d+)\) data", output).group(1))  # type: ignore[union-attr]
    latencies = sorted(
        int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line
    )
    expected = answer_size(port, work, token) if work.name != "echo" else body.stat().st_size
    return Run(
        rps=rps,
        p50_ms=latencies[len(latencies) // 2] if latencies else 0.0,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0,
        ok_share=min(1.0, data / (expected * succeeded)) if succeeded else 0.0,
    )


def start_echo(count: int) -> tuple[list[subprocess.Popen[bytes]], int]:
    port = free_port()
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.ceiling_echo", str(port)])
        for _ in range(count)
    ]
    deadline = time.monotonic() + 30
    while listeners(port) < count:
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise SystemExit("the echo servers did not start")
        time.sleep(0.1)
    return processes, port


async def session(redis_url: str, agent_id: str) -> str:
    redis = Redis.from_url(redis_url)
    try:
        return await AuthStore(redis).put_session(agent_id, 1, 3600)
    finally:
        await redis.aclose()


def main() -> None:
    args = arguments()
    binary = h2load_binary()
    print(machine(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    url = all_seed.database_url()
    redis_url, _redis = start_embedded_redis(all_seed.DATA / "redis")
    all_seed.seed(url, redis_url)
    agent_id, reputable_id = plan(url)
    token = asyncio.run(session(redis_url, agent_id))
    env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "RATE_LIMITS": UNLIMITED}
    echo, echo_port = start_echo(args.workers)
    cached, cached_port = start_workers(env, args.workers)
    uncached, uncached_port = start_workers({**env, "CACHE_ENABLED": "false"}, args.workers)
    work = workloads(agent_id, reputable_id)
    echo_work = Workload("echo", work[0].method, work[0].request)
    runs: dict[str, list[Run]] = {w.name: [] for w in [echo_work, *work]}
    ratios: dict[str, list[float]] = {w.name: [] for w in work}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as scratch:
            for repeat in range(args.repeats):
                echo_run = h2load(binary, echo_port, echo_work, token, args, Path(scratch))
                runs["echo"].append(echo_run)
                print(f"repeat {repeat + 1}: echo {echo_run.rps:,.0f} req/s", flush=True)
                for w in work:
                    port = cached_port if w.cached else uncached_port
                    run = h2load(binary, port, w, token, args, Path(scratch))
                    runs[w.name].append(run)
                    ratios[w.name].append(run.rps / echo_run.rps)
                    print(f"  {w.name:<20} {run.rps:>9,.0f} req/s  ok {run.ok_share:.1%}")
    finally:
        for process in [*echo, *cached, *uncached]:
            stop(process)
    print_table(args, runs, ratios)


def print_table(
    args: argparse.Namespace, runs: dict[str, list[Run]], ratios: dict[str, list[float]]
) -> None:
    print(
        f"\n--- {args.workers} workers each, h2load -c {args.clients} -m {args.streams}, "
        f"{args.duration:g} s runs, median of {args.repeats}"
    )
    print(f"{'workload':<20} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs echo':>8} {'ok %':>6}")
    metrics: dict[str, Any] = {"workers": args.workers, "clients": args.clients}
    for name, each in runs.items():
        rps = statistics.median(r.rps for r in each)
        p50 = statistics.median(r.p50_ms for r in each)
        p99 = statistics.median(r.p99_ms for r in each)
        ok = min(r.ok_share for r in each)
        ratio = statistics.median(ratios[name]) if name in ratios else 1.0
        print(f"{name:<20} {rps:>9,.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>8.2f} {ok:>6.1%}")
        metrics |= {
            f"{name}_rps": round(rps, 1),
            f"{name}_p50_ms": round(p50, 2),
            f"{name}_p99_ms": round(p99, 2),
        }
        if name in ratios:
            metrics[f"{name}_vs_echo"] = round(ratio, 3)
    report("ceiling", metrics)


if __name__ == "__main__":
    main()
