"""Load generator of `make bench`: one unary workload, in its own process.

Usage: python -m bench.all_load PORT WORKLOAD DURATION_S CONCURRENCY CHANNELS PLAN_JSON

Each channel is its own TCP connection (a local subchannel pool), so the
kernel's SO_REUSEPORT spreads them over the server's workers. A short warm-up
runs first; then CONCURRENCY callers go back to back for DURATION_S (and at
most MAX_REQUESTS calls). Prints one JSON line: count, errors, seconds and
latency percentiles in ms.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import grpc
import uvloop
from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
    search_service_pb2,
    search_service_pb2_grpc,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import timestamp_pb2

from bench.cache import zipf_ids
from bench.search import NL, ONE_WORD, THREE_WORDS

CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]
MAX_REQUESTS = 200_000
WARMUP_S = 1.5
PERCENTILES = (50, 90, 99, 99.9)

Call = Callable[[Any], Awaitable[object]]


def canonical(attester: str, subject: str, score: int, issued: datetime) -> bytes:
    """The documented canonical encoding (resources.proto) of a behaviour claim."""
    stamp = issued.strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["agentregistry.v1.Attestation", attester, subject, "behaviour", str(score), stamp, ""]
    return "\n".join(lines).encode()


def workload(name: str, plan: dict[str, Any], rng: random.Random) -> Callable[[int], Call]:
    """A factory: caller index -> a function of the channel's stubs making one request."""
    ids: list[str] = plan["ids"]
    if name == "get_agent":
        sequence = zipf_ids(ids, 200_000, 1.1, 11)

        def get_agent(i: int) -> Call:
            state = iter(sequence[i::64])
            return lambda s: s["registry"].GetAgent(
                registry_service_pb2.GetAgentRequest(name=f"agents/{next(state)}")
            )

        return get_agent
    if name == "list_agents":

        def list_agents(i: int) -> Call:
            token = [""]
            pages = [0]

            async def page(s: Any) -> object:
                reply = await s["registry"].ListAgents(
                    registry_service_pb2.ListAgentsRequest(page_size=50, page_token=token[0])
                )
                pages[0] += 1
                # Page 1 to 40, then start over: shallow and deep pages both get read.
                token[0] = reply.next_page_token if pages[0] % 40 else ""
                return reply

            return page

        return list_agents
    if name.startswith("search_") or name == "nl_find":
        return lambda i: _search(name, rng)
    if name == "get_reputation":
        return lambda i: (
            lambda s: s["reputation"].GetReputation(
                attestation_service_pb2.GetReputationRequest(
                    name=f"agents/{rng.choice(ids)}/reputation"
                )
            )
        )
    if name == "create_attestation":
        attesters = [
            (a["id"], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(a["key"])), a["token"])
            for a in plan["attesters"]
        ]

        def create(i: int) -> Call:
            def call(s: Any) -> Awaitable[object]:
                attester, key, token = rng.choice(attesters)
                subject, score = rng.choice(ids), rng.randint(30, 100)
                issued = datetime.now(UTC).replace(microsecond=0)
                stamp = timestamp_pb2.Timestamp()
                stamp.FromDatetime(issued)
                message = resources_pb2.Attestation(subject=f"agents/{subject}", issue_time=stamp)
                message.behaviour.score = score
                message.signature = key.sign(
                    canonical(f"agents/{attester}", f"agents/{subject}", score, issued)
                )
                return s["attestations"].CreateAttestation(
                    attestation_service_pb2.CreateAttestationRequest(attestation=message),
                    metadata=(("authorization", f"Bearer {token}"),),
                )

            return call

        return create
    raise SystemExit(f"unknown workload {name}")


def _search(name: str, rng: random.Random) -> Call:
    pb = search_service_pb2

    def call(s: Any) -> Awaitable[object]:
        stub = s["search"]
        if name == "search_1word":
            return stub.SearchAgents(pb.SearchAgentsRequest(query=rng.choice(ONE_WORD)))
        if name == "search_3word":
            return stub.SearchAgents(pb.SearchAgentsRequest(query=rng.choice(THREE_WORDS)))
        if name == "search_filtered":
            where = pb.AgentFilter(
                types=[resources_pb2.AGENT_TYPE_TOOL, resources_pb2.AGENT_TYPE_SERVICE],
                protocols=[rng.choice(["mcp", "grpc", "a2a"])],
                min_trust_score=rng.choice([20.0, 40.0, 60.0]),
            )
            return stub.SearchAgents(
                pb.SearchAgentsRequest(query=rng.choice(ONE_WORD), filter=where)
            )
        return stub.FindAgents(pb.FindAgentsRequest(query=rng.choice(NL)))

    return call


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


async def run(
    port: int, name: str, duration: float, concurrency: int, channels: int, plan: dict[str, Any]
) -> dict[str, Any]:
    rng = random.Random(5)
    factory = workload(name, plan, rng)
    opened = [
        grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
        for _ in range(channels)
    ]
    stubs = [
        {
            "registry": registry_service_pb2_grpc.RegistryServiceStub(c),
            "search": search_service_pb2_grpc.SearchServiceStub(c),
            "reputation": attestation_service_pb2_grpc.ReputationServiceStub(c),
            "attestations": attestation_service_pb2_grpc.AttestationServiceStub(c),
        }
        for c in opened
    ]
    await asyncio.gather(*(asyncio.wait_for(c.channel_ready(), 30) for c in opened))
    latencies: list[float] = []
    codes: dict[str, int] = {}
    measuring = False
    issued = 0

    async def caller(index: int, until: float) -> None:
        nonlocal issued
        call, stub = factory(index), stubs[index % channels]
        while time.perf_counter() < until and issued < MAX_REQUESTS:
            issued += 1
            started = time.perf_counter()
            try:
                await call(stub)
            except grpc.aio.AioRpcError as error:
                if measuring:
                    codes[error.code().name] = codes.get(error.code().name, 0) + 1
                continue
            if measuring:
                latencies.append((time.perf_counter() - started) * 1000)

    warm_until = time.perf_counter() + WARMUP_S
    await asyncio.gather(*(caller(i, warm_until) for i in range(concurrency)))
    measuring, issued = True, 0
    started = time.perf_counter()
    await asyncio.gather(*(caller(i, started + duration) for i in range(concurrency)))
    seconds = time.perf_counter() - started
    for c in opened:
        await c.close()
    ordered = sorted(latencies)
    return {
        "workload": name,
        "requests": len(ordered),
        "errors": sum(codes.values()),
        "error_codes": codes,
        "seconds": seconds,
        "rps": len(ordered) / seconds,
        **{f"p{q:g}_ms": round(percentile(ordered, q), 2) for q in PERCENTILES},
    }


def main() -> None:
    port, name, duration, concurrency, channels, plan_file = sys.argv[1:7]
    with open(plan_file) as handle:
        plan = json.load(handle)
    result = uvloop.run(
        run(int(port), name, float(duration), int(concurrency), int(channels), plan)
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
