"""Unique test data so tests sharing one database never collide."""

from __future__ import annotations

import itertools
import os

from db.ports import UnitsOfWork
from server.domain.agents import Agent, AgentProfile, AgentType
from server.domain.ids import AGENT_PREFIX, new_id

_counter = itertools.count(1)


def public_key() -> bytes:
    return os.urandom(32)


def profile(**fields: object) -> AgentProfile:
    values: dict[str, object] = {
        "display_name": f"Integration Agent {next(_counter)}",
        "agent_type": AgentType.ASSISTANT,
        "description": "Made by the integration tests.",
        "tags": ("test",),
        "protocols": ("grpc",),
        "metadata": {"suite": "integration"},
    }
    values.update(fields)
    return AgentProfile(**values)  # type: ignore[arg-type]


async def register(
    uow: UnitsOfWork,
    capabilities: tuple[str, ...] = (),
    key: bytes | None = None,
    **fields: object,
) -> Agent:
    async with uow() as work:
        agent = await work.agents.add(
            new_id(AGENT_PREFIX), profile(**fields), key or public_key(), capabilities
        )
        await work.commit()
    return agent


async def agent_count(uow: UnitsOfWork, capability_id: str) -> int:
    async with uow() as work:
        capability = await work.capabilities.get(capability_id)
    assert capability is not None
    return capability.agent_count
