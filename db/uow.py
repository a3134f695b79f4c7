"""Unit of work: one session and one transaction per RPC or job."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.repositories import (
    AgentRepository,
    ApiKeyRepository,
    CapabilityRepository,
    EventRepository,
)
from db.repositories.attestations import AttestationRepository
from db.repositories.cards import CardRepository
from db.repositories.domains import DomainRepository
from db.repositories.reputation import ReputationRepository
from db.repositories.trust import TrustRepository
from db.repositories.webhooks import WebhookRepository


class UnitOfWork:
    """`async with uow:` opens a transaction that is rolled back unless `commit()` was awaited,
    so an exception (or a forgotten commit) never leaves half a write behind."""

    agents: AgentRepository
    api_keys: ApiKeyRepository
    capabilities: CapabilityRepository
    events: EventRepository
    attestations: AttestationRepository
    trust: TrustRepository
    reputation: ReputationRepository
    domains: DomainRepository
    cards: CardRepository
    webhooks: WebhookRepository

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], refuse: Callable[[], None] | None = None
    ) -> None:
        self._sessions = sessions
        self._refuse = refuse
        self._session: AsyncSession | None = None
        self._committed = False

    @property
    def session(self) -> AsyncSession:
        """The open session, for repositories defined outside db.repositories' core set."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        if self._refuse is not None:
            self._refuse()
        self._session = self._sessions()
        self._committed = False
        self.agents = AgentRepository(self._session)
        self.api_keys = ApiKeyRepository(self._session)
        self.capabilities = CapabilityRepository(self._session)
        self.events = EventRepository(self._session)
        self.attestations = AttestationRepository(self._session)
        self.trust = TrustRepository(self._session)
        self.reputation = ReputationRepository(self._session)
        self.domains = DomainRepository(self._session)
        self.cards = CardRepository(self._session)
        self.webhooks = WebhookRepository(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        try:
            if not self._committed:
                await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()
        self._committed = True

    async def rollback(self) -> None:
        await self.session.rollback()


class UnitOfWorkFactory:
    """What services hold: each call gives a fresh unit of work (never shared across tasks).

    `refuse` (the server's breaker, db/breaker.py) raises before a unit of work waits for
    a pooled connection while Postgres is known not to answer: with every connection held
    by a statement on a silent server, a call would otherwise queue its pool timeout."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], refuse: Callable[[], None] | None = None
    ) -> None:
        self._sessions = sessions
        self._refuse = refuse

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, self._refuse)
