"""Test clients' side of the contract: keys, signed requests, sessions, error details.

Signed messages are built here from the byte layouts documented in the protos,
not from server code, so a server that drifts from its contract fails tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import grpc
from agentregistry.v1 import auth_service_pb2, registry_service_pb2, resources_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.rpc import error_details_pb2, status_pb2

_counter = itertools.count(1)


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def register_signature(key: Ed25519PrivateKey) -> bytes:
    return key.sign(b"agentregistry.v1.CreateAgent\n" + raw_public_key(key))


def rotate_message(name: str, current: bytes, new: bytes) -> bytes:
    return b"agentregistry.v1.RotateAgentKey\n" + name.encode() + b"\n" + current + new


def session_signature(key: Ed25519PrivateKey, nonce: bytes) -> bytes:
    return key.sign(b"agentregistry.v1.CreateSession\n" + nonce)


def profile(**fields: object) -> resources_pb2.Agent:
    values: dict[str, object] = {
        "display_name": f"Test Agent {next(_counter)}",
        "description": "An agent made by the test suite.",
        "type": resources_pb2.AGENT_TYPE_ASSISTANT,
        "endpoint_uri": "https://agent.example.com/rpc",
        "tags": ["test"],
        "protocols": ["grpc"],
    }
    values.update(fields)
    return resources_pb2.Agent(**values)  # type: ignore[arg-type]


def register_request(
    key: Ed25519PrivateKey | None = None, capabilities: list[str] | None = None, **fields: object
) -> registry_service_pb2.CreateAgentRequest:
    key = key or Ed25519PrivateKey.generate()
    return registry_service_pb2.CreateAgentRequest(
        agent=profile(**fields),
        public_key=raw_public_key(key),
        signature=register_signature(key),
        capabilities=capabilities or [],
    )


@dataclass
class AgentHandle:
    key: Ed25519PrivateKey
    agent: resources_pb2.Agent
    token: str = ""

    @property
    def name(self) -> str:
        return self.agent.name

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


async def login(auth: object, agent: AgentHandle) -> str:
    challenge = await auth.CreateChallenge(  # type: ignore[attr-defined]
        auth_service_pb2.CreateChallengeRequest(agent=agent.name)
    )
    session = await auth.CreateSession(  # type: ignore[attr-defined]
        auth_service_pb2.CreateSessionRequest(
            challenge_id=challenge.challenge_id,
            signature=session_signature(agent.key, challenge.nonce),
        )
    )
    agent.token = session.token
    return session.token


async def register(registry: object, auth: object | None = None, **fields: object) -> AgentHandle:
    key = Ed25519PrivateKey.generate()
    capabilities = fields.pop("capabilities", None)
    agent = await registry.CreateAgent(  # type: ignore[attr-defined]
        register_request(key, capabilities=capabilities, **fields)  # type: ignore[arg-type]
    )
    test_agent = AgentHandle(key, agent)
    if auth is not None:
        await login(auth, test_agent)
    return test_agent


@dataclass
class ErrorDetails:
    code: grpc.StatusCode
    reason: str
    fields: list[str]
    metadata: dict[str, str] = field(default_factory=dict)


def error_details(error: grpc.aio.AioRpcError) -> ErrorDetails:
    """Decode google.rpc.Status from the trailers: ErrorInfo (reason, metadata) and BadRequest
    fields."""
    reason, fields, metadata = "", [], {}
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)  # type: ignore[arg-type]
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Unpack(bad_request):
                fields = [v.field for v in bad_request.field_violations]
    return ErrorDetails(error.code(), reason, fields, metadata)
