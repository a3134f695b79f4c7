"""The recomputation compares what it computed with what it stored and rewrites exactly
the rows that differ: a stored row edited behind its back is put right, a row that
should not exist is deleted, and one that went missing comes back."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from agentregistry.v1 import attestation_service_pb2_grpc
from sqlalchemy import text

from tests.attestation_factories import (
    attest,
    mark_verified,
    run_trust,
    trust_context,  # noqa: F401 - fixture
)
from tests.factories import register

TRANSLATION = "translation"
STANDING = (
    "SELECT behaviour_average, behaviour_claims, distinct_attesters, component_size,"
    " component_seeded, reachable_from_seed, standing_score, behaviour_score, confidence,"
    " attesters_with_standing, top_contributors, top_contributions"
    " FROM agent_trust WHERE agent_id = :id"
)
TALLY = (
    "SELECT capability_id, positive_claims, negative_claims, weighted_support, verified"
    " FROM capability_trust WHERE agent_id = :id ORDER BY capability_id"
)


@pytest.fixture(scope="module")
def attestations(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.AttestationServiceStub:
    return attestation_service_pb2_grpc.AttestationServiceStub(channel)


async def _rows(context: Any, sql: str, agent_id: str) -> list[tuple[Any, ...]]:
    async with context.uow() as uow:
        return [tuple(r) for r in await uow.session.execute(text(sql), {"id": agent_id})]


async def _execute(context: Any, *statements: tuple[str, dict[str, Any]]) -> None:
    async with context.uow() as uow:
        for sql, params in statements:
            await uow.session.execute(text(sql), params)
        await uow.commit()


async def test_rows_changed_behind_the_jobs_back_are_rewritten(
    registry,
    auth,
    attestations,
    trust_context,  # noqa: F811
) -> None:
    seed = await register(registry, auth)
    helper = await register(registry, auth)
    subject = await register(registry, auth)
    bystander = await register(registry, auth)
    await mark_verified(trust_context, seed)
    await attest(attestations, seed, helper.name, behaviour=90)
    await attest(attestations, seed, subject.name, behaviour=80)
    await attest(attestations, helper, subject.name, behaviour=70)
    await attest(attestations, seed, subject.name, capability=(f"capabilities/{TRANSLATION}", True))
    await run_trust(trust_context)
    subject_id = subject.name.removeprefix("agents/")
    bystander_id = bystander.name.removeprefix("agents/")
    standing = await _rows(trust_context, STANDING, subject_id)
    tally = await _rows(trust_context, TALLY, subject_id)
    assert standing and tally
    assert standing[0][10][:2] == [
        seed.name.removeprefix("agents/"),
        helper.name.removeprefix("agents/"),
    ]

    await _execute(
        trust_context,
        (
            "UPDATE agent_trust SET behaviour_average = behaviour_average + 1,"
            " top_contributors = top_contributors || 'ag_gone'::text,"
            " top_contributions = top_contributions || 0.5::float8 WHERE agent_id = :id",
            {"id": subject_id},
        ),
        ("DELETE FROM capability_trust WHERE agent_id = :id", {"id": subject_id}),
        (
            "INSERT INTO agent_trust (agent_id, behaviour_average, behaviour_claims,"
            " distinct_attesters, component_size, component_seeded, reachable_from_seed)"
            " VALUES (:id, 0, 0, 0, 1, false, false)",
            {"id": bystander_id},
        ),
        (
            "INSERT INTO capability_trust (agent_id, capability_id, positive_claims,"
            " negative_claims, weighted_support, verified)"
            " VALUES (:id, :capability, 1, 0, 10, false)",
            {"id": bystander_id, "capability": TRANSLATION},
        ),
    )
    figures = await run_trust(trust_context)
    assert figures["standing_changed"] >= 2  # the edited row and the stray one
    assert await _rows(trust_context, STANDING, subject_id) == standing
    assert await _rows(trust_context, TALLY, subject_id) == tally
    assert await _rows(trust_context, STANDING, bystander_id) == []
    assert await _rows(trust_context, TALLY, bystander_id) == []
