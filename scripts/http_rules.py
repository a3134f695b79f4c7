"""HTTP routes read from `google.api.http` rules in the descriptor set, for the OpenAPI
document: every annotated unary method of our services, parsed with the path template
grammar Envoy's transcoder accepts (`/v1/{name=agents/*}`, `/v1/{agent.name=agents/*}`,
`**`, `:verb`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool

PACKAGE = "agentregistry.v1"
_METHODS = ("get", "put", "post", "delete", "patch")


def default_descriptor_path() -> Path:
    return Path(str(resources.files("agentregistry.v1") / "descriptor.pb"))


@dataclass(frozen=True)
class Variable:
    """A `{field.path=segments}` binding: which template segments fill which field."""

    field_path: tuple[str, ...]
    start: int
    end: int | None  # exclusive; None when the span ends in `**`


@dataclass(frozen=True)
class Template:
    segments: tuple[str, ...]  # literal text, "*" or "**"
    verb: str
    variables: tuple[Variable, ...]

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if s not in ("*", "**"))


def _split_outside_braces(text: str, sep: str) -> list[str]:
    pieces, depth, current = [], 0, ""
    for char in text:
        depth += (char == "{") - (char == "}")
        if char == sep and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    pieces.append(current)
    return pieces


def parse_template(path: str) -> Template:
    """Parse `/seg/{var=a/*}/seg:verb` per the HttpRule grammar."""
    if not path.startswith("/"):
        raise ValueError(f"path template must start with '/': {path!r}")
    body, verb = path[1:], ""
    tail = _split_outside_braces(body, ":")
    if len(tail) == 2:
        body, verb = tail
    elif len(tail) > 2:
        raise ValueError(f"more than one verb in {path!r}")
    segments: list[str] = []
    variables: list[Variable] = []
    for piece in _split_outside_braces(body, "/"):
        if piece.startswith("{") and piece.endswith("}"):
            name, _, inner = piece[1:-1].partition("=")
            sub = inner.split("/") if inner else ["*"]
            start = len(segments)
            segments.extend(sub)
            end = None if sub[-1] == "**" else len(segments)
            variables.append(Variable(tuple(name.split(".")), start, end))
        elif piece and "{" not in piece and "}" not in piece:
            segments.append(piece)
        else:
            raise ValueError(f"bad segment {piece!r} in {path!r}")
    return Template(tuple(segments), verb, tuple(variables))


@dataclass(frozen=True)
class Route:
    """One HTTP binding of one RPC."""

    http_method: str
    template: Template
    pattern: str
    body: str  # "" (no body), "*", or a top-level field name
    response_body: str
    service: str  # full name, e.g. agentregistry.v1.RegistryService
    method: descriptor.MethodDescriptor
    comments: str = field(default="", compare=False)

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.method.name}"


def load_pool(path: Path | None = None) -> tuple[descriptor_pool.DescriptorPool, list[str]]:
    """A private pool built from the descriptor set, and the services of our package."""
    files = descriptor_pb2.FileDescriptorSet.FromString(
        (path or default_descriptor_path()).read_bytes()
    )
    pool = descriptor_pool.DescriptorPool()
    for proto in files.file:
        pool.Add(proto)
    services = [
        f"{proto.package}.{service.name}"
        for proto in files.file
        if proto.package == PACKAGE
        for service in proto.service
    ]
    return pool, services


def _bindings(rule: http_pb2.HttpRule) -> list[tuple[str, str, str, str]]:
    out = []
    for candidate in [rule, *rule.additional_bindings]:
        kind = candidate.WhichOneof("pattern")
        if kind in _METHODS:
            path = getattr(candidate, kind)
            out.append((kind.upper(), path, candidate.body, candidate.response_body))
        elif kind == "custom":
            out.append((candidate.custom.kind.upper(), candidate.custom.path, candidate.body, ""))
    return out


def build_routes(pool: descriptor_pool.DescriptorPool, services: list[str]) -> list[Route]:
    """Every annotated unary method. A streaming method's HTTP rule (WatchEvents) is served
    by Envoy but left out: OpenAPI has no shape for an endless response."""
    routes: list[Route] = []
    for service_name in services:
        service = pool.FindServiceByName(service_name)
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue
            options = descriptor_pb2.MethodOptions.FromString(
                method.GetOptions().SerializeToString()
            )
            if not options.HasExtension(annotations_pb2.http):
                continue
            rule = options.Extensions[annotations_pb2.http]
            for http_method, path, body, response_body in _bindings(rule):
                routes.append(
                    Route(
                        http_method,
                        parse_template(path),
                        path,
                        body,
                        response_body,
                        service_name,
                        method,
                    )
                )
    # Literal segments first, as in Envoy's matcher.
    routes.sort(key=lambda r: (-r.template.literal_count, -len(r.template.segments)))
    return routes
