"""All SQL about attestations.

Replacement relies on uq_attestations_active_claim (one active claim per
attester, subject, kind and capability): the previous active claim is marked
replaced before the new one is inserted, in the caller's transaction, and the
caller holds the attester's row lock so two creates by one attester serialise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentRow, AttestationRow
from db.repositories.keyset import after, build_page, check_limit, decode_timestamp_cursor
from db.repositories.rows import AnyRow
from server.domain.agents import Page
from server.domain.attestations import (
    Attestation,
    AttestationDraft,
    AttestationState,
    Claim,
    ClaimKind,
)

_ACTIVE = AttestationState.ACTIVE.value


def _to_attestation(row: AttestationRow | AnyRow) -> Attestation:
    return Attestation(
        attestation_id=row.id,
        attester_id=row.attester_id,
        subject_id=row.subject_id,
        claim=Claim(
            kind=ClaimKind(row.kind),
            capability_id=row.capability_id,
            capability_value=row.capability_value,
            identity=row.identity_value,
            behaviour_score=row.behaviour_score,
        ),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        signature=bytes(row.signature),
        state=AttestationState(row.state),
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _cursor(row: AttestationRow) -> tuple[str, ...]:
    return (row.created_at.isoformat(), row.id)


class AttestationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def subject_exists(self, agent_id: str) -> bool:
        """FOR KEY SHARE keeps the subject from being deleted before we commit."""
        result = await self._session.execute(
            select(AgentRow.id).where(AgentRow.id == agent_id).with_for_update(key_share=True)
        )
        return result.scalar_one_or_none() is not None

    async def replace_and_add(
        self, attestation_id: str, attester_id: str, draft: AttestationDraft
    ) -> tuple[Attestation, str | None]:
        """Mark the attester's active claim of the same key replaced, insert the new one.

        Returns the new attestation and the id of the one it replaced, if any.
        """
        claim = draft.claim
        replaced = await self._session.execute(
            update(AttestationRow)
            .where(
                AttestationRow.attester_id == attester_id,
                AttestationRow.subject_id == draft.subject_id,
                AttestationRow.kind == claim.kind.value,
                func.coalesce(AttestationRow.capability_id, "")
                == literal(claim.capability_id or ""),
                AttestationRow.state == _ACTIVE,
            )
            .values(state=AttestationState.REPLACED.value, ended_at=func.now())
            .returning(AttestationRow.id)
            .execution_options(synchronize_session=False)
        )
        replaced_id = replaced.scalar_one_or_none()
        values: dict[str, Any] = {
            "id": attestation_id,
            "attester_id": attester_id,
            "subject_id": draft.subject_id,
            "kind": claim.kind.value,
            "capability_id": claim.capability_id,
            "capability_value": claim.capability_value,
            "identity_value": claim.identity,
            "behaviour_score": claim.behaviour_score,
            "issued_at": draft.issued_at,
            "expires_at": draft.expires_at,
            "signature": draft.signature,
        }
        row = (
            await self._session.execute(
                insert(AttestationRow).values(**values).returning(AttestationRow)
            )
        ).scalar_one()
        return _to_attestation(row), replaced_id

    async def get(self, attestation_id: str, *, lock: bool = False) -> Attestation | None:
        query = select(AttestationRow).where(AttestationRow.id == attestation_id)
        if lock:
            query = query.with_for_update()
        row = (await self._session.execute(query)).scalar_one_or_none()
        return None if row is None else _to_attestation(row)

    async def revoke(self, attestation_id: str) -> Attestation:
        row = (
            await self._session.execute(
                update(AttestationRow)
                .where(AttestationRow.id == attestation_id)
                .values(state=AttestationState.REVOKED.value, ended_at=func.now())
                .returning(AttestationRow)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one()
        return _to_attestation(row)

    async def list_page(
        self,
        *,
        subject_id: str | None,
        attester_id: str | None,
        include_inactive: bool,
        limit: int,
        cursor: tuple[str, ...] | None,
        now: datetime,
    ) -> Page[Attestation]:
        """Newest first; served by ix_attestations_{subject,attester}_id_created_at_id."""
        check_limit(limit)
        query = select(AttestationRow)
        if subject_id is not None:
            query = query.where(AttestationRow.subject_id == subject_id)
        if attester_id is not None:
            query = query.where(AttestationRow.attester_id == attester_id)
        if not include_inactive:
            query = query.where(
                AttestationRow.state == _ACTIVE,
                or_(AttestationRow.expires_at.is_(None), AttestationRow.expires_at > now),
            )
        if cursor is not None:
            created_at, row_id = decode_timestamp_cursor(cursor)
            query = query.where(
                after(
                    [AttestationRow.created_at, AttestationRow.id],
                    [created_at, row_id],
                    descending=True,
                )
            )
        query = query.order_by(AttestationRow.created_at.desc(), AttestationRow.id.desc())
        rows = (await self._session.scalars(query.limit(limit + 1))).all()
        return build_page(rows, limit, _to_attestation, _cursor)

    async def expire_due(self, now: datetime) -> list[tuple[str, str]]:
        """Mark active claims past expiry as expired (ix_attestations_active_expires_at).

        Returns (attestation id, subject id) of each, for the trust job to know it must rerun.
        """
        result = await self._session.execute(
            update(AttestationRow)
            .where(AttestationRow.state == _ACTIVE, AttestationRow.expires_at <= now)
            .values(state=AttestationState.EXPIRED.value, ended_at=AttestationRow.expires_at)
            .returning(AttestationRow.id, AttestationRow.subject_id)
            .execution_options(synchronize_session=False)
        )
        return [(row.id, row.subject_id) for row in result]
