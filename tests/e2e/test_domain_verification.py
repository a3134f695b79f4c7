"""Domain proof: the agent's key listed at the domain's well-known file, fetched through the
SSRF guard, rechecked by a job that drops the proof when it stops holding; a proven domain
is identity, shown and searchable, and confers no trust."""

from __future__ import annotations

import base64
import dataclasses
import json

import grpc
import pytest
from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    domain_service_pb2,
    domain_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
    search_service_pb2,
    search_service_pb2_grpc,
)

from db.repositories.events import EventRepository
from scheduler.context import JobContext
from scheduler.jobs.domain_recheck import domain_recheck
from tests.attestation_factories import (
    attest,
    run_trust,
    trust_context,  # noqa: F401 - fixture
)
from tests.factories import AgentHandle, error_details, register
from tests.webhook_receiver import Receiver

WELL_KNOWN = "/.well-known/agentregistry.json"


@pytest.fixture(scope="module")
def domains(channel: grpc.aio.Channel) -> domain_service_pb2_grpc.DomainServiceStub:
    return domain_service_pb2_grpc.DomainServiceStub(channel)


def _publish(site: Receiver, *agents: AgentHandle) -> None:
    keys = [base64.b64encode(a.agent.public_key).decode() for a in agents]
    site.bodies[WELL_KNOWN] = json.dumps({"public_keys": keys}).encode()


async def _claim(domains, agent: AgentHandle, domain: str):
    return await domains.ClaimDomain(
        domain_service_pb2.ClaimDomainRequest(name=agent.name, domain=domain),
        metadata=agent.metadata,
    )


async def _verify(domains, agent: AgentHandle):
    return await domains.VerifyDomain(
        domain_service_pb2.VerifyDomainRequest(name=agent.name), metadata=agent.metadata
    )


async def _failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    details = error_details(caught.value)
    return details.code, details.reason


async def _events(context: JobContext, agent: AgentHandle, event_type: str) -> list[dict]:
    async with context.uow() as uow:
        events = await EventRepository(uow.session).list_after(
            0, 1000, agent_id=agent.name.removeprefix("agents/")
        )
    return [e.data for e in events if e.event_type == event_type]


async def test_a_listed_key_proves_the_domain_and_confers_no_trust(
    domains,
    registry,
    auth,
    channel,
    site,
    trust_context,  # noqa: F811
) -> None:
    owner, subject = await register(registry, auth), await register(registry, auth)
    domain = f"127.0.0.1:{site.port}"
    claimed = await _claim(domains, owner, domain)
    assert claimed.domain == domain and not claimed.HasField("domain_verify_time")
    _publish(site, subject)  # someone else's key only
    assert await _failure(_verify(domains, owner)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "DOMAIN_PROOF_FAILED",
    )
    _publish(site, subject, owner)
    proven = await _verify(domains, owner)
    assert proven.HasField("domain_verify_time")
    assert [r.path for r in site.requests][-1] == WELL_KNOWN
    assert await _events(trust_context, owner, "AGENT_DOMAIN_VERIFIED") == [{"domain": domain}]

    # Identity is not trust: what the proven agent vouches for gains no standing.
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    await attest(attestations, owner, subject.name, behaviour=90)
    await run_trust(trust_context)
    get = registry_service_pb2.GetAgentRequest(name=subject.name)
    assert (await registry.GetAgent(get)).trust_score == 0.0
    reputations = attestation_service_pb2_grpc.ReputationServiceStub(channel)
    explained = await reputations.GetReputation(
        attestation_service_pb2.GetReputationRequest(name=f"{subject.name}/reputation")
    )
    assert not explained.rated and not explained.reachable_from_seed
    assert resources_pb2.REPUTATION_FLAG_UNRATED in explained.flags
    # The proof is shown, and search can filter on it.
    search = search_service_pb2_grpc.SearchServiceStub(channel)
    found = await search.SearchAgents(
        search_service_pb2.SearchAgentsRequest(
            filter=search_service_pb2.AgentFilter(domain_proven_only=True), page_size=500
        )
    )
    names = {r.agent.name for r in found.results}
    assert owner.name in names and subject.name not in names

    # The recheck job keeps a proof that holds and drops one that stops holding.
    due_now = dataclasses.replace(
        trust_context,
        settings=trust_context.settings.model_copy(update={"domain_recheck_interval_s": 1e-6}),
    )
    assert (await domain_recheck(due_now))["lost"] == 0
    site.script(WELL_KNOWN, 404)
    figures = await domain_recheck(due_now)
    assert figures["lost"] >= 1
    shown = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert not shown.HasField("domain_verify_time") and shown.domain == domain
    [lost] = await _events(trust_context, owner, "AGENT_DOMAIN_LOST")
    assert "404" in lost["error"]
    found = await search.SearchAgents(
        search_service_pb2.SearchAgentsRequest(
            filter=search_service_pb2.AgentFilter(domain_proven_only=True), page_size=500
        )
    )
    assert owner.name not in {r.agent.name for r in found.results}


async def test_claims_are_checked(domains, registry, auth) -> None:
    agent, other = await register(registry, auth), await register(registry, auth)
    for bad in ["", "not a domain", "https://example.com", "example", "a..example.com"]:
        code, _ = await _failure(_claim(domains, agent, bad))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, bad
    assert await _failure(_verify(domains, agent)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "DOMAIN_NOT_CLAIMED",
    )
    # Only the agent itself may claim for itself.
    request = domain_service_pb2.ClaimDomainRequest(name=agent.name, domain="example.com")
    code, _ = await _failure(domains.ClaimDomain(request, metadata=other.metadata))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert (await _claim(domains, agent, "Agents.Example.COM.")).domain == "agents.example.com"


async def test_private_addresses_are_refused(
    domains,
    registry,
    auth,
    trust_context,  # noqa: F811
) -> None:
    """Without the loopback setting, a domain resolving to loopback is never fetched."""
    from server.domain_proofs import proof

    agent = await register(registry, auth)
    await _claim(domains, agent, "localhost.localdomain")
    code, reason = await _failure(_verify(domains, agent))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DOMAIN_PROOF_FAILED")
    with pytest.raises(proof.ProofFailed, match="refused"):
        import httpx

        async with httpx.AsyncClient() as client:
            await proof.fetch(client, "localhost", allow_loopback=False, deadline_s=5.0)
