"""Server reflection v1 beside v1alpha: current grpcurl, Postman and grpcui ask v1 first.

grpcio-reflection ships only v1alpha. v1 is the same protocol under a new package (every
message and field number unchanged), so the v1alpha servicer answers v1 calls as they
are, and the v1 descriptor is v1alpha's renamed, added to the default pool so that
reflection can describe the v1 service too.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2

from server.calls.method_table import MethodTable

V1ALPHA_PACKAGE = "grpc.reflection.v1alpha"
V1_PACKAGE = "grpc.reflection.v1"
SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
_FILE_NAME = "grpc/reflection/v1/reflection.proto"


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(file)
    file.name, file.package = _FILE_NAME, V1_PACKAGE
    old, new = f".{V1ALPHA_PACKAGE}.", f".{V1_PACKAGE}."
    for message in file.message_type:
        for field in message.field:
            if field.type_name:
                field.type_name = field.type_name.replace(old, new)
    for service in file.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    return file


def register_v1_descriptor() -> None:
    """Once per process (each server built in it calls this)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_FILE_NAME)
    except KeyError:
        pool.AddSerializedFile(_v1_file().SerializeToString())


def add_v1_reflection(servicer: Any, table: MethodTable) -> None:
    """Serve `servicer` (a v1alpha ReflectionServicer) under the v1 service name too."""
    register_v1_descriptor()
    table.add_registered_method_handlers(
        SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
