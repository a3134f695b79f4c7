"""Fixtures for HTTP tests: the built-in gateway on a free port, and an HTTP client for it.

Imported by the gateway test modules (a conftest of our own would collide with
other suites' e2e fixtures).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.app import RegistryServer
from server.gateway.serve import RunningGateway, start_gateway
from tests.factories import raw_public_key, register_signature, session_signature


@pytest.fixture(scope="session")
async def gateway(registry_server: RegistryServer) -> AsyncIterator[RunningGateway]:
    running = await start_gateway("127.0.0.1", 0, f"127.0.0.1:{registry_server.port}")
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def http(gateway: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway.port}", timeout=10.0
    ) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def register_body(key: Ed25519PrivateKey, **agent: Any) -> dict[str, Any]:
    profile = {
        "displayName": "HTTP Agent",
        "type": "AGENT_TYPE_SERVICE",
        "description": "Registered through the JSON gateway.",
        "tags": ["http"],
    }
    profile.update(agent)
    return {
        "agent": profile,
        "publicKey": b64(raw_public_key(key)),
        "signature": b64(register_signature(key)),
    }


async def register_http(
    http: httpx.AsyncClient, login: bool = True, **agent: Any
) -> tuple[Ed25519PrivateKey, dict[str, Any], dict[str, str]]:
    """Register over HTTP (and log in): the key, the agent JSON, auth headers."""
    key = Ed25519PrivateKey.generate()
    created = await http.post("/v1/agents", json=register_body(key, **agent))
    assert created.status_code == 200, created.text
    agent_json = created.json()
    if not login:
        return key, agent_json, {}
    challenge = await http.post("/v1/challenges", json={"agent": agent_json["name"]})
    assert challenge.status_code == 200, challenge.text
    nonce = base64.b64decode(challenge.json()["nonce"])
    session = await http.post(
        "/v1/sessions",
        json={
            "challengeId": challenge.json()["challengeId"],
            "signature": b64(session_signature(key, nonce)),
        },
    )
    assert session.status_code == 200, session.text
    return key, agent_json, {"authorization": f"Bearer {session.json()['token']}"}
