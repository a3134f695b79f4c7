"""GetAgent latency with and without 1,000 WatchEvents streams open on the same server.

One server process (embedded PostgreSQL and Redis cached under .data/bench-watch/).
A writer commits `--writes-per-s` outbox events a second throughout (each reaches
every stream: 1,000 streams at 1 a second is 1,000 messages a second to send).
GetAgent (cached, uniform over a few hundred agents) is measured first alone,
then while a second process holds `--watchers` streams from one address (every
event type, from now on) and reads every event. The watchers' process reports how
long the streams took to say where they stand (their first message) and each
event's delay from commit to arrival, across all streams. Everything runs on
127.0.0.1 and ends within a bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from datetime import UTC

import grpc
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc, resources_pb2

from bench import seed
from bench.harness import (
    LoadResult,
    bench_redis,
    machine,
    report,
    run_load,
    start_server,
    stop,
)
from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from server.domain.events import AgentUpdated

AGENTS = 300
OPEN_TIMEOUT_S = 120.0


async def write(uow: UnitOfWorkFactory, ids: list[str], per_s: float, stop_at: float) -> int:
    """`per_s` events a second until `stop_at` (each stamped with its transaction's time)."""
    written = 0
    while time.monotonic() < stop_at:
        async with uow() as unit:
            await unit.events.add(
                AgentUpdated(agent_id=random.choice(ids), fields=("description",))
            )
            await unit.commit()
        written += 1
        await asyncio.sleep(1 / per_s)
    return written


async def get_agents(port: int, ids: list[str], args: argparse.Namespace) -> LoadResult:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        names = [f"agents/{agent_id}" for agent_id in ids]

        async def call(index: int) -> object:
            request = registry_service_pb2.GetAgentRequest(name=names[index % len(names)])
            return await stub.GetAgent(request, timeout=30)

        return await run_load(
            call,
            concurrency=args.concurrency,
            duration_s=args.duration,
            max_requests=args.max_requests,
        )


async def watchers(port: int, count: int, seconds: float) -> None:
    """The watchers' process: open `count` streams, read everything for `seconds`, report
    one JSON line once all have said where they stand, and one at the end."""
    first_at: list[float] = []
    delays_ms: list[float] = []
    received = [0] * count
    errors = 0
    started = time.monotonic()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)

        async def one(index: int) -> None:
            nonlocal errors
            call = stub.WatchEvents(registry_service_pb2.WatchEventsRequest())
            seen_any = False
            try:
                async for event in call:
                    if not seen_any:
                        seen_any = True
                        first_at.append(time.monotonic() - started)
                    if event.type == resources_pb2.EVENT_TYPE_KEEPALIVE:
                        continue
                    received[index] += 1
                    written_at = event.create_time.ToDatetime(tzinfo=UTC).timestamp()
                    delays_ms.append((time.time() - written_at) * 1000)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    errors += 1

        tasks = [asyncio.create_task(one(i)) for i in range(count)]
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while len(first_at) + errors < count and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        first_at.sort()
        opened = {
            "opened": len(first_at),
            "first_message_p50_s": round(first_at[len(first_at) // 2], 2) if first_at else 0,
            "first_message_max_s": round(first_at[-1], 2) if first_at else 0,
            "errors": errors,
        }
        print(json.dumps(opened), flush=True)
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    delays_ms.sort()

    def pick(q: float) -> float:
        return delays_ms[min(len(delays_ms) - 1, int(q * len(delays_ms)))] if delays_ms else 0.0

    summary = {
        "events_min": min(received),
        "events_max": max(received),
        "delivery_p50_ms": round(pick(0.50), 1),
        "delivery_p99_ms": round(pick(0.99), 1),
        "errors": errors,
    }
    print(json.dumps(summary), flush=True)


def _line(result: LoadResult) -> str:
    return (
        f"{result.rps:8.0f} req/s  p50 {result.percentile(50):6.2f} ms"
        f"  p99 {result.percentile(99):6.2f} ms  errors {result.errors}"
    )


async def measure(url: str, port: int, args: argparse.Namespace) -> dict[str, float | int]:
    engine = create_engine(url, pool_size=2)
    uow = UnitOfWorkFactory(session_factory(engine))
    ids = seed.plain_agents(url, AGENTS)
    stop_at = time.monotonic() + 4 * args.duration + 200
    writing = asyncio.create_task(write(uow, ids, args.writes_per_s, stop_at))
    child: asyncio.subprocess.Process | None = None
    try:
        await get_agents(port, ids, args)  # warm the cache
        alone = await get_agents(port, ids, args)
        print(f"GetAgent alone:               {_line(alone)}")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.watch", "--child-port", str(port),
            "--watchers", str(args.watchers), "--child-seconds", str(args.duration + 5),
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        opened = json.loads(await asyncio.wait_for(child.stdout.readline(), OPEN_TIMEOUT_S + 30))
        print(f"{args.watchers} watchers: {opened}")
        watched = await get_agents(port, ids, args)
        print(f"GetAgent with {args.watchers} watchers: {_line(watched)}")
        summary = json.loads(await asyncio.wait_for(child.stdout.readline(), args.duration + 60))
        print(f"watchers' events: {summary}")
        await child.wait()
    finally:
        if child is not None and child.returncode is None:
            child.kill()
            await child.wait()
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        await engine.dispose()
    return {
        "watchers": args.watchers,
        "writes_per_s": args.writes_per_s,
        "watchers_open": opened["opened"],
        "first_message_max_s": opened["first_message_max_s"],
        "alone_rps": round(alone.rps, 1),
        "alone_p50_ms": round(alone.percentile(50), 2),
        "alone_p99_ms": round(alone.percentile(99), 2),
        "watched_rps": round(watched.rps, 1),
        "watched_p50_ms": round(watched.percentile(50), 2),
        "watched_p99_ms": round(watched.percentile(99), 2),
        "events_per_watcher_min": summary["events_min"],
        "delivery_p50_ms": summary["delivery_p50_ms"],
        "delivery_p99_ms": summary["delivery_p99_ms"],
        "watch_errors": opened["errors"] + summary["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per GetAgent run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--writes-per-s", type=float, default=1.0, help="events committed a second, to all"
    )
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--child-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_port:
        asyncio.run(watchers(args.child_port, args.watchers, args.child_seconds))
        return

    print(f"machine: {machine()}")
    url = seed.database("bench-watch", "watch", keep_running=True)
    redis_url, redis_handle = bench_redis("watch")
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_ENABLED": "false",
        "WATCH_MAX_PER_PRINCIPAL": str(args.watchers),  # every watcher is 127.0.0.1
    }
    process, port = start_server(env)
    try:
        metrics = asyncio.run(measure(url, port, args))
    finally:
        stop(process)
        redis_handle.shutdown()  # type: ignore[attr-defined]
    print(
        f"GetAgent p99 alone {metrics['alone_p99_ms']} ms, with {args.watchers} watchers"
        f" {metrics['watched_p99_ms']} ms"
    )
    report("watch", metrics)


if __name__ == "__main__":
    main()
