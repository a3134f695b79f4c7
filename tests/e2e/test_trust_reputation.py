"""The trust job's output as clients see it: GetReputation, ListLeaderboard, GetAgent."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, registry_service_pb2, resources_pb2

from db.repositories.events import EventRepository
from tests.attestation_factories import (
    attest,
    mark_verified,
    run_trust,
    run_trust_job,
    trust_context,  # noqa: F401 - fixture
)
from tests.factories import error_details, register

TRANSLATION = "capabilities/translation"


@pytest.fixture(scope="module")
def attestations(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.AttestationServiceStub:
    return attestation_service_pb2_grpc.AttestationServiceStub(channel)


@pytest.fixture(scope="module")
def reputation(channel: grpc.aio.Channel) -> attestation_service_pb2_grpc.ReputationServiceStub:
    return attestation_service_pb2_grpc.ReputationServiceStub(channel)


async def _reputation(reputation, agent_name: str):
    return await reputation.GetReputation(pb.GetReputationRequest(name=f"{agent_name}/reputation"))


async def _events(context, agent_name: str, event_type: str) -> list[dict]:
    async with context.uow() as uow:
        events = await EventRepository(uow.session).list_after(
            0, 1000, agent_id=agent_name.removeprefix("agents/")
        )
    return [e.data for e in events if e.event_type == event_type]


async def test_reputation_explains_the_score(
    attestations,
    reputation,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    seed_a, seed_b = await register(registry, auth), await register(registry, auth)
    critic = await register(registry, auth)
    subject = await register(registry, auth, capabilities=[TRANSLATION])
    await mark_verified(trust_context, seed_a, seed_b)
    await attest(attestations, seed_a, subject.name, behaviour=90)
    await attest(attestations, seed_b, subject.name, behaviour=70)
    for attester in (seed_a, seed_b):
        await attest(attestations, attester, subject.name, capability=(TRANSLATION, True))
    await attest(attestations, critic, subject.name, capability=(TRANSLATION, False))

    low_bar = dataclasses.replace(
        trust_context,
        settings=trust_context.settings.model_copy(
            update={"trust_verify_threshold": 1.0, "trust_verify_groups": 1}
        ),
    )
    await run_trust(low_bar)

    explained = await _reputation(reputation, subject.name)
    agent = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=subject.name))
    assert explained.trust_score == agent.trust_score > 0
    assert explained.HasField("compute_time")
    assert (explained.behaviour_claims, explained.distinct_attesters) == (2, 3)
    assert explained.component_size == 4 and explained.component_seeded
    assert explained.reachable_from_seed and explained.rated
    # Two seeds weigh one ordinary rater each: the mean of the middle half is their mean.
    assert explained.behaviour_average == 80.0
    assert {r.agent for r in explained.behaviour_raters} == {seed_a.name, seed_b.name}
    assert all(0 < r.weight <= 1 for r in explained.behaviour_raters)
    assert 1 <= explained.standing_groups <= 2
    assert abs(sum(s.share for s in explained.standing_sources) - 1.0) < 0.01
    assert resources_pb2.REPUTATION_FLAG_UNRATED not in explained.flags
    assert explained.standing_score > 0 and 0 < explained.confidence < 1
    assert explained.behaviour_score == round(
        50 + explained.confidence * (explained.behaviour_average - 50), 2
    )
    assert (
        abs(explained.trust_score - (explained.standing_score * explained.behaviour_score) ** 0.5)
        < 0.05
    )
    assert explained.attesters_with_standing == 2
    assert {c.agent for c in explained.top_contributors} == {seed_a.name, seed_b.name}
    assert abs(sum(c.share for c in explained.top_contributors) - 1.0) < 0.01
    [capability] = explained.capabilities
    assert capability.capability == TRANSLATION
    assert (capability.positive_claims, capability.negative_claims) == (2, 1)
    # Each seed weighs one rater, one per group; the critic has no standing and weighs 0.
    assert capability.weighted_support == capability.supporting_groups in (1, 2)
    assert capability.verified
    verified_events = await _events(trust_context, subject.name, "CAPABILITY_VERIFIED")
    assert [e["capability"] for e in verified_events] == [TRANSLATION]

    # Recomputing without change verifies nothing anew; withdrawing support unverifies.
    await run_trust(low_bar)
    assert len(await _events(trust_context, subject.name, "CAPABILITY_VERIFIED")) == 1
    listed = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=subject.name))
    for claim in listed.attestations:
        if claim.WhichOneof("claim") == "capability" and claim.capability.value:
            attester = seed_a if claim.attester == seed_a.name else seed_b
            await attestations.RevokeAttestation(
                pb.RevokeAttestationRequest(name=claim.name), metadata=attester.metadata
            )
    await run_trust(low_bar)
    [capability] = (await _reputation(reputation, subject.name)).capabilities
    assert (capability.positive_claims, capability.negative_claims) == (0, 1)
    assert not capability.verified and capability.weighted_support <= 0


async def test_an_agent_without_claims_sits_at_the_baseline(
    reputation,
    registry,
    trust_context,  # noqa: F811
) -> None:
    loner = await register(registry)
    await run_trust(trust_context)
    explained = await _reputation(reputation, loner.name)
    assert explained.trust_score == 0.0
    assert (explained.component_size, explained.distinct_attesters) == (1, 0)
    assert not explained.component_seeded and not explained.reachable_from_seed
    assert list(explained.capabilities) == []


async def test_reputation_errors(reputation) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reputation.GetReputation(
            pb.GetReputationRequest(name="agents/ag_0000000000000000/reputation")
        )
    assert error_details(caught.value).code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reputation.GetReputation(pb.GetReputationRequest(name="agents/ag_x"))
    assert error_details(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_single_attester_repeating_claims_gains_nothing(
    attestations,
    reputation,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    seed = await register(registry, auth)
    friend = await register(registry, auth)
    other = await register(registry, auth)
    await mark_verified(trust_context, seed)
    await attest(attestations, seed, friend.name, behaviour=100)
    await attest(attestations, seed, other.name, behaviour=100)
    await run_trust(trust_context)
    once = (await _reputation(reputation, friend.name)).trust_score

    for _ in range(5):
        await attest(attestations, seed, friend.name, behaviour=100)
    await run_trust(trust_context)
    repeated = await _reputation(reputation, friend.name)
    assert repeated.trust_score == once
    assert repeated.behaviour_claims == 1 and repeated.distinct_attesters == 1
    active = await attestations.ListAttestations(pb.ListAttestationsRequest(subject=friend.name))
    assert len(active.attestations) == 1


async def test_leaderboard_pages_by_score(
    attestations,
    reputation,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    seed = await register(registry, auth, capabilities=[TRANSLATION])
    others = [await register(registry, auth) for _ in range(4)]
    await mark_verified(trust_context, seed)
    for index, agent in enumerate(others):
        await attest(attestations, seed, agent.name, behaviour=100 - 20 * index)
    await run_trust(trust_context)

    ranked = []
    token = ""
    for _ in range(50):
        page = await reputation.ListLeaderboard(
            pb.ListLeaderboardRequest(page_size=7, page_token=token)
        )
        ranked += list(page.agents)
        token = page.next_page_token
        if not token:
            break
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    keys = [(-r.agent.trust_score, r.agent.name) for r in ranked]
    assert keys == sorted(keys)
    names = [r.agent.name for r in ranked]
    assert len(set(names)) == len(names)
    assert {seed.name, *(a.name for a in others)} <= set(names)
    scores = {r.agent.name: r.agent.trust_score for r in ranked}
    assert [scores[a.name] for a in others] == sorted(
        (scores[a.name] for a in others), reverse=True
    )

    translators = await reputation.ListLeaderboard(
        pb.ListLeaderboardRequest(capability=TRANSLATION, page_size=500)
    )
    assert seed.name in {r.agent.name for r in translators.agents}
    assert all(TRANSLATION in r.agent.capabilities for r in translators.agents)


async def test_leaderboard_rejects_bad_input(reputation) -> None:
    for request in (
        pb.ListLeaderboardRequest(page_size=-1),
        pb.ListLeaderboardRequest(page_token="garbage"),
        pb.ListLeaderboardRequest(capability="nope"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await reputation.ListLeaderboard(request)
        assert error_details(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await reputation.ListLeaderboard(
            pb.ListLeaderboardRequest(capability="capabilities/zzz-none")
        )
    assert error_details(caught.value).code == grpc.StatusCode.NOT_FOUND


async def test_job_runs_when_attestations_change_and_skips_otherwise(
    attestations,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    await run_trust_job(trust_context)  # consume whatever earlier tests left pending
    assert await run_trust_job(trust_context) == {"skipped": 1}
    attester, subject = await register(registry, auth), await register(registry)
    await attest(attestations, attester, subject.name, behaviour=55)
    figures = await run_trust_job(trust_context)
    assert "agents" in figures and figures["attestations"] >= 1
    assert await run_trust_job(trust_context) == {"skipped": 1}


async def test_each_trust_run_retires_cached_reputations(
    reputation,
    registry,
    trust_context,  # noqa: F811
) -> None:
    """A reputation is served from the cache between runs, and never outlives the next."""
    agent = await register(registry)
    await run_trust(trust_context)
    first = await _reputation(reputation, agent.name)
    assert first.HasField("compute_time")
    assert await _reputation(reputation, agent.name) == first
    await run_trust(trust_context)
    again = await _reputation(reputation, agent.name)
    assert again.compute_time.ToDatetime() > first.compute_time.ToDatetime()
