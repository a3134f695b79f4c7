"""ErrorInfo.metadata names what failed (AIP-193): the agent, the capability, the field,
over gRPC and in the JSON error body through Envoy."""

from __future__ import annotations

import grpc
import httpx
import pytest
from agentregistry.v1 import auth_service_pb2, registry_service_pb2, resources_pb2

from tests.factories import error_details, register

UNKNOWN = "agents/ag_0000000000000000"


async def _details(call):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return error_details(caught.value)


async def test_grpc_errors_name_the_resource_and_field(registry, auth) -> None:
    missing = await _details(registry.GetAgent(registry_service_pb2.GetAgentRequest(name=UNKNOWN)))
    assert (missing.reason, missing.metadata) == ("AGENT_NOT_FOUND", {"agent": UNKNOWN})

    owner = await register(registry, auth)
    unknown = await _details(
        registry.AddAgentCapability(
            registry_service_pb2.AddAgentCapabilityRequest(
                agent=owner.name, capability="capabilities/no-such-thing"
            ),
            metadata=owner.metadata,
        )
    )
    assert (unknown.reason, unknown.metadata) == (
        "CAPABILITY_NOT_FOUND",
        {"capability": "capabilities/no-such-thing"},
    )

    other = await register(registry, auth)
    foreign = await _details(
        registry.UpdateAgent(
            registry_service_pb2.UpdateAgentRequest(
                agent=resources_pb2.Agent(name=other.name, description="not mine")
            ),
            metadata=owner.metadata,
        )
    )
    assert (foreign.reason, foreign.metadata) == ("NOT_OWNER", {"agent": other.name})

    plan = await _details(
        auth.CreateApiKey(
            auth_service_pb2.CreateApiKeyRequest(
                parent=owner.name,
                api_key=auth_service_pb2.ApiKey(
                    display_name="ci", plan=auth_service_pb2.API_KEY_PLAN_PRO
                ),
            ),
            metadata=owner.metadata,
        )
    )
    assert (plan.reason, plan.metadata) == ("PLAN_OPERATOR_ONLY", {"field": "api_key.plan"})

    bad = await _details(
        registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_token="forged"))
    )
    assert (bad.reason, bad.metadata) == ("PAGE_TOKEN_INVALID", {"field": "page_token"})


async def test_json_errors_carry_the_metadata(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/v1/{UNKNOWN}")
    assert response.status_code == 404
    [info] = [d for d in response.json()["details"] if d["@type"].endswith("ErrorInfo")]
    assert info == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "AGENT_NOT_FOUND",
        "domain": "agentregistry.dev",
        "metadata": {"agent": UNKNOWN},
    }
