"""Every service's method handlers in one table, each wrapped in the call layer
(server/calls/layer.py), served to grpc.aio as one generic handler.

Why not hand the generated `add_*Servicer_to_server` functions the server itself: they
also register each method with gRPC core, and grpc.aio's accept loop then keeps one
pending call request per registered method and waits on all of them (`asyncio.wait`
over about fifty futures) for every call that arrives: on a cached read that was about a
tenth of the worker's time. With no registered methods the loop waits on one request,
and the table finds a call's handler with one dict lookup.

The generated functions take any object with the server's two registration methods, so
they are handed the table instead of the server and fill it as they would the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import grpc

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"  # subscriptable for mypy only


class MethodTable(grpc.GenericRpcHandler):
    def __init__(self, wrap: Callable[[str, Handler], Handler]) -> None:
        """`wrap(method, handler)` is what serves a method: every handler goes through it."""
        self._wrap = wrap
        self._by_method: dict[str, Handler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []

    # The two methods the generated registration functions call on a server.
    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        for name, handler in method_handlers.items():
            method = f"/{service_name}/{name}"
            self._by_method[method] = self._wrap(method, handler)

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """Generated code passes the same handlers here as a generic handler per service;
        they answer only what the table does not hold (nothing, with today's stubs)."""
        self._generic.extend(handlers)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        found = self._by_method.get(handler_call_details.method)
        if found is not None:
            return found
        for generic in self._generic:
            handler = generic.service(handler_call_details)
            if handler is not None:  # (kept: only methods that exist get here)
                found = self._by_method[handler_call_details.method] = self._wrap(
                    handler_call_details.method, handler
                )
                return found
        return None
