"""Operational endpoints: health reflects the backing services; reflection lists the API."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from server.app import SERVICE_NAMES


async def test_health_is_serving_for_every_service(channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ["", *SERVICE_NAMES]:
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_goes_not_serving_when_redis_is_unreachable(registry_server) -> None:
    monitor = registry_server.health
    probes = dict(monitor._probes)

    async def unreachable() -> None:
        raise ConnectionError("redis down")

    monitor._probes["redis"] = unreachable
    try:
        assert await monitor.check_once() is False
        assert monitor.failing == ["redis"]
    finally:
        monitor._probes.update(probes)
        assert await monitor.check_once() is True


async def test_reflection_lists_services(channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for response in stub.ServerReflectionInfo(requests()):
        names = {s.name for s in response.list_services_response.service}
        assert set(SERVICE_NAMES) <= names
        assert "grpc.health.v1.Health" in names
        break


async def test_unknown_method_is_unimplemented(channel) -> None:
    call = channel.unary_unary("/agentregistry.v1.RegistryService/Nope")
    try:
        await call(b"")
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    else:
        raise AssertionError("expected UNIMPLEMENTED")


async def test_reflection_v1_lists_and_describes_services(channel) -> None:
    """Clients that speak v1 first (grpcurl, Postman) get answers on the v1 path; its
    messages are v1alpha's, field for field."""
    call = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")
        yield reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        )
        yield reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="agentregistry.v1.RegistryService"
        )

    responses = [response async for response in call(requests())]
    names = {s.name for s in responses[0].list_services_response.service}
    assert set(SERVICE_NAMES) <= names
    assert {
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    for described in responses[1:]:
        assert described.WhichOneof("message_response") == "file_descriptor_response"
        assert described.file_descriptor_response.file_descriptor_proto
