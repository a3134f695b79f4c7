"""Rate limits through Envoy: one bucket per HTTP client, Retry-After, and an x-forwarded-for
that only the Envoy peer may set.

Envoy connects to the server from its own loopback address (the only trusted proxy here),
and each HTTP client from another, so the addresses tell the three kinds of caller apart.
"""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from agentregistry.v1 import registry_service_pb2

from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.gateway_support import Edge, envoy_in_front, register_http
from tests.e2e.servers import Instance, instance

READS_PER_MINUTE = 5


def _loopback() -> str:
    raw = uuid.uuid4().bytes
    return f"127.{raw[0]}.{raw[1]}.{max(raw[2], 2)}"


@pytest.fixture
async def limited_edge(backing: BackingServices) -> AsyncIterator[tuple[Instance, Edge]]:
    proxy = _loopback()
    settings = Settings(
        grpc_port=0,
        database_url=backing.database_url,
        redis_url=backing.redis_url,
        rate_limits=json.dumps(
            {"anonymous.read": f"{READS_PER_MINUTE}/minute", "anonymous.write": "1000/minute"}
        ),
        trusted_proxies=proxy,
        trusted_proxy_hops=1,
    )
    async with (
        instance(settings, backing) as server,
        envoy_in_front(server.app.port, upstream_source=proxy) as edge,
    ):
        yield server, edge


def _client(edge: Edge, source: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=edge.url, transport=transport, timeout=10.0)


async def test_each_http_client_has_its_own_bucket_and_429_says_when(
    limited_edge: tuple[Instance, Edge],
) -> None:
    _, edge = limited_edge
    async with _client(edge, _loopback()) as first, _client(edge, _loopback()) as second:
        _, agent, _ = await register_http(first, login=False)
        path = f"/v1/{agent['name']}"
        remaining = []
        for _ in range(READS_PER_MINUTE):
            ok = await first.get(path)
            assert ok.status_code == 200, ok.text
            assert ok.headers["x-ratelimit-limit"] == str(READS_PER_MINUTE)
            assert ok.headers["x-request-id"]
            remaining.append(int(ok.headers["x-ratelimit-remaining"]))
        assert remaining == sorted(remaining, reverse=True) and remaining[-1] == 0
        refused = await first.get(path)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-remaining"] == "0"
        body = refused.json()
        assert body["code"] == 8
        assert any(d["@type"].endswith("google.rpc.RetryInfo") for d in body["details"])
        # A forged x-forwarded-for is only a left part: Envoy appends the real peer.
        forged = await first.get(path, headers={"x-forwarded-for": _loopback()})
        assert forged.status_code == 429
        assert (await second.get(path)).status_code == 200


async def test_direct_grpc_callers_cannot_forge_forwarded_for(
    limited_edge: tuple[Instance, Edge],
) -> None:
    server, edge = limited_edge
    async with _client(edge, _loopback()) as client:
        _, agent, _ = await register_http(client, login=False)
    request = registry_service_pb2.GetAgentRequest(name=agent["name"])
    # 127.0.0.1 is not the trusted proxy: each forged address is ignored, so every call
    # spends the one bucket of 127.0.0.1 (which other tests on this Redis may have begun).
    remaining: list[int] = []
    for allowed in range(READS_PER_MINUTE + 1):
        forged = str(ipaddress.ip_address(f"10.0.{allowed % 250}.{allowed % 200 + 1}"))
        try:
            call = server.registry.GetAgent(request, metadata=(("x-forwarded-for", forged),))
            await call
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            break
        trailers = dict(await call.trailing_metadata())
        remaining.append(int(trailers["x-ratelimit-remaining"]))
    else:
        pytest.fail("forged x-forwarded-for addresses each got a bucket of their own")
    # One bucket counting down, and refused within its budget (at once when another test
    # had spent it: a forged address with a bucket of its own would have been let through).
    start = remaining[0] if remaining else 0
    assert remaining == list(range(start, start - len(remaining), -1))
    assert len(remaining) <= READS_PER_MINUTE
