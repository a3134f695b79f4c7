"""Envoy's mapping rules against an upstream that answers what a test asks for.

The real server does not produce every status on demand, so this upstream
serves two agentregistry.v1 methods generically: SearchAgents
records the request it got (query-parameter mapping onto nested and repeated
fields), SuggestAgents fails with the status named by its `prefix`, with
google.rpc details and response metadata (status → HTTP mapping, headers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from agentregistry.v1 import resources_pb2, search_service_pb2
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from tests.e2e.gateway_support import envoy_in_front

RECEIVED: list[search_service_pb2.SearchAgentsRequest] = []
METADATA: list[dict[str, Any]] = []

EXPECTED_HTTP = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "FAILED_PRECONDITION": 400,
    "RESOURCE_EXHAUSTED": 429,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


async def _search(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    RECEIVED.append(request)
    METADATA.append(dict(context.invocation_metadata() or ()))
    return search_service_pb2.SearchAgentsResponse(total_size_estimate=7)


async def _fail(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    name = request.prefix
    code = grpc.StatusCode[name]
    detail = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=3))
    status = status_pb2.Status(code=getattr(code_pb2, name), message=f"test {name}")
    status.details.add().Pack(detail)
    await context.send_initial_metadata((("x-ratelimit-remaining", "0"), ("retry-after", "3")))
    await context.abort(
        code, f"test {name}", (("grpc-status-details-bin", status.SerializeToString()),)
    )


@pytest.fixture(scope="module")
async def upstream_http() -> AsyncIterator[httpx.AsyncClient]:
    server = grpc.aio.server()
    handlers = {
        "SearchAgents": grpc.unary_unary_rpc_method_handler(
            _search,
            request_deserializer=search_service_pb2.SearchAgentsRequest.FromString,
            response_serializer=search_service_pb2.SearchAgentsResponse.SerializeToString,
        ),
        "SuggestAgents": grpc.unary_unary_rpc_method_handler(
            _fail,
            request_deserializer=search_service_pb2.SuggestAgentsRequest.FromString,
            response_serializer=search_service_pb2.SuggestAgentsResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("agentregistry.v1.SearchService", handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with (
        envoy_in_front(port) as edge,
        httpx.AsyncClient(base_url=edge.url, timeout=10.0) as client,
    ):
        yield client
    await server.stop(0)


@pytest.mark.parametrize("name", sorted(EXPECTED_HTTP))
async def test_grpc_status_maps_to_http(upstream_http: httpx.AsyncClient, name: str) -> None:
    response = await upstream_http.get("/v1/agents:suggest", params={"prefix": name})
    assert response.status_code == EXPECTED_HTTP[name]
    body = response.json()
    assert body["code"] == grpc.StatusCode[name].value[0]
    assert body["message"] == f"test {name}"
    assert body["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}
    ]


async def test_rate_limit_metadata_becomes_headers(upstream_http: httpx.AsyncClient) -> None:
    response = await upstream_http.get(
        "/v1/agents:suggest", params={"prefix": "RESOURCE_EXHAUSTED"}
    )
    assert response.status_code == 429
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["retry-after"] == "3"


async def test_query_parameters_fill_nested_repeated_enum_and_bool_fields(
    upstream_http: httpx.AsyncClient,
) -> None:
    RECEIVED.clear()
    response = await upstream_http.get(
        "/v1/agents:search",
        params=[
            ("query", "book flights"),
            ("filter.types", "AGENT_TYPE_TOOL"),
            ("filter.types", "AGENT_TYPE_SERVICE"),
            ("filter.capabilities", "capabilities/travel-booking"),
            ("filter.capability_match", "MATCH_ALL"),
            ("filter.minTrustScore", "12.5"),
            ("filter.verifiedOnly", "true"),
            ("pageSize", "5"),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [],
        "nextPageToken": "",
        "totalSizeEstimate": "7",
        "semanticUnavailable": False,
    }
    (request,) = RECEIVED
    assert request.query == "book flights" and request.page_size == 5
    assert list(request.filter.types) == [
        resources_pb2.AGENT_TYPE_TOOL,
        resources_pb2.AGENT_TYPE_SERVICE,
    ]
    assert list(request.filter.capabilities) == ["capabilities/travel-booking"]
    assert request.filter.capability_match == search_service_pb2.AgentFilter.MATCH_ALL
    assert request.filter.min_trust_score == 12.5 and request.filter.verified_only


@pytest.mark.parametrize(
    "params",
    [
        [("filter.colour", "red")],
        [("filter", "x")],
        [("filter.verifiedOnly", "maybe")],
        [("filter.types", "AGENT_TYPE_NONSENSE")],
    ],
)
async def test_bad_query_parameters_are_400(
    upstream_http: httpx.AsyncClient, params: list[tuple[str, str]]
) -> None:
    RECEIVED.clear()
    response = await upstream_http.get("/v1/agents:search", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 3
    assert not RECEIVED


async def test_unserved_service_is_501(upstream_http: httpx.AsyncClient) -> None:
    response = await upstream_http.get("/v1/leaderboard")  # ReputationService: not served
    assert response.status_code == 501


async def test_headers_are_forwarded_as_metadata(upstream_http: httpx.AsyncClient) -> None:
    METADATA.clear()
    # From 127.0.0.2: Envoy appends a loopback peer 127.0.0.1 as its own host address instead.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=upstream_http.base_url, transport=transport) as client:
        response = await client.get(
            "/v1/agents:search",
            headers={
                "authorization": "Bearer abc",
                "x-api-key": "key-1",
                "x-request-id": "req-1",
                "x-forwarded-for": "203.0.113.9",
                "cookie": "secret=1",
            },
        )
    assert response.status_code == 200
    (metadata,) = METADATA
    assert metadata["authorization"] == "Bearer abc"
    assert metadata["x-api-key"] == "key-1" and metadata["x-request-id"] == "req-1"
    # Envoy is one proxy hop: it appends the peer it saw (and marks the call as HTTP).
    assert metadata["x-forwarded-for"] == "203.0.113.9,127.0.0.2"
    assert metadata["x-registry-edge"] == "http"
    assert "cookie" not in metadata


async def test_error_responses_carry_no_grpc_fields(upstream_http: httpx.AsyncClient) -> None:
    response = await upstream_http.get("/v1/agents:suggest", params={"prefix": "NOT_FOUND"})
    assert response.status_code == 404
    assert not {"grpc-status", "grpc-message", "grpc-accept-encoding"} & set(response.headers)


async def test_a_client_cannot_choose_its_edge_marker(upstream_http: httpx.AsyncClient) -> None:
    """HTTP calls are always marked; native gRPC calls never are, whatever the client sent."""
    METADATA.clear()
    response = await upstream_http.get("/v1/agents:search", headers={"x-registry-edge": "grpc"})
    assert response.status_code == 200
    port = upstream_http.base_url.port
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        search = channel.unary_unary(
            "/agentregistry.v1.SearchService/SearchAgents",
            request_serializer=search_service_pb2.SearchAgentsRequest.SerializeToString,
            response_deserializer=search_service_pb2.SearchAgentsResponse.FromString,
        )
        answer = await search(
            search_service_pb2.SearchAgentsRequest(query="x"),
            metadata=(("x-registry-edge", "http"),),
        )
    assert answer.total_size_estimate == 7
    http_call, grpc_call = METADATA
    assert http_call["x-registry-edge"] == "http"
    assert "x-registry-edge" not in grpc_call


@pytest.mark.parametrize("headers", [{"content-type": "application/json"}, {}])
async def test_a_declared_oversized_body_is_413_before_it_is_forwarded(
    upstream_http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    RECEIVED.clear()
    body = b'{"query": "' + b"x" * (1 << 20) + b'"}'
    response = await upstream_http.request(
        "GET", "/v1/agents:search", content=body, headers=headers
    )
    assert response.status_code == 413
    assert response.json()["code"] == 8
    assert not RECEIVED
