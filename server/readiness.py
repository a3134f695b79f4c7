"""Readiness as a caller sees it: what `python -m server` waits for before printing URLs.

Envoy is up long before the workers answer (imports, models, pools), and every call
in between would be a 503; so the URLs are printed only once the gRPC health check
on the workers' port and Envoy's `/healthz` both report SERVING.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

log = logging.getLogger("agentregistry")

_POLL_S = 0.1
_NOTICE_EVERY_S = 30.0


def _loopback(host: str) -> str:
    """A wildcard listen address is reached on loopback."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host


async def grpc_serving(channel: grpc.aio.Channel) -> bool:
    with contextlib.suppress(grpc.aio.AioRpcError):
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=1
        )
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
    return False


async def http_serving(client: httpx.AsyncClient, url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return (await client.get(url)).status_code == 200
    return False


async def wait_until_serving(
    grpc_host: str, grpc_port: int, http_host: str, http_port: int
) -> float:
    """Poll both checks until they pass; returns the seconds waited. Never gives up on its
    own (a cold start may take a minute): the caller cancels it on a signal."""
    started = time.monotonic()
    notice_at = started + _NOTICE_EVERY_S
    healthz = f"http://{_loopback(http_host)}:{http_port}/healthz"
    async with (
        grpc.aio.insecure_channel(f"{_loopback(grpc_host)}:{grpc_port}") as channel,
        httpx.AsyncClient(timeout=1.0) as client,
    ):
        while not (await grpc_serving(channel) and await http_serving(client, healthz)):
            if time.monotonic() >= notice_at:
                log.info(
                    "still starting (%.0f s): waiting for the workers to serve", notice_at - started
                )
                notice_at += _NOTICE_EVERY_S
            await asyncio.sleep(_POLL_S)
    return time.monotonic() - started
