"""The agent aggregate as the rest of the server sees it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class AgentType(enum.StrEnum):
    ASSISTANT = "assistant"
    AUTONOMOUS = "autonomous"
    TOOL = "tool"
    ORCHESTRATOR = "orchestrator"
    SERVICE = "service"


class AgentState(enum.StrEnum):
    """Set by operators; only active agents are listed, searched and counted in trust."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    TAKEN_DOWN = "taken_down"


class AgentStatus(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    BUSY = "busy"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """The fields an agent controls; what registration and updates carry."""

    display_name: str
    # None only in a request that left the enum unset; validation rejects it.
    agent_type: AgentType | None
    description: str = ""
    endpoint_uri: str = ""
    tags: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    profile: AgentProfile
    public_key: bytes
    capabilities: tuple[str, ...]
    status: AgentStatus
    last_seen_at: datetime | None
    trust_score: float
    verified: bool
    key_version: int
    created_at: datetime
    updated_at: datetime
    state: AgentState = AgentState.ACTIVE
    domain: str = ""  # claimed domain, "" if none
    domain_verified_at: datetime | None = None  # set while the claim is proven


@dataclass(frozen=True, slots=True)
class Capability:
    capability_id: str
    display_name: str
    description: str
    synonyms: tuple[str, ...]
    agent_count: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One keyset page; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: tuple[str, ...] | None
