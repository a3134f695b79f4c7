"""GetAgent on a 100,000-agent registry with Zipf-distributed ids, cache on vs off.

Counts database transactions per 1,000 requests from pg_stat_database (each
uncached GetAgent is one read transaction), so the cut in database load is
measured on the database, not inferred from the cache's own counters.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable

import grpc
import psycopg
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc

from bench import seed
from bench.harness import (
    LoadResult,
    bench_redis,
    machine,
    median,
    report,
    run_load,
    start_server,
    stop,
)
from db.engine import libpq_url

AGENTS = 100_000


def zipf_ids(ids: list[str], count: int, exponent: float, seed_value: int) -> list[str]:
    """Ranks 1..N drawn with weight 1/rank^s: a few agents get most of the reads."""
    rng = random.Random(seed_value)
    shuffled = ids[:]
    rng.shuffle(shuffled)
    weights = list(itertools.accumulate(1.0 / rank**exponent for rank in range(1, len(ids) + 1)))
    return rng.choices(shuffled, cum_weights=weights, k=count)


def transactions(url: str) -> int:
    time.sleep(1.2)  # backends publish their counters about once a second
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


async def load(
    port: int, names: list[str], args: argparse.Namespace, *, warm_up: bool
) -> LoadResult:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)

        def caller(sequence: list[str]) -> Callable[[int], Awaitable[object]]:
            async def call(index: int) -> object:
                request = registry_service_pb2.GetAgentRequest(name=sequence[index % len(sequence)])
                return await stub.GetAgent(request)

            return call

        if warm_up:
            # Steady state: the hot head of the distribution is cached, the tail still misses.
            # The measured run then draws a fresh sample from the same distribution.
            warm = names[: args.warmup]
            return await run_load(
                caller(warm), concurrency=args.concurrency, duration_s=60, max_requests=len(warm)
            )
        measured = names[args.warmup :]
        return await run_load(
            caller(measured),
            concurrency=args.concurrency,
            duration_s=args.duration,
            max_requests=args.max_requests,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode; medians reported")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--warmup", type=int, default=20_000, help="requests before the first run")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    url = seed.database("bench-cache", "cache", keep_running=True)
    seed.realistic_agents(url, seed.scaled(AGENTS))
    redis_url, redis_handle = bench_redis("cache")
    with psycopg.connect(libpq_url(url)) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM agents ORDER BY id")]
    draws = args.warmup + args.max_requests
    names = [f"agents/{agent_id}" for agent_id in zipf_ids(ids, draws, args.zipf, 7)]
    print(f"{len(ids)} agents; Zipf s={args.zipf}; {args.concurrency} concurrent callers")

    figures: dict[str, dict[str, list[float]]] = {}
    for mode, enabled in (("cached", "true"), ("uncached", "false")):
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "CACHE_ENABLED": enabled,
            "RATE_LIMIT_ENABLED": "false",
        }
        process, port = start_server(env)
        try:
            runs: dict[str, list[float]] = {"rps": [], "p50": [], "p99": [], "per_1000": []}
            asyncio.run(load(port, names, args, warm_up=True))
            for run in range(args.runs):
                before = transactions(url)
                result = asyncio.run(load(port, names, args, warm_up=False))
                used = transactions(url) - before
                per_1000 = used * 1000 / max(1, result.requests)
                runs["rps"].append(result.rps)
                runs["p50"].append(result.percentile(50))
                runs["p99"].append(result.percentile(99))
                runs["per_1000"].append(per_1000)
                print(
                    f"{mode:9s} run {run + 1}: {result.rps:8.0f} req/s"
                    f"  p50 {result.percentile(50):6.2f} ms  p99 {result.percentile(99):6.2f} ms"
                    f"  errors {result.errors}  db transactions/1000 req {per_1000:7.1f}"
                )
            figures[mode] = runs
        finally:
            stop(process)
    redis_handle.shutdown()  # type: ignore[attr-defined]

    cached, uncached = figures["cached"], figures["uncached"]
    cut = 100 * (1 - median(cached["per_1000"]) / max(1e-9, median(uncached["per_1000"])))
    print(f"medians of {args.runs} runs; database load cut by the cache: {cut:.1f}%")
    report(
        "cache",
        {
            "agents": len(ids),
            "cached_rps": round(median(cached["rps"]), 1),
            "cached_p50_ms": round(median(cached["p50"]), 2),
            "cached_p99_ms": round(median(cached["p99"]), 2),
            "uncached_rps": round(median(uncached["rps"]), 1),
            "uncached_p99_ms": round(median(uncached["p99"]), 2),
            "db_queries_per_1000_cached": round(median(cached["per_1000"]), 1),
            "db_queries_per_1000_uncached": round(median(uncached["per_1000"]), 1),
        },
    )


if __name__ == "__main__":
    main()
