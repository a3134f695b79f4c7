"""Bench: 10,000 outbox events to 100 webhooks on a local receiver.

A real scheduler process (`python -m scheduler`) delivers from an embedded
PostgreSQL (cached under .data/bench-webhooks/) to a plain HTTP receiver on
127.0.0.1 in this process. Events are committed in a burst of small
transactions (10 events each) while the scheduler runs, like a registry under
write load; commit-to-delivery is receiver arrival time minus the event's commit
time (same clock). Ordered per webhook: each webhook's 100 events go one at a
time, so the tail latency is the time to drain the burst.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import seed
from bench.harness import machine
from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from server.backing import start_embedded_redis
from server.domain.events import AgentUpdated
from server.domain.ids import new_id
from server.domain.webhooks import WEBHOOK_PREFIX
from tests.webhook_receiver import Receiver

EVENTS = 10_000
WEBHOOKS = 100
PER_COMMIT = 10
WAIT_S = 300.0
DATA = Path(".data/bench-webhooks")


async def subscribe(uow: UnitOfWorkFactory, agents: list[str], receiver: Receiver) -> None:
    """One webhook per agent, each to its own path on the receiver."""
    async with uow() as unit:
        for i, agent_id in enumerate(agents):
            url = receiver.url(f"/h/{i}")
            await unit.webhooks.add(
                new_id(WEBHOOK_PREFIX), agent_id, url, [], "enabled", "whsec_bench"
            )
        await unit.commit()


async def produce(uow: UnitOfWorkFactory, agents: list[str]) -> dict[int, float]:
    committed: dict[int, float] = {}
    for start in range(0, EVENTS, PER_COMMIT):
        async with uow() as unit:
            ids = [
                await unit.events.add(
                    AgentUpdated(agent_id=agents[n % WEBHOOKS], fields=("description",))
                )
                for n in range(start, start + PER_COMMIT)
            ]
            await unit.commit()
        now = time.time()
        committed.update(dict.fromkeys(ids, now))
    return committed


async def main() -> None:
    print(f"machine: {machine()}")
    database_url = seed.database(DATA.name, "bench_webhooks", fresh=True)
    redis_url, redis_handle = start_embedded_redis(DATA / "redis")
    engine = create_engine(database_url, pool_size=4)
    uow = UnitOfWorkFactory(session_factory(engine))
    receiver = Receiver()
    await receiver.start()
    agents = seed.plain_agents(database_url, WEBHOOKS)
    await subscribe(uow, agents, receiver)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "WEBHOOK_DELIVERY_INTERVAL_S": "0.25",
    }
    log = (DATA / "scheduler.log").open("wb")
    print(f"scheduler log: {DATA / 'scheduler.log'}")
    scheduler = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "scheduler"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        started = time.time()
        committed = await produce(uow, agents)
        produced_s = time.time() - started
        deadline = time.monotonic() + WAIT_S
        while len({r.body for r in receiver.requests}) < EVENTS and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=30)
        log.close()
        await receiver.stop()
        await engine.dispose()
        redis_handle.shutdown()
    first_arrival: dict[int, float] = {}
    for request in receiver.requests:
        event_id = int(json.loads(request.body)["id"])
        first_arrival.setdefault(event_id, request.at)
    delivered = [first_arrival[i] - committed[i] for i in committed if i in first_arrival]
    lost = len(committed) - len(delivered)
    span = max(first_arrival.values()) - started if first_arrival else float("nan")
    cuts = statistics.quantiles([d * 1000 for d in delivered], n=100, method="inclusive")
    p50, p99 = cuts[49], cuts[98]
    duplicates = len(receiver.requests) - len(first_arrival)
    print(f"committed {len(committed)} events in {produced_s:.2f}s ({PER_COMMIT} per commit)")
    print(
        f"delivered {len(delivered)} to {WEBHOOKS} webhooks in {span:.2f}s: "
        f"{len(delivered) / span:.0f}/s; duplicates {duplicates}; lost {lost}"
    )
    print(f"commit-to-delivery p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    produced_at = started + produced_s
    backlog = sum(1 for at in first_arrival.values() if at > produced_at)
    drain_s = max(first_arrival.values()) - produced_at if first_arrival else 0.0
    print(f"backlog when the last event committed: {backlog} (drained in {drain_s:.2f}s after it)")
    metrics = {
        "events": len(committed),
        "webhooks": WEBHOOKS,
        "delivered_per_s": round(len(delivered) / span, 1),
        "commit_to_delivery_p50_ms": round(p50, 1),
        "commit_to_delivery_p99_ms": round(p99, 1),
        "lost": lost,
    }
    print(json.dumps({"bench": "webhooks", "metrics": metrics}))


if __name__ == "__main__":
    asyncio.run(main())
