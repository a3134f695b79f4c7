"""Agent registry use cases: each write is one transaction with its outbox event."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from db.point_reads import PointReads
from db.ports import UnitOfWorkPort, UnitsOfWork
from server.auth.store import AuthStore
from server.domain import events, failures, signing
from server.domain.agents import (
    Agent,
    AgentProfile,
    AgentState,
    AgentType,
    Capability,
    Page,
)
from server.domain.errors import FieldViolation, NotFound
from server.domain.ids import AGENT_PREFIX, new_id
from server.domain.masks import masked_fields
from server.domain.names import agent_name
from server.domain.paging import decode_token, encode_token, page_limit
from server.domain.principal import Principal, require_agent
from server.domain.validation import (
    MAX_CAPABILITIES,
    key_violations,
    normalise_labels,
    profile_violations,
    raise_if,
    signature_violations,
)
from server.registry.cached import RegistryCache
from server.registry.effects import AgentNames, LivePresence, registry_effects
from server.registry.etag import agent_etag

# A write of the caller's, made in the agent's transaction (so both commit or neither).
WithAgent = Callable[[UnitOfWorkPort, str], Awaitable[None]]

UPDATABLE_FIELDS = frozenset(
    {"display_name", "description", "type", "endpoint_uri", "tags", "protocols", "metadata"}
)
_PROFILE_ATTR = {"type": "agent_type"}


def _normalised(profile: AgentProfile) -> AgentProfile:
    return dataclasses.replace(
        profile,
        display_name=profile.display_name.strip(),
        tags=normalise_labels(profile.tags),
        protocols=normalise_labels(profile.protocols),
    )


def _not_found(agent_id: str) -> NotFound:
    return failures.agent_not_found(agent_id)


class RegistryService:
    def __init__(
        self,
        uow: UnitsOfWork,
        reads: PointReads,
        auth_store: AuthStore,
        cache: RegistryCache,
        presence: LivePresence | None = None,
        names: AgentNames | None = None,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._auth_store = auth_store
        self._cache = cache
        self._presence = presence
        self._names = names
        self._effects = registry_effects(cache, auth_store, presence, names)

    async def register(
        self,
        profile: AgentProfile,
        public_key: bytes,
        signature: bytes,
        capability_ids: list[str],
        with_agent: WithAgent | None = None,
    ) -> Agent:
        """`with_agent` writes what belongs with the agent (its card) in the same transaction."""
        profile = _normalised(profile)
        problems = profile_violations(profile)
        problems += key_violations("public_key", public_key)
        problems += signature_violations("signature", signature)
        if len(capability_ids) > MAX_CAPABILITIES:
            problems.append(FieldViolation("capabilities", f"at most {MAX_CAPABILITIES}"))
        raise_if(problems)
        if not signing.verify(public_key, signature, signing.register_message(public_key)):
            raise failures.signature_invalid(
                "signature", "is not a signature of the registration message by public_key"
            )
        async with self._uow() as uow:
            agent = await uow.agents.add(
                new_id(AGENT_PREFIX), profile, public_key, sorted(set(capability_ids))
            )
            await uow.events.add(
                events.AgentRegistered(
                    agent_id=agent.agent_id,
                    display_name=agent.profile.display_name,
                    agent_type=str(agent.profile.agent_type or ""),
                    capability_ids=agent.capabilities,
                )
            )
            if with_agent is not None:
                await with_agent(uow, agent.agent_id)
            await self._effects.commit(uow)
        return agent

    async def get(self, agent_id: str) -> Agent:
        """The agent as stored, with its live presence. Not cached as an agent: the one
        cached copy of an agent is GetAgent's response (server/cache/responses.py)."""
        agent = await self.get_stored(agent_id)
        if self._presence is not None:
            [agent] = await self._presence.overlay([agent])
        return agent

    async def get_stored(self, agent_id: str) -> Agent:
        """The agent as Postgres holds it, for callers that cache the response they build
        from it and merge live presence themselves (server.cache.responses)."""
        agent = await self._reads.agent(agent_id)
        if agent is None or agent.state is AgentState.TAKEN_DOWN:
            raise _not_found(agent_id)
        return agent

    async def list_agents(
        self, page_size: int, page_token: str, agent_type: AgentType | None
    ) -> tuple[list[Agent], str]:
        """A page as stored: ListAgents caches the response it builds and merges live
        presence itself (server/cache/responses.py)."""
        scope = f"agents:{agent_type or ''}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)

        async with self._uow() as uow:
            page: Page[Agent] = await uow.agents.list_page(limit, cursor, agent_type)
        return page.items, encode_token(page.next_cursor, scope)

    async def update(
        self,
        caller: Principal | None,
        agent_id: str,
        changes: dict[str, Any],
        paths: list[str],
        etag: str,
        populated: Collection[str] = (),
        with_agent: WithAgent | None = None,
    ) -> Agent:
        """Apply the masked fields (no mask: the `populated` ones); `changes` maps proto
        field names to domain values; `with_agent` as for `register`."""
        require_agent(caller, agent_id)
        fields = masked_fields(paths, UPDATABLE_FIELDS, populated)
        async with self._uow() as uow:
            current = await uow.agents.lock(agent_id)
            if current is None:
                raise _not_found(agent_id)
            if etag and etag != agent_etag(current):
                raise failures.etag_mismatch(agent_id)
            replacement = {_PROFILE_ATTR.get(f, f): changes[f] for f in fields}
            profile = _normalised(dataclasses.replace(current.profile, **replacement))
            raise_if(profile_violations(profile))
            agent = await uow.agents.update(agent_id, profile)
            await uow.events.add(
                events.AgentUpdated(
                    agent_id=agent_id, fields=tuple(fields), display_name=agent.profile.display_name
                )
            )
            if with_agent is not None:
                await with_agent(uow, agent_id)
            else:  # the card the agent published no longer says what the profile says
                await uow.cards.forget(agent_id)
            await self._effects.commit(uow)
        return agent

    async def delete(self, caller: Principal | None, agent_id: str) -> None:
        require_agent(caller, agent_id)
        async with self._uow() as uow:
            if not await uow.agents.delete(agent_id):
                raise _not_found(agent_id)
            await uow.events.add(events.AgentDeleted(agent_id=agent_id))
            await self._effects.commit(uow)

    async def rotate_key(
        self, agent_id: str, new_key: bytes, signature: bytes, new_key_signature: bytes
    ) -> Agent:
        problems = key_violations("new_public_key", new_key)
        problems += signature_violations("signature", signature)
        problems += signature_violations("new_key_signature", new_key_signature)
        raise_if(problems)
        async with self._uow() as uow:
            current = await uow.agents.lock(agent_id)
            if current is None:
                raise _not_found(agent_id)
            message = signing.rotate_key_message(agent_name(agent_id), current.public_key, new_key)
            if not signing.verify(current.public_key, signature, message):
                raise failures.signature_invalid(
                    "signature", "is not a signature by the current key"
                )
            if not signing.verify(new_key, new_key_signature, message):
                raise failures.signature_invalid(
                    "new_key_signature", "is not a signature by the new key"
                )
            agent = await uow.agents.rotate_key(agent_id, current.public_key, new_key)
            await uow.events.add(
                events.AgentUpdated(
                    agent_id=agent_id, fields=("public_key",), key_version=agent.key_version
                )
            )
            await self._effects.commit(uow)
        return agent

    async def add_capability(
        self, caller: Principal | None, agent_id: str, capability_id: str
    ) -> Agent:
        return await self._change_capability(caller, agent_id, capability_id, added=True)

    async def remove_capability(
        self, caller: Principal | None, agent_id: str, capability_id: str
    ) -> Agent:
        return await self._change_capability(caller, agent_id, capability_id, added=False)

    async def _change_capability(
        self, caller: Principal | None, agent_id: str, capability_id: str, *, added: bool
    ) -> Agent:
        require_agent(caller, agent_id)
        async with self._uow() as uow:
            if await uow.agents.lock(agent_id) is None:
                raise _not_found(agent_id)
            change = uow.agents.add_capability if added else uow.agents.remove_capability
            agent = await change(agent_id, capability_id)
            await uow.events.add(
                events.AgentUpdated(agent_id=agent_id, capability_added=capability_id)
                if added
                else events.AgentUpdated(agent_id=agent_id, capability_removed=capability_id)
            )
            await self._effects.commit(uow)
        return agent

    async def list_capabilities(
        self, page_size: int, page_token: str
    ) -> tuple[list[Capability], str]:
        limit = page_limit(page_size)
        cursor = decode_token(page_token, "capabilities")

        async def load() -> tuple[list[Capability], str]:
            async with self._uow() as uow:
                page = await uow.capabilities.list_page(limit, cursor)
            return page.items, encode_token(page.next_cursor, "capabilities")

        return await self._cache.capability_page(limit, page_token, load)

    async def get_capability(self, capability_id: str) -> Capability:
        async def load() -> Capability | None:
            async with self._uow() as uow:
                return await uow.capabilities.get(capability_id)

        capability = await self._cache.capability(capability_id, load)
        if capability is None:
            raise failures.capability_not_found(capability_id)
        return capability
