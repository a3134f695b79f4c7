"""Credentials die at once on every instance, and bad ones cost the caller.

Two server instances share Postgres and Redis: a key or session used (and so
cached) on one stops working there the moment the other deletes the agent,
rotates its key or revokes the API key. Unknown keys are remembered briefly in
Redis; calls with bad credentials spend the caller address's budget.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from agentregistry.v1 import auth_service_pb2, registry_service_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.rpc import error_details_pb2, status_pb2
from redis.asyncio import Redis

from server.auth.api_keys import hash_secret
from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.servers import Instance, instance
from tests.factories import error_details, raw_public_key, register, rotate_message

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def _settings(backing: BackingServices, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "database_url": backing.database_url,
        "redis_url": backing.redis_url,
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def pair(backing: BackingServices) -> AsyncIterator[tuple[Instance, Instance]]:
    async with (
        instance(_settings(backing), backing) as a,
        instance(_settings(backing), backing) as b,
    ):
        yield a, b


async def _create_key(server: Instance, owner) -> auth_service_pb2.ApiKey:
    return await server.auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=owner.name, api_key=auth_service_pb2.ApiKey(display_name="ci")
        ),
        metadata=owner.metadata,
    )


async def _get(server: Instance, name: str, metadata: tuple[tuple[str, str], ...]):
    return await server.registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=name), metadata=metadata
    )


async def _refused(server: Instance, name: str, metadata: tuple[tuple[str, str], ...]) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _get(server, name, metadata)
    details = error_details(raised.value)
    assert details.code == UNAUTHENTICATED
    return details.reason


async def test_deleting_an_agent_ends_its_keys_and_sessions_everywhere(pair) -> None:
    a, b = pair
    owner = await register(a.registry, a.auth)
    key = await _create_key(a, owner)
    by_key = (("x-api-key", key.key),)
    # Used, and so cached, on both instances.
    for server in pair:
        await _get(server, owner.name, by_key)
        await _get(server, owner.name, owner.metadata)
    await a.registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=owner.name), metadata=owner.metadata
    )
    assert await _refused(b, owner.name, by_key) == "API_KEY_INVALID"
    assert await _refused(b, owner.name, owner.metadata) == "SESSION_INVALID"
    assert await _refused(a, owner.name, by_key) == "API_KEY_INVALID"


async def test_revoking_a_key_ends_it_on_every_instance(pair) -> None:
    a, b = pair
    owner = await register(a.registry, a.auth)
    key = await _create_key(a, owner)
    by_key = (("authorization", f"Bearer {key.key}"),)
    await _get(b, owner.name, by_key)
    await a.auth.DeleteApiKey(
        auth_service_pb2.DeleteApiKeyRequest(name=key.name), metadata=owner.metadata
    )
    assert await _refused(b, owner.name, by_key) == "API_KEY_INVALID"
    assert await _refused(a, owner.name, by_key) == "API_KEY_INVALID"


async def test_rotating_the_agent_key_ends_its_sessions_everywhere(pair) -> None:
    a, b = pair
    owner = await register(a.registry, a.auth)
    key = await _create_key(a, owner)
    await _get(b, owner.name, owner.metadata)
    new_key = Ed25519PrivateKey.generate()
    message = rotate_message(owner.name, raw_public_key(owner.key), raw_public_key(new_key))
    await a.registry.RotateAgentKey(
        registry_service_pb2.RotateAgentKeyRequest(
            name=owner.name,
            new_public_key=raw_public_key(new_key),
            signature=owner.key.sign(message),
            new_key_signature=new_key.sign(message),
        )
    )
    assert await _refused(b, owner.name, owner.metadata) == "SESSION_INVALID"
    # API keys are credentials of their own, revoked one by one: a rotation keeps them.
    await _get(b, owner.name, (("x-api-key", key.key),))


async def test_unknown_keys_are_remembered_and_new_keys_work_at_once(pair, backing) -> None:
    a, b = pair
    owner = await register(a.registry, a.auth)
    fake = "ak_" + uuid.uuid4().hex
    assert await _refused(a, owner.name, (("x-api-key", fake),)) == "API_KEY_INVALID"
    redis = Redis.from_url(backing.redis_url)
    try:
        assert await redis.get(f"auth:apikey:{hash_secret(fake).hex()}") == b"-"
        assert 0 < await redis.ttl(f"auth:apikey:{hash_secret(fake).hex()}") <= 30
    finally:
        await redis.aclose()
    assert await _refused(b, owner.name, (("x-api-key", fake),)) == "API_KEY_INVALID"
    key = await _create_key(a, owner)
    await _get(b, owner.name, (("x-api-key", key.key),))


def _retry_delay_s(error: grpc.aio.AioRpcError) -> float:
    for name, value in error.trailing_metadata() or ():
        if name == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
                retry = error_details_pb2.RetryInfo()
                if detail.Unpack(retry):
                    return retry.retry_delay.ToMilliseconds() / 1000
    return 0.0


async def test_bad_credentials_spend_the_address_budget(backing) -> None:
    limits = json.dumps({"anonymous.auth_failure": "3/minute", "anonymous.read": "1000/minute"})
    settings = _settings(backing, rate_limit_enabled=True, rate_limits=limits, trusted_proxy_hops=1)
    async with instance(settings, backing) as server, instance(settings, backing) as other:
        owner = await register(server.registry, server.auth)
        good_key = (await _create_key(server, owner)).key
        address = f"203.0.113.{uuid.uuid4().int % 250 + 1}, 127.0.0.1"
        client = (("x-forwarded-for", address),)
        for attempt in range(3):
            fake = (("x-api-key", f"ak_fake{attempt}{uuid.uuid4().hex}"), *client)
            assert await _refused(server, owner.name, fake) == "API_KEY_INVALID"
        for server_now, credentials in [
            (server, (("x-api-key", "ak_fake_again"), *client)),
            (server, (("x-api-key", good_key), *client)),  # the address is refused, not the key
            (other, (("authorization", "Bearer not-a-session"), *client)),  # shared budget
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await _get(server_now, owner.name, credentials)
            details = error_details(raised.value)
            assert (details.code, details.reason) == (
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "AUTH_FAILURES_RATE_LIMITED",
            )
            assert _retry_delay_s(raised.value) > 0
        # Anonymous reads and other addresses are not affected.
        await _get(server, owner.name, client)
        await _get(
            server, owner.name, (("x-api-key", good_key), ("x-forwarded-for", "198.51.100.7"))
        )
