"""A webhook delivery's body is the Event's JSON with its typed payload, one test per
family of events: the agent's own changes, attestations about it, and operator actions.
Real server, real Postgres, the delivery job and a real HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from agentregistry.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    auth_service_pb2,
    registry_service_pb2,
)

from scheduler.context import JobContext
from server.app import RegistryServer
from server.auth.api_keys import ApiKeyService
from tests.attestation_factories import attest
from tests.e2e.test_webhooks_delivery import (
    drain,
    hook_server,  # noqa: F401 - fixture
    hook_settings,  # noqa: F401 - fixture
    job_context,  # noqa: F401 - fixture
    owner_with_hook,
    receiver,  # noqa: F401 - fixture
    stubs,  # noqa: F401 - fixture
    touch,
)
from tests.factories import register
from tests.webhook_receiver import Receiver

ENVELOPE = {"id", "type", "agent", "createTime"}


@pytest.fixture(scope="module")
async def channel(hook_server: RegistryServer) -> AsyncIterator[grpc.aio.Channel]:  # noqa: F811
    async with grpc.aio.insecure_channel(f"127.0.0.1:{hook_server.port}") as channel:
        yield channel


def bodies(receiver: Receiver, path: str) -> list[dict[str, Any]]:  # noqa: F811
    """Each delivery as a receiver reads it; the envelope plus exactly one payload."""
    documents = [json.loads(request.body) for request in receiver.at(path)]
    for document in documents:
        assert set(document) >= ENVELOPE and "data" not in document
        assert len(set(document) - ENVELOPE) == 1, document
    return documents


async def test_agent_changes_carry_what_changed(stubs, job_context, receiver) -> None:  # noqa: F811
    registry = stubs[0]
    agent, _ = await owner_with_hook(stubs, receiver.url("/agent"))
    await touch(stubs, agent, "new words")
    await registry.AddAgentCapability(
        registry_service_pb2.AddAgentCapabilityRequest(
            agent=agent.name, capability="capabilities/translation"
        ),
        metadata=agent.metadata,
    )
    await drain(job_context)

    updated, added = bodies(receiver, "/agent")
    assert (updated["type"], updated["agent"]) == ("EVENT_TYPE_AGENT_UPDATED", agent.name)
    assert updated["agentUpdated"] == {
        "updateMask": "description",
        "capabilityAdded": "",
        "capabilityRemoved": "",
    }
    assert added["agentUpdated"] == {
        "updateMask": "capabilities",
        "capabilityAdded": "capabilities/translation",
        "capabilityRemoved": "",
    }
    assert int(updated["id"]) < int(added["id"])


async def test_attestations_about_the_agent_name_attester_and_kind(
    stubs,  # noqa: F811
    job_context,  # noqa: F811
    receiver,  # noqa: F811
    channel,
) -> None:
    registry, auth, _ = stubs
    subject, _ = await owner_with_hook(stubs, receiver.url("/attested"))
    attester = await register(registry, auth)
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    created = await attest(attestations, attester, subject.name, identity="example.com")
    await attestations.RevokeAttestation(
        attestation_service_pb2.RevokeAttestationRequest(name=created.name),
        metadata=attester.metadata,
    )
    await drain(job_context)

    received, revoked = bodies(receiver, "/attested")
    assert received["type"] == "EVENT_TYPE_ATTESTATION_RECEIVED"
    assert received["attestationReceived"] == {
        "attestation": created.name,
        "attester": attester.name,
        "kind": "ATTESTATION_KIND_IDENTITY",
        "replaced": "",
    }
    assert revoked["type"] == "EVENT_TYPE_ATTESTATION_REVOKED"
    assert revoked["attestationRevoked"] == {
        "attestation": created.name,
        "attester": attester.name,
        "kind": "ATTESTATION_KIND_IDENTITY",
    }


async def test_operator_actions_name_operator_reason_and_key(
    stubs,  # noqa: F811
    job_context: JobContext,  # noqa: F811
    receiver,  # noqa: F811
    channel,
) -> None:
    _, auth, _ = stubs
    keys = ApiKeyService(job_context.uow, job_context.redis)
    operator_key, secret = await keys.create_operator_key("payload check")
    operator_id = operator_key.key_id
    operator = (("x-api-key", secret),)
    agent, _ = await owner_with_hook(stubs, receiver.url("/operated"))
    key = await auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="ci")
        ),
        metadata=agent.metadata,
    )
    admin = admin_service_pb2_grpc.AdminServiceStub(channel)
    await admin.VerifyAgent(
        admin_service_pb2.VerifyAgentRequest(name=agent.name, reason="known vendor"),
        metadata=operator,
    )
    await admin.UpdateApiKeyPlan(
        admin_service_pb2.UpdateApiKeyPlanRequest(
            name=key.name, plan=auth_service_pb2.API_KEY_PLAN_PRO, reason="paid"
        ),
        metadata=operator,
    )
    await drain(job_context)

    verified, plan = bodies(receiver, "/operated")
    assert verified["type"] == "EVENT_TYPE_AGENT_VERIFIED"
    assert verified["agentVerified"] == {"operator": operator_id, "reason": "known vendor"}
    assert plan["type"] == "EVENT_TYPE_API_KEY_PLAN_CHANGED"
    assert plan["apiKeyPlanChanged"] == {
        "apiKey": key.name,
        "plan": "API_KEY_PLAN_PRO",
        "operator": operator_id,
        "reason": "paid",
    }
