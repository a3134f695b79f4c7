"""`make bench-search`: search and discovery at 100,000 agents through a real server.

Seeds (once; cached under .data/bench-search/) an embedded PostgreSQL with
100,000 generated agents via COPY, starts the server as `make run` does (one
worker process per core on one port) and drives each workload at concurrency
16 over several connections, twice: with the result cache off (every request
ranked by Postgres) and on (as served). Each workload runs `--repeat` times and
the medians are reported; then EXPLAIN ANALYZE of each workload's SQL (captured
from the repository). The last line is JSON: the served figures, plus the
uncached ones prefixed `uncached_`.

Servers run as served, with semantic search on (`--text-only` turns it off), and
the agents have embeddings (bench/search_vectors.py says which are real). The
hybrid workloads send the paraphrased requests of bench-search-quality.

The machine is small and shared (server, Postgres and this load generator
share its cores), so figures are noisy: compare the runs of each workload.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from agentregistry.v1 import resources_pb2, search_service_pb2_grpc
from agentregistry.v1 import search_service_pb2 as pb
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from bench import harness, seed
from bench.harness import start_workers
from bench.search_data import ADJECTIVES, CAPABILITIES, VOCABULARY
from bench.search_quality import labelled
from bench.search_vectors import seed_vectors
from server.cache.keys import AGENTS_CHANGED

ROOT = pathlib.Path(__file__).resolve().parent.parent

AGENTS = 100_000
CONCURRENCY = 16  # the figure; --concurrency 1 shows one request alone
# Answered from each process's memory (server.search.names), never from the response cache.
FROM_MEMORY = frozenset({"typeahead"})
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))  # per workload run, after WARMUP
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


# Plain-language requests of bench-search-quality (bench/data/search_quality_requests.tsv).
PARAPHRASES = [query for query, _ in labelled()]


def start_server(
    url: str, redis_url: str, workers: int, env: dict[str, str]
) -> tuple[list[subprocess.Popen[bytes]], int]:
    """`workers` server processes sharing one port, as `make run` starts them (one per core)."""
    env = {
        **env,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        # Measures the queries, not the anonymous budget of one client address.
        "RATE_LIMIT_ENABLED": "false",
    }
    return start_workers(env, workers)


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

    def hybrid_search(stub: Any) -> Awaitable[Any]:
        return stub.SearchAgents(pb.SearchAgentsRequest(query=rng.choice(PARAPHRASES)))

    def hybrid_find(stub: Any) -> Awaitable[Any]:
        return stub.FindAgents(pb.FindAgentsRequest(query=rng.choice(PARAPHRASES)))

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
        "hybrid_search": hybrid_search,
        "hybrid_find": hybrid_find,
        "by_capability": by_capability,
        "stats": stats,
    }


async def drive(
    stubs: list[Any], call: Callable[[Any], Awaitable[Any]], callers: int
) -> tuple[list[float], float]:
    """Closed loop: `callers` callers, spread over the channels, back to back."""
    for _ in range(WARMUP // callers + 1):
        await asyncio.gather(*(call(stubs[i % len(stubs)]) for i in range(callers)))
    latencies: list[float] = []
    deadline = time.perf_counter() + MAX_SECONDS
    remaining = REQUESTS

    async def worker(stub: Any) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            await call(stub)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(stubs[i % len(stubs)]) for i in range(callers)))
    return latencies, time.perf_counter() - started


def _keys_made(keys: Redis) -> int:
    """Keys written so far, give or take deletions (the bench deletes none; a load lock is
    written and deleted, which nets out)."""
    expired = int(keys.info("stats")["expired_keys"])
    return int(keys.dbsize()) + expired


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    port: int, redis_url: str, cached: bool, args: argparse.Namespace
) -> dict[str, float]:
    """Each workload `repeat` times; the figures are the medians of the runs.

    Hit %: every cache miss stores one response, so 1 - (new keys / requests made), where
    new keys = keys now - keys before + keys expired meanwhile (long runs outlive the TTL).
    """
    keys = Redis.from_url(redis_url)
    callers, repeat, only = args.concurrency, args.repeat, args.only
    # Own connection per channel (no shared subchannel pool), so SO_REUSEPORT spreads
    # them over the workers as it would spread clients.
    opened = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(args.channels)
    ]
    metrics: dict[str, float] = {}
    retiring = None
    if cached and args.retire_every > 0:
        retiring = asyncio.create_task(retire(redis_url, args.retire_every))
    try:
        for channel in opened:
            await asyncio.wait_for(channel.channel_ready(), 30)
        stubs = [search_service_pb2_grpc.SearchServiceStub(c) for c in opened]
        print(
            f"{'workload':<16} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'rps':>8} {'hit %':>6}"
            "   p99 of each run"
        )
        for name, call in workloads(random.Random(7)).items():
            if only and name not in only:
                continue
            # The caller's own full collections would stall every request in flight.
            gc.collect()
            gc.freeze()
            runs = []
            stored_before = _keys_made(keys)
            for _ in range(repeat):
                latencies, elapsed = await drive(stubs, call, callers)
                p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
                runs.append((len(latencies), p50, p99, len(latencies) / elapsed))
            n, p50, p99, rps = (statistics.median(r[i] for r in runs) for i in range(4))
            each = " ".join(f"{r[2]:.1f}" for r in runs)
            made = sum(r[0] for r in runs) + repeat * (WARMUP // callers + 1) * callers
            stored = _keys_made(keys) - stored_before
            hits = "-" if not cached or name in FROM_MEMORY else f"{100 * (1 - stored / made):.1f}"
            print(f"{name:<16} {n:>6.0f} {p50:>8.2f} {p99:>8.2f} {rps:>8.0f} {hits:>6}   {each}")
            metrics |= {
                f"{name}_p50_ms": round(p50, 2),
                f"{name}_p99_ms": round(p99, 2),
                f"{name}_rps": round(rps, 1),
            }
    finally:
        if retiring is not None:
            retiring.cancel()
        for channel in opened:
            await channel.close()
    return metrics


async def retire(redis_url: str, every_s: float) -> None:
    """What any agent write (registration, update, the trust job) does: every cached
    response retires at once, and hot queries miss together. (A presence flush retires
    only what filters or counts by status: of these workloads, the statistics.)"""
    client = AsyncRedis.from_url(redis_url)
    try:
        while True:
            await asyncio.sleep(every_s)
            async with client.pipeline(transaction=False) as pipe:
                for generation in AGENTS_CHANGED:
                    pipe.incr(generation)
                await pipe.execute()
    finally:
        await client.aclose()


def phase(url: str, redis_url: str, args: argparse.Namespace, *, cached: bool) -> dict[str, float]:
    """Fresh workers and an empty cache; `cached=False` sends every read to Postgres."""
    Redis.from_url(redis_url).flushdb()
    env = {
        "CACHE_ENABLED": str(cached).lower(),
        "SEMANTIC_SEARCH_ENABLED": str(not args.text_only).lower(),
    }
    workers, port = start_server(url, redis_url, args.workers, env)
    label = "result cache on (as served)" if cached else "result cache off (every read ranked)"
    if cached and args.retire_every > 0:
        label += f", every cached response retired every {args.retire_every:g} s"
    print(f"\n--- {label}, median of {args.repeat} runs per workload")
    try:
        return asyncio.run(measure(port, redis_url, cached, args))
    finally:
        for worker in workers:
            harness.stop(worker)


def main() -> int:
    from bench.search_explain import explain_all
    from server.backing import start_embedded_redis

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="server processes (one per core)")
    parser.add_argument("--channels", type=int, default=8, help="client connections")
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (medians)")
    parser.add_argument("--cached-only", action="store_true", help="skip the uncached phase")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN section")
    parser.add_argument("--only", nargs="+", default=[], help="run only these workloads")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="callers at once")
    parser.add_argument(
        "--embed", type=int, default=3000, help="agents embedded by the model (see search_vectors)"
    )
    parser.add_argument(
        "--text-only", action="store_true", help="serve with semantic search off, to compare"
    )
    parser.add_argument(
        "--retire-every",
        type=float,
        default=0.0,
        help="every this many seconds, retire every cached response as any agent write does",
    )
    args = parser.parse_args()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {harness.machine()}; load average {load} at start")
    print(
        f"server: {args.workers} worker(s);"
        f" client: {args.concurrency} callers over {args.channels} channels"
    )
    url = seed.database(DATA.name, DATABASE)
    seed.realistic_agents(url, seed.scaled(AGENTS))
    seed_vectors(url, DATA, seed.scaled(AGENTS), min(args.embed, seed.scaled(AGENTS)))
    redis_url, redis_handle = start_embedded_redis(DATA / "redis")
    # The embedded Redis snapshots after 1,000 changes in 15 s: a forked child writing the
    # data set on the same two cores while cache fills arrive. It holds only cache here.
    redis_handle.config_set("save", "")
    metrics: dict[str, float] = {"agents": seed.scaled(AGENTS), "embedded_by_model": args.embed}
    try:
        if not args.cached_only:
            uncached = phase(url, redis_url, args, cached=False)
            metrics |= {f"uncached_{key}": value for key, value in uncached.items()}
        metrics |= phase(url, redis_url, args, cached=True)
    finally:
        redis_handle.shutdown()
    if not args.no_explain:
        clean = asyncio.run(explain_all(url))
        print(
            "EXPLAIN:", "no plan scans agents sequentially" if clean else "SEQ SCAN ON AGENTS FOUND"
        )
    print(json.dumps({"bench": "search", "metrics": metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
