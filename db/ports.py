"""What the use-case services need of a unit of work, as protocols.

Services hold a `UnitsOfWork` (a callable giving a fresh unit of work) rather than the
Postgres one, so the service tests can hand them in-memory repositories
(tests/service/fakes.py) and run in milliseconds; the contract tests
(tests/service/test_repository_contract.py) hold the fakes to what the real
repositories do. Each protocol lists only what a service calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from server.domain.agents import Agent, AgentProfile, AgentState, AgentType, Capability, Page
from server.domain.api_keys import ApiKey, Plan, Scope
from server.domain.attestations import Attestation, AttestationDraft, Reputation
from server.domain.changes import ChangeEvent
from server.domain.events import DomainEvent
from server.domain.webhooks import Webhook, WebhookDelivery


class Agents(Protocol):
    async def get(self, agent_id: str) -> Agent | None: ...

    async def list_page(
        self, limit: int, cursor: tuple[str, ...] | None, agent_type: AgentType | None
    ) -> Page[Agent]: ...

    async def lock(self, agent_id: str) -> Agent | None: ...

    async def add(
        self,
        agent_id: str,
        profile: AgentProfile,
        public_key: bytes,
        capability_ids: Iterable[str],
    ) -> Agent: ...

    async def update(self, agent_id: str, profile: AgentProfile) -> Agent: ...

    async def moderate(
        self, agent_id: str, *, verified: bool | None = None, state: AgentState | None = None
    ) -> Agent | None: ...

    async def delete(self, agent_id: str) -> bool: ...

    async def rotate_key(
        self, agent_id: str, expected_current_key: bytes, new_key: bytes
    ) -> Agent: ...

    async def add_capability(self, agent_id: str, capability_id: str) -> Agent: ...

    async def remove_capability(self, agent_id: str, capability_id: str) -> Agent: ...


class Capabilities(Protocol):
    async def get(self, capability_id: str) -> Capability | None: ...

    async def list_page(self, limit: int, cursor: tuple[str, ...] | None) -> Page[Capability]: ...


class Events(Protocol):
    @property
    def recorded(self) -> list[DomainEvent]:
        """What this unit of work recorded, for the effects after commit."""
        ...

    async def add(self, event: DomainEvent) -> int: ...

    async def list_after(
        self,
        after_id: int,
        limit: int,
        *,
        agent_id: str | None = None,
        up_to: int | None = None,
        types: frozenset[str] = frozenset(),
    ) -> list[ChangeEvent]: ...


class Attestations(Protocol):
    async def subject_exists(self, agent_id: str) -> bool: ...

    async def replace_and_add(
        self, attestation_id: str, attester_id: str, draft: AttestationDraft
    ) -> tuple[Attestation, str | None]: ...

    async def get(self, attestation_id: str, *, lock: bool = False) -> Attestation | None: ...

    async def revoke(self, attestation_id: str) -> Attestation: ...

    async def list_page(
        self,
        *,
        subject_id: str | None,
        attester_id: str | None,
        include_inactive: bool,
        limit: int,
        cursor: tuple[str, ...] | None,
        now: datetime,
    ) -> Page[Attestation]: ...


class ApiKeys(Protocol):
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
    ) -> ApiKey: ...

    async def by_hash(self, key_hash: bytes) -> ApiKey | None: ...

    async def set_plan(self, key_id: str, plan: Plan) -> tuple[ApiKey, bytes] | None: ...

    async def hashes_of_agent(self, agent_id: str) -> list[bytes]: ...

    async def get(self, key_id: str) -> ApiKey | None: ...

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[ApiKey]: ...

    async def delete(self, key_id: str) -> bytes | None: ...

    async def touch(self, key_id: str, when: datetime) -> None: ...


class Domains(Protocol):
    async def claim(self, agent_id: str, domain: str) -> bool: ...

    async def proven(self, agent_id: str, domain: str, at: datetime) -> bool: ...


class Cards(Protocol):
    async def put(self, agent_id: str, card: dict[str, Any]) -> None: ...

    async def get(self, agent_id: str) -> dict[str, Any] | None: ...

    async def forget(self, agent_id: str) -> None: ...


class Webhooks(Protocol):
    async def add(
        self,
        webhook_id: str,
        agent_id: str,
        url: str,
        event_types: list[str],
        state: str,
        secret: str,
    ) -> Webhook: ...

    async def get(
        self, agent_id: str, webhook_id: str, *, lock: bool = False
    ) -> Webhook | None: ...

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[Webhook]: ...

    async def count(self, agent_id: str) -> int: ...

    async def update(self, webhook_id: str, values: dict[str, Any]) -> Webhook: ...

    async def delete(self, agent_id: str, webhook_id: str) -> bool: ...

    async def list_deliveries_page(
        self, webhook_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[WebhookDelivery]: ...


class Leaderboard(Protocol):
    async def get(self, agent_id: str) -> Reputation | None: ...

    async def leaderboard_page(
        self, limit: int, cursor: tuple[str, ...] | None, capability_id: str | None
    ) -> Page[tuple[int, Agent]]: ...


class UnitOfWorkPort(Protocol):
    """`async with uow:` rolls back unless `commit()` was awaited (db/uow.py)."""

    @property
    def agents(self) -> Agents: ...

    @property
    def api_keys(self) -> ApiKeys: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def events(self) -> Events: ...

    @property
    def attestations(self) -> Attestations: ...

    @property
    def reputation(self) -> Leaderboard: ...

    @property
    def domains(self) -> Domains: ...

    @property
    def cards(self) -> Cards: ...

    @property
    def webhooks(self) -> Webhooks: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


# What a service holds: each call gives a fresh unit of work.
UnitsOfWork = Callable[[], UnitOfWorkPort]
