"""The method table takes what the generated registration functions give a server, wraps
each handler once, and answers every method from it, so grpc.aio serves them all through
one generic handler with no per-call interceptor."""

from __future__ import annotations

from typing import Any

import grpc
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc

from server.calls.method_table import MethodTable


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def test_generated_registration_fills_the_table_with_wrapped_handlers() -> None:
    wrapped: dict[str, Any] = {}

    def wrap(method: str, handler: Any) -> Any:
        wrapped[method] = handler
        return ("wrapped", handler)

    table = MethodTable(wrap)
    servicer = registry_service_pb2_grpc.RegistryServiceServicer()
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(servicer, table)

    service = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"]
    assert set(wrapped) == {f"/{service.full_name}/{m.name}" for m in service.methods}
    for method in service.methods:
        found = table.service(_Details(f"/{service.full_name}/{method.name}"))
        assert found is not None and found[0] == "wrapped", method.name
        # the servicer's own method, not a copy: the generated wiring is what serves
        handler = found[1]
        bound = handler.unary_unary or handler.unary_stream or handler.stream_stream
        assert bound == getattr(servicer, method.name)
    assert table.service(_Details(f"/{service.full_name}/NoSuchMethod")) is None
    assert table.service(_Details("/other.v1.Service/GetAgent")) is None


def test_a_handler_only_a_generic_handler_knows_is_wrapped_too() -> None:
    table = MethodTable(lambda method, handler: ("wrapped", method))
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
    table.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("other.v1.Service", {"Echo": handler}),)
    )
    assert table.service(_Details("/other.v1.Service/Echo")) == (
        "wrapped",
        "/other.v1.Service/Echo",
    )
