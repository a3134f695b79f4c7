"""A base for interceptors that act around each call, unary or streaming alike.

grpc.aio interceptors only see the handler; wrapping its behaviour is the one
way to run code with the call's context and its outcome.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
UnaryBehavior = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior = Callable[[Any, Context], AsyncIterator[Any]]
_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class AroundInterceptor(grpc.aio.ServerInterceptor):
    """Subclasses implement `unary` and `stream`; this plugs them into every handler."""

    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        return await behavior(request, context)

    def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        """Overrides must be async generators (gRPC tells handler kinds apart by that)."""
        return behavior(request, context)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Request, _Response] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Request, _Response] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        decode, encode = handler.request_deserializer, handler.response_serializer
        if handler.response_streaming:
            if type(self).stream is AroundInterceptor.stream:
                return handler  # nothing to do around a stream: no layer per message
            inner_stream: StreamBehavior = handler.unary_stream or handler.stream_stream  # type: ignore[assignment]
            # The subclass's own async generator is the handler (gRPC sees through the
            # partial): one generator layer per message, not two.
            streaming = functools.partial(self.stream, method, inner_stream)
            if handler.request_streaming:
                return grpc.stream_stream_rpc_method_handler(streaming, decode, encode)
            return grpc.unary_stream_rpc_method_handler(streaming, decode, encode)

        inner_unary: UnaryBehavior = handler.unary_unary or handler.stream_unary  # type: ignore[assignment]

        async def unary(request: Any, context: Context) -> Any:
            return await self.unary(method, inner_unary, request, context)

        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(unary, decode, encode)
        return grpc.unary_unary_rpc_method_handler(unary, decode, encode)
