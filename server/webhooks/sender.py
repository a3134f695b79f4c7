"""One HTTP attempt of one delivery: payload, signature, pinned connection, outcome.

The URL is resolved and checked (ssrf.py) right before the attempt, and the
request goes to the address that passed, with the original host in `Host` and
in TLS SNI (so certificates are still verified against the host name). Redirects
are not followed: a 3xx could point anywhere. One deadline bounds the whole attempt:
httpx's timeouts bound each read, and a receiver dripping its headers a byte at a time
would otherwise hold a delivery slot for hours.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from server.domain.changes import ChangeEvent
from server.domain.webhooks import DueDelivery
from server.events.convert import event_json
from server.webhooks import signing, ssrf

USER_AGENT = "agentregistry-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str | None


def payload(event: ChangeEvent) -> bytes:
    """The JSON body: the Event exactly as WatchEvents prints it over HTTP (its id, type,
    agent, createTime and typed payload, e.g. `agentUpdated`)."""
    return event_json(event)


def message_id(event: ChangeEvent) -> str:
    """The idempotency key: the same on every retry of the event, so receivers can dedupe."""
    return f"evt_{event.event_id}"


async def attempt(
    client: httpx.AsyncClient, due: DueDelivery, allow_loopback: bool, *, deadline_s: float
) -> Outcome:
    try:
        async with asyncio.timeout(deadline_s):
            return await _attempt(client, due, allow_loopback)
    except TimeoutError:
        return Outcome(False, None, "timed out")


async def _attempt(client: httpx.AsyncClient, due: DueDelivery, allow_loopback: bool) -> Outcome:
    try:
        target = await ssrf.resolve(due.url, allow_loopback)
    except ssrf.RefusedUrl as exc:
        return Outcome(False, None, f"refused: {exc}")
    body = payload(due.event)
    msg_id = message_id(due.event)
    timestamp = int(time.time())
    headers = {
        "host": target.host_header(),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(due.secret, msg_id, timestamp, body),
    }
    request = client.build_request(
        "POST",
        target.pinned_url(),
        content=body,
        headers=headers,
        extensions=target.extensions(),
    )
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
        await response.aclose()
    except httpx.TimeoutException:
        return Outcome(False, None, "timed out")
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code, None)
    return Outcome(False, response.status_code, f"HTTP {response.status_code}")
