"""Reading, listing, replacing, revoking and expiring attestations through a real channel."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, resources_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from db.repositories.events import EventRepository
from tests.attestation_factories import (
    attest,
    canonical,
    run_trust_job,
    trust_context,  # noqa: F401 - fixture
)
from tests.factories import error_details, register

ACTIVE = resources_pb2.Attestation.STATE_ACTIVE


@pytest.fixture(scope="module")
def attestations(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.AttestationServiceStub:
    return attestation_service_pb2_grpc.AttestationServiceStub(channel)


async def test_get_returns_what_was_created_and_verifies_offline(
    attestations, registry, auth
) -> None:
    attester = await register(registry, auth)
    subject = await register(registry, auth)
    created = await attest(attestations, attester, subject.name, identity="example.com")
    fetched = await attestations.GetAttestation(pb.GetAttestationRequest(name=created.name))
    assert fetched == created and fetched.state == ACTIVE

    # Anyone can check it with the attester's public key and the documented encoding.
    payload = canonical(
        fetched.attester,
        fetched.subject,
        "identity",
        fetched.identity.value,
        fetched.issue_time.ToDatetime(UTC),
        None,
    )
    Ed25519PublicKey.from_public_bytes(attester.agent.public_key).verify(fetched.signature, payload)


async def test_get_unknown_is_not_found(attestations) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.GetAttestation(
            pb.GetAttestationRequest(name="attestations/at_0000000000000000")
        )
    assert error_details(caught.value).code == grpc.StatusCode.NOT_FOUND


async def test_newer_claim_replaces_the_active_one(attestations, registry, auth) -> None:
    attester = await register(registry, auth)
    subject = await register(registry, auth)
    first = await attest(attestations, attester, subject.name, behaviour=40)
    second = await attest(attestations, attester, subject.name, behaviour=90)
    # A different kind is a different key: it does not replace the behaviour claim.
    other_kind = await attest(attestations, attester, subject.name, identity="acme.example")

    old = await attestations.GetAttestation(pb.GetAttestationRequest(name=first.name))
    assert old.state == resources_pb2.Attestation.STATE_REPLACED and old.HasField("end_time")
    active = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=subject.name))
    assert [a.name for a in active.attestations] == [other_kind.name, second.name]
    everything = await attestations.ListAttestations(
        pb.ListAttestationsRequest(subject=subject.name, include_inactive=True)
    )
    assert [a.name for a in everything.attestations] == [other_kind.name, second.name, first.name]


async def test_capability_claims_replace_per_capability(attestations, registry, auth) -> None:
    attester = await register(registry, auth)
    subject = await register(registry, auth)
    translation = await attest(
        attestations, attester, subject.name, capability=("capabilities/translation", True)
    )
    await attest(
        attestations, attester, subject.name, capability=("capabilities/code-generation", True)
    )
    await attest(
        attestations, attester, subject.name, capability=("capabilities/translation", False)
    )
    old = await attestations.GetAttestation(pb.GetAttestationRequest(name=translation.name))
    assert old.state == resources_pb2.Attestation.STATE_REPLACED
    active = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=subject.name))
    claims = sorted((a.capability.capability, a.capability.value) for a in active.attestations)
    assert claims == [("capabilities/code-generation", True), ("capabilities/translation", False)]


async def test_list_pages_by_attester_newest_first(attestations, registry, auth) -> None:
    attester = await register(registry, auth)
    subjects = [await register(registry) for _ in range(5)]
    made = [await attest(attestations, attester, s.name, behaviour=70) for s in subjects]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await attestations.ListAttestations(
            pb.ListAttestationsRequest(attester=attester.name, page_size=2, page_token=token)
        )
        seen += [a.name for a in page.attestations]
        token = page.next_page_token
        if not token:
            break
    assert seen == [a.name for a in reversed(made)]


async def test_list_needs_exactly_one_filter(attestations) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.ListAttestations(pb.ListAttestationsRequest())
    assert error_details(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT


async def test_revoke_is_for_the_attester_only_and_once(attestations, registry, auth) -> None:
    attester = await register(registry, auth)
    subject = await register(registry, auth)
    created = await attest(attestations, attester, subject.name, behaviour=80)
    request = pb.RevokeAttestationRequest(name=created.name)

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.RevokeAttestation(request, metadata=subject.metadata)
    assert (error_details(caught.value).code, error_details(caught.value).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_ATTESTER",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.RevokeAttestation(request)
    assert error_details(caught.value).code == grpc.StatusCode.UNAUTHENTICATED

    revoked = await attestations.RevokeAttestation(request, metadata=attester.metadata)
    assert revoked.state == resources_pb2.Attestation.STATE_REVOKED and revoked.HasField("end_time")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.RevokeAttestation(request, metadata=attester.metadata)
    assert (error_details(caught.value).code, error_details(caught.value).reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ATTESTATION_NOT_ACTIVE",
    )
    active = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=subject.name))
    assert list(active.attestations) == []


async def test_replaced_claim_cannot_be_revoked(attestations, registry, auth) -> None:
    attester = await register(registry, auth)
    subject = await register(registry)
    first = await attest(attestations, attester, subject.name, behaviour=10)
    await attest(attestations, attester, subject.name, behaviour=20)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.RevokeAttestation(
            pb.RevokeAttestationRequest(name=first.name), metadata=attester.metadata
        )
    assert error_details(caught.value).code == grpc.StatusCode.FAILED_PRECONDITION


async def test_expired_claims_stop_counting(
    attestations,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    """Reads judge expiry by the clock before any job runs (tests/service, with a clock
    that moves); here the job records it, run with its clock past the expiry."""
    attester = await register(registry, auth)
    subject = await register(registry)
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    expires = datetime.now(UTC) + timedelta(seconds=2)
    created = await attest(
        attestations, attester, subject.name, behaviour=90, issued=issued, expires=expires
    )
    assert created.state == ACTIVE
    past_expiry = created.expire_time.ToDatetime(UTC) + timedelta(seconds=1)
    figures = await run_trust_job(dataclasses.replace(trust_context, clock=lambda: past_expiry))
    assert figures.get("expired", 0) >= 1
    # ... so the claim leaves the trust graph for good, and every read says so.
    again = await attestations.GetAttestation(pb.GetAttestationRequest(name=created.name))
    assert again.state == resources_pb2.Attestation.STATE_EXPIRED
    assert again.end_time == created.expire_time
    active = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=subject.name))
    assert list(active.attestations) == []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.RevokeAttestation(
            pb.RevokeAttestationRequest(name=created.name), metadata=attester.metadata
        )
    assert error_details(caught.value).code == grpc.StatusCode.FAILED_PRECONDITION


async def test_events_are_written_for_the_subject(
    attestations,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    attester = await register(registry, auth)
    subject = await register(registry)
    created = await attest(attestations, attester, subject.name, behaviour=75)
    await attestations.RevokeAttestation(
        pb.RevokeAttestationRequest(name=created.name), metadata=attester.metadata
    )
    async with trust_context.uow() as uow:
        events = await EventRepository(uow.session).list_after(
            0, 100, agent_id=subject.name.removeprefix("agents/")
        )
    kinds = [(e.event_type, e.data.get("attestation")) for e in events]
    assert ("ATTESTATION_RECEIVED", created.name) in kinds
    assert ("ATTESTATION_REVOKED", created.name) in kinds
