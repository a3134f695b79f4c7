"""Repositories: all SQL lives here; they take and return domain objects, never ORM rows."""

from db.repositories.agents import AgentRepository
from db.repositories.api_keys import ApiKeyRepository
from db.repositories.capabilities import CapabilityRepository
from db.repositories.events import EventRepository

__all__ = ["AgentRepository", "ApiKeyRepository", "CapabilityRepository", "EventRepository"]
