"""The method table takes what the generated registration functions give a server, and
answers every method from it, so grpc.aio serves them all through one generic handler."""

from __future__ import annotations

import grpc
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc

from server.method_table import MethodTable


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def test_generated_registration_fills_the_table() -> None:
    table = MethodTable()
    servicer = registry_service_pb2_grpc.RegistryServiceServicer()
    registry_service_pb2_grpc.add_RegistryServiceServicer_to_server(servicer, table)

    service = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"]
    for method in service.methods:
        handler = table.service(_Details(f"/{service.full_name}/{method.name}"))
        assert handler is not None, method.name
        # the servicer's own method, not a copy: the generated wiring is what serves
        bound = handler.unary_unary or handler.unary_stream or handler.stream_stream
        assert bound == getattr(servicer, method.name)
    assert table.service(_Details(f"/{service.full_name}/NoSuchMethod")) is None
    assert table.service(_Details("/other.v1.Service/GetAgent")) is None
