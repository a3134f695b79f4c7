"""A unary beat and a stream opening check their session inside their one Redis script.

What that must keep: a session ended, or its agent's key rotated, or the agent deleted,
on one instance is refused on every other at the next call, and nothing is written for
it; the beat counts against the same budget as SetStatus, with the same headers and
RetryInfo; a session of another agent writes nothing; a bad credential is what the
caller hears even when the request is also invalid, and it costs the caller's address.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from agentregistry.v1 import (
    auth_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from agentregistry.v1 import presence_service_pb2 as pb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.rpc import error_details_pb2, status_pb2

from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.servers import Instance, instance
from tests.factories import AgentHandle, error_details, raw_public_key, register, rotate_message
from tests.presence_support import Beats


def _settings(backing: BackingServices, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "grpc_port": 0,
        "database_url": backing.database_url,
        "redis_url": backing.redis_url,
        "presence_namespace": f"presence-test-{uuid.uuid4().hex[:8]}",
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def _presence(server: Instance) -> presence_service_pb2_grpc.PresenceServiceStub:
    return presence_service_pb2_grpc.PresenceServiceStub(server.channel)


async def _beat(
    server: Instance, agent: AgentHandle, metadata: tuple[tuple[str, str], ...] | None = None
) -> dict[str, str]:
    call = _presence(server).SendHeartbeat(
        pb.SendHeartbeatRequest(name=agent.name, load=0.5),
        metadata=agent.metadata if metadata is None else metadata,
    )
    await call
    return {k: str(v) for k, v in await call.trailing_metadata()}


async def _refused_beat(
    server: Instance, agent: AgentHandle, metadata: tuple[tuple[str, str], ...] | None = None
) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _beat(server, agent, metadata)
    details = error_details(raised.value)
    return details.code, details.reason


async def _refused_open(server: Instance, agent: AgentHandle) -> tuple[grpc.StatusCode, str]:
    beats = Beats(_presence(server), agent.metadata)
    beats.send(1)  # at once, racing the refusal, as an agent's client does
    details = error_details(await beats.error())
    return details.code, details.reason


async def _last_seen(server: Instance, agent: AgentHandle) -> float | None:
    presence = await _presence(server).GetPresence(
        pb.GetPresenceRequest(name=f"{agent.name}/presence")
    )
    if not presence.HasField("last_seen_time"):
        return None
    return presence.last_seen_time.ToNanoseconds() / 1e9


@pytest.fixture
async def pair(backing: BackingServices) -> AsyncIterator[tuple[Instance, Instance]]:
    namespace = f"presence-test-{uuid.uuid4().hex[:8]}"
    async with (
        instance(_settings(backing, presence_namespace=namespace), backing) as a,
        instance(_settings(backing, presence_namespace=namespace), backing) as b,
    ):
        yield a, b


async def test_an_ended_session_beats_nowhere(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    await _beat(b, agent)
    seen = await _last_seen(b, agent)
    await a.auth.DeleteSession(auth_service_pb2.DeleteSessionRequest(), metadata=agent.metadata)
    assert await _refused_beat(b, agent) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")
    assert await _refused_open(b, agent) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")
    assert await _last_seen(a, agent) == seen  # nothing was written for the refused beat


async def test_a_rotated_key_or_a_deleted_agent_ends_beats_everywhere(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    rotated, deleted = [await register(a.registry, a.auth) for _ in range(2)]
    for agent in (rotated, deleted):
        await _beat(b, agent)
    new_key = Ed25519PrivateKey.generate()
    message = rotate_message(rotated.name, raw_public_key(rotated.key), raw_public_key(new_key))
    await a.registry.RotateAgentKey(
        registry_service_pb2.RotateAgentKeyRequest(
            name=rotated.name,
            new_public_key=raw_public_key(new_key),
            signature=rotated.key.sign(message),
            new_key_signature=new_key.sign(message),
        )
    )
    await a.registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=deleted.name), metadata=deleted.metadata
    )
    for agent in (rotated, deleted):
        assert await _refused_beat(b, agent) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "SESSION_INVALID",
        )
        assert await _refused_open(b, agent) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "SESSION_INVALID",
        )


async def test_another_agents_session_writes_nothing(pair: tuple[Instance, Instance]) -> None:
    a, _ = pair
    owner, other = await register(a.registry, a.auth), await register(a.registry, a.auth)
    assert await _refused_beat(a, owner, other.metadata) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_OWNER",
    )
    assert await _last_seen(a, owner) is None


async def test_a_bad_credential_is_heard_before_a_bad_request(
    pair: tuple[Instance, Instance],
) -> None:
    a, _ = pair
    agent = await register(a.registry, a.auth)
    bogus = (("authorization", "Bearer " + uuid.uuid4().hex),)
    bad_load = pb.SendHeartbeatRequest(name=agent.name, load=2.0)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _presence(a).SendHeartbeat(bad_load, metadata=bogus)
    assert error_details(raised.value).reason == "SESSION_INVALID"
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _presence(a).SendHeartbeat(bad_load, metadata=agent.metadata)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _presence(a).SendHeartbeat(pb.SendHeartbeatRequest(name="not-a-name"), metadata=bogus)
    assert error_details(raised.value).reason == "SESSION_INVALID"


def _retry_delay_s(error: grpc.aio.AioRpcError) -> float:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.ToNanoseconds() / 1e9
    raise AssertionError("no RetryInfo")


async def test_beats_opens_and_set_status_spend_one_budget(backing: BackingServices) -> None:
    budgets = {"agent.heartbeat": "4/minute", "verified.heartbeat": "40/minute"}
    settings = _settings(backing, rate_limit_enabled=True, rate_limits=json.dumps(budgets))
    async with instance(settings, backing) as server:
        agent = await register(server.registry, server.auth)
        first = await _beat(server, agent)
        assert (first["x-ratelimit-limit"], first["x-ratelimit-remaining"]) == ("4", "3")
        assert 0 < int(first["x-ratelimit-reset"]) <= 60
        await _presence(server).SetStatus(
            pb.SetStatusRequest(name=agent.name, status=resources_pb2.AGENT_STATUS_BUSY),
            metadata=agent.metadata,
        )
        stream = _presence(server).Heartbeat(metadata=agent.metadata)
        await stream.write(pb.HeartbeatRequest(sequence=1))
        assert (await stream.read()).ack.sequence == 1
        stream.cancel()
        last = await _beat(server, agent)
        assert last["x-ratelimit-remaining"] == "0"
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await _beat(server, agent)
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert 0 < _retry_delay_s(raised.value) <= 60
        assert (await _refused_open(server, agent))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_bad_sessions_on_beats_cost_the_callers_address(backing: BackingServices) -> None:
    budgets = {"anonymous.auth_failure": "2/minute"}
    settings = _settings(
        backing, rate_limit_enabled=True, rate_limits=json.dumps(budgets), trusted_proxy_hops=1
    )
    async with instance(settings, backing) as server:
        agent = await register(server.registry, server.auth)
        raw = uuid.uuid4().bytes
        behind_proxy = (("x-forwarded-for", f"10.{raw[0]}.{raw[1]}.{raw[2]}"),)
        bogus = (("authorization", "Bearer " + uuid.uuid4().hex), *behind_proxy)
        for _ in range(2):
            assert (await _refused_beat(server, agent, bogus))[1] == "SESSION_INVALID"
        assert await _refused_beat(server, agent, bogus) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "AUTH_FAILURES_RATE_LIMITED",
        )
        # The same address is refused before its (now valid) session is even looked at.
        assert await _refused_beat(server, agent, (*agent.metadata, *behind_proxy)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "AUTH_FAILURES_RATE_LIMITED",
        )
