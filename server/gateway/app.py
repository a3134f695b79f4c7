"""The built-in JSON gateway: an ASGI app that forwards to the gRPC server.

It serves the same mapping as Envoy's grpc_json_transcoder from the same
descriptor set, for machines without Envoy. Methods are called generically by
path, so a service the gRPC server registers later is served without changes
here; one it does not register answers UNIMPLEMENTED, i.e. HTTP 501.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, message, message_factory
from google.rpc import error_details_pb2, status_pb2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute

from server.gateway.headers import (
    CORS_EXPOSED,
    etag_matches,
    request_metadata,
    response_headers,
)
from server.gateway.routes import Route, Router, build_routes, load_pool
from server.gateway.status import http_status
from server.gateway.transcode import BadRequest, build_request, response_json

log = logging.getLogger("agentregistry.gateway")

MAX_BODY_BYTES = 1 << 20
CALL_TIMEOUT_S = 30.0
SKILL_PATH = Path(__file__).with_name("skill.md")
OPENAPI_PATH = Path(str(resources.files("agentregistry.v1") / "openapi.json"))
_ = error_details_pb2  # registers google.rpc detail types so error details print as JSON
_STATUS_DETAILS = "grpc-status-details-bin"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_body(code: grpc.StatusCode, text: str, trailers: Sequence[Any] = ()) -> dict[str, Any]:
    """google.rpc.Status as JSON, details as Any with @type, like Envoy's convert_grpc_status."""
    for key, value in trailers:
        if key == _STATUS_DETAILS and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            return json_format.MessageToDict(status, always_print_fields_with_no_presence=True)
    return {"code": code.value[0], "message": text, "details": []}


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it exceeds MAX_BODY_BYTES (read no further than that)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _error(code: grpc.StatusCode, text: str, trailers: Sequence[Any] = ()) -> Response:
    return _json(http_status(code), error_body(code, text, trailers))


class Gateway:
    """Routes from the descriptor set, one channel to the gRPC server."""

    def __init__(self, target: str, descriptor_path: Path | None = None) -> None:
        pool, services = load_pool(descriptor_path)
        self.router = Router(build_routes(pool, services))
        self.target = target
        self._channel: grpc.aio.Channel | None = None

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:  # created lazily inside the serving event loop
            self._channel = grpc.aio.insecure_channel(self.target)
        return self._channel

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _call(
        self, route: Route, request: message.Message, metadata: list[tuple[str, str]]
    ) -> tuple[message.Message, list[tuple[str, Any]]]:
        output = message_factory.GetMessageClass(route.method.output_type)
        method: grpc.aio.UnaryUnaryMultiCallable[message.Message, message.Message]
        method = self.channel.unary_unary(
            route.grpc_path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=output.FromString,
        )
        call = method(request, metadata=metadata, timeout=CALL_TIMEOUT_S)
        response = await call
        returned = [*(await call.initial_metadata() or ()), *(await call.trailing_metadata() or ())]
        return response, returned

    async def transcode(self, request: Request) -> Response:
        try:
            return await self._transcode(request)
        except Exception:
            log.exception("gateway failure on %s %s", request.method, request.url.path)
            return _error(grpc.StatusCode.INTERNAL, "internal error")

    async def _transcode(self, request: Request) -> Response:
        route, bindings = self.router.find(request.method, request.url.path)
        if route is None:
            if bindings:
                return _json(405, {"code": 12, "message": "method not allowed", "details": []})
            return _error(grpc.StatusCode.NOT_FOUND, f"no route for {request.url.path}")
        assert isinstance(bindings, dict)
        body = await _read_body(request)
        if body is None:
            return _json(413, {"code": 8, "message": "request body too large", "details": []})
        try:
            grpc_request = build_request(route, bindings, request.query_params.multi_items(), body)
        except BadRequest as bad:
            return _error(grpc.StatusCode.INVALID_ARGUMENT, str(bad))
        client = request.client.host if request.client else ""
        metadata = request_metadata(request.headers, client)
        try:
            response, returned = await self._call(route, grpc_request, metadata)
        except grpc.aio.AioRpcError as failed:
            returned = [*(failed.initial_metadata() or ()), *(failed.trailing_metadata() or ())]
            code = failed.code()
            text = failed.details() or code.name
            return _json(
                http_status(code), error_body(code, text, returned), response_headers(returned)
            )
        headers = response_headers(returned)
        if etag_matches(request.headers.get("if-none-match"), headers.get("etag")):
            return Response(status_code=304, headers=headers)
        return _json(200, response_json(route, response), headers)

    async def health(self, request: Request) -> Response:
        """Overall serving status of the gRPC server (the same check Envoy's cluster runs)."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self.channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
        except grpc.aio.AioRpcError as failed:
            return _error(failed.code(), failed.details() or "")
        serving = reply.status == health_pb2.HealthCheckResponse.SERVING
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        return _json(200 if serving else 503, {"status": name}, {"cache-control": "no-store"})


def _static(path: Path, media_type: str) -> Any:
    """A small file read once at start, served as a cacheable document."""
    content = path.read_bytes()

    async def serve(request: Request) -> Response:
        headers = {"cache-control": "public, max-age=3600"}
        return Response(content, media_type=media_type, headers=headers)

    return serve


async def _unrouted(request: Request, exc: Exception) -> Response:
    """Paths no route can match (e.g. a control character in a segment) get the same JSON
    error body as every other failure, not the framework's plain-text page."""
    status = getattr(exc, "status_code", 404)
    code = grpc.StatusCode.NOT_FOUND if status == 404 else grpc.StatusCode.UNIMPLEMENTED
    return _json(status, error_body(code, getattr(exc, "detail", "") or code.name, ()), {})


def create_app(gateway: Gateway) -> Starlette:
    skill = _static(SKILL_PATH, "text/markdown; charset=utf-8")
    routes = [
        StarletteRoute("/skill.md", skill, methods=["GET", "HEAD"]),
        StarletteRoute(
            "/openapi.json", _static(OPENAPI_PATH, "application/json"), methods=["GET", "HEAD"]
        ),
        StarletteRoute("/healthz", gateway.health, methods=["GET"]),
        StarletteRoute(
            "/{path:path}",
            gateway.transcode,
            methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        ),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        allow_headers=[
            "authorization",
            "content-type",
            "x-api-key",
            "x-request-id",
            "if-none-match",
        ],
        expose_headers=CORS_EXPOSED,
        max_age=86400,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await gateway.close()

    return Starlette(
        routes=routes,
        middleware=[cors],
        lifespan=lifespan,
        exception_handlers={404: _unrouted, 405: _unrouted},
    )
