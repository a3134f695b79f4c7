"""A ring of fresh agents rating each other 100 cannot buy trust, nor hurt an honest agent."""

from __future__ import annotations

import random
import statistics

import grpc
import pytest
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, registry_service_pb2

from tests.attestation_factories import (
    attest,
    mark_verified,
    run_trust,
    trust_context,  # noqa: F401 - fixture
)
from tests.factories import register

HONEST = 40
SEEDS = 4
RATINGS_EACH = 6
RING = 200


@pytest.fixture(scope="module")
def attestations(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.AttestationServiceStub:
    return attestation_service_pb2_grpc.AttestationServiceStub(channel)


async def _scores(registry, agents) -> list[float]:
    return [
        (await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=a.name))).trust_score
        for a in agents
    ]


async def test_a_ring_of_fresh_agents_gains_nothing(
    attestations,
    registry,
    auth,
    channel,
    trust_context,  # noqa: F811
) -> None:
    rng = random.Random(4)
    honest = [await register(registry, auth) for _ in range(HONEST)]
    await mark_verified(trust_context, *honest[:SEEDS])
    for index, attester in enumerate(honest):
        others = [a for i, a in enumerate(honest) if i != index]
        for subject in rng.sample(others, RATINGS_EACH):
            await attest(attestations, attester, subject.name, behaviour=rng.randint(60, 100))
    await run_trust(trust_context)
    before = await _scores(registry, honest)
    target_index = sorted(range(SEEDS, HONEST), key=lambda i: before[i])[(HONEST - SEEDS) // 2]
    target = honest[target_index]

    ring = [await register(registry, auth) for _ in range(RING)]
    for index, member in enumerate(ring):
        await attest(attestations, member, ring[(index + 1) % RING].name, behaviour=100)
    await attest(attestations, ring[0], target.name, behaviour=0)
    await run_trust(trust_context)

    after = await _scores(registry, honest)
    ring_scores = await _scores(registry, ring)
    honest_median = statistics.median(after)
    assert honest_median > 0
    assert max(ring_scores) < honest_median
    assert abs(after[target_index] - before[target_index]) < 1.0

    # The reputation says why: in the seeds' component, but no trust reaches it.
    reputation = attestation_service_pb2_grpc.ReputationServiceStub(channel)
    explained = await reputation.GetReputation(
        pb.GetReputationRequest(name=f"{ring[0].name}/reputation")
    )
    assert explained.component_seeded and not explained.reachable_from_seed
    assert explained.distinct_attesters == 1 and explained.behaviour_average == 0.0
