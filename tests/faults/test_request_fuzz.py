"""Random but well-typed request messages for every unary RPC, through a real channel.

Hypothesis builds each request from the method's own descriptor: every field may
be set, strings include NUL, control and bidi characters and near-valid resource
names, numbers span their whole range (NaN and infinities for doubles), enums
include values no version defines, timestamps any seconds/nanos. Whatever the
input, the answer is a precise status: never INTERNAL, UNKNOWN or a hang.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from agentregistry.v1 import (
    attestation_service_pb2,
    auth_service_pb2,
    presence_service_pb2,
    registry_service_pb2,
    search_service_pb2,
    webhook_service_pb2,
)
from google.protobuf import message, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import AgentHandle, register

EXAMPLES_PER_METHOD = 20
MAX_DEPTH = 3
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}

_FILES = [
    registry_service_pb2,
    auth_service_pb2,
    search_service_pb2,
    presence_service_pb2,
    attestation_service_pb2,
    webhook_service_pb2,
]
UNARY_METHODS: list[MethodDescriptor] = [
    method
    for module in _FILES
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
    if not method.client_streaming and not method.server_streaming
]

_NEAR_VALID = [
    "",
    " ",
    "\x00",
    "agents/",
    "agents/ag_0000000000000000",
    "agents/ag_\x00",
    "agents/ag_x/apiKeys/ak_x",
    "agents/ag_x/webhooks/wh_x",
    "agents/ag_x/reputation",
    "attestations/at_x",
    "capabilities/translation",
    "capabilities/\u202e",
    "https://127.0.0.1/hook",
    "https://[2002:7f00:1::]/hook",
    "display_name",
    "*",
    "a" * 5000,
    "\ud7ff\ue000\U0010ffff",
    "Zero\u200bwidth",
]
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        near_valid = st.sampled_from(_NEAR_VALID)
        with_nul = st.tuples(near_valid, st.text(max_size=8)).map(lambda p: f"{p[0]}\x00{p[1]}")
        return st.one_of(near_valid, near_valid, st.text(max_size=40), with_nul)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=80), st.just(b"\x00" * 32))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return st.floats()
    if kind == FieldDescriptor.TYPE_FLOAT:
        return st.floats(width=32)
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 40))
    low, high = _INT_RANGES[kind]
    small = st.integers(max(low, -5), min(high, 600))
    return st.one_of(small, st.integers(low, high))


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return messages(field.message_type, depth + 1)
    return _scalar(field)


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        keys = _value(entry.fields_by_name["key"], depth)
        values = _value(entry.fields_by_name["value"], depth)
        return st.dictionaries(keys, values, max_size=4)
    if field.is_repeated:
        return st.lists(_value(field, depth), max_size=4)
    return _value(field, depth)


def _build(cls: type[message.Message], values: dict[str, Any]) -> message.Message:
    built = cls()
    for name, value in values.items():
        target = getattr(built, name, None)
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, message.Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif isinstance(value, list):
            target.extend(value)
        elif isinstance(value, message.Message):
            target.CopyFrom(value)
        else:
            setattr(built, name, value)
    return built


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[message.Message]:
    cls = message_factory.GetMessageClass(descriptor)
    if depth >= MAX_DEPTH:
        return st.just(cls())
    optional = {field.name: _field(field, depth) for field in descriptor.fields}
    return st.fixed_dictionaries({}, optional=optional).map(lambda values: _build(cls, values))


@pytest.fixture(scope="module")
async def caller(registry, auth) -> AgentHandle:
    return await register(registry, auth)


def _stub(channel: grpc.aio.Channel, method: MethodDescriptor) -> Any:
    return channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda request: request.SerializeToString(),
        response_deserializer=lambda raw: raw,
    )


@pytest.mark.parametrize("method", UNARY_METHODS, ids=lambda m: m.full_name)
@settings(
    max_examples=EXAMPLES_PER_METHOD,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_requests_never_fail_internally(
    channel: grpc.aio.Channel, caller: AgentHandle, method: MethodDescriptor, data: st.DataObject
) -> None:
    request = data.draw(messages(method.input_type), label="request")
    metadata = caller.metadata if data.draw(st.booleans(), label="signed_in") else ()
    try:
        await _stub(channel, method)(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        assert error.code() not in FORBIDDEN, f"{error.code()}: {error.details()}"
