"""A JSON call's URL path and its body must name the same resource.

Envoy's transcoder builds the request message from the URL path first, then the query
string, then the body, each overriding the one before. So `PATCH /v1/agents/A` with
`{"name": "agents/B"}` in the body reaches UpdateAgent as agent B: the caller reads one
resource in the URL while the server acts on another. The transcoder hands the server
the path it matched (`x-envoy-original-path`); a call whose message disagrees with what
that path binds is refused INVALID_ARGUMENT, naming the field, before anything runs.

A gRPC client sending the header itself gains nothing: the message is all a gRPC call
says, and a made-up path can only have its own call refused.
"""

from __future__ import annotations

from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from server.domain import failures
from server.domain.errors import FieldViolation
from server.edge.http_template import Template, parse_template

_VERBS = ("get", "put", "post", "delete", "patch")


def templates(method: str) -> tuple[Template, ...]:
    """The path templates of `method`'s HTTP bindings that bind fields ("/pkg.Svc/Name")."""
    service, _, name = method.strip("/").partition("/")
    try:
        found = descriptor_pool.Default().FindMethodByName(f"{service}.{name}")
    except KeyError:
        return ()
    options = descriptor_pb2.MethodOptions.FromString(found.GetOptions().SerializeToString())
    if not options.HasExtension(annotations_pb2.http):
        return ()
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    paths = []
    for binding in [rule, *rule.additional_bindings]:
        kind = binding.WhichOneof("pattern")
        if kind in _VERBS:
            paths.append(getattr(binding, kind))
        elif kind == "custom":
            paths.append(binding.custom.path)
    parsed = (parse_template(path) for path in paths)
    return tuple(template for template in parsed if template.variables)


def check(templates: tuple[Template, ...], original_path: str, request: Any) -> None:
    """Raise InvalidArgument if `request` holds other values than `original_path` binds."""
    for template in templates:
        bound = template.bind(original_path)
        if bound is None:
            continue
        violations = [
            FieldViolation(".".join(field_path), f"must match the URL path ({value!r})")
            for field_path, value in bound.items()
            if _value(request, field_path) != value
        ]
        if violations:
            raise failures.path_mismatch(violations)
        return


def _value(message: Any, field_path: tuple[str, ...]) -> str:
    for name in field_path:
        message = getattr(message, name, None)
    return str(message) if message is not None else ""
