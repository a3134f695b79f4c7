"""All SQL about agents and the capabilities they offer.

Lock order, to keep concurrent writers free of deadlocks: the agent row first,
then capability rows in id order. Row locks are FOR NO KEY UPDATE: we never
change a primary key, and unlike FOR UPDATE it does not block foreign-key
checks of concurrent inserts (attestations, api keys) that reference the agent.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, any_, bindparam, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import AgentCapabilityRow, AgentRow, CapabilityRow
from db.repositories.keyset import after, build_page, check_limit, decode_timestamp_cursor
from db.repositories.rows import AGENT_COLUMNS, agent_cursor, profile_values, to_agent
from server.domain import failures
from server.domain.agents import Agent, AgentProfile, AgentState, AgentType, Page
from server.domain.errors import AlreadyExists, NotFound

PUBLIC_KEY_CONSTRAINT = "uq_agents_public_key"


def _agent_not_found(agent_id: str) -> NotFound:
    return failures.agent_not_found(agent_id)


def _key_taken() -> AlreadyExists:
    return failures.public_key_taken()


# Built once: constructing and cache-keying a select costs more than running it.
AGENT_BY_ID = select(*AGENT_COLUMNS).where(AgentRow.id == bindparam("agent_id"))
# The same for many at once: the point reads batch the misses of one moment (db.point_reads).
AGENTS_BY_IDS = select(*AGENT_COLUMNS).where(
    AgentRow.id == any_(bindparam("agent_ids", type_=ARRAY(String)))
)


async def read_agent(executor: AsyncSession | AsyncConnection, agent_id: str) -> Agent | None:
    """One agent by primary key, in a session or on a plain connection (db.point_reads)."""
    row = (await executor.execute(AGENT_BY_ID, {"agent_id": agent_id})).one_or_none()
    return None if row is None else to_agent(row)


class AgentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, agent_id: str) -> Agent | None:
        return await read_agent(self._session, agent_id)

    async def list_page(
        self, limit: int, cursor: tuple[str, ...] | None, agent_type: AgentType | None
    ) -> Page[Agent]:
        """Newest first; served by ix_agents_created_at_id or ix_agents_agent_type_created_at_id."""
        check_limit(limit)
        query = select(*AGENT_COLUMNS).where(AgentRow.state == "active")
        if agent_type is not None:
            query = query.where(AgentRow.agent_type == agent_type.value)
        if cursor is not None:
            created_at, agent_id = decode_timestamp_cursor(cursor)
            query = query.where(
                after([AgentRow.created_at, AgentRow.id], [created_at, agent_id], descending=True)
            )
        query = query.order_by(AgentRow.created_at.desc(), AgentRow.id.desc()).limit(limit + 1)
        rows = (await self._session.execute(query)).all()
        return build_page(rows, limit, to_agent, agent_cursor)

    async def lock(self, agent_id: str) -> Agent | None:
        """Read the agent and hold its row until the transaction ends; None if it does not exist."""
        result = await self._session.execute(
            select(*AGENT_COLUMNS).where(AgentRow.id == agent_id).with_for_update(key_share=True)
        )
        row = result.one_or_none()
        return None if row is None else to_agent(row)

    async def add(
        self,
        agent_id: str,
        profile: AgentProfile,
        public_key: bytes,
        capability_ids: Iterable[str],
    ) -> Agent:
        wanted = sorted(set(capability_ids))
        await self._lock_capabilities(wanted)
        inserted = await self._session.execute(
            insert(AgentRow)
            .values(id=agent_id, public_key=public_key, **profile_values(profile))
            .on_conflict_do_nothing(index_elements=[AgentRow.public_key])
            .returning(AgentRow.id)
        )
        if inserted.scalar_one_or_none() is None:
            raise _key_taken()
        if wanted:
            await self._session.execute(
                insert(AgentCapabilityRow).values(
                    [{"agent_id": agent_id, "capability_id": cid} for cid in wanted]
                )
            )
            await self._adjust_counts(wanted, +1)
            await self._refresh_capability_text(agent_id)
        return await self._require(agent_id)

    async def update(self, agent_id: str, profile: AgentProfile) -> Agent:
        result = await self._session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id)
            .values(updated_at=func.now(), **profile_values(profile))
            .returning(AgentRow.id)
            .execution_options(synchronize_session=False)
        )
        if result.scalar_one_or_none() is None:
            raise _agent_not_found(agent_id)
        return await self._require(agent_id)

    async def moderate(
        self, agent_id: str, *, verified: bool | None = None, state: AgentState | None = None
    ) -> Agent | None:
        """Operator changes: verification and moderation state (updated_at moves, so etags do)."""
        values: dict[str, object] = {"updated_at": func.now()}
        if verified is not None:
            values["verified"] = verified
        if state is not None:
            values["state"] = str(state)
        changed = await self._session.execute(
            update(AgentRow).where(AgentRow.id == agent_id).values(**values).returning(AgentRow.id)
        )
        if changed.scalar_one_or_none() is None:
            return None
        return await self.get(agent_id)

    async def delete(self, agent_id: str) -> bool:
        """Delete the agent (links, attestations, keys and webhooks cascade); False if absent."""
        if await self.lock(agent_id) is None:
            return False
        offered = await self._offered(agent_id)
        await self._lock_capabilities(offered)
        await self._adjust_counts(offered, -1)
        await self._session.execute(
            delete(AgentRow)
            .where(AgentRow.id == agent_id)
            .execution_options(synchronize_session=False)
        )
        return True

    async def rotate_key(self, agent_id: str, expected_current_key: bytes, new_key: bytes) -> Agent:
        """Swap the key only if it is still `expected_current_key`, so one of two racing rotations
        loses (Conflict) instead of both succeeding."""
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    update(AgentRow)
                    .where(AgentRow.id == agent_id, AgentRow.public_key == expected_current_key)
                    .values(
                        public_key=new_key,
                        key_version=AgentRow.key_version + 1,
                        updated_at=func.now(),
                    )
                    .returning(AgentRow.id)
                    .execution_options(synchronize_session=False)
                )
                rotated = result.scalar_one_or_none() is not None
        except IntegrityError as exc:
            if _constraint(exc) == PUBLIC_KEY_CONSTRAINT:
                raise _key_taken() from exc
            raise
        if not rotated:
            if await self.get(agent_id) is None:
                raise _agent_not_found(agent_id)
            raise failures.public_key_mismatch(agent_id)
        return await self._require(agent_id)

    async def add_capability(self, agent_id: str, capability_id: str) -> Agent:
        if await self.lock(agent_id) is None:
            raise _agent_not_found(agent_id)
        await self._lock_capabilities([capability_id])
        inserted = await self._session.execute(
            insert(AgentCapabilityRow)
            .values(agent_id=agent_id, capability_id=capability_id)
            .on_conflict_do_nothing()
            .returning(AgentCapabilityRow.capability_id)
        )
        if inserted.scalar_one_or_none() is None:
            raise failures.capability_already_added(agent_id, capability_id)
        await self._adjust_counts([capability_id], +1)
        await self._refresh_capability_text(agent_id)
        return await self._require(agent_id)

    async def remove_capability(self, agent_id: str, capability_id: str) -> Agent:
        if await self.lock(agent_id) is None:
            raise _agent_not_found(agent_id)
        deleted = await self._session.execute(
            delete(AgentCapabilityRow)
            .where(
                AgentCapabilityRow.agent_id == agent_id,
                AgentCapabilityRow.capability_id == capability_id,
            )
            .returning(AgentCapabilityRow.capability_id)
            .execution_options(synchronize_session=False)
        )
        if deleted.scalar_one_or_none() is None:
            raise failures.capability_not_offered(agent_id, capability_id)
        await self._lock_capabilities([capability_id])
        await self._adjust_counts([capability_id], -1)
        await self._refresh_capability_text(agent_id)
        return await self._require(agent_id)

    async def _require(self, agent_id: str) -> Agent:
        agent = await self.get(agent_id)
        if agent is None:
            raise _agent_not_found(agent_id)
        return agent

    async def _offered(self, agent_id: str) -> list[str]:
        result = await self._session.execute(
            select(AgentCapabilityRow.capability_id)
            .where(AgentCapabilityRow.agent_id == agent_id)
            .order_by(AgentCapabilityRow.capability_id)
        )
        return list(result.scalars())

    async def _lock_capabilities(self, capability_ids: list[str]) -> None:
        """Lock rows in id order so counter updates cannot deadlock; NotFound if any is unknown."""
        if not capability_ids:
            return
        result = await self._session.execute(
            select(CapabilityRow.id)
            .where(CapabilityRow.id.in_(capability_ids))
            .order_by(CapabilityRow.id)
            .with_for_update(key_share=True)
        )
        missing = set(capability_ids) - set(result.scalars())
        if missing:
            raise failures.capability_not_found(sorted(missing))

    async def _adjust_counts(self, capability_ids: list[str], delta: int) -> None:
        if not capability_ids:
            return
        await self._session.execute(
            update(CapabilityRow)
            .where(CapabilityRow.id.in_(capability_ids))
            .values(agent_count=CapabilityRow.agent_count + delta)
            .execution_options(synchronize_session=False)
        )

    async def _refresh_capability_text(self, agent_id: str) -> None:
        """Recompute capability_text (and, through the trigger, search_vector) from the links."""
        names = (
            select(
                func.coalesce(
                    func.string_agg(
                        CapabilityRow.display_name,
                        aggregate_order_by(literal(" "), CapabilityRow.id),
                    ),
                    "",
                )
            )
            .join(AgentCapabilityRow, AgentCapabilityRow.capability_id == CapabilityRow.id)
            .where(AgentCapabilityRow.agent_id == agent_id)
            .scalar_subquery()
        )
        await self._session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id)
            .values(capability_text=names, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None
