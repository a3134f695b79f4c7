"""Turns domain errors into rich gRPC statuses, and anything else into a bare INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc

from server.domain.errors import DomainError
from server.errors import STATUS_DETAILS_KEY, internal_status, to_status, unimplemented_status
from server.interceptors import response_metadata
from server.interceptors.wrapping import AroundInterceptor, Context, StreamBehavior, UnaryBehavior

log = logging.getLogger("agentregistry.errors")


async def _abort(method: str, error: Exception, context: Context) -> NoReturn:
    if isinstance(error, DomainError):
        code, message, status = to_status(error)
    elif isinstance(error, NotImplementedError):  # a declared RPC whose servicer has no body yet
        code, message, status = unimplemented_status()
    else:
        log.exception("unhandled error in %s", method, exc_info=error)
        code, message, status = internal_status()
    trailers = (*response_metadata.collected(), (STATUS_DETAILS_KEY, status.SerializeToString()))
    await context.abort(code, message, trailers)


class ErrorInterceptor(AroundInterceptor):
    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(method, error, context)

    async def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        try:
            async for item in behavior(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(method, error, context)
