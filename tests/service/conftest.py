"""The service tier: use cases over the in-memory unit of work and a fake clock.

No Postgres, Redis or gRPC: a test builds the services it needs from `world` and calls
them as the servicers do. `make test-fast` runs this folder and tests/unit/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.admin.service import AdminService
from server.attestations.service import AttestationService
from server.auth.service import AuthService
from server.cards.service import CardService
from server.domain.agents import Agent, AgentProfile, AgentState, AgentType
from server.domain.api_keys import Scope
from server.domain.principal import Principal
from server.domain_proofs.service import DomainService
from server.registry.cached import RegistryCache
from server.registry.service import RegistryService
from server.webhooks.service import WebhookService
from tests.factories import raw_public_key, register_signature
from tests.service.fakes import (
    CommittedReads,
    FakeAuthStore,
    FakeClock,
    FakeDatabase,
    FakeTrustSignal,
    PassThroughCache,
)


def caller(who: Principal | str) -> Principal:
    """The caller the call layer would have resolved: an agent id means its own session."""
    return Principal(agent_id=who) if isinstance(who, str) else who


OPERATOR = Principal(agent_id="", api_key_id="op_test", scopes=(Scope.OPERATOR,))


class ForgetfulKeys:
    """ApiKeyService's cache side, which AdminService tells of plan and moderation changes."""

    def __init__(self) -> None:
        self.forgotten: list[bytes] = []

    async def forget_cached(self, key_hashes: list[bytes]) -> None:
        self.forgotten.extend(key_hashes)


class RecordingPresence:
    def __init__(self) -> None:
        self.withdrawn: list[tuple[str, AgentState]] = []
        self.revoked: list[tuple[str, str]] = []
        self.forgotten: list[str] = []

    async def withdraw(self, agent_id: str, state: AgentState) -> None:
        self.withdrawn.append((agent_id, state))

    async def overlay(self, agents: list[Agent]) -> list[Agent]:
        return agents

    async def live(self, agent_ids: list[str]) -> list[None]:
        return [None for _ in agent_ids]

    async def forget(self, agent_id: str) -> None:
        self.forgotten.append(agent_id)

    async def revoke(self, agent_id: str, credential: str) -> None:
        self.revoked.append((agent_id, credential))


@dataclass
class World:
    """Every service over one fake database, clock, cache and session store."""

    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.db = FakeDatabase(self.clock)
        self.cache = PassThroughCache()
        self.auth_store = FakeAuthStore(self.clock)
        self.signal = FakeTrustSignal()
        self.keys = ForgetfulKeys()
        self.presence = RecordingPresence()
        registry_cache = RegistryCache(self.cache)  # type: ignore[arg-type]
        self.registry = RegistryService(
            self.db,
            CommittedReads(self.db),  # type: ignore[arg-type]
            self.auth_store,  # type: ignore[arg-type]
            registry_cache,
            presence=self.presence,
        )
        self.attestations = AttestationService(
            self.db,
            self.signal,  # type: ignore[arg-type]
            clock_skew_s=300,
            clock=self.clock,
        )
        self.auth = AuthService(
            self.db,
            self.auth_store,  # type: ignore[arg-type]
            challenge_ttl_s=60,
            session_ttl_s=3600,
            clock=self.clock,
        )
        self.admin = AdminService(
            self.db,
            self.auth_store,  # type: ignore[arg-type]
            self.keys,  # type: ignore[arg-type]
            registry_cache,
            presence=self.presence,
        )
        self.domains = DomainService(
            self.db, registry_cache, allow_loopback=True, timeout_s=1.0, clock=self.clock
        )
        self.webhooks = WebhookService(self.db, allow_loopback=True, max_per_agent=3)
        self.cards = CardService(
            self.registry,
            self.db,
            allow_loopback=True,
            base_url="http://registry.test",
            software_version="test",
        )

    def auth_ttl(self, what: str) -> timedelta:
        return timedelta(seconds={"challenge": 60, "session": 3600}[what])

    async def register(
        self,
        key: Ed25519PrivateKey | None = None,
        *,
        capabilities: list[str] | None = None,
        name: str = "Test Agent",
        agent_type: AgentType = AgentType.ASSISTANT,
    ) -> tuple[Agent, Ed25519PrivateKey]:
        key = key or Ed25519PrivateKey.generate()
        agent = await self.registry.register(
            AgentProfile(display_name=name, agent_type=agent_type),
            raw_public_key(key),
            register_signature(key),
            capabilities or [],
        )
        return agent, key


@pytest.fixture
def world() -> World:
    return World()
