"""A live heartbeat stream ends when the credential it was opened with stops being valid:
UNAUTHENTICATED with CREDENTIALS_REVOKED at once when its session is ended, the agent's key
rotated or its API key deleted (on another instance than the one holding the stream), and
with SESSION_EXPIRED (API_KEY_EXPIRED) when its session (API key) expires. Streams keep
beating meanwhile, as an agent's do, so only the credential can end them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
from agentregistry.v1 import auth_service_pb2, registry_service_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import timestamp_pb2

from tests.e2e.presence.test_presence_endings import (
    WAIT_S,
    Metadata,
    _ending,
    _presence,
    pair,
)
from tests.e2e.servers import Instance
from tests.factories import (
    AgentHandle,
    error_details,
    login,
    raw_public_key,
    register,
    rotate_message,
)
from tests.presence_support import INTERVAL_S, Beats

__all__ = ["pair"]  # the two instances, a module-scoped fixture

REVOKED = (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_REVOKED")
ROTATED = "the agent's key was rotated, which ended the session this stream was opened with"
KEY_DELETED = "the API key this stream was opened with was deleted"


@contextlib.asynccontextmanager
async def _beating(server: Instance, metadata: Metadata) -> AsyncIterator[Beats]:
    """A stream on `server`, acked once, that beats at the interval (as an agent does) until
    the test is done with it; bounded in count."""
    beats = Beats(_presence(server), metadata)
    beats.send(1)
    assert (await beats.next()).ack.sequence == 1

    async def beat() -> None:
        for sequence in range(2, 2 + int(4 * WAIT_S / INTERVAL_S)):
            await asyncio.sleep(INTERVAL_S)
            beats.send(sequence)

    task = asyncio.create_task(beat())
    try:
        yield beats
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        beats.close()


async def _ended(beats: Beats) -> tuple[grpc.StatusCode, str, str]:
    """The ending's code, reason and message (which says which revocation it was)."""
    error = await beats.error(within_s=WAIT_S)
    details = error_details(error)
    return details.code, details.reason, error.details() or ""


async def _api_key(server: Instance, agent: AgentHandle) -> auth_service_pb2.ApiKey:
    return await server.auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="beats")
        ),
        metadata=agent.metadata,
    )


async def _rotate(server: Instance, agent: AgentHandle) -> None:
    new_key = Ed25519PrivateKey.generate()
    message = rotate_message(agent.name, raw_public_key(agent.key), raw_public_key(new_key))
    await server.registry.RotateAgentKey(
        registry_service_pb2.RotateAgentKeyRequest(
            name=agent.name,
            new_public_key=raw_public_key(new_key),
            signature=agent.key.sign(message),
            new_key_signature=new_key.sign(message),
        )
    )
    agent.key = new_key  # the agent signs in with its new key from now on


async def test_signing_out_ends_the_sessions_stream_on_another_instance(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    async with _beating(b, agent.metadata) as beats:
        await a.auth.DeleteSession(auth_service_pb2.DeleteSessionRequest(), metadata=agent.metadata)
        assert await _ending(beats) == REVOKED


async def test_signing_out_another_session_leaves_the_stream_to_its_own(
    pair: tuple[Instance, Instance],
) -> None:
    """Only the stream's own session names it: another sign-out passes it by, and the
    rotation after it (notices arrive in order) is what ends it."""
    a, b = pair
    agent = await register(a.registry, a.auth)
    async with _beating(b, agent.metadata) as beats:
        await login(a.auth, agent)  # a second session of the same agent, then signed out
        await a.auth.DeleteSession(auth_service_pb2.DeleteSessionRequest(), metadata=agent.metadata)
        await _rotate(a, agent)
        assert await _ended(beats) == (*REVOKED, ROTATED)


async def test_rotating_the_key_ends_a_session_opened_stream_on_another_instance(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    async with _beating(b, agent.metadata) as beats:
        await _rotate(a, agent)
        assert await _ending(beats) == REVOKED


async def test_deleting_an_api_key_ends_the_stream_it_opened_on_another_instance(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    key = await _api_key(a, agent)
    async with _beating(b, (("x-api-key", key.key),)) as beats:
        await a.auth.DeleteApiKey(
            auth_service_pb2.DeleteApiKeyRequest(name=key.name), metadata=agent.metadata
        )
        assert await _ending(beats) == REVOKED


async def test_rotating_the_key_leaves_an_api_key_stream_to_the_keys_deletion(
    pair: tuple[Instance, Instance],
) -> None:
    """API keys outlive a rotation (they are revoked one by one), and so do their streams:
    the deletion after it is what ends the stream."""
    a, b = pair
    agent = await register(a.registry, a.auth)
    key = await _api_key(a, agent)
    async with _beating(b, (("x-api-key", key.key),)) as beats:
        await _rotate(a, agent)
        await login(a.auth, agent)  # the rotation ended the session that would delete the key
        await a.auth.DeleteApiKey(
            auth_service_pb2.DeleteApiKeyRequest(name=key.name), metadata=agent.metadata
        )
        assert await _ended(beats) == (*REVOKED, KEY_DELETED)


async def test_a_stream_ends_when_its_session_expires(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    # The session is made to expire soon (sessions last at least a minute otherwise).
    session_key = "auth:session:" + hashlib.sha256(agent.token.encode()).hexdigest()
    assert await a.app.redis.pexpire(session_key, 1500)
    async with _beating(b, agent.metadata) as beats:
        assert await _ending(beats) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_EXPIRED")


async def test_a_stream_ends_when_its_api_key_expires(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    expire_time = timestamp_pb2.Timestamp()
    expire_time.FromDatetime(datetime.now(UTC) + timedelta(seconds=3))
    key = await a.auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name,
            api_key=auth_service_pb2.ApiKey(display_name="brief", expire_time=expire_time),
        ),
        metadata=agent.metadata,
    )
    async with _beating(b, (("x-api-key", key.key),)) as beats:
        assert await _ending(beats) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_EXPIRED")
