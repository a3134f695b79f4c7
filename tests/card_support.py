"""A2A cards for tests: a sample card, JWS signing as an agent would do it, and a local
HTTP server (127.0.0.1 only) that serves cards by path."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import rfc8785
from agentregistry.v1 import agent_card_service_pb2_grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import struct_pb2


def sample_card(name: str, **fields: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "protocolVersion": "0.3.0",
        "name": name,
        "description": "Translates contracts and letters between English and Portuguese.",
        "url": "https://translator.example.com/a2a",
        "version": "2.1.0",
        "provider": {"organization": "Example Ltd", "url": "https://example.com"},
        "capabilities": {"streaming": True},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": "translation",
                "name": "Translate",
                "description": "English <-> Portuguese.",
                "tags": ["Legal Documents", "portuguese", "not a valid tag!"],
            },
            {"id": "proofread", "name": "Proofread", "tags": ["proofreading"]},
        ],
    }
    card.update(fields)
    return card


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(card: dict[str, Any], key: Ed25519PrivateKey, alg: str = "EdDSA") -> dict[str, Any]:
    """The card with one more JWS signature (detached payload over its JCS form)."""
    protected = _b64url(json.dumps({"alg": alg, "kid": "key-1"}).encode())
    payload = _b64url(rfc8785.dumps({k: v for k, v in card.items() if k != "signatures"}))
    signature = _b64url(key.sign(f"{protected}.{payload}".encode()))
    entry = {"protected": protected, "signature": signature}
    return {**card, "signatures": [*card.get("signatures", []), entry]}


@contextlib.asynccontextmanager
async def card_server(documents: dict[str, bytes]) -> AsyncIterator[str]:
    """Serves `documents` by path (404 otherwise); yields its base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        path = request_line.split(b" ")[1].decode() if request_line.count(b" ") >= 2 else "/"
        body = documents.get(path)
        status = b"200 OK" if body is not None else b"404 Not Found"
        body = body or b"{}"
        writer.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def cards_stub(channel: grpc.aio.Channel) -> agent_card_service_pb2_grpc.AgentCardServiceStub:
    return agent_card_service_pb2_grpc.AgentCardServiceStub(channel)


def card_struct(card: dict[str, Any]) -> struct_pb2.Struct:
    """A card as the Struct the card RPCs take (JSON in, JSON out)."""
    message = struct_pb2.Struct()
    message.update(card)
    return message
