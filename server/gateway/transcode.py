"""HTTP request → request message, response message → JSON, per the HttpRule.

Everything is assembled as one proto3-JSON object and parsed once by
`json_format`, so the JSON rules (lowerCamelCase or proto names, enums by name
or number, int64 as strings, bytes as base64, well-known types) are protobuf's
own and unknown fields fail exactly as they would in Envoy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor, json_format, message, message_factory

from server.gateway.routes import Route

FieldDescriptor = descriptor.FieldDescriptor

# Message types that take a single query-parameter value in their JSON string form.
_SCALAR_MESSAGES = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.FloatValue",
    "google.protobuf.DoubleValue",
    "google.protobuf.BoolValue",
}
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


class BadRequest(Exception):
    """The HTTP request cannot become a request message (HTTP 400, INVALID_ARGUMENT)."""


def _field(message_type: descriptor.Descriptor, name: str) -> FieldDescriptor | None:
    by_name: FieldDescriptor | None = message_type.fields_by_name.get(name)
    if by_name is not None:
        return by_name
    for candidate in message_type.fields:
        if candidate.json_name == name:
            return candidate
    return None


def _resolve(
    message_type: descriptor.Descriptor, path: Iterable[str]
) -> list[FieldDescriptor] | None:
    fields: list[FieldDescriptor] = []
    current: descriptor.Descriptor | None = message_type
    for name in path:
        if current is None:
            return None
        found = _field(current, name)
        if found is None:
            return None
        fields.append(found)
        current = found.message_type
    return fields


def _is_repeated(found: FieldDescriptor) -> bool:
    return bool(found.is_repeated)


def _scalar_json(found: FieldDescriptor, raw: str) -> Any:
    """A query/path string in the JSON form json_format expects for this field."""
    if found.type == FieldDescriptor.TYPE_BOOL:
        if raw.lower() not in _BOOLS:
            raise BadRequest(f"{found.name}: {raw!r} is not a boolean")
        return _BOOLS[raw.lower()]
    wrapped = found.message_type
    if wrapped is not None:
        if wrapped.full_name not in _SCALAR_MESSAGES:
            raise BadRequest(f"{found.name}: a message cannot be set from a query parameter")
        if wrapped.full_name == "google.protobuf.BoolValue":
            return _scalar_json(wrapped.fields_by_name["value"], raw)
    return raw


def _set(
    target: dict[str, Any], fields: list[FieldDescriptor], value: str, *, append: bool
) -> None:
    for found in fields[:-1]:
        if _is_repeated(found):
            raise BadRequest(f"{found.name}: cannot address inside a repeated field")
        for alias in (found.name, found.json_name):
            if alias != found.json_name and alias in target:
                target[found.json_name] = target.pop(alias)
        child = target.setdefault(found.json_name, {})
        if not isinstance(child, dict):
            raise BadRequest(f"{found.name}: expected an object")
        target = child
    leaf = fields[-1]
    if leaf.name != leaf.json_name and leaf.name in target:  # one spelling per field
        target[leaf.json_name] = target.pop(leaf.name)
    converted = _scalar_json(leaf, value)
    if _is_repeated(leaf) and leaf.message_type is None:
        existing = target.get(leaf.json_name)
        values = existing if append and isinstance(existing, list) else []
        target[leaf.json_name] = [*values, converted]
    else:
        target[leaf.json_name] = converted


def _body_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"request body is not valid JSON: {error}") from None


def build_request(
    route: Route,
    bindings: dict[tuple[str, ...], str],
    query: list[tuple[str, str]],
    body: bytes,
) -> message.Message:
    """Body first, then query parameters, then path variables (which win), like grpc-gateway."""
    input_type = route.method.input_type
    document: dict[str, Any] = {}
    bound: set[str] = set()
    if route.body == "*":
        parsed = _body_json(body)
        if not isinstance(parsed, dict):
            raise BadRequest("request body must be a JSON object")
        document = parsed
        bound.add("")
    elif route.body:
        body_field = _field(input_type, route.body)
        if body_field is None:  # a descriptor error, not the caller's
            raise RuntimeError(f"body field {route.body} missing on {input_type.full_name}")
        document[body_field.json_name] = _body_json(body)
        bound.add(body_field.name)
    elif body.strip():
        raise BadRequest(f"{route.http_method} {route.pattern} takes no request body")

    path_fields = {path[0] for path in bindings}
    seen: set[str] = set()
    for key, value in query:
        fields = _resolve(input_type, key.split("."))
        if fields is None or "" in bound or fields[0].name in bound:
            raise BadRequest(f"unknown query parameter {key!r}")
        if fields[0].name in path_fields and len(fields) == 1:
            raise BadRequest(f"query parameter {key!r} is already bound by the path")
        dotted = ".".join(f.name for f in fields)
        if dotted in seen and not _is_repeated(fields[-1]):
            raise BadRequest(f"query parameter {key!r} given more than once")
        _set(document, fields, value, append=dotted in seen)
        seen.add(dotted)

    for path, value in bindings.items():
        fields = _resolve(input_type, path)
        if fields is None:
            raise RuntimeError(f"path variable {'.'.join(path)} missing on {input_type.name}")
        _set(document, fields, value, append=False)

    request = message_factory.GetMessageClass(input_type)()
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=False)
    except json_format.ParseError as error:
        raise BadRequest(str(error)) from None
    return request


def response_json(route: Route, response: message.Message) -> dict[str, Any]:
    """Proto3 JSON with lowerCamelCase names and unpopulated fields printed (EmitUnpopulated)."""
    if route.response_body:
        response = getattr(response, route.response_body)
    printed = json_format.MessageToDict(
        response,
        preserving_proto_field_name=False,
        always_print_fields_with_no_presence=True,
        descriptor_pool=route.method.input_type.file.pool,
    )
    return printed
