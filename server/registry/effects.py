"""What follows a committed change to an agent, declared per event (server/events/dispatch.py).

Cached reads are retired, this process's typeahead names follow the write, and a
key rotation or deletion ends the sessions that the old key (or the agent) opened, and
the heartbeat streams they hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from server.auth.store import ANY_SESSION, DELETED_EPOCH, AuthStore
from server.domain.agents import Agent, AgentStatus
from server.domain.events import AgentDeleted, AgentRegistered, AgentUpdated
from server.events.dispatch import PostCommit
from server.registry.cached import RegistryCache


class LivePresence(Protocol):
    """Live status and last-seen from the presence store, merged into every read."""

    async def overlay(self, agents: list[Agent]) -> list[Agent]: ...

    async def live(self, agent_ids: list[str]) -> list[tuple[AgentStatus, datetime] | None]: ...

    async def forget(self, agent_id: str) -> None: ...

    async def revoke(self, agent_id: str, credential: str) -> None: ...


class AgentNames(Protocol):
    """Typeahead's in-memory names (server.search.names), told of this process's writes."""

    def put(self, agent_id: str, display_name: str) -> None: ...

    def drop(self, agent_id: str) -> None: ...


def registry_effects(
    cache: RegistryCache,
    auth_store: AuthStore,
    presence: LivePresence | None,
    names: AgentNames | None,
) -> PostCommit:
    async def registered(event: AgentRegistered) -> None:
        await cache.agent_changed(event.agent_id, catalog=bool(event.capability_ids))
        if names is not None:
            names.put(event.agent_id, event.display_name)

    async def updated(event: AgentUpdated) -> None:
        capability = event.capability_added is not None or event.capability_removed is not None
        await cache.agent_changed(event.agent_id, catalog=capability)
        if names is not None and event.display_name is not None:
            names.put(event.agent_id, event.display_name)
        if event.key_version is not None:  # sessions of the old key end now
            await auth_store.set_epoch(event.agent_id, event.key_version)
            if presence is not None:  # and so does a stream a session opened (not a key's)
                await presence.revoke(event.agent_id, ANY_SESSION)

    async def deleted(event: AgentDeleted) -> None:
        await cache.agent_changed(event.agent_id, catalog=True)
        if names is not None:
            names.drop(event.agent_id)
        await auth_store.set_epoch(event.agent_id, DELETED_EPOCH)
        if presence is not None:
            await presence.forget(event.agent_id)

    return (
        PostCommit()
        .on(AgentRegistered, registered)
        .on(AgentUpdated, updated)
        .on(AgentDeleted, deleted)
    )
