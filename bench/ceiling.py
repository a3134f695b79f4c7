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
compared with what that many good answers weigh (`ok %`). The same five calls also go through
the production envoy/envoy.yaml in front of each registry set, as `make run` starts it, driven
by the same h2load over HTTP/2, twice: as native gRPC that Envoy passes through untouched
(`_edge`: the floor any call through the edge starts from) and as JSON (`_json`). Their CPU is
the workers' and Envoy's, and Envoy's share is shown apart: what is left is what the edge costs
the workers.

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
import httpx
import psutil
import psycopg
from agentregistry.v1 import (
    attestation_service_pb2,
    presence_service_pb2,
    registry_service_pb2,
    search_service_pb2,
)
from google.protobuf.message import Message
from redis.asyncio import Redis

from bench import seed
from bench.harness import free_port, listeners, machine, report, start_workers, stop
from db.engine import libpq_url
from server.auth.store import AuthStore
from server.backing import start_embedded_redis
from server.domain.principal import Tier
from server.edge.config import render
from server.edge.process import EnvoyProcess
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
    http: tuple[str, str] | None = None  # the same call through the JSON edge: (path, body)

    @property
    def json_name(self) -> str:
        return f"{self.name}_json"

    @property
    def edge_name(self) -> str:
        """The same native gRPC call passed through Envoy untouched: the edge's own floor."""
        return f"{self.name}_edge"


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    ok_share: float
    cpu_us: float = 0.0  # CPU seconds of the serving processes per request, in µs
    edge_cpu_us: float = 0.0  # of which Envoy's (JSON runs)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds before each run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per workload (medians)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--clients", type=int, default=32, help="h2load connections")
    parser.add_argument("--streams", type=int, default=1, help="requests in flight per client")
    parser.add_argument("--envoy-concurrency", type=int, default=1, help="Envoy worker threads")
    parser.add_argument("--only", default="", help="comma-separated workload names to run")
    parser.add_argument("--no-json", action="store_true", help="skip the runs through Envoy")
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
            http=(f"/v1/{name}", ""),
        ),
        Workload(
            "get_agent_uncached",
            "/agentregistry.v1.RegistryService/GetAgent",
            registry_service_pb2.GetAgentRequest(name=name),
            cached=False,
            http=(f"/v1/{name}", ""),
        ),
        Workload(
            "get_reputation",
            "/agentregistry.v1.ReputationService/GetReputation",
            attestation_service_pb2.GetReputationRequest(name=f"agents/{reputable_id}/reputation"),
            http=(f"/v1/agents/{reputable_id}/reputation", ""),
        ),
        Workload(
            "send_heartbeat",
            "/agentregistry.v1.PresenceService/SendHeartbeat",
            presence_service_pb2.SendHeartbeatRequest(name=name),
            token=True,
            http=(f"/v1/{name}:heartbeat", "{}"),
        ),
        Workload(
            "search_cached",
            "/agentregistry.v1.SearchService/SearchAgents",
            search_service_pb2.SearchAgentsRequest(query="python", page_size=20),
            http=("/v1/agents:search?query=python&pageSize=20", ""),
        ),
    ]


def grpc_answer_size(port: int, work: Workload, token: str) -> int:
    """One real call with the exact bytes h2load will send: it must succeed; its framed size."""
    metadata = [("authorization", f"Bearer {token}")] if work.token else []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(work.method)  # bytes in, bytes out
        answer = call(work.request.SerializeToString(), metadata=metadata, timeout=10)
    return 5 + len(answer)


def json_answer_size(port: int, work: Workload, token: str) -> int:
    """The same for the JSON edge: one real request that must answer 200; its body's size."""
    assert work.http is not None
    path, body = work.http
    headers = {"authorization": f"Bearer {token}"} if work.token else {}
    url = f"http://127.0.0.1:{port}{path}"
    if body:
        answer = httpx.post(url, content=body, headers=headers, timeout=10)
    else:
        answer = httpx.get(url, headers=headers, timeout=10)
    if answer.status_code != 200:
        raise SystemExit(f"{work.json_name}: HTTP {answer.status_code} {answer.text[:200]}")
    return len(answer.content)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def h2load(
    binary: str,
    url: str,
    body: bytes | None,
    headers: list[str],
    expected_size: int,
    args: argparse.Namespace,
    log: Path,
    servers: list[int],
    edge: int | None = None,
) -> Run:
    """One h2load run; `servers` are the pids whose CPU is charged to its requests, `edge`
    the one of them whose share is also told apart (Envoy's).

    CPU is read over warm-up and run together and divided by the requests of both at the
    measured rate, so it assumes the warm-up ran at the same rate.
    """
    command = [
        binary, url, "-c", str(args.clients), "-m", str(args.streams), "-t", "1",
        "-D", f"{args.duration}s", "--warm-up-time", f"{args.warmup}s", "--log-file", str(log),
    ]  # fmt: skip
    if body is not None:
        log.with_suffix(".body").write_bytes(body)
        command += ["-d", str(log.with_suffix(".body"))]
    for header in headers:
        command += ["-H", header]
    edges = [] if edge is None else [edge]
    cpu_before, edge_before = cpu_seconds(servers), cpu_seconds(edges)
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    cpu, edge_cpu = cpu_seconds(servers) - cpu_before, cpu_seconds(edges) - edge_before
    rps = float(_figure(r"finished in [\d.]+s, ([\d.]+) req/s", output))
    succeeded = int(_figure(r"(\d+) succeeded", output))
    data = int(_figure(r"\((\d+)\) data", output))
    latencies = sorted(
        int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line
    )
    return Run(
        rps=rps,
        p50_ms=latencies[len(latencies) // 2] if latencies else 0.0,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0,
        ok_share=min(1.0, data / (expected_size * succeeded)) if succeeded else 0.0,
        cpu_us=per_request(cpu, rps, args),
        edge_cpu_us=per_request(edge_cpu, rps, args),
    )


def per_request(cpu_s: float, rps: float, args: argparse.Namespace) -> float:
    return cpu_s / (rps * (args.duration + args.warmup)) * 1e6 if rps else 0.0


def _figure(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise SystemExit(f"h2load printed no {pattern!r}:\n{output}")
    return found.group(1)


def grpc_run(
    binary: str,
    port: int,
    work: Workload,
    token: str,
    args: argparse.Namespace,
    scratch: Path,
    servers: list[int],
    edge: int | None = None,
) -> Run:
    headers = ["content-type: application/grpc", "te: trailers"]
    if work.token:
        headers.append(f"authorization: Bearer {token}")
    frame = grpc_frame(work.request)
    size = len(frame) if work.name == "echo" else grpc_answer_size(port, work, token)
    url = f"http://127.0.0.1:{port}{work.method}"
    log = scratch / f"{work.name if edge is None else work.edge_name}.log"
    return h2load(binary, url, frame, headers, size, args, log, servers, edge)


def json_run(
    binary: str,
    port: int,
    work: Workload,
    token: str,
    args: argparse.Namespace,
    scratch: Path,
    workers: list[int],
    envoy: int,
) -> Run:
    assert work.http is not None
    path, body = work.http
    headers = ["content-type: application/json"] if body else []
    if work.token:
        headers.append(f"authorization: Bearer {token}")
    size = json_answer_size(port, work, token)
    url = f"http://127.0.0.1:{port}{path}"
    encoded = body.encode() if body else None
    log = scratch / f"{work.json_name}.log"
    return h2load(binary, url, encoded, headers, size, args, log, [*workers, envoy], edge=envoy)


def start_edge(upstream_port: int, workdir: Path, concurrency: int) -> tuple[EnvoyProcess, int]:
    """The production Envoy config in front of one server set, as `make run` starts it."""
    port = free_port()
    envoy = EnvoyProcess(
        render(("127.0.0.1", port), ("127.0.0.1", upstream_port)),
        workdir,
        concurrency=concurrency,
        log_file=workdir / "envoy.log",
    )
    asyncio.run(envoy.start())
    return envoy, port


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
    url = seed.registry_database()
    redis_url, _redis = start_embedded_redis(seed.REGISTRY / "redis")
    seed.registry(url, redis_url)
    agent_id, reputable_id = plan(url)
    token = asyncio.run(session(redis_url, agent_id))
    env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "RATE_LIMITS": UNLIMITED}
    work = workloads(agent_id, reputable_id)
    if args.only:
        wanted = set(args.only.split(","))
        work = [w for w in work if w.name in wanted]
        if not work:
            raise SystemExit(f"--only names none of the workloads: {args.only}")
    echo_work = Workload("echo", work[0].method, work[0].request)
    runs: dict[str, list[Run]] = {w.name: [] for w in [echo_work, *work]}
    if not args.no_json:
        runs |= {w.edge_name: [] for w in work} | {w.json_name: [] for w in work}
    ratios: dict[str, list[float]] = {name: [] for name in runs if name != "echo"}
    processes: list[subprocess.Popen[bytes]] = []
    edges: list[EnvoyProcess] = []
    with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as scratch_dir:
        scratch = Path(scratch_dir)
        try:
            echo, echo_port = start_echo(args.workers)
            cached, cached_port = start_workers(env, args.workers)
            uncached, uncached_port = start_workers({**env, "CACHE_ENABLED": "false"}, args.workers)
            processes = [*echo, *cached, *uncached]
            ports = {True: cached_port, False: uncached_port}
            pids = {True: [p.pid for p in cached], False: [p.pid for p in uncached]}
            echo_pids = [p.pid for p in echo]
            edge_ports: dict[bool, int] = {}
            envoy_pids: dict[bool, int] = {}
            for is_cached, upstream in ports.items():
                if args.no_json:
                    break
                edge, edge_ports[is_cached] = start_edge(
                    upstream, scratch / f"envoy-{upstream}", args.envoy_concurrency
                )
                edges.append(edge)
                assert edge.process is not None
                envoy_pids[is_cached] = edge.process.pid
            for repeat in range(args.repeats):
                echo_run = grpc_run(binary, echo_port, echo_work, token, args, scratch, echo_pids)
                runs["echo"].append(echo_run)
                print(
                    f"repeat {repeat + 1}: echo {echo_run.rps:,.0f} req/s"
                    f"  {echo_run.cpu_us:,.0f} µs CPU/req",
                    flush=True,
                )
                for w in work:
                    native = grpc_run(
                        binary, ports[w.cached], w, token, args, scratch, pids[w.cached]
                    )
                    runs[w.name].append(native)
                    ratios[w.name].append(native.rps / echo_run.rps)
                    line = (
                        f"  {w.name:<20} {native.rps:>7,.0f} req/s  ok {native.ok_share:.0%}"
                        f"  {native.cpu_us:>6,.0f} µs CPU/req"
                    )
                    if not args.no_json:
                        passed = grpc_run(
                            binary, edge_ports[w.cached], w, token, args, scratch,
                            [*pids[w.cached], envoy_pids[w.cached]], envoy_pids[w.cached],
                        )  # fmt: skip
                        runs[w.edge_name].append(passed)
                        ratios[w.edge_name].append(passed.rps / native.rps)
                        edge_run = json_run(
                            binary, edge_ports[w.cached], w, token, args, scratch,
                            pids[w.cached], envoy_pids[w.cached],
                        )  # fmt: skip
                        runs[w.json_name].append(edge_run)
                        ratios[w.json_name].append(edge_run.rps / native.rps)
                        line += (
                            f"   via Envoy {passed.rps:>7,.0f} req/s"
                            f"   JSON {edge_run.rps:>7,.0f} req/s  ok {edge_run.ok_share:.0%}"
                            f"  {edge_run.cpu_us:>6,.0f} µs CPU/req (workers"
                            f" {edge_run.cpu_us - edge_run.edge_cpu_us:,.0f}"
                            f" + Envoy {edge_run.edge_cpu_us:,.0f})"
                        )
                    print(line, flush=True)
        finally:
            for edge in edges:
                asyncio.run(edge.stop())
            for process in processes:
                stop(process)
    print_table(args, runs, ratios)


def print_table(
    args: argparse.Namespace, runs: dict[str, list[Run]], ratios: dict[str, list[float]]
) -> None:
    """Native rows are against the echo; `_edge` (native through Envoy) and `_json` rows
    against the same call over native gRPC, straight to the workers."""
    print(
        f"\n--- {args.workers} workers each, h2load -c {args.clients} -m {args.streams}, "
        f"{args.duration} s runs, median of {args.repeats} (range: lowest to highest repeat);"
        " ratio: native vs echo; via Envoy (_edge) and JSON vs native"
    )
    print(
        f"{'workload':<24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} {'range':>10}"
        f" {'ok %':>6} {'µs CPU':>7} {'Envoy':>6}"
    )
    metrics: dict[str, Any] = {"workers": args.workers, "clients": args.clients}
    for name in sorted(runs, key=lambda n: (n != "echo", _call_of(n), n)):
        each = runs[name]
        rps = statistics.median(r.rps for r in each)
        p50 = statistics.median(r.p50_ms for r in each)
        p99 = statistics.median(r.p99_ms for r in each)
        ok = min(r.ok_share for r in each)
        cpu = statistics.median(r.cpu_us for r in each)
        edge = statistics.median(r.edge_cpu_us for r in each)
        each_ratio = ratios.get(name, [1.0])
        ratio = statistics.median(each_ratio)
        spread = f"{min(each_ratio):.2f}-{max(each_ratio):.2f}"
        print(
            f"{name:<24} {rps:>9,.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>6.2f} {spread:>10}"
            f" {ok:>6.1%} {cpu:>7,.0f}" + (f" {edge:>6,.0f}" if _through_envoy(name) else "")
        )
        metrics |= {
            f"{name}_rps": round(rps, 1),
            f"{name}_p50_ms": round(p50, 2),
            f"{name}_p99_ms": round(p99, 2),
            f"{name}_cpu_us": round(cpu),
        }
        if _through_envoy(name):
            metrics[f"{name}_envoy_cpu_us"] = round(edge)
        if name in ratios:
            versus = "native" if _through_envoy(name) else "echo"
            metrics[f"{name}_vs_{versus}"] = round(ratio, 3)
            metrics[f"{name}_vs_{versus}_min"] = round(min(each_ratio), 3)
            metrics[f"{name}_vs_{versus}_max"] = round(max(each_ratio), 3)
    report("ceiling", metrics)


def _through_envoy(name: str) -> bool:
    return name.endswith(("_edge", "_json"))


def _call_of(name: str) -> str:
    return name.removesuffix("_json").removesuffix("_edge")


if __name__ == "__main__":
    main()
