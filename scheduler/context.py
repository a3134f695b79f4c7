"""What every job receives: shared connections, built once per scheduler process."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import UnitOfWorkFactory
from server.domain.clock import Clock, utc_now
from server.settings import Settings


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    redis: Redis
    # What expiry and staleness are judged against; tests move it instead of sleeping.
    clock: Clock = utc_now
