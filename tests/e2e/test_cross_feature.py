"""Features meeting each other: events pushed down heartbeat streams; trust scores never
served stale from the read cache."""

from __future__ import annotations

import asyncio

from agentregistry.v1 import (
    attestation_service_pb2_grpc,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)

from tests.attestation_factories import attest, mark_verified, run_trust
from tests.attestation_factories import trust_context as trust_context
from tests.e2e.servers import instance
from tests.factories import register
from tests.presence_support import Beats, presence_settings


async def test_an_attestation_is_pushed_down_the_subjects_stream(backing) -> None:
    async with instance(presence_settings(backing), backing) as server:
        subject = await register(server.registry, server.auth)
        attester = await register(server.registry, server.auth)
        beats = Beats(
            presence_service_pb2_grpc.PresenceServiceStub(server.channel), subject.metadata
        )
        beats.send(1)
        assert (await beats.next()).HasField("ack")

        attestations = attestation_service_pb2_grpc.AttestationServiceStub(server.channel)
        created = await attest(attestations, attester, subject.name, behaviour=90)

        event = None
        for sequence in range(2, 40):  # keep beating while waiting, as a client would
            beats.send(sequence)
            message = await beats.next()
            if message.HasField("event"):
                event = message.event
                break
            await asyncio.sleep(0.05)
        beats.close()
        assert event is not None, "no event pushed"
        assert event.type == resources_pb2.EVENT_TYPE_ATTESTATION_RECEIVED
        assert event.agent == subject.name
        assert event.WhichOneof("payload") == "attestation_received"
        assert event.attestation_received.attestation == created.name
        assert event.attestation_received.attester == attester.name
        assert event.attestation_received.kind == resources_pb2.ATTESTATION_KIND_BEHAVIOUR


async def test_recomputed_trust_is_not_served_from_a_stale_cache(
    registry, auth, channel, trust_context
) -> None:
    seed = await register(registry, auth)
    subject = await register(registry, auth)
    await mark_verified(trust_context, seed)
    get = registry_service_pb2.GetAgentRequest(name=subject.name)
    before = await registry.GetAgent(get)
    await registry.GetAgent(get)  # cached now
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    await attest(attestations, seed, subject.name, behaviour=100)
    await run_trust(trust_context)
    after = await registry.GetAgent(get)
    assert after.trust_score > before.trust_score
