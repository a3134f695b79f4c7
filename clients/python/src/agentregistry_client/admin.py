"""What an agent's operator manages: its API keys and its webhooks (`client.api_keys`,
`client.webhooks`). All calls act for the client's agent and need its session (or an
API key with the `admin` scope)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from google.protobuf import field_mask_pb2

from agentregistry_client import convert
from agentregistry_client._proto import (
    auth_service_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)

if TYPE_CHECKING:
    from agentregistry_client.client import RegistryClient


def _plan(value: str | int) -> int:
    return convert._enum(auth_service_pb2.ApiKeyPlan, "API_KEY_PLAN_", value)


def _webhook_state(value: str | int) -> int:
    return convert._enum(webhook_service_pb2.Webhook.State, "STATE_", value)


class ApiKeys:
    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    async def create(
        self, display_name: str, scopes: Iterable[str] = ("read",), plan: str | int = "free"
    ) -> auth_service_pb2.ApiKey:
        """The response is the only place the secret (`key`, `ak_…`) appears."""
        request = auth_service_pb2.CreateApiKeyRequest(
            parent=self._client.agent,
            api_key=auth_service_pb2.ApiKey(
                display_name=display_name,
                scopes=list(scopes),
                plan=_plan(plan),  # type: ignore[arg-type]
            ),
        )
        auth = self._client.auth
        return await self._client.call(lambda md: auth.CreateApiKey(request, metadata=md), True)

    async def list(
        self, page_size: int = 0, page_token: str = ""
    ) -> auth_service_pb2.ListApiKeysResponse:
        request = auth_service_pb2.ListApiKeysRequest(
            parent=self._client.agent, page_size=page_size, page_token=page_token
        )
        auth = self._client.auth
        return await self._client.call(lambda md: auth.ListApiKeys(request, metadata=md), True)

    async def delete(self, name: str) -> None:
        request = auth_service_pb2.DeleteApiKeyRequest(name=name)
        auth = self._client.auth
        await self._client.call(lambda md: auth.DeleteApiKey(request, metadata=md), True)


class Webhooks:
    def __init__(self, client: RegistryClient) -> None:
        self._client = client
        self._stub = webhook_service_pb2_grpc.WebhookServiceStub(client.channel)

    async def create(
        self, url: str, event_types: Iterable[str | int] = ()
    ) -> webhook_service_pb2.Webhook:
        """The response is the only place (with rotate_secret) the `whsec_…` secret appears."""
        request = webhook_service_pb2.CreateWebhookRequest(
            parent=self._client.agent,
            webhook=webhook_service_pb2.Webhook(
                url=url,
                event_types=[convert.event_type(t) for t in event_types],  # type: ignore[misc]
            ),
        )
        stub = self._stub
        return await self._client.call(lambda md: stub.CreateWebhook(request, metadata=md), True)

    async def list(
        self, page_size: int = 0, page_token: str = ""
    ) -> webhook_service_pb2.ListWebhooksResponse:
        request = webhook_service_pb2.ListWebhooksRequest(
            parent=self._client.agent, page_size=page_size, page_token=page_token
        )
        stub = self._stub
        return await self._client.call(lambda md: stub.ListWebhooks(request, metadata=md), True)

    async def set_state(self, name: str, state: str | int) -> webhook_service_pb2.Webhook:
        """`enabled` (also re-enables a disabled one) or `paused`, or the enum value."""
        request = webhook_service_pb2.UpdateWebhookRequest(
            webhook=webhook_service_pb2.Webhook(name=name, state=_webhook_state(state)),  # type: ignore[arg-type]
            update_mask=field_mask_pb2.FieldMask(paths=["state"]),
        )
        stub = self._stub
        return await self._client.call(lambda md: stub.UpdateWebhook(request, metadata=md), True)

    async def rotate_secret(self, name: str) -> webhook_service_pb2.Webhook:
        request = webhook_service_pb2.RotateWebhookSecretRequest(name=name)
        stub = self._stub
        return await self._client.call(
            lambda md: stub.RotateWebhookSecret(request, metadata=md), True
        )

    async def delete(self, name: str) -> None:
        request = webhook_service_pb2.DeleteWebhookRequest(name=name)
        stub = self._stub
        await self._client.call(lambda md: stub.DeleteWebhook(request, metadata=md), True)

    async def deliveries(
        self, webhook: str, page_size: int = 0, page_token: str = ""
    ) -> webhook_service_pb2.ListWebhookDeliveriesResponse:
        request = webhook_service_pb2.ListWebhookDeliveriesRequest(
            parent=webhook, page_size=page_size, page_token=page_token
        )
        stub = self._stub
        return await self._client.call(
            lambda md: stub.ListWebhookDeliveries(request, metadata=md), True
        )
