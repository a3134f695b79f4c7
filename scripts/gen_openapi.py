"""OpenAPI 3 document of the JSON API, from the descriptor set alone.

Paths and parameters come from the google.api.http rules (as Envoy serves
them), schemas from the messages with proto3 JSON names and types,
descriptions from the proto comments (the descriptor set carries source
info), REQUIRED/OUTPUT_ONLY from google.api.field_behavior.
Run by `make proto` through scripts/gen_protos.py; output is byte-stable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf import descriptor, descriptor_pb2

from scripts.http_rules import Route, build_routes, load_pool

Field = descriptor.FieldDescriptor
PACKAGE_PREFIX = "agentregistry.v1."
STATUS_REF = {"$ref": "#/components/schemas/google.rpc.Status"}

_SCALARS: dict[int, dict[str, Any]] = {
    Field.TYPE_STRING: {"type": "string"},
    Field.TYPE_BYTES: {"type": "string", "format": "byte"},
    Field.TYPE_BOOL: {"type": "boolean"},
    Field.TYPE_DOUBLE: {"type": "number", "format": "double"},
    Field.TYPE_FLOAT: {"type": "number", "format": "float"},
    Field.TYPE_INT32: {"type": "integer", "format": "int32"},
    Field.TYPE_SINT32: {"type": "integer", "format": "int32"},
    Field.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    Field.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    Field.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # proto3 JSON prints 64-bit integers as strings.
    Field.TYPE_INT64: {"type": "string", "format": "int64"},
    Field.TYPE_SINT64: {"type": "string", "format": "int64"},
    Field.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    Field.TYPE_UINT64: {"type": "string", "format": "uint64"},
    Field.TYPE_FIXED64: {"type": "string", "format": "uint64"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.StringValue": {"type": "string", "nullable": True},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte", "nullable": True},
    "google.protobuf.BoolValue": {"type": "boolean", "nullable": True},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32", "nullable": True},
    "google.protobuf.UInt32Value": {"type": "integer", "minimum": 0, "nullable": True},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64", "nullable": True},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64", "nullable": True},
    "google.protobuf.FloatValue": {"type": "number", "nullable": True},
    "google.protobuf.DoubleValue": {"type": "number", "nullable": True},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "additionalProperties": True,
    },
}


def _tidy(comment: str) -> str:
    return "\n".join(line.removeprefix(" ") for line in comment.strip("\n").splitlines()).strip()


def _comments(files: descriptor_pb2.FileDescriptorSet) -> dict[str, str]:
    """Leading comments by full name (messages, fields, enums, services, methods)."""
    found: dict[str, str] = {}
    for proto in files.file:
        by_path = {
            tuple(loc.path): _tidy(loc.leading_comments)
            for loc in proto.source_code_info.location
            if loc.leading_comments
        }
        prefix = proto.package

        def walk(
            messages: Any, path: tuple[int, ...], scope: str, by_path: dict[Any, str] = by_path
        ) -> None:
            for i, msg in enumerate(messages):
                name = f"{scope}.{msg.name}"
                here = (*path, i)
                found[name] = by_path.get(here, "")
                for j, field in enumerate(msg.field):
                    found[f"{name}.{field.name}"] = by_path.get((*here, 2, j), "")
                walk(msg.nested_type, (*here, 3), name)

        walk(proto.message_type, (4,), prefix)
        for i, service in enumerate(proto.service):
            name = f"{prefix}.{service.name}"
            found[name] = by_path.get((6, i), "")
            for j, method in enumerate(service.method):
                found[f"{name}.{method.name}"] = by_path.get((6, i, 2, j), "")
    return found


def _behaviors(field: Field) -> set[int]:
    options = descriptor_pb2.FieldOptions.FromString(field.GetOptions().SerializeToString())
    return set(options.Extensions[field_behavior_pb2.field_behavior])


def schema_name(message_type: descriptor.Descriptor) -> str:
    return message_type.full_name.removeprefix(PACKAGE_PREFIX)


class Builder:
    def __init__(self, comments: dict[str, str]) -> None:
        self.comments = comments
        self.schemas: dict[str, Any] = {}

    def field_schema(self, field: Field) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single(value)}
        single = self._single(field)
        return {"type": "array", "items": single} if field.is_repeated else single

    def _single(self, field: Field) -> dict[str, Any]:
        if field.enum_type is not None:
            return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
        if field.message_type is not None:
            return self.ref(field.message_type)
        return dict(_SCALARS[field.type])

    def ref(self, message_type: descriptor.Descriptor) -> dict[str, Any]:
        if message_type.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message_type.full_name])
        name = schema_name(message_type)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder first: messages may be recursive
            self.schemas[name] = self._message(message_type)
        return {"$ref": f"#/components/schemas/{name}"}

    def _message(self, message_type: descriptor.Descriptor) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in message_type.fields:
            schema = self.field_schema(field)
            text = self.comments.get(f"{message_type.full_name}.{field.name}", "")
            behaviors = _behaviors(field)
            extra: dict[str, Any] = {}
            if text:
                extra["description"] = text
            if field_behavior_pb2.OUTPUT_ONLY in behaviors:
                extra["readOnly"] = True
            if extra and "$ref" in schema:
                schema = {"allOf": [schema], **extra}
            else:
                schema.update(extra)
            properties[field.json_name] = schema
            if field_behavior_pb2.REQUIRED in behaviors:
                required.append(field.json_name)
        result: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            result["required"] = required
        text = self.comments.get(message_type.full_name, "")
        if text:
            result["description"] = text
        return result


def _path_and_params(route: Route, builder: Builder) -> tuple[str, list[dict[str, Any]]]:
    """`/v1/{name=agents/*}` → `/v1/agents/{name}`: each wildcard becomes one parameter."""
    segments = list(route.template.segments)
    params = []
    for variable in route.template.variables:
        end = len(segments) if variable.end is None else variable.end
        wildcards = [i for i in range(variable.start, end) if segments[i] in ("*", "**")]
        dotted = ".".join(variable.field_path)
        for i in wildcards:
            # Google's discovery naming (`{agentsId}`): one name per collection, so the
            # paths of Get, Update and Delete on a resource are the same OpenAPI path.
            name = (
                f"{segments[i - 1]}Id" if i > 0 and segments[i - 1] not in ("*", "**") else dotted
            )
            segments[i] = f"{{{name}}}"
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[^/]+$"},
                    "description": f"A segment of `{dotted}`, bound by `{route.pattern}`.",
                }
            )
    path = "/" + "/".join(segments) + (f":{route.template.verb}" if route.template.verb else "")
    return path, params


def _query_params(
    message_type: descriptor.Descriptor, skip: set[str], builder: Builder, prefix: str = ""
) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for field in message_type.fields:
        if field.name in skip and not prefix:
            continue
        name = f"{prefix}{field.json_name}"
        full = field.message_type.full_name if field.message_type else ""
        if field.message_type is not None and full not in _WELL_KNOWN:
            if not field.is_repeated:
                params += _query_params(field.message_type, set(), builder, f"{name}.")
            continue
        if full in ("google.protobuf.Empty", "google.protobuf.Struct", "google.protobuf.Any"):
            continue
        param: dict[str, Any] = {"name": name, "in": "query", "schema": builder.field_schema(field)}
        if field.is_repeated:
            param.update(style="form", explode=True)
        text = builder.comments.get(f"{message_type.full_name}.{field.name}", "")
        if text:
            param["description"] = text
        params.append(param)
    return params


def _operation(route: Route, builder: Builder) -> tuple[str, dict[str, Any]]:
    method = route.method
    path, params = _path_and_params(route, builder)
    input_type, bound = method.input_type, {v.field_path[0] for v in route.template.variables}
    operation: dict[str, Any] = {
        "operationId": f"{method.containing_service.name}_{method.name}",
        "tags": [method.containing_service.name],
        "summary": method.name,
    }
    text = builder.comments.get(method.full_name, "")
    if text:
        operation["description"] = text
    if route.body == "*":
        operation["requestBody"] = _json_body(builder.ref(input_type), required=True)
    else:
        if route.body:
            body_field = input_type.fields_by_name[route.body]
            operation["requestBody"] = _json_body(builder.field_schema(body_field), True)
            bound.add(route.body)
        params += _query_params(input_type, bound, builder)
    if params:
        operation["parameters"] = params
    output: descriptor.Descriptor = method.output_type
    response_schema = (
        builder.field_schema(output.fields_by_name[route.response_body])
        if route.response_body
        else builder.ref(output)
    )
    ok_headers = [*_CALL_HEADERS, *(_CACHE_HEADERS if route.http_method == "GET" else [])]
    operation["responses"] = {
        "200": {
            "description": "OK",
            "headers": _header_refs(ok_headers),
            **_json_body(response_schema, required=None),
        },
        **(
            {"304": {"$ref": "#/components/responses/NotModified"}}
            if route.http_method == "GET"
            else {}
        ),
        "401": {"$ref": "#/components/responses/Unauthenticated"},
        "429": {"$ref": "#/components/responses/RateLimited"},
        "default": {"$ref": "#/components/responses/Error"},
    }
    if route.http_method == "GET":
        operation.setdefault("parameters", []).append(
            {"$ref": "#/components/parameters/IfNoneMatch"}
        )
    return path, operation


# Response headers, as the server's metadata arrives through Envoy (README: JSON over HTTP).
_HEADERS: dict[str, tuple[str, dict[str, Any]]] = {
    "x-request-id": (
        "The call's id: the request's `x-request-id`, or one minted; every log line written "
        "while serving the call carries it.",
        {"type": "string"},
    ),
    "x-ratelimit-limit": (
        "Calls this caller may make in the window for this kind of call.",
        {"type": "integer"},
    ),
    "x-ratelimit-remaining": ("Calls left in the current window.", {"type": "integer"}),
    "x-ratelimit-reset": ("Seconds until the window resets.", {"type": "integer"}),
    "retry-after": ("Whole seconds to wait before trying again.", {"type": "integer"}),
    "cache-control": (
        "`public, max-age=N` on public reads made without credentials; `no-store` on writes, "
        "authenticated calls and errors.",
        {"type": "string"},
    ),
    "etag": (
        "The response's version: send it back as `If-None-Match` for a 304 while it holds.",
        {"type": "string"},
    ),
    "www-authenticate": (
        'The scheme to authenticate with, `Bearer realm="agentregistry"` (a session token or '
        'an API key), with `error="invalid_token"` when the credential sent is no good or '
        '`error="invalid_request"` when the authorization header is malformed (RFC 6750).',
        {"type": "string"},
    ),
}
_CALL_HEADERS = ["x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]
_CACHE_HEADERS = ["cache-control", "etag"]


def _header_refs(names: list[str]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _shared_components() -> dict[str, Any]:
    """Headers, the If-None-Match parameter and the responses every operation shares."""
    error = _json_body(STATUS_REF, None)
    return {
        "headers": {
            name: {"description": text, "schema": schema}
            for name, (text, schema) in _HEADERS.items()
        },
        "parameters": {
            "IfNoneMatch": {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "An earlier answer's etag: 304, no body, while it is current.",
                "schema": {"type": "string"},
            }
        },
        "responses": {
            "NotModified": {
                "description": "Not Modified: the If-None-Match etag is still the current one.",
                "headers": _header_refs(["x-request-id", *_CACHE_HEADERS]),
            },
            "Unauthenticated": {
                "description": "No credential, or one that is not valid (ErrorInfo.reason says "
                "which: SESSION_REQUIRED, SESSION_INVALID, API_KEY_INVALID …).",
                "headers": _header_refs(["x-request-id", "www-authenticate"]),
                **error,
            },
            "RateLimited": {
                "description": "The caller's budget for this kind of call is spent (RATE_LIMITED, "
                "or AUTH_FAILURES_RATE_LIMITED); RetryInfo and retry-after say when to retry.",
                "headers": _header_refs([*_CALL_HEADERS, "retry-after"]),
                **error,
            },
            "Error": {
                "description": "A google.rpc.Status error (the HTTP status maps its gRPC code).",
                "headers": _header_refs(["x-request-id", "retry-after"]),
                **error,
            },
        },
    }


def _json_body(schema: dict[str, Any], required: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    if required is not None:
        body["required"] = required
    return body


def build_document(descriptor_path: Path) -> dict[str, Any]:
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    pool, services = load_pool(descriptor_path)
    builder = Builder(_comments(files))
    builder.schemas["google.rpc.Status"] = {
        "type": "object",
        "description": "The error body: gRPC status code, message and google.rpc details.",
        "properties": {
            "code": {"type": "integer", "format": "int32"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": dict(_WELL_KNOWN["google.protobuf.Any"])},
        },
    }
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(build_routes(pool, services), key=lambda r: (r.pattern, r.http_method)):
        path, operation = _operation(route, builder)
        paths.setdefault(path, {})[route.http_method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Agent Registry",
            "version": "v1",
            "description": (
                "JSON mapping of the agentregistry.v1 gRPC API (google.api.http rules), "
                "served by Envoy's grpc_json_transcoder. "
                "Field names are lowerCamelCase; snake_case is accepted on input."
            ),
        },
        # Relative: the document is served by the edge it describes (/openapi.json).
        "servers": [{"url": "/"}],
        "tags": [
            {"name": s.rsplit(".", 1)[-1], "description": builder.comments.get(s, "")}
            for s in sorted(services)
        ],
        "paths": dict(sorted(paths.items())),
        "components": {
            **_shared_components(),
            "schemas": dict(sorted(builder.schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
        "security": [{}, {"bearer": []}, {"apiKey": []}],
    }


def write(descriptor_path: Path, out: Path) -> None:
    document = build_document(descriptor_path)
    out.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
