"""The change feed as an async iterator that survives restarts of the server.

Like etcd's watch, it resumes from a position: after the stream drops with
UNAVAILABLE it reopens after the last event it yielded, so nothing is skipped or
repeated. Before the first event (`after_event_id=0`, "from now on"), a reopen
starts from the server's "now" again; with `from_oldest` the first stream replays the
oldest retained event on (a reopen before any event does so again).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from agentregistry_client._proto import registry_service_pb2, resources_pb2
from agentregistry_client.errors import RegistryError

if TYPE_CHECKING:
    from agentregistry_client.client import RegistryClient

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


def backoff_s(attempt: int, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S) -> float:
    """Full jitter: uniform in [0, min(cap, base · 2^attempt)], so clients do not return in step."""
    return random.uniform(0.0, min(cap_s, base_s * (2**attempt)))


async def watch_events(
    client: RegistryClient,
    after_event_id: int,
    types: list[int],
    agent: str | None,
    max_retries: int | None = None,
    from_oldest: bool = False,
) -> AsyncIterator[resources_pb2.Event]:
    position, attempt = after_event_id, 0
    while True:
        request = registry_service_pb2.WatchEventsRequest(
            after_event_id=position,
            types=types,  # type: ignore[arg-type]
            agent=agent or "",
            start_from_oldest=from_oldest and position == 0,
        )
        metadata = await client.credentials.metadata()
        stream = client.registry.WatchEvents(request, metadata=metadata)
        try:
            async for event in stream:
                attempt = 0
                position = event.id
                yield event
            return
        except grpc.aio.AioRpcError as error:
            exhausted = max_retries is not None and attempt >= max_retries
            if error.code() not in RETRYABLE or exhausted:
                raise RegistryError.from_rpc(error) from None
            decoded = RegistryError.from_rpc(error)
            await asyncio.sleep(decoded.retry_after_s or backoff_s(attempt))
            attempt += 1
        finally:
            stream.cancel()
