"""WatchEvents from the oldest retained event, which neither a missing nor a zero
after_event_id reaches (both mean from now on)."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import psycopg
from agentregistry.v1 import registry_service_pb2, resources_pb2

from db.engine import libpq_url
from server.backing import BackingServices
from tests.e2e.gateway_support import register_http
from tests.factories import error_details, register

TIMEOUT_S = 20.0


async def _oldest_event_id(backing: BackingServices) -> int:
    async with await psycopg.AsyncConnection.connect(libpq_url(backing.database_url)) as db:
        row = await (await db.execute("SELECT min(id) FROM events")).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


async def test_grpc_watch_starts_with_the_oldest_retained_event(
    registry, auth, backing: BackingServices
) -> None:
    agent = await register(registry, auth)  # at least one event is retained
    oldest = await _oldest_event_id(backing)
    call = registry.WatchEvents(registry_service_pb2.WatchEventsRequest(start_from_oldest=True))
    ids: list[int] = []
    async with asyncio.timeout(TIMEOUT_S):
        async for event in call:  # in order, up to our registration
            if event.type != resources_pb2.EVENT_TYPE_KEEPALIVE:
                ids.append(event.id)
                if event.agent == agent.name:
                    break
    call.cancel()
    assert ids[0] == oldest
    assert ids == sorted(ids)


async def test_start_from_oldest_with_an_event_id_is_invalid(registry) -> None:
    call = registry.WatchEvents(
        registry_service_pb2.WatchEventsRequest(start_from_oldest=True, after_event_id=5)
    )
    try:
        async for _ in call:
            raise AssertionError("the stream should have been refused")
    except grpc.aio.AioRpcError as error:
        details = error_details(error)
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.fields == ["start_from_oldest"]


async def test_http_watch_starts_with_the_oldest_retained_event(
    http: httpx.AsyncClient, backing: BackingServices
) -> None:
    await register_http(http)
    oldest = await _oldest_event_id(backing)
    params = {"startFromOldest": "true"}
    async with http.stream("GET", "/v1/events:watch", params=params) as response:
        assert response.status_code == 200
        async with asyncio.timeout(TIMEOUT_S):
            async for line in response.aiter_lines():
                if line.strip():
                    event = json.loads(line)
                    if event["type"] != "EVENT_TYPE_KEEPALIVE":
                        break
    assert int(event["id"]) == oldest
