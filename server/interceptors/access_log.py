"""One structured log line and the RPC metrics per call: method, outcome, duration, peer,
request id. The request id (from `x-request-id`, else minted) goes back with the response
metadata (server/interceptors/response_metadata.py) and onto every log line written while
serving the call."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc

from server.interceptors import response_metadata
from server.interceptors.wrapping import AroundInterceptor, Context, StreamBehavior, UnaryBehavior
from server.observability import logs
from server.observability.metrics import RPC_LATENCY, RPC_REQUESTS

log = logging.getLogger("agentregistry.access")
REQUEST_ID = "x-request-id"


def _request_id(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex


def _outcome(context: Context, error: BaseException | None) -> str:
    code = context.code()
    if code is not None and code is not grpc.StatusCode.OK:
        return code.name if isinstance(code, grpc.StatusCode) else str(code)
    return "CANCELLED" if error is not None else "OK"


class AccessLogInterceptor(AroundInterceptor):
    def _begin(self, context: Context) -> tuple[float, list[tuple[str, str]], str, bool]:
        """Everything read from the call's core object is read here, while it is alive:
        once a stream has been torn down, `context.peer()` touches freed memory."""
        request_id = _request_id(context)
        logs.request_id.set(request_id)
        pairs = response_metadata.begin()
        pairs.append((REQUEST_ID, request_id))
        edge = response_metadata.from_edge(context.invocation_metadata())
        return time.perf_counter(), pairs, context.peer(), edge

    def _end(
        self, method: str, context: Context, started: float, peer: str, error: BaseException | None
    ) -> None:
        duration = time.perf_counter() - started
        code = _outcome(context, error)
        RPC_REQUESTS.labels(method, code).inc()
        RPC_LATENCY.labels(method).observe(duration)
        log.info(
            "rpc %s %s",
            method,
            code,
            extra={
                "method": method,
                "code": code,
                "duration_ms": round(duration * 1000, 2),
                "peer": peer,
            },
        )

    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        started, pairs, peer, edge = self._begin(context)
        error: BaseException | None = None
        try:
            response = await behavior(request, context)
            if edge:
                await context.send_initial_metadata(tuple(pairs))
            else:
                context.set_trailing_metadata(tuple(pairs))
            return response
        except BaseException as raised:
            error = raised
            raise
        finally:
            self._end(method, context, started, peer, error)

    async def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        started, pairs, peer, edge = self._begin(context)
        error: BaseException | None = None
        try:
            unsent = edge  # HTTP clients get the pairs as headers, with the first message
            async for item in behavior(request, context):
                if unsent:
                    await context.send_initial_metadata(tuple(pairs))
                    unsent = False
                yield item
            context.set_trailing_metadata(tuple(pairs))
        except BaseException as raised:
            error = raised
            raise
        finally:
            self._end(method, context, started, peer, error)
