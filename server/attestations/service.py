"""Attestation use cases: every rule of CreateAttestation and RevokeAttestation.

Each write is one transaction with its outbox event; the trust job is told
after commit that the graph changed.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from db.ports import UnitsOfWork
from server.attestations import canonical
from server.domain import events, failures, refusals, signing
from server.domain.attestations import (
    Attestation,
    AttestationDraft,
    AttestationState,
    ClaimKind,
)
from server.domain.clock import Clock, utc_now
from server.domain.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from server.domain.ids import new_id
from server.domain.paging import decode_token, encode_token, page_limit
from server.domain.principal import Principal
from server.events.dispatch import PostCommit
from server.trust.signal import TrustSignal

ID_PREFIX = "at_"
MAX_IDENTITY_CHARS = 256


def _caller(principal: Principal | None) -> str:
    if principal is None:
        raise refusals.session_required()
    return principal.agent_id


def _attestation_not_found(attestation_id: str) -> NotFound:
    return failures.attestation_not_found(attestation_id)


def draft_violations(
    attester_id: str, draft: AttestationDraft, now: datetime, skew: timedelta
) -> list[FieldViolation]:
    """Every field rule that needs no database, so the client sees all problems at once."""
    problems: list[FieldViolation] = []
    if draft.subject_id == attester_id:
        problems.append(FieldViolation("attestation.subject", "an agent cannot attest itself"))
    claim = draft.claim
    if claim.kind is ClaimKind.BEHAVIOUR and not 0 <= (claim.behaviour_score or 0) <= 100:
        problems.append(FieldViolation("attestation.behaviour.score", "must be 0 to 100"))
    if claim.kind is ClaimKind.IDENTITY:
        value = claim.identity or ""
        if not 1 <= len(value) <= MAX_IDENTITY_CHARS:
            problems.append(
                FieldViolation("attestation.identity.value", "must be 1 to 256 characters")
            )
        elif any(unicodedata.category(ch).startswith("C") for ch in value):
            problems.append(
                FieldViolation("attestation.identity.value", "must not contain control characters")
            )
    if abs(draft.issued_at - now) > skew:
        problems.append(
            FieldViolation(
                "attestation.issue_time",
                f"must be within {int(skew.total_seconds())} s of server time",
            )
        )
    if draft.expires_at is not None:
        if draft.expires_at <= draft.issued_at:
            problems.append(FieldViolation("attestation.expire_time", "must be after issue_time"))
        elif draft.expires_at <= now:
            problems.append(FieldViolation("attestation.expire_time", "must be in the future"))
    if len(draft.signature) != signing.SIGNATURE_BYTES:
        problems.append(FieldViolation("attestation.signature", "must be 64 bytes"))
    return problems


class AttestationService:
    def __init__(
        self,
        uow: UnitsOfWork,
        signal: TrustSignal,
        *,
        clock_skew_s: float,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._signal = signal
        self._skew = timedelta(seconds=clock_skew_s)
        self._clock = clock
        # A claim added or withdrawn: the trust job recomputes at its next run.
        self._effects = (
            PostCommit()
            .on(events.AttestationReceived, self._trust_changed)
            .on(events.AttestationRevoked, self._trust_changed)
        )

    async def _trust_changed(self, _: events.DomainEvent) -> None:
        await self._signal.mark_dirty()

    async def create(self, caller: Principal | None, draft: AttestationDraft) -> Attestation:
        attester_id = _caller(caller)
        problems = draft_violations(attester_id, draft, self._clock(), self._skew)
        if problems:
            if any(p.field == "attestation.subject" for p in problems):
                raise failures.self_attestation(problems, attester_id)
            raise InvalidArgument(problems)
        async with self._uow() as uow:
            # The attester's row lock serialises its creates (replacement stays
            # one-active) and pins its key against a concurrent rotation.
            attester = await uow.agents.lock(attester_id)
            if attester is None:
                raise refusals.session_required("the session's agent no longer exists")
            if not await uow.attestations.subject_exists(draft.subject_id):
                raise failures.agent_not_found(draft.subject_id)
            capability_id = draft.claim.capability_id
            if capability_id is not None and await uow.capabilities.get(capability_id) is None:
                raise failures.capability_not_found(capability_id)
            message = canonical.encode(
                attester_id, draft.subject_id, draft.claim, draft.issued_at, draft.expires_at
            )
            if not signing.verify(attester.public_key, draft.signature, message):
                raise failures.signature_invalid(
                    "attestation.signature",
                    "is not the attester's signature over the canonical encoding",
                )
            attestation, replaced_id = await uow.attestations.replace_and_add(
                new_id(ID_PREFIX), attester_id, draft
            )
            await uow.events.add(
                events.AttestationReceived(
                    agent_id=draft.subject_id,
                    attestation_id=attestation.attestation_id,
                    attester_id=attester_id,
                    kind=draft.claim.kind,
                    replaced_id=replaced_id,
                )
            )
            await self._effects.commit(uow)
        return attestation

    async def get(self, attestation_id: str) -> Attestation:
        async with self._uow() as uow:
            attestation = await uow.attestations.get(attestation_id)
        if attestation is None:
            raise _attestation_not_found(attestation_id)
        return attestation

    async def list(
        self,
        subject_id: str | None,
        attester_id: str | None,
        include_inactive: bool,
        page_size: int,
        page_token: str,
    ) -> tuple[list[Attestation], str]:
        if (subject_id is None) == (attester_id is None):
            raise InvalidArgument.field("subject", "set exactly one of subject and attester")
        scope = f"attestations:{subject_id or ''}:{attester_id or ''}:{include_inactive}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            page = await uow.attestations.list_page(
                subject_id=subject_id,
                attester_id=attester_id,
                include_inactive=include_inactive,
                limit=limit,
                cursor=cursor,
                now=self._clock(),
            )
        return page.items, encode_token(page.next_cursor, scope)

    async def revoke(self, principal: Principal | None, attestation_id: str) -> Attestation:
        caller = _caller(principal)
        async with self._uow() as uow:
            current_state = await uow.attestations.get(attestation_id, lock=True)
            if current_state is None:
                raise _attestation_not_found(attestation_id)
            if current_state.attester_id != caller:
                raise refusals.not_attester(attestation_id)
            if current_state.state_at(self._clock()) is not AttestationState.ACTIVE:
                raise refusals.attestation_not_active(
                    attestation_id, current_state.state_at(self._clock()).value
                )
            revoked = await uow.attestations.revoke(attestation_id)
            await uow.events.add(
                events.AttestationRevoked(
                    agent_id=revoked.subject_id,
                    attestation_id=attestation_id,
                    attester_id=caller,
                    kind=revoked.claim.kind,
                )
            )
            await self._effects.commit(uow)
        return revoked
