"""Side effects after commit, declared per event type instead of sequenced by hand.

A service records what happened as typed domain events (server/domain/events.py)
through `uow.events.add`, which writes the outbox row in the same transaction.
`PostCommit.commit(uow)` commits and then runs, in order, the handlers declared for
each recorded event: retiring cached reads, telling in-process indexes, ending
sessions. Nothing runs when the transaction does not commit, and a handler's
failure propagates to the caller, as the hand-written sequence did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from db.ports import UnitOfWorkPort
from server.domain.events import DomainEvent

E = TypeVar("E", bound=DomainEvent)


class PostCommit:
    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Callable[[Any], Awaitable[None]]]] = {}

    def on(self, kind: type[E], handler: Callable[[E], Awaitable[None]]) -> Self:
        """Run `handler` after commit for every recorded event of exactly this class."""
        self._handlers.setdefault(kind, []).append(handler)
        return self

    async def commit(self, uow: UnitOfWorkPort) -> None:
        await uow.commit()
        await self.handle(uow.events.recorded)

    async def handle(self, events: list[DomainEvent]) -> None:
        for event in events:
            for handler in self._handlers.get(type(event), ()):
                await handler(event)
