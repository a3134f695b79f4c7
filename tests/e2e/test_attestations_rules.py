"""Every CreateAttestation rule through a real channel, with its exact status and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc

from tests.attestation_factories import attestation, in_minutes
from tests.factories import AgentHandle, error_details, register


@pytest.fixture(scope="module")
def attestations(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.AttestationServiceStub:
    return attestation_service_pb2_grpc.AttestationServiceStub(channel)


@pytest.fixture(scope="module")
async def pair(registry, auth) -> tuple[AgentHandle, AgentHandle]:
    attester = await register(registry, auth, capabilities=["capabilities/translation"])
    subject = await register(registry, auth, capabilities=["capabilities/translation"])
    return attester, subject


async def _create_error(attestations, message, metadata) -> tuple[grpc.StatusCode, str, list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await attestations.CreateAttestation(
            pb.CreateAttestationRequest(attestation=message), metadata=metadata
        )
    details = error_details(caught.value)
    return details.code, details.reason, details.fields


async def test_a_valid_claim_is_accepted(attestations, pair) -> None:
    attester, subject = pair
    created = await attestations.CreateAttestation(
        pb.CreateAttestationRequest(attestation=attestation(attester, subject.name, behaviour=90)),
        metadata=attester.metadata,
    )
    assert created.attester == attester.name and created.subject == subject.name
    assert created.behaviour.score == 90 and created.name.startswith("attestations/at_")


async def test_anonymous_caller_is_unauthenticated(attestations, pair) -> None:
    attester, subject = pair
    code, reason, _ = await _create_error(
        attestations, attestation(attester, subject.name, behaviour=50), ()
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REQUIRED")


async def test_caller_must_be_the_signer(attestations, pair, registry, auth) -> None:
    """A session of one agent cannot submit another agent's signed claim as its own."""
    attester, subject = pair
    other = await register(registry, auth)
    code, reason, fields = await _create_error(
        attestations, attestation(attester, subject.name, behaviour=50), other.metadata
    )
    assert (code, reason, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SIGNATURE_INVALID",
        ["attestation.signature"],
    )


async def test_self_attestation_is_rejected(attestations, pair) -> None:
    attester, _ = pair
    code, reason, fields = await _create_error(
        attestations, attestation(attester, attester.name, behaviour=100), attester.metadata
    )
    assert (code, reason, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SELF_ATTESTATION",
        ["attestation.subject"],
    )


async def test_unknown_subject_is_not_found(attestations, pair) -> None:
    attester, _ = pair
    code, reason, _ = await _create_error(
        attestations,
        attestation(attester, "agents/ag_0000000000000000", behaviour=50),
        attester.metadata,
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "AGENT_NOT_FOUND")


async def test_unknown_capability_is_not_found(attestations, pair) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, capability=("capabilities/no-such-thing", True))
    code, reason, _ = await _create_error(attestations, message, attester.metadata)
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "CAPABILITY_NOT_FOUND")


@pytest.mark.parametrize("score", [-1, 101])
async def test_behaviour_score_outside_0_100_is_invalid(attestations, pair, score) -> None:
    attester, subject = pair
    code, _, fields = await _create_error(
        attestations, attestation(attester, subject.name, behaviour=score), attester.metadata
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.behaviour.score"])


@pytest.mark.parametrize("value", ["", "x" * 257, "example.com\nagents/ag_x"])
async def test_identity_value_rules(attestations, pair, value) -> None:
    attester, subject = pair
    code, _, fields = await _create_error(
        attestations, attestation(attester, subject.name, identity=value), attester.metadata
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.identity.value"])


async def test_missing_claim_is_invalid(attestations, pair) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, behaviour=50)
    message.ClearField("behaviour")
    code, _, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.claim"])


@pytest.mark.parametrize("shift", [timedelta(minutes=-10), timedelta(minutes=10)])
async def test_issue_time_outside_the_skew_window_is_invalid(attestations, pair, shift) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, behaviour=50, issued=datetime.now(UTC) + shift)
    code, _, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.issue_time"])


async def test_expire_time_must_follow_issue_time(attestations, pair) -> None:
    attester, subject = pair
    issued = datetime.now(UTC)
    message = attestation(
        attester, subject.name, behaviour=50, issued=issued, expires=issued - timedelta(minutes=1)
    )
    code, _, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.expire_time"])


async def test_tampered_claim_fails_signature_check(attestations, pair) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, behaviour=10)
    message.behaviour.score = 100  # signed 10, sent 100
    code, reason, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, reason, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SIGNATURE_INVALID",
        ["attestation.signature"],
    )


async def test_tampered_expiry_fails_signature_check(attestations, pair) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, behaviour=80, expires=in_minutes(10))
    message.ClearField("expire_time")  # try to make a short-lived claim permanent
    code, reason, _ = await _create_error(attestations, message, attester.metadata)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SIGNATURE_INVALID")


async def test_short_signature_is_invalid(attestations, pair) -> None:
    attester, subject = pair
    message = attestation(attester, subject.name, behaviour=80)
    message.signature = message.signature[:10]
    code, _, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.signature"])


async def test_malformed_subject_name_is_invalid(attestations, pair) -> None:
    attester, _ = pair
    message = attestation(attester, "robots/1", behaviour=80)
    code, _, fields = await _create_error(attestations, message, attester.metadata)
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attestation.subject"])
