"""`make bench-search`: search and discovery at 100,000 agents through a real server.

Seeds (once; cached under .data/bench-search/) an embedded PostgreSQL with
100,000 generated agents via COPY, starts the gRPC server in its own process,
drives each workload at concurrency 16 through a real channel, prints p50/p99
and throughput, then EXPLAIN ANALYZE of each workload's SQL (captured from the
repository), and ends with one JSON line.

The machine is small and shared (server, Postgres and this load generator
share its cores), so figures are noisy: run it twice and compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import psycopg
from agentregistry.v1 import resources_pb2, search_service_pb2_grpc
from agentregistry.v1 import search_service_pb2 as pb
from tqdm import tqdm

from bench.search_data import ADJECTIVES, CAPABILITIES, VOCABULARY, generate
from db.embedded import create_database, start_embedded_postgres
from db.engine import libpq_url, with_database
from db.migrate import upgrade

ROOT = pathlib.Path(__file__).resolve().parent.parent

AGENTS = 100_000
CONCURRENCY = 16
REQUESTS = 1_500  # per workload, after WARMUP; bounded by MAX_SECONDS too
WARMUP = 100
MAX_SECONDS = 30.0
DATA = ROOT / ".data" / "bench-search"
DATABASE = "bench_v1"  # bump when the generator changes

ONE_WORD = [
    "translation",
    "python",
    "flights",
    "invoices",
    "kubernetes",
    "weather",
    "podcasts",
    "contracts",
    "spreadsheets",
    "refunds",
    "lisbon",
    "resumes",
    "sql",
    "logo",
    "spam",
]
THREE_WORDS = [
    "python code review",
    "book hotel lisbon",
    "translate french documents",
    "kubernetes deploy monitoring",
    "pdf invoice extraction",
    "weather storm forecast",
    "sql query optimization",
    "customer support tickets",
    "transcribe meeting audio",
    "legal contract review",
]
NL = [
    "book me a flight to Lisbon",
    "someone to review my Python code",
    "translate this contract into Spanish",
    "I need help with my taxes",
    "transcribe my podcast",
    "what will the weather be tomorrow",
    "deploy my app to kubernetes",
    "summarize this long report",
    "find vulnerabilities in my dependencies",
    "draw a logo for my bakery",
]


def database_url() -> str:
    server = start_embedded_postgres(DATA / "postgres")
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
    return with_database(server, DATABASE) if exists else create_database(server, DATABASE)


def seed(url: str) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        have = int((conn.execute("SELECT count(*) FROM agents").fetchone() or (0,))[0])
        if have >= AGENTS:
            print(f"reusing {have} cached agents in {DATA}")
            return
        conn.execute("TRUNCATE agents CASCADE")
        conn.execute("TRUNCATE agent_counts")
        names = dict(conn.execute("SELECT id, display_name FROM capabilities").fetchall())
        links: list[tuple[str, str, float, bool]] = []
        started = time.perf_counter()
        with conn.cursor().copy(
            "COPY agents (id, display_name, description, agent_type, public_key, tags, protocols,"
            " capability_text, status, trust_score, verified, created_at, updated_at) FROM STDIN"
        ) as copy:
            for agent in tqdm(generate(AGENTS), total=AGENTS, desc="agents", unit="agent"):
                copy.write_row(
                    (
                        agent.agent_id,
                        agent.display_name,
                        agent.description,
                        agent.agent_type,
                        agent.agent_id.encode().ljust(32, b"\0"),
                        agent.tags,
                        agent.protocols,
                        " ".join(names[c] for c in agent.capabilities),
                        agent.status,
                        agent.trust_score,
                        agent.verified,
                        agent.created_at,
                        agent.created_at,
                    )
                )
                links += [
                    (agent.agent_id, c, t, t > 80)
                    for c, t in zip(agent.capabilities, agent.capability_trust, strict=True)
                ]
        with conn.cursor().copy(
            "COPY agent_capabilities (agent_id, capability_id, trust, verified) FROM STDIN"
        ) as copy:
            for link in tqdm(links, desc="capability links", unit="link"):
                copy.write_row(link)
        conn.execute(
            "UPDATE capabilities c SET agent_count = n FROM (SELECT capability_id, count(*) AS n"
            " FROM agent_capabilities GROUP BY capability_id) counted"
            " WHERE counted.capability_id = c.id"
        )
        conn.commit()
        print(f"seeded {AGENTS} agents in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, redis_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "GRPC_PORT": str(port),
        "GRPC_HOST": "127.0.0.1",
        "AUTO_MIGRATE": "false",
        "LOG_LEVEL": "WARNING",
        # Measures the queries, not the anonymous budget of one client address.
        "RATE_LIMIT_ENABLED": "false",
    }
    process = subprocess.Popen([sys.executable, "-m", "server.worker"], env=env, cwd=ROOT)
    return process, port


def workloads(rng: random.Random) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    names = [f"{a} {w}" for a in ADJECTIVES for words, _ in VOCABULARY.values() for w in words]

    def one_word(stub: Any) -> Awaitable[Any]:
        return stub.SearchAgents(pb.SearchAgentsRequest(query=rng.choice(ONE_WORD)))

    def three_words(stub: Any) -> Awaitable[Any]:
        return stub.SearchAgents(pb.SearchAgentsRequest(query=rng.choice(THREE_WORDS)))

    def filtered(stub: Any) -> Awaitable[Any]:
        search_filter = pb.AgentFilter(
            types=[resources_pb2.AGENT_TYPE_TOOL, resources_pb2.AGENT_TYPE_SERVICE],
            protocols=[rng.choice(["mcp", "grpc", "a2a"])],
            min_trust_score=rng.choice([20.0, 40.0, 60.0]),
        )
        return stub.SearchAgents(
            pb.SearchAgentsRequest(query=rng.choice(ONE_WORD), filter=search_filter)
        )

    def typeahead(stub: Any) -> Awaitable[Any]:
        name = rng.choice(names)
        prefix = name[: rng.randint(3, len(name))]
        if rng.random() < 0.2 and len(prefix) > 5:  # one in five has a typo: trigram path
            cut = rng.randrange(1, len(prefix) - 1)
            prefix = prefix[:cut] + prefix[cut + 1 :]
        return stub.SuggestAgents(pb.SuggestAgentsRequest(prefix=prefix))

    def nl_find(stub: Any) -> Awaitable[Any]:
        return stub.FindAgents(pb.FindAgentsRequest(query=rng.choice(NL)))

    def by_capability(stub: Any) -> Awaitable[Any]:
        capability = f"capabilities/{rng.choice(CAPABILITIES)}"
        return stub.ListCapabilityAgents(
            pb.ListCapabilityAgentsRequest(capability=capability, page_size=20)
        )

    def stats(stub: Any) -> Awaitable[Any]:
        return stub.GetRegistryStats(pb.GetRegistryStatsRequest())

    return {
        "search_1word": one_word,
        "search_3word": three_words,
        "search_filtered": filtered,
        "typeahead": typeahead,
        "nl_find": nl_find,
        "by_capability": by_capability,
        "stats": stats,
    }


async def drive(stub: Any, call: Callable[[Any], Awaitable[Any]]) -> tuple[list[float], float]:
    for _ in range(WARMUP // CONCURRENCY + 1):
        await asyncio.gather(*(call(stub) for _ in range(CONCURRENCY)))
    latencies: list[float] = []
    deadline = time.perf_counter() + MAX_SECONDS
    remaining = REQUESTS

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            await call(stub)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(port: int) -> dict[str, float]:
    metrics: dict[str, float] = {"agents": AGENTS}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await asyncio.wait_for(channel.channel_ready(), 30)
        stub = search_service_pb2_grpc.SearchServiceStub(channel)
        print(f"\n{'workload':<16} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'rps':>8}")
        for name, call in workloads(random.Random(7)).items():
            latencies, elapsed = await drive(stub, call)
            p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
            rps = len(latencies) / elapsed
            print(f"{name:<16} {len(latencies):>6} {p50:>8.2f} {p99:>8.2f} {rps:>8.0f}")
            metrics |= {
                f"{name}_p50_ms": round(p50, 2),
                f"{name}_p99_ms": round(p99, 2),
                f"{name}_rps": round(rps, 1),
            }
    return metrics


def machine() -> str:
    model = "unknown CPU"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}), Python {platform.python_version()},"
        f" load average {load} (other work on the machine skews latencies)"
    )


def main() -> int:
    from bench.search_explain import explain_all
    from server.backing import start_embedded_redis

    print("machine:", machine())
    url = database_url()
    upgrade(url)
    seed(url)
    redis_url, redis_handle = start_embedded_redis(DATA / "redis")
    server, port = start_server(url, redis_url)
    try:
        metrics = asyncio.run(measure(port))
    finally:
        server.terminate()
        server.wait(timeout=30)
        redis_handle.shutdown()
    clean = asyncio.run(explain_all(url))
    print("EXPLAIN:", "no plan scans agents sequentially" if clean else "SEQ SCAN ON AGENTS FOUND")
    print(json.dumps({"bench": "search", "metrics": metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
