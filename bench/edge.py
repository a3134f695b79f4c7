"""`make bench-edge`: what Envoy spends per JSON call, the edge as shipped against a minimal one.

One registry (embedded Postgres and Redis under a temporary directory, real worker processes
on loopback, a few seeded agents) sits behind several Envoys at once, each on its own port:

  * `full`: envoy/envoy.yaml as `make run` renders it (server/edge/config.py);
  * `access_log`: the same with the access log on (ACCESS_LOG=all), what an operator pays
    for a line per request;
  * `minimal`: the transcoder and the router alone, nothing else on the request path.

h2load drives JSON GetAgent (GET /v1/agents/{id}, the seeded ids in turn) through each in
turn, alternating, for a few repeats; Envoy's CPU time is read from /proc/<pid>/stat before
and after each run (warm-up included) and divided by the requests served. What `full` costs
above `minimal` is what the edge's own features cost each call. `busiest` is the busiest
worker's share of the workers' CPU (50% with two workers is an even spread): how well
Envoy's upstream connections spread the calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench.ceiling import UNLIMITED, h2load_binary
from bench.harness import free_port, machine, report, start_workers, stop
from db.embedded import create_database, start_embedded_postgres
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from server.backing import start_embedded_redis
from server.domain.agents import AgentProfile, AgentType
from server.domain.ids import AGENT_PREFIX, new_id
from server.edge.config import minimal, render
from server.edge.process import EnvoyProcess

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    rps: float
    requests: int
    cpu_us: float  # Envoy's CPU per request
    workers_cpu_us: float
    busiest_worker_share: float  # of the workers' CPU, the busiest one's (1/N: even)
    latencies_ms: list[float]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=1, help="seconds before each run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per config (medians)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--clients", type=int, default=32, help="h2load connections")
    parser.add_argument("--agents", type=int, default=16, help="seeded agents read in turn")
    parser.add_argument(
        "--envoy-concurrency",
        type=int,
        default=None,
        help="Envoy worker threads (default: Envoy's own, one per core, as `make run` starts it)",
    )
    parser.add_argument("--http2", action="store_true", help="HTTP/2 clients (default HTTP/1.1)")
    parser.add_argument(
        "--configs", default="full,access_log,minimal", help="comma-separated configs to run"
    )
    return parser.parse_args()


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads) from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def seed(url: str, count: int) -> list[str]:
    engine = create_engine(url, pool_size=2)
    uow = UnitOfWorkFactory(session_factory(engine))
    ids: list[str] = []
    try:
        async with uow() as unit:
            for i in range(count):
                key = Ed25519PrivateKey.generate().public_key()
                raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
                profile = AgentProfile(
                    display_name=f"Edge bench {i}",
                    description="An agent the edge bench reads over JSON.",
                    agent_type=AgentType.SERVICE,
                )
                ids.append((await unit.agents.add(new_id(AGENT_PREFIX), profile, raw, [])).agent_id)
            await unit.commit()
    finally:
        await engine.dispose()
    return ids


def configs(port: int, names: list[str]) -> dict[str, dict[str, Any]]:
    upstream = ("127.0.0.1", port)
    built = {
        "full": lambda listen: render(listen, upstream),
        "access_log": lambda listen: render(listen, upstream, access_log="all"),
        "minimal": lambda listen: minimal(render(listen, upstream)),
    }
    unknown = set(names) - set(built)
    if unknown:
        raise SystemExit(f"unknown configs: {', '.join(sorted(unknown))}")
    return {name: built[name](("127.0.0.1", free_port())) for name in names}


def listen_port(config: dict[str, Any]) -> int:
    (listener,) = config["static_resources"]["listeners"]
    return int(listener["address"]["socket_address"]["port_value"])


def h2load(
    binary: str,
    urls: list[str],
    args: argparse.Namespace,
    log: Path,
    envoy: int,
    workers: list[int],
) -> Run:
    command = [
        binary, *urls, "-c", str(args.clients), "-m", "1", "-t", "1",
        "-D", f"{args.duration}s", "--warm-up-time", f"{args.warmup}s", "--log-file", str(log),
    ]  # fmt: skip
    if not args.http2:
        command.append("--h1")
    before, workers_before = cpu_seconds(envoy), [cpu_seconds(w) for w in workers]
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=args.duration + 60
    ).stdout
    cpu = cpu_seconds(envoy) - before
    each_worker = [cpu_seconds(w) - b for w, b in zip(workers, workers_before, strict=True)]
    workers_cpu = sum(each_worker)
    rps = float(_figure(r"finished in [\d.]+s, ([\d.]+) req/s", output))
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    failed = int(_figure(r"(\d+) failed", output))
    if codes is None or failed or any(int(n) for n in codes.groups()[1:]):
        raise SystemExit(f"failed or non-2xx answers through the edge:\n{output}")
    served = rps * (args.duration + args.warmup)
    latencies = sorted(
        int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line
    )
    return Run(
        rps=rps,
        requests=len(latencies),
        cpu_us=cpu / served * 1e6 if served else 0.0,
        workers_cpu_us=workers_cpu / served * 1e6 if served else 0.0,
        busiest_worker_share=max(each_worker) / workers_cpu if workers_cpu else 0.0,
        latencies_ms=latencies,
    )


def _figure(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise SystemExit(f"h2load printed no {pattern!r}:\n{output}")
    return found.group(1)


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


def main() -> None:
    args = arguments()
    binary = h2load_binary()
    print(machine(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    names = [name for name in args.configs.split(",") if name]
    runs: dict[str, list[Run]] = {name: [] for name in names}
    workers: list[subprocess.Popen[bytes]] = []
    edges: dict[str, EnvoyProcess] = {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-edge-"))
    try:
        database = start_embedded_postgres(scratch / "postgres")
        url = create_database(database, "bench_edge")
        upgrade(url)
        redis_url, _redis = start_embedded_redis(scratch / "redis")
        ids = asyncio.run(seed(url, args.agents))
        env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "RATE_LIMITS": UNLIMITED}
        workers, port = start_workers(env, args.workers)
        for name, config in configs(port, names).items():
            edge = EnvoyProcess(
                config,
                scratch / f"envoy-{name}",
                concurrency=args.envoy_concurrency,
                log_file=scratch / f"envoy-{name}.log",
            )
            asyncio.run(edge.start())
            edges[name] = edge
            # Every config answers the same bytes before it is measured.
            answer = httpx.get(f"http://127.0.0.1:{listen_port(config)}/v1/agents/{ids[0]}")
            if answer.status_code != 200:
                raise SystemExit(f"{name}: HTTP {answer.status_code} {answer.text[:200]}")
        worker_pids = [w.pid for w in workers]
        for repeat in range(args.repeats):
            line = [f"repeat {repeat + 1}:"]
            for name, edge in edges.items():
                assert edge.process is not None
                port_of = listen_port(edge.config)
                urls = [f"http://127.0.0.1:{port_of}/v1/agents/{agent}" for agent in ids]
                run = h2load(
                    binary, urls, args, scratch / f"{name}.log", edge.process.pid, worker_pids
                )
                runs[name].append(run)
                line.append(f"{name} {run.rps:,.0f} req/s {run.cpu_us:,.0f} µs")
            print("  ".join(line), flush=True)
    finally:
        for edge in edges.values():
            asyncio.run(edge.stop())
        for worker in workers:
            stop(worker)
        shutil.rmtree(scratch, ignore_errors=True)
    print_table(args, runs)


def print_table(args: argparse.Namespace, runs: dict[str, list[Run]]) -> None:
    protocol = "HTTP/2" if args.http2 else "HTTP/1.1"
    print(
        f"\n--- JSON GetAgent, {protocol}, h2load -c {args.clients}, {args.workers} workers,"
        f" Envoy --concurrency {args.envoy_concurrency or 'default'}, {args.duration} s runs,"
        f" median of {args.repeats}; Envoy µs CPU/request (range over repeats)"
    )
    print(
        f"{'config':<12} {'req/s':>8} {'Envoy µs':>9} {'range':>11} {'workers µs':>11}"
        f" {'busiest':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}"
    )
    metrics: dict[str, Any] = {
        "workers": args.workers,
        "clients": args.clients,
        "envoy_concurrency": args.envoy_concurrency or os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }
    for name, each in runs.items():
        if not each:
            continue
        cpu = [r.cpu_us for r in each]
        latencies = sorted(ms for r in each for ms in r.latencies_ms)
        row = {
            "rps": statistics.median(r.rps for r in each),
            "envoy_cpu_us": statistics.median(cpu),
            "envoy_cpu_us_min": min(cpu),
            "envoy_cpu_us_max": max(cpu),
            "workers_cpu_us": statistics.median(r.workers_cpu_us for r in each),
            "busiest_worker_share": statistics.median(r.busiest_worker_share for r in each),
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99),
        }
        print(
            f"{name:<12} {row['rps']:>8,.0f} {row['envoy_cpu_us']:>9,.0f}"
            f" {min(cpu):>5,.0f}-{max(cpu):<5,.0f} {row['workers_cpu_us']:>11,.0f}"
            f" {row['busiest_worker_share']:>8.0%}"
            f" {row['p50_ms']:>7.2f} {row['p90_ms']:>7.2f} {row['p99_ms']:>7.2f}"
        )
        metrics |= {f"{name}_{key}": round(value, 2) for key, value in row.items()}
    if "full" in runs and "minimal" in runs and runs["minimal"]:
        metrics["full_vs_minimal"] = round(
            metrics["full_envoy_cpu_us"] / metrics["minimal_envoy_cpu_us"], 3
        )
    report("edge", metrics)


if __name__ == "__main__":
    main()
