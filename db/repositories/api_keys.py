"""API key rows: looked up by the hash of the presented secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ApiKeyRow
from db.repositories.keyset import after, build_page, decode_timestamp_cursor
from server.domain.agents import Page
from server.domain.api_keys import ApiKey, Plan, Scope


def _to_api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.id,
        agent_id=row.agent_id,
        display_name=row.display_name,
        key_prefix=row.key_prefix,
        scopes=tuple(Scope(s) for s in row.scopes),
        plan=Plan(row.plan),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        key_id: str,
        agent_id: str | None,
        display_name: str,
        key_hash: bytes,
        key_prefix: str,
        scopes: tuple[Scope, ...],
        plan: Plan,
        expires_at: datetime | None,
    ) -> ApiKey:
        row = (
            await self._session.scalars(
                insert(ApiKeyRow)
                .values(
                    id=key_id,
                    agent_id=agent_id,
                    display_name=display_name,
                    key_hash=key_hash,
                    key_prefix=key_prefix,
                    scopes=[str(s) for s in scopes],
                    plan=str(plan),
                    expires_at=expires_at,
                )
                .returning(ApiKeyRow)
            )
        ).one()
        return _to_api_key(row)

    async def by_hash(self, key_hash: bytes) -> ApiKey | None:
        row = await self._session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash))
        return None if row is None else _to_api_key(row)

    async def set_plan(self, key_id: str, plan: Plan) -> tuple[ApiKey, bytes] | None:
        row = await self._session.scalar(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.agent_id.is_not(None))
            .values(plan=str(plan))
            .returning(ApiKeyRow)
        )
        return None if row is None else (_to_api_key(row), row.key_hash)

    async def hashes_of_agent(self, agent_id: str) -> list[bytes]:
        result = await self._session.scalars(
            select(ApiKeyRow.key_hash).where(ApiKeyRow.agent_id == agent_id)
        )
        return list(result)

    async def get(self, key_id: str) -> ApiKey | None:
        row = await self._session.get(ApiKeyRow, key_id)
        return None if row is None else _to_api_key(row)

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[ApiKey]:
        query = select(ApiKeyRow).where(ApiKeyRow.agent_id == agent_id)
        if cursor is not None:
            created_at, key_id = decode_timestamp_cursor(cursor)
            query = query.where(
                after((ApiKeyRow.created_at, ApiKeyRow.id), (created_at, key_id), descending=True)
            )
        query = query.order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id.desc()).limit(limit + 1)
        rows = list((await self._session.scalars(query)).all())
        return build_page(rows, limit, _to_api_key, lambda r: (r.created_at.isoformat(), r.id))

    async def delete(self, key_id: str) -> bytes | None:
        """Remove the key; returns its hash so cached lookups can be dropped too."""
        return await self._session.scalar(
            delete(ApiKeyRow).where(ApiKeyRow.id == key_id).returning(ApiKeyRow.key_hash)
        )

    async def touch(self, key_id: str, when: datetime) -> None:
        await self._session.execute(
            update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=when)
        )
