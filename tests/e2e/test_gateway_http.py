"""The HTTP edge itself: routing misses, CORS, health, skill.md, forwarded headers."""

from __future__ import annotations

import httpx


async def test_unknown_path_is_404_and_wrong_method_405(http: httpx.AsyncClient) -> None:
    missing = await http.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == 5
    wrong = await http.put("/v1/agents", json={})
    assert wrong.status_code == 405


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
    response = await http.get("/v1/capabilities", headers={"x-request-id": "req-gateway-1"})
    assert response.headers["x-request-id"] == "req-gateway-1"


async def test_openapi_document_is_served(http: httpx.AsyncClient) -> None:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


async def test_oversized_body_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/challenges", content=b"x" * ((1 << 20) + 1))
    assert response.status_code == 413
