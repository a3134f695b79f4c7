"""API keys: shown once, scoped, usable as x-api-key or Bearer, revoked at once."""

from __future__ import annotations

import grpc
import pytest
from agentregistry.v1 import auth_service_pb2, registry_service_pb2, resources_pb2
from google.protobuf import field_mask_pb2

from tests.factories import error_details, register


async def _create(auth, owner, scopes: list[str], plan=auth_service_pb2.API_KEY_PLAN_UNSPECIFIED):
    return await auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=owner.name,
            api_key=auth_service_pb2.ApiKey(display_name="ci", scopes=scopes, plan=plan),
        ),
        metadata=owner.metadata,
    )


def _update(owner_name: str, description: str) -> registry_service_pb2.UpdateAgentRequest:
    return registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=owner_name, description=description),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]),
    )


async def test_key_lifecycle(registry, auth) -> None:
    owner = await register(registry, auth)
    created = await _create(auth, owner, ["read", "write"])
    assert created.key.startswith("ak_") and created.key_prefix == created.key[:10]
    assert created.name.startswith(f"{owner.name}/apiKeys/ak_")

    listed = await auth.ListApiKeys(
        auth_service_pb2.ListApiKeysRequest(parent=owner.name), metadata=owner.metadata
    )
    assert [k.name for k in listed.api_keys] == [created.name]
    assert listed.api_keys[0].key == ""  # the secret is never shown again

    for metadata in [(("x-api-key", created.key),), (("authorization", f"Bearer {created.key}"),)]:
        updated = await registry.UpdateAgent(_update(owner.name, "via key"), metadata=metadata)
        assert updated.description == "via key"

    await auth.DeleteApiKey(
        auth_service_pb2.DeleteApiKeyRequest(name=created.name), metadata=owner.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await registry.GetAgent(
            registry_service_pb2.GetAgentRequest(name=owner.name),
            metadata=(("x-api-key", created.key),),
        )
    details = error_details(revoked.value)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")


async def test_scopes_are_enforced(registry, auth) -> None:
    owner = await register(registry, auth)
    read_only = await _create(auth, owner, ["read"])
    key = (("x-api-key", read_only.key),)
    fetched = await registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=owner.name), metadata=key
    )
    assert fetched.name == owner.name
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await registry.UpdateAgent(_update(owner.name, "nope"), metadata=key)
    assert error_details(denied.value).reason == "SCOPE_MISSING"
    # Managing keys needs the agent's session (or an admin key), not a write key.
    writer = await _create(auth, owner, ["write"])
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await _create(
            auth, type("K", (), {"name": owner.name, "metadata": (("x-api-key", writer.key),)}), []
        )
    assert error_details(denied.value).code == grpc.StatusCode.PERMISSION_DENIED


async def test_admin_scope_implies_write_and_read(registry, auth) -> None:
    """`admin` is a superset: its key updates the agent and reads, besides managing keys."""
    owner = await register(registry, auth)
    admin = await _create(auth, owner, ["admin"])
    key = (("x-api-key", admin.key),)
    updated = await registry.UpdateAgent(_update(owner.name, "via admin key"), metadata=key)
    assert updated.description == "via admin key"
    fetched = await registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=owner.name), metadata=key
    )
    assert fetched.description == "via admin key"
    minted = await _create(auth, type("K", (), {"name": owner.name, "metadata": key}), ["read"])
    assert minted.key.startswith("ak_")


async def test_bad_key_requests(registry, auth) -> None:
    owner = await register(registry, auth)
    other = await register(registry, auth)
    with pytest.raises(grpc.aio.AioRpcError) as bad_scope:
        await _create(auth, owner, ["superuser"])
    assert error_details(bad_scope.value).fields == ["api_key.scopes[0]"]
    with pytest.raises(grpc.aio.AioRpcError) as not_owner:
        await auth.CreateApiKey(
            auth_service_pb2.CreateApiKeyRequest(
                parent=owner.name, api_key=auth_service_pb2.ApiKey(display_name="x")
            ),
            metadata=other.metadata,
        )
    assert error_details(not_owner.value).code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await registry.GetAgent(
            registry_service_pb2.GetAgentRequest(name=owner.name),
            metadata=(("x-api-key", "ak_not-a-real-key"),),
        )
    assert error_details(unknown.value).reason == "API_KEY_INVALID"
