"""WatchEvents over HTTP through Envoy: newline-delimited JSON, and keepalives that keep a
quiet watch open past Envoy's idle timeout."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.gateway_support import connection_manager, envoy_in_front, register_http
from tests.e2e.servers import instance

READ_TIMEOUT_S = 10.0


async def _events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.strip():
            yield json.loads(line)


async def test_watch_streams_events_as_json_lines(http: httpx.AsyncClient) -> None:
    _, agent, auth = await register_http(http)
    renamed = await http.patch(
        f"/v1/{agent['name']}",
        params={"updateMask": "displayName"},
        json={"displayName": "Watched"},
        headers=auth,
    )
    assert renamed.status_code == 200, renamed.text
    # Replays this agent's events from (nearly) the start of the feed, then follows.
    params = {"afterEventId": "1", "agent": agent["name"]}
    async with http.stream("GET", "/v1/events:watch", params=params) as response:
        assert response.status_code == 200
        assert response.headers["x-request-id"]
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(READ_TIMEOUT_S):
            async for event in _events(response):
                seen.append(event)
                if event["type"] == "EVENT_TYPE_AGENT_UPDATED":
                    break
    assert seen[-1]["agent"] == agent["name"]
    # The typed payload, in the API's JSON spelling (a FieldMask prints as camelCase paths).
    assert seen[-1]["agentUpdated"] == {
        "updateMask": "displayName",
        "capabilityAdded": "",
        "capabilityRemoved": "",
    }
    assert "data" not in seen[-1]
    # Event 1 may have been this agent's registration (a fresh database).
    assert {e["type"] for e in seen[:-1]} <= {"EVENT_TYPE_AGENT_REGISTERED"}


async def test_bad_watch_filter_is_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/events:watch", params={"agent": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == 3


async def test_a_quiet_watch_outlives_the_idle_timeout(backing: BackingServices) -> None:
    """Envoy cuts a stream idle for 1 s here; keepalives every 0.3 s keep the watch open."""
    settings = Settings(
        grpc_port=0,
        database_url=backing.database_url,
        redis_url=backing.redis_url,
        rate_limit_enabled=False,
        watch_keepalive_s=0.3,
    )

    def short_idle_timeout(config: dict[str, Any]) -> None:
        connection_manager(config)["stream_idle_timeout"] = "1s"

    async with (
        instance(settings, backing) as server,
        envoy_in_front(server.app.port, tweak=short_idle_timeout) as edge,
        httpx.AsyncClient(base_url=edge.url, timeout=READ_TIMEOUT_S) as client,
    ):
        _, agent, _ = await register_http(client, login=False)
        params = {"agent": agent["name"]}  # from now on: nothing will happen to it
        keepalives: list[dict[str, Any]] = []
        started = time.monotonic()
        async with client.stream("GET", "/v1/events:watch", params=params) as response:
            assert response.status_code == 200
            async with asyncio.timeout(READ_TIMEOUT_S):
                async for event in _events(response):
                    keepalives.append(event)
                    if time.monotonic() - started > 2.5:
                        break
        assert len(keepalives) >= 3
        assert {e["type"] for e in keepalives} == {"EVENT_TYPE_KEEPALIVE"}
        assert all(e["agent"] == "" and int(e["id"]) > 0 for e in keepalives)
