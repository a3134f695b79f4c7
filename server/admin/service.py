"""Operator actions: verification, moderation and API-key plans, each audited in the outbox.

Verified agents seed the trust graph; suspended and taken-down ones leave listings,
search and the graph, and their sessions and API keys stop working at once.
"""

from __future__ import annotations

from typing import Protocol

from db.ports import UnitsOfWork
from server.auth.api_keys import ApiKeyService
from server.auth.store import DELETED_EPOCH, AuthStore
from server.domain import failures, refusals
from server.domain.agents import Agent, AgentState
from server.domain.api_keys import ApiKey, Plan
from server.domain.errors import InvalidArgument
from server.domain.events import AgentModerated, ApiKeyPlanChanged, EventType
from server.domain.principal import Principal, require_operator
from server.events.dispatch import PostCommit
from server.registry.cached import RegistryCache

MAX_REASON = 500


def _reason_checked(reason: str) -> str:
    if not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidArgument.field("reason", f"1-{MAX_REASON} characters, not blank")
    return reason.strip()


class Presence(Protocol):
    """Live presence (server/presence/service.py): what a suspension or take-down ends."""

    async def withdraw(self, agent_id: str, state: AgentState) -> None: ...


class AdminService:
    def __init__(
        self,
        uow: UnitsOfWork,
        auth_store: AuthStore,
        api_keys: ApiKeyService,
        cache: RegistryCache,
        presence: Presence | None = None,
    ) -> None:
        self._uow = uow
        self._auth_store = auth_store
        self._api_keys = api_keys
        self._cache = cache
        self._presence = presence
        self._effects = (
            PostCommit()
            .on(AgentModerated, self._moderated)
            .on(ApiKeyPlanChanged, self._plan_changed)
        )

    async def _moderated(self, event: AgentModerated) -> None:
        """Cached reads retire; a suspension or take-down ends sessions, keys and streams
        at once, a reinstatement lets the current key's sessions work again."""
        agent_id = event.agent_id
        await self._cache.agent_changed(agent_id, catalog=True)
        await self._api_keys.forget_cached(list(event.key_hashes))
        if event.state is not None and event.state is not AgentState.ACTIVE:
            await self._auth_store.set_epoch(agent_id, DELETED_EPOCH)  # sessions end now
            if self._presence is not None:  # and so does the stream a session opened
                await self._presence.withdraw(agent_id, event.state)
        elif event.state is AgentState.ACTIVE:
            await self._auth_store.renew_epoch(agent_id, event.key_version)

    async def _plan_changed(self, event: ApiKeyPlanChanged) -> None:
        await self._api_keys.forget_cached([event.key_hash])

    async def verify(self, caller: Principal | None, agent_id: str, reason: str) -> Agent:
        return await self._moderate(
            caller, agent_id, reason, EventType.AGENT_VERIFIED, verified=True
        )

    async def unverify(self, caller: Principal | None, agent_id: str, reason: str) -> Agent:
        return await self._moderate(
            caller, agent_id, reason, EventType.AGENT_UNVERIFIED, verified=False
        )

    async def suspend(self, caller: Principal | None, agent_id: str, reason: str) -> Agent:
        return await self._moderate(
            caller, agent_id, reason, EventType.AGENT_SUSPENDED, AgentState.SUSPENDED
        )

    async def take_down(self, caller: Principal | None, agent_id: str, reason: str) -> Agent:
        return await self._moderate(
            caller, agent_id, reason, EventType.AGENT_TAKEN_DOWN, AgentState.TAKEN_DOWN
        )

    async def reinstate(self, caller: Principal | None, agent_id: str, reason: str) -> Agent:
        return await self._moderate(
            caller, agent_id, reason, EventType.AGENT_REINSTATED, AgentState.ACTIVE
        )

    async def _moderate(
        self,
        caller: Principal | None,
        agent_id: str,
        reason: str,
        event_type: EventType,
        state: AgentState | None = None,
        *,
        verified: bool | None = None,
    ) -> Agent:
        operator = require_operator(caller)
        reason = _reason_checked(reason)
        async with self._uow() as uow:
            current = await uow.agents.get(agent_id)
            if current is None:
                raise failures.agent_not_found(agent_id)
            if verified and current.state is not AgentState.ACTIVE:
                raise refusals.agent_not_active(agent_id)
            agent = await uow.agents.moderate(agent_id, verified=verified, state=state)
            assert agent is not None
            key_hashes = await uow.api_keys.hashes_of_agent(agent_id)
            await uow.events.add(
                AgentModerated(
                    agent_id=agent_id,
                    action=event_type,
                    operator=operator.api_key_id or "",
                    reason=reason,
                    state=state,
                    key_version=agent.key_version,
                    key_hashes=tuple(key_hashes),
                )
            )
            await self._effects.commit(uow)
        return agent

    async def update_plan(
        self, caller: Principal | None, agent_id: str, key_id: str, plan: Plan | None, reason: str
    ) -> ApiKey:
        operator = require_operator(caller)
        reason = _reason_checked(reason)
        if plan is None:
            raise InvalidArgument.field("plan", "must be set")
        async with self._uow() as uow:
            current = await uow.api_keys.get(key_id)
            if current is None or current.agent_id != agent_id:
                raise failures.api_key_not_found(agent_id, key_id)
            changed = await uow.api_keys.set_plan(key_id, plan)
            assert changed is not None
            key, key_hash = changed
            await uow.events.add(
                ApiKeyPlanChanged(
                    agent_id=agent_id,
                    key_id=key_id,
                    plan=plan,
                    operator=operator.api_key_id or "",
                    reason=reason,
                    key_hash=key_hash,
                )
            )
            await self._effects.commit(uow)
        return key
