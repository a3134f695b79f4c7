"""The HTTP edge itself (Envoy): routing misses, its own errors as JSON, CORS, health,
skill.md and openapi.json, forwarded headers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import httpx
import pytest
from agentregistry.v1 import registry_service_pb2, registry_service_pb2_grpc

from server.app import RegistryServer
from tests.e2e.gateway_support import Edge, envoy_in_front, free_port
from tests.factories import error_details


def _is_status_json(response: httpx.Response, code: int) -> bool:
    body = response.json()
    return (
        response.headers["content-type"] == "application/json"
        and body["code"] == code
        and isinstance(body["message"], str)
        and body["details"] == []
    )


async def test_unknown_path_and_wrong_method_are_404_json(http: httpx.AsyncClient) -> None:
    missing = await http.get("/v2/nothing")
    assert missing.status_code == 404 and _is_status_json(missing, 5)
    # Envoy's transcoder has no 405: a method no rule maps is an unknown path.
    wrong = await http.put("/v1/agents", json={})
    assert wrong.status_code == 404 and _is_status_json(wrong, 5)


async def test_envoys_own_errors_are_google_rpc_status_json(http: httpx.AsyncClient) -> None:
    unknown_parameter = await http.get("/v1/agents", params={"colour": "blue"})
    assert unknown_parameter.status_code == 400 and _is_status_json(unknown_parameter, 3)
    bad_json = await http.post(
        "/v1/challenges", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400 and _is_status_json(bad_json, 3)


async def test_upstream_down_is_503_json() -> None:
    async with (
        envoy_in_front(free_port()) as edge,
        httpx.AsyncClient(base_url=edge.url, timeout=10.0) as client,
    ):
        response = await client.get("/v1/capabilities")
        assert response.status_code == 503 and _is_status_json(response, 14)
        health = await client.get("/healthz")
        assert health.status_code == 503 and health.json() == {"status": "NOT_SERVING"}


async def test_cors_preflight(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/v1/agents",
        headers={
            "origin": "https://example.org",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://example.org")
    simple = await http.get("/v1/capabilities", headers={"origin": "https://example.org"})
    assert "etag" in simple.headers["access-control-expose-headers"]
    assert simple.headers["access-control-allow-origin"] == "https://example.org"
    # The answer depends on Origin, and this one is cacheable: shared caches must key on it.
    assert simple.headers["cache-control"].startswith("public")
    assert "origin" in simple.headers["vary"].lower()
    assert "origin" in (await http.get("/v1/capabilities")).headers["vary"].lower()


async def test_healthz_reports_serving(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "SERVING"}


async def test_skill_md_is_served_and_cacheable(http: httpx.AsyncClient) -> None:
    response = await http.get("/skill.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert "public" in response.headers["cache-control"]
    assert "/v1/agents" in response.text and "curl" in response.text


async def test_request_id_round_trips(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/capabilities", headers={"x-request-id": "req-edge-1"})
    assert response.headers["x-request-id"] == "req-edge-1"
    # gRPC's own response fields stay on the gRPC side of the edge.
    assert not {"grpc-status", "grpc-message", "grpc-accept-encoding"} & set(response.headers)


async def test_openapi_document_is_served(http: httpx.AsyncClient) -> None:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["openapi"].startswith("3.")
    assert "/v1/agents" in response.json()["paths"]


async def test_oversized_body_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/challenges", json={"agent": "x" * (1 << 20)})
    assert response.status_code == 413 and _is_status_json(response, 8)


async def test_native_grpc_passes_through_the_same_listener(gateway: Edge) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        page = await registry.ListCapabilities(
            registry_service_pb2.ListCapabilitiesRequest(page_size=1)
        )
        assert len(page.capabilities) == 1
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await registry.GetAgent(
                registry_service_pb2.GetAgentRequest(name="agents/ag_doesnotexist0000")
            )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(missing.value).reason == "AGENT_NOT_FOUND"


def _access_lines(edge: Edge) -> list[dict[str, Any]]:
    assert edge.process.log_file is not None
    lines = edge.process.log_file.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_access_log_is_off_by_default_and_json_when_asked(
    registry_server: RegistryServer, gateway: Edge, http: httpx.AsyncClient
) -> None:
    """EDGE_ACCESS_LOG=errors: one JSON line, keyed like the service's own, per failed
    request (Envoy's own 404 and the server's NOT_FOUND alike), none for a success; the
    default edge writes none at all."""
    assert (await http.get("/v2/nothing")).status_code == 404
    async with (
        envoy_in_front(registry_server.port, access_log="errors") as edge,
        httpx.AsyncClient(base_url=edge.url, timeout=10.0) as client,
    ):
        assert (await client.get("/v1/capabilities")).status_code == 200
        assert (await client.get("/v2/nothing")).status_code == 404
        missing = await client.get("/v1/agents/ag_0000000000000000")
        assert missing.status_code == 404
        for _ in range(600):  # Envoy flushes its log about once a second
            if len(_access_lines(edge)) >= 2:
                break
            await asyncio.sleep(0.1)
        lines = _access_lines(edge)
    assert [line["status"] for line in lines] == [404, 404]
    assert {line["logger"] for line in lines} == {"agentregistry.edge.access"}
    assert lines[1]["request_id"] == missing.headers["x-request-id"]
    assert lines[1]["message"] == "GET /v1/agents/ag_0000000000000000 404"
    assert _access_lines(gateway) == []
