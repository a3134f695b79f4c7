"""What RegistryClient's mixins (trust calls, profile calls) may use of the client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import grpc

from agentregistry_client.keys import AgentKey
from agentregistry_client.session import Metadata

T = TypeVar("T")


class ClientCore(Protocol):
    channel: grpc.aio.Channel
    registry: Any
    attestations: Any
    reputations: Any

    @property
    def agent(self) -> str: ...

    @property
    def key(self) -> AgentKey | None: ...

    async def call(
        self, rpc: Callable[[Metadata], Awaitable[T]], authenticated: bool = False
    ) -> T: ...
