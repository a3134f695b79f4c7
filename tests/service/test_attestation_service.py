"""Attestation rules: who may attest what, replacement, revocation, and expiry by the clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.domain.attestations import (
    AttestationDraft,
    AttestationState,
    Claim,
    ClaimKind,
)
from server.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from server.domain.names import agent_name
from tests.attestation_factories import canonical, whole_seconds
from tests.service.conftest import World, caller


def draft(
    key: Ed25519PrivateKey,
    attester_id: str,
    subject_id: str,
    issued: datetime,
    *,
    score: int = 80,
    expires: datetime | None = None,
) -> AttestationDraft:
    issued, expires = whole_seconds(issued), expires and whole_seconds(expires)
    payload = canonical(
        agent_name(attester_id), agent_name(subject_id), "behaviour", str(score), issued, expires
    )
    return AttestationDraft(
        subject_id=subject_id,
        claim=Claim(kind=ClaimKind.BEHAVIOUR, behaviour_score=score),
        issued_at=issued,
        expires_at=expires,
        signature=key.sign(payload),
    )


async def _pair(world: World) -> tuple[str, Ed25519PrivateKey, str]:
    attester, key = await world.register()
    subject, _ = await world.register()
    return attester.agent_id, key, subject.agent_id


async def test_a_signed_claim_is_stored_and_the_trust_job_told(world: World) -> None:
    attester, key, subject = await _pair(world)
    created = await world.attestations.create(
        caller(attester), draft(key, attester, subject, world.clock())
    )
    assert created.state is AttestationState.ACTIVE
    assert world.signal.dirty
    assert world.db.tables.events[-1].event_type == "ATTESTATION_RECEIVED"
    assert (await world.attestations.get(created.attestation_id)) == created


async def test_a_second_claim_replaces_the_first(world: World) -> None:
    attester, key, subject = await _pair(world)
    who = caller(attester)
    first = await world.attestations.create(who, draft(key, attester, subject, world.clock()))
    second = await world.attestations.create(
        who, draft(key, attester, subject, world.clock(), score=20)
    )
    with pytest.raises(FailedPrecondition):
        await world.attestations.revoke(who, first.attestation_id)
    assert world.db.tables.attestations[first.attestation_id].state is AttestationState.REPLACED
    assert world.db.tables.events[-1].data["replaced"] == f"attestations/{first.attestation_id}"
    listed, _ = await world.attestations.list(subject, None, False, 10, "")
    assert [a.attestation_id for a in listed] == [second.attestation_id]


async def test_rules_that_need_no_database_are_reported_together(world: World) -> None:
    attester, key, _ = await _pair(world)
    stale = world.clock() - timedelta(hours=1)
    bad = draft(key, attester, attester, stale, score=101)
    with pytest.raises(InvalidArgument) as caught:
        await world.attestations.create(caller(attester), bad)
    fields = {v.field for v in caught.value.violations}
    assert fields == {
        "attestation.subject",
        "attestation.behaviour.score",
        "attestation.issue_time",
    }
    assert world.db.tables.attestations == {}


async def test_claims_need_a_session_a_subject_and_the_attesters_signature(world: World) -> None:
    attester, key, subject = await _pair(world)
    with pytest.raises(Unauthenticated):
        await world.attestations.create(None, draft(key, attester, subject, world.clock()))
    who = caller(attester)
    with pytest.raises(NotFound):
        await world.attestations.create(who, draft(key, attester, "ag_missing", world.clock()))
    forged = draft(Ed25519PrivateKey.generate(), attester, subject, world.clock())
    with pytest.raises(InvalidArgument):
        await world.attestations.create(who, forged)
    assert world.db.tables.attestations == {} and not world.signal.dirty


async def test_only_the_attester_revokes_and_only_once(world: World) -> None:
    attester, key, subject = await _pair(world)
    who = caller(attester)
    created = await world.attestations.create(who, draft(key, attester, subject, world.clock()))
    world.signal.dirty = False
    with pytest.raises(PermissionDenied):
        await world.attestations.revoke(caller(subject), created.attestation_id)
    revoked = await world.attestations.revoke(who, created.attestation_id)
    assert revoked.state is AttestationState.REVOKED
    with pytest.raises(FailedPrecondition):
        await world.attestations.revoke(who, created.attestation_id)
    with pytest.raises(NotFound):
        await world.attestations.revoke(who, "at_missing")
    assert world.signal.dirty


async def test_a_claim_past_its_expiry_reads_as_expired_before_any_job(world: World) -> None:
    """Expiry is judged by the service's clock, so moving it replaces waiting for it."""
    attester, key, subject = await _pair(world)
    issued = world.clock() - timedelta(seconds=60)
    expiring = draft(key, attester, subject, issued, expires=world.clock() + timedelta(seconds=2))
    created = await world.attestations.create(caller(attester), expiring)
    listed, _ = await world.attestations.list(subject, None, False, 10, "")
    assert [a.attestation_id for a in listed] == [created.attestation_id]
    world.clock.advance(3)
    fetched = await world.attestations.get(created.attestation_id)
    assert fetched.state_at(world.clock()) is AttestationState.EXPIRED
    assert (await world.attestations.list(subject, None, False, 10, ""))[0] == []
    everything, _ = await world.attestations.list(subject, None, True, 10, "")
    assert [a.attestation_id for a in everything] == [created.attestation_id]
    with pytest.raises(FailedPrecondition):
        await world.attestations.revoke(caller(attester), created.attestation_id)


async def test_an_expiry_in_the_past_is_refused(world: World) -> None:
    attester, key, subject = await _pair(world)
    issued = world.clock() - timedelta(seconds=60)
    late = draft(key, attester, subject, issued, expires=world.clock() - timedelta(seconds=1))
    with pytest.raises(InvalidArgument) as caught:
        await world.attestations.create(caller(attester), late)
    assert [v.field for v in caught.value.violations] == ["attestation.expire_time"]


async def test_listing_needs_exactly_one_of_subject_and_attester(world: World) -> None:
    with pytest.raises(InvalidArgument):
        await world.attestations.list(None, None, False, 10, "")
    with pytest.raises(InvalidArgument):
        await world.attestations.list("ag_a", "ag_b", False, 10, "")


async def test_listing_pages_newest_first(world: World) -> None:
    subject, _ = await world.register()
    made = []
    for _ in range(4):
        attester, key = await world.register()
        claim = draft(key, attester.agent_id, subject.agent_id, world.clock())
        created = await world.attestations.create(caller(attester.agent_id), claim)
        made.append(created.attestation_id)
        world.clock.advance(1)
    first, token = await world.attestations.list(subject.agent_id, None, False, 3, "")
    second, last = await world.attestations.list(subject.agent_id, None, False, 3, token)
    assert [a.attestation_id for a in first + second] == made[::-1] and last == ""
