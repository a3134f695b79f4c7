"""Operators verify, suspend, take down and reinstate agents and set API-key plans; only
operator keys may, and every action is audited in the change feed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import grpc
import pytest
from agentregistry.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    auth_service_pb2,
    registry_service_pb2,
    resources_pb2,
    search_service_pb2,
)
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from db.repositories.events import EventRepository
from scheduler.context import JobContext
from server.auth.api_keys import ApiKeyService
from server.backing import BackingServices
from tests.attestation_factories import (
    attest,
    run_trust,
    trust_context,  # noqa: F401 - fixture
)
from tests.e2e.search_support import search_stub
from tests.factories import AgentHandle, error_details, login, register

Metadata = tuple[tuple[str, str], ...]


@pytest.fixture(scope="module")
def admin(channel: grpc.aio.Channel) -> admin_service_pb2_grpc.AdminServiceStub:
    return admin_service_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture(scope="module")
async def operator(trust_context: JobContext) -> Metadata:  # noqa: F811
    service = ApiKeyService(trust_context.uow, trust_context.redis)
    _, secret = await service.create_operator_key("ci operator")
    return (("x-api-key", secret),)


def _moderate(verb: str, agent: AgentHandle, reason: str = "ci check") -> Message:
    """The request of `<verb>Agent`: each moderation verb has its own message."""
    request: Message = getattr(admin_service_pb2, f"{verb}AgentRequest")()
    request.name, request.reason = agent.name, reason  # type: ignore[attr-defined]
    return request


async def _events(context: JobContext, agent_name: str, event_type: str) -> list[dict]:
    async with context.uow() as uow:
        events = await EventRepository(uow.session).list_after(
            0, 1000, agent_id=agent_name.removeprefix("agents/")
        )
    return [e.data for e in events if e.event_type == event_type]


async def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    details = error_details(caught.value)
    return details.code, details.reason


async def test_only_operator_keys_moderate(admin, registry, auth, operator) -> None:
    agent = await register(registry, auth)
    assert await _code(admin.VerifyAgent(_moderate("Verify", agent))) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REQUIRED",
    )
    assert await _code(admin.VerifyAgent(_moderate("Verify", agent), metadata=agent.metadata)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "OPERATOR_REQUIRED",
    )
    # Agents cannot mint operator keys, nor pick their own plan.
    for api_key, reason in [
        (auth_service_pb2.ApiKey(display_name="x", scopes=["operator"]), "SCOPE_OPERATOR_ONLY"),
        (
            auth_service_pb2.ApiKey(
                display_name="x", plan=auth_service_pb2.API_KEY_PLAN_ENTERPRISE
            ),
            "PLAN_OPERATOR_ONLY",
        ),
    ]:
        request = auth_service_pb2.CreateApiKeyRequest(parent=agent.name, api_key=api_key)
        assert await _code(auth.CreateApiKey(request, metadata=agent.metadata)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            reason,
        )
    missing = admin_service_pb2.VerifyAgentRequest(name="agents/ag_0000000000000000", reason="x")
    assert (await _code(admin.VerifyAgent(missing, metadata=operator)))[0] == (
        grpc.StatusCode.NOT_FOUND
    )


async def test_a_blank_reason_is_invalid(admin, registry, operator) -> None:
    agent = await register(registry)
    code, _ = await _code(admin.SuspendAgent(_moderate("Suspend", agent, "  "), metadata=operator))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent.name))
    assert fetched.state == resources_pb2.AGENT_STATE_ACTIVE  # nothing half-written


async def test_verification_makes_a_seed_and_is_audited(
    admin,
    registry,
    auth,
    channel,
    operator,
    trust_context,  # noqa: F811
) -> None:
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    seed, subject = await register(registry, auth), await register(registry, auth)
    await attest(attestations, seed, subject.name, behaviour=90)
    await run_trust(trust_context)
    before = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=subject.name))
    assert before.trust_score == 0.0  # an unverified attester confers nothing

    verified = await admin.VerifyAgent(
        _moderate("Verify", seed, "known operator"), metadata=operator
    )
    assert verified.verified
    await run_trust(trust_context)
    after = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=subject.name))
    assert after.trust_score > 0
    [event] = await _events(trust_context, seed.name, "AGENT_VERIFIED")
    assert event["reason"] == "known operator" and event["operator"].startswith("ak_")

    unverified = await admin.UnverifyAgent(_moderate("Unverify", seed), metadata=operator)
    assert not unverified.verified
    await run_trust(trust_context)
    dropped = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=subject.name))
    assert dropped.trust_score == 0.0
    assert len(await _events(trust_context, seed.name, "AGENT_UNVERIFIED")) == 1


async def test_suspension_hides_the_agent_and_ends_its_credentials(
    admin,
    registry,
    auth,
    channel,
    operator,
    trust_context,  # noqa: F811
) -> None:
    label = f"Suspendable {uuid.uuid4().hex[:8]}"
    agent = await register(registry, auth, display_name=label)
    key = await auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="ci", scopes=["write"])
        ),
        metadata=agent.metadata,
    )
    search = search_stub(channel)
    query = search_service_pb2.SearchAgentsRequest(query=label)
    assert [r.agent.name for r in (await search.SearchAgents(query)).results] == [agent.name]

    before_suspension = agent.metadata
    suspended = await admin.SuspendAgent(_moderate("Suspend", agent, "spam"), metadata=operator)
    assert suspended.state == resources_pb2.AGENT_STATE_SUSPENDED
    shown = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent.name))
    assert shown.state == resources_pb2.AGENT_STATE_SUSPENDED
    update = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=agent.name, description="still here"),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]),
    )
    assert (await _code(registry.UpdateAgent(update, metadata=agent.metadata)))[0] == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    assert await _code(registry.UpdateAgent(update, metadata=(("x-api-key", key.key),))) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "AGENT_SUSPENDED",
    )
    assert await _code(
        auth.CreateChallenge(auth_service_pb2.CreateChallengeRequest(agent=agent.name))
    ) == (grpc.StatusCode.PERMISSION_DENIED, "AGENT_SUSPENDED")
    assert list((await search.SearchAgents(query)).results) == []
    listed = await registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_size=500))
    assert agent.name not in {a.name for a in listed.agents}
    [event] = await _events(trust_context, agent.name, "AGENT_SUSPENDED")
    assert event["reason"] == "spam"

    reinstated = await admin.ReinstateAgent(
        _moderate("Reinstate", agent, "appeal"), metadata=operator
    )
    assert reinstated.state == resources_pb2.AGENT_STATE_ACTIVE
    # A session from before the suspension stays dead; the agent signs in again.
    assert (await _code(registry.UpdateAgent(update, metadata=before_suspension)))[0] == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    await login(auth, agent)
    assert agent.metadata != before_suspension
    assert (await registry.UpdateAgent(update, metadata=agent.metadata)).description == (
        "still here"
    )
    assert [r.agent.name for r in (await search.SearchAgents(query)).results] == [agent.name]


async def test_suspended_agents_stop_counting_in_trust(
    admin,
    registry,
    auth,
    channel,
    operator,
    trust_context,  # noqa: F811
) -> None:
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    seed, middle, subject = [await register(registry, auth) for _ in range(3)]
    await admin.VerifyAgent(_moderate("Verify", seed), metadata=operator)
    await attest(attestations, seed, middle.name, behaviour=90)
    await attest(attestations, middle, subject.name, behaviour=90)
    await run_trust(trust_context)
    get = registry_service_pb2.GetAgentRequest(name=subject.name)
    assert (await registry.GetAgent(get)).trust_score > 0

    await admin.SuspendAgent(_moderate("Suspend", middle), metadata=operator)
    await run_trust(trust_context)
    assert (await registry.GetAgent(get)).trust_score == 0.0


async def test_a_taken_down_agent_reads_as_not_found(
    admin,
    registry,
    channel,
    operator,
    trust_context,  # noqa: F811
) -> None:
    agent = await register(registry)
    await admin.TakeDownAgent(_moderate("TakeDown", agent, "malware"), metadata=operator)
    get = registry_service_pb2.GetAgentRequest(name=agent.name)
    assert (await _code(registry.GetAgent(get)))[0] == grpc.StatusCode.NOT_FOUND
    reputation = attestation_service_pb2_grpc.ReputationServiceStub(channel)
    request = attestation_service_pb2.GetReputationRequest(name=f"{agent.name}/reputation")
    assert (await _code(reputation.GetReputation(request)))[0] == grpc.StatusCode.NOT_FOUND
    assert len(await _events(trust_context, agent.name, "AGENT_TAKEN_DOWN")) == 1
    # Verifying needs an active agent.
    assert await _code(admin.VerifyAgent(_moderate("Verify", agent), metadata=operator)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "AGENT_NOT_ACTIVE",
    )
    await admin.ReinstateAgent(_moderate("Reinstate", agent), metadata=operator)
    assert (await registry.GetAgent(get)).state == resources_pb2.AGENT_STATE_ACTIVE


async def test_operators_set_plans(
    admin,
    registry,
    auth,
    operator,
    trust_context,  # noqa: F811
) -> None:
    agent = await register(registry, auth)
    key = await auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="ci")
        ),
        metadata=agent.metadata,
    )
    assert key.plan == auth_service_pb2.API_KEY_PLAN_FREE
    request = admin_service_pb2.UpdateApiKeyPlanRequest(
        name=key.name, plan=auth_service_pb2.API_KEY_PLAN_ENTERPRISE, reason="contract"
    )
    assert (await _code(admin.UpdateApiKeyPlan(request, metadata=agent.metadata)))[1] == (
        "OPERATOR_REQUIRED"
    )
    updated = await admin.UpdateApiKeyPlan(request, metadata=operator)
    assert updated.plan == auth_service_pb2.API_KEY_PLAN_ENTERPRISE
    listed = await auth.ListApiKeys(
        auth_service_pb2.ListApiKeysRequest(parent=agent.name), metadata=agent.metadata
    )
    assert [k.plan for k in listed.api_keys] == [auth_service_pb2.API_KEY_PLAN_ENTERPRISE]
    [event] = await _events(trust_context, agent.name, "API_KEY_PLAN_CHANGED")
    assert (event["plan"], event["reason"]) == ("enterprise", "contract")
    unset = admin_service_pb2.UpdateApiKeyPlanRequest(name=key.name, reason="x")
    assert (await _code(admin.UpdateApiKeyPlan(unset, metadata=operator)))[0] == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def _cli(backing: BackingServices, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": backing.database_url, "REDIS_URL": backing.redis_url}
    return subprocess.run(
        [sys.executable, "-m", "server.admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_operator_keys_come_from_the_command_line(admin, registry, backing) -> None:
    created = _cli(backing, "create-operator-key", "--name", "cli")
    assert created.returncode == 0, created.stderr
    header, secret = created.stdout.strip().splitlines()
    key_id = header.split()[2]
    assert key_id.startswith("ak_") and secret.startswith("ak_")
    agent = await register(registry)
    verified = await admin.VerifyAgent(
        _moderate("Verify", agent), metadata=(("x-api-key", secret),)
    )
    assert verified.verified

    revoked = _cli(backing, "revoke-operator-key", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert await _code(
        admin.UnverifyAgent(_moderate("Unverify", agent), metadata=(("x-api-key", secret),))
    ) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "API_KEY_INVALID",
    )
    assert _cli(backing, "revoke-operator-key", key_id).returncode != 0
