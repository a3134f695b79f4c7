"""The client's Presence helper against real servers: intervals, pushed events, endings,
and a server restart that it survives."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from agentregistry_client import AgentKey, Claim, PresenceEnded, RegistryClient
from agentregistry_client.pb import resources

from server.backing import BackingServices
from server.presence import runtime
from tests.e2e.servers import instance
from tests.presence_support import INTERVAL_S, TTL_S, PresenceClient, presence_settings


@pytest.fixture
async def client(presence_client: PresenceClient) -> AsyncIterator[RegistryClient]:
    async with RegistryClient(
        f"127.0.0.1:{presence_client.app.port}", key=AgentKey.generate()
    ) as c:
        await c.register(f"Present {uuid.uuid4().hex[:8]}")
        yield c


async def test_presence_beats_at_the_announced_interval_past_the_ttl(
    client: RegistryClient,
) -> None:
    async with client.presence() as presence:
        assert (presence.interval_s, presence.ttl_s) == (INTERVAL_S, TTL_S)
        await asyncio.sleep(TTL_S * 2)  # silent for a TTL, the server would end the stream
        assert presence.connections == 1 and presence.connected
        assert presence.last_ack is not None and presence.last_ack.sequence > 3
        seen = await client.get_presence()
        assert seen.streaming and seen.status == resources.AGENT_STATUS_ONLINE
        presence.update(status="busy", load=0.5)
        for _ in range(50):
            seen = await client.get_presence()
            if seen.status == resources.AGENT_STATUS_BUSY:
                break
            await asyncio.sleep(0.05)
        assert seen.status == resources.AGENT_STATUS_BUSY and seen.load == 0.5
    # Leaving the block says goodbye: offline at once, not after the TTL.
    assert presence.last_ack is not None
    assert presence.last_ack.status == resources.AGENT_STATUS_OFFLINE
    for _ in range(10):  # well within the TTL, after which silence alone would say offline
        seen = await client.get_presence()
        if seen.status == resources.AGENT_STATUS_OFFLINE:
            break
        await asyncio.sleep(0.03)
    assert seen.status == resources.AGENT_STATUS_OFFLINE and not seen.streaming


async def test_pushed_events_arrive_and_timed_out_reads_leave_the_stream_alone(
    client: RegistryClient, presence_client: PresenceClient
) -> None:
    target = f"127.0.0.1:{presence_client.app.port}"
    async with (
        client.presence() as presence,
        RegistryClient(target, key=AgentKey.generate()) as attester,
    ):
        events = presence.events()
        for _ in range(3):  # waiting with a timeout cancels the wait, never the stream
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(anext(events), INTERVAL_S)
        await attester.register(f"Attester {uuid.uuid4().hex[:8]}")
        await attester.attest(client.agent, Claim.for_behaviour(90))
        event = await asyncio.wait_for(anext(events), 10)
        assert (event.type, event.agent) == (
            resources.EVENT_TYPE_ATTESTATION_RECEIVED,
            client.agent,
        )
        assert presence.connections == 1


async def test_a_newer_stream_of_the_agent_ends_the_older_for_good(
    client: RegistryClient, presence_client: PresenceClient
) -> None:
    target = f"127.0.0.1:{presence_client.app.port}"
    older = client.presence(offline_on_exit=False)
    async with older, RegistryClient(target, key=client.key) as twin, twin.presence():
        with pytest.raises(PresenceEnded) as ended:
            await asyncio.wait_for(older.wait(), 10)
        assert (ended.value.code, ended.value.reason) == (
            grpc.StatusCode.ABORTED,
            "STREAM_SUPERSEDED",
        )
        assert not older.connected


async def test_deleting_the_agent_ends_presence_and_its_events(client: RegistryClient) -> None:
    async with client.presence() as presence:
        await client.delete_agent()
        with pytest.raises(PresenceEnded) as ended:
            async for _ in presence.events():
                pass
        assert ended.value.reason == "AGENT_DELETED"


async def test_signing_out_ends_the_stream_and_the_client_signs_in_again_and_reopens(
    client: RegistryClient,
) -> None:
    """The stream ends UNAUTHENTICATED (CREDENTIALS_REVOKED) as the session it was opened
    with is ended; the client logs in again and holds presence on a new stream."""
    async with client.presence() as presence:
        await presence.wait_connected(10)
        await client.logout()
        for _ in range(200):
            if presence.connections >= 2 and presence.connected:
                break
            await asyncio.sleep(0.05)
        assert presence.connections == 2 and presence.connected
        assert presence.error is None
        assert (await client.get_presence()).streaming


async def test_an_expiring_session_ends_the_stream_and_the_renewed_one_reopens_it(
    client: RegistryClient, presence_client: PresenceClient
) -> None:
    """The stream ends UNAUTHENTICATED (SESSION_EXPIRED) as the session it was opened with
    expires; a session renewed meanwhile reopens it, without another login."""
    opened_with = await client.login()
    # The stream's session is made to expire soon (sessions last a minute at least); the
    # stream opens well before, and learns its expiry as it opens.
    digest = hashlib.sha256(opened_with.token.encode()).hexdigest()
    assert await presence_client.app.redis.pexpire(f"auth:session:{digest}", 3000)
    async with client.presence() as presence:
        await presence.wait_connected(10)
        renewed = await client.login()  # as the client renews before a session expires
        for _ in range(400):
            if presence.connections >= 2 and presence.connected:
                break
            await asyncio.sleep(0.05)
        assert presence.connections == 2 and presence.connected
        session = client.credentials.session
        assert session is not None and session.token == renewed.token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_presence_survives_a_restart_and_a_server_that_vanishes(
    backing: BackingServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "RECONNECT_SPREAD_S", 1.0)  # the Reconnect push says 1 s
    settings = presence_settings(backing, grpc_port=_free_port(), presence_namespace="presence")
    target = f"127.0.0.1:{settings.grpc_port}"
    key = AgentKey.generate()
    async with RegistryClient(target, key=key) as client:
        async with instance(settings, backing) as first:
            await client.register(f"Restarted {uuid.uuid4().hex[:8]}")
            presence = client.presence(reconnect_jitter_s=0.2, backoff_base_s=0.1)
            await presence.__aenter__()
            assert presence.connections == 1
            await first.app.stop(1)  # drains: a Reconnect push, then UNAVAILABLE
        assert presence.last_reconnect is not None
        assert presence.last_reconnect.retry_after.ToTimedelta().total_seconds() == 1.0
        async with instance(settings, backing) as second:
            await presence.wait_connected(15)
            assert presence.connections == 2 and presence.error is None
            for _ in range(50):  # the ack goes out once the beat is queued, not written
                seen = await client.get_presence()
                if seen.status == resources.AGENT_STATUS_ONLINE:
                    break
                await asyncio.sleep(0.05)
            assert seen.streaming and seen.status == resources.AGENT_STATUS_ONLINE
            await second.app.server.stop(0)  # gone without a word: backoff and retry
        async with instance(settings, backing):
            for _ in range(150):
                if presence.connections == 3 and presence.connected:
                    break
                await asyncio.sleep(0.1)
            assert presence.connections == 3 and presence.error is None
            await presence.stop()
