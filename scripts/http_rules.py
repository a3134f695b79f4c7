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

from server.edge.http_template import Template, Variable, parse_template

__all__ = ["Route", "Template", "Variable", "build_routes", "load_pool", "parse_template"]

PACKAGE = "agentregistry.v1"
_METHODS = ("get", "put", "post", "delete", "patch")


def default_descriptor_path() -> Path:
    return Path(str(resources.files("agentregistry.v1") / "descriptor.pb"))


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
