"""Client side of the attestation contract for tests: canonical bytes built from
the layout documented in resources.proto (not from server code), signed requests,
and a way to run the trust job and mark seeds the way an operator would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agentregistry.v1 import attestation_service_pb2, resources_pb2
from google.protobuf import timestamp_pb2
from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.trust_recompute import recompute, trust_recompute
from server.backing import BackingServices
from server.settings import Settings
from tests.factories import AgentHandle


def stamp(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(value)
    return message


def whole_seconds(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _rfc3339(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(
    attester: str, subject: str, kind: str, value: str, issued: datetime, expires: datetime | None
) -> bytes:
    lines = [
        "agentregistry.v1.Attestation",
        attester,
        subject,
        kind,
        value,
        _rfc3339(issued),
        _rfc3339(expires),
    ]
    return "\n".join(lines).encode()


def attestation(
    attester: AgentHandle,
    subject: str,
    *,
    behaviour: int | None = None,
    identity: str | None = None,
    capability: tuple[str, bool] | None = None,
    issued: datetime | None = None,
    expires: datetime | None = None,
    sign_as: AgentHandle | None = None,
) -> resources_pb2.Attestation:
    """A signed Attestation; exactly one claim keyword is expected."""
    issued = whole_seconds(issued or datetime.now(UTC))
    message = resources_pb2.Attestation(subject=subject, issue_time=stamp(issued))
    if expires is not None:
        expires = whole_seconds(expires)
        message.expire_time.CopyFrom(stamp(expires))
    if capability is not None:
        message.capability.capability, message.capability.value = capability
        kind, value = "capability", f"{capability[0]}={'true' if capability[1] else 'false'}"
    elif identity is not None:
        message.identity.value = identity
        kind, value = "identity", identity
    else:
        message.behaviour.score = behaviour if behaviour is not None else 100
        kind, value = "behaviour", str(message.behaviour.score)
    payload = canonical(attester.name, subject, kind, value, issued, expires)
    message.signature = (sign_as or attester).key.sign(payload)
    return message


async def attest(
    attestations: Any, attester: AgentHandle, subject: str, **claim: Any
) -> resources_pb2.Attestation:
    return await attestations.CreateAttestation(  # type: ignore[no-any-return]
        attestation_service_pb2.CreateAttestationRequest(
            attestation=attestation(attester, subject, **claim)
        ),
        metadata=attester.metadata,
    )


def in_minutes(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


@pytest.fixture(scope="session")
async def trust_context(backing: BackingServices, settings: Settings) -> AsyncIterator[JobContext]:
    engine = create_engine(backing.database_url, pool_size=2)
    redis = Redis.from_url(backing.redis_url)
    yield JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    await redis.aclose()
    await engine.dispose()


async def run_trust(context: JobContext) -> dict[str, Any]:
    """A full recomputation, as the scheduler's job would run it when due."""
    return await recompute(context)


async def run_trust_job(context: JobContext) -> dict[str, Any]:
    return await trust_recompute(context)


async def mark_verified(context: JobContext, *agents: AgentHandle) -> None:
    """Operator verification (there is no public API for it)."""
    async with context.uow() as uow:
        for agent in agents:
            await uow.trust.set_verified(agent.name.removeprefix("agents/"))
        await uow.commit()
