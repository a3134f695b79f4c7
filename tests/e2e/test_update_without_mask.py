"""AIP-134: an Update without update_mask changes every field populated in the body, and
nothing else; over gRPC and as a JSON PATCH through Envoy."""

from __future__ import annotations

import httpx
from agentregistry.v1 import registry_service_pb2, resources_pb2

from tests.e2e.gateway_support import register_http
from tests.factories import register


async def test_grpc_update_without_mask_changes_the_populated_fields(registry, auth) -> None:
    owner = await register(registry, auth, tags=["kept"])
    updated = await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            # name and etag are set too: identifying and output-only fields are not updates.
            agent=resources_pb2.Agent(
                name=owner.name,
                etag=owner.agent.etag,
                description="Only this changes.",
                protocols=["mcp"],
            )
        ),
        metadata=owner.metadata,
    )
    assert (updated.description, list(updated.protocols)) == ("Only this changes.", ["mcp"])
    assert updated.display_name == owner.agent.display_name
    assert list(updated.tags) == ["kept"] and updated.type == owner.agent.type


async def test_json_patch_without_update_mask(http: httpx.AsyncClient) -> None:
    _, agent, session = await register_http(http)
    response = await http.patch(
        f"/v1/{agent['name']}", json={"displayName": "Renamed"}, headers=session
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["displayName"] == "Renamed"
    assert (updated["description"], updated["tags"]) == (agent["description"], agent["tags"])
