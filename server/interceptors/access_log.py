"""One structured log line per call: method, outcome, duration, peer, request id."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc

from server.interceptors import response_metadata
from server.interceptors.wrapping import AroundInterceptor, Context, StreamBehavior, UnaryBehavior

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
    def _log(
        self,
        method: str,
        context: Context,
        started: float,
        request_id: str,
        error: BaseException | None,
    ) -> None:
        log.info(
            "rpc method=%s code=%s duration_ms=%.1f peer=%s request_id=%s",
            method,
            _outcome(context, error),
            (time.perf_counter() - started) * 1000,
            context.peer(),
            request_id,
        )

    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        started, request_id = time.perf_counter(), _request_id(context)
        pairs = response_metadata.begin()
        pairs.append((REQUEST_ID, request_id))
        error: BaseException | None = None
        try:
            response = await behavior(request, context)
            context.set_trailing_metadata(tuple(pairs))
            return response
        except BaseException as raised:
            error = raised
            raise
        finally:
            self._log(method, context, started, request_id, error)

    async def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        started, request_id = time.perf_counter(), _request_id(context)
        pairs = response_metadata.begin()
        pairs.append((REQUEST_ID, request_id))
        error: BaseException | None = None
        try:
            async for item in behavior(request, context):
                yield item
            context.set_trailing_metadata(tuple(pairs))
        except BaseException as raised:
            error = raised
            raise
        finally:
            self._log(method, context, started, request_id, error)
