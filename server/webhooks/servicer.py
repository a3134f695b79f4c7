"""WebhookService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from agentregistry.v1 import webhook_service_pb2 as pb
from agentregistry.v1 import webhook_service_pb2_grpc
from google.protobuf import empty_pb2

from server.call import Call
from server.domain.names import parse_agent_name
from server.registry.convert import populated_fields
from server.webhooks import convert
from server.webhooks.service import WebhookService


class WebhookServicer(webhook_service_pb2_grpc.WebhookServiceServicer):
    def __init__(self, service: WebhookService) -> None:
        self._service = service

    async def CreateWebhook(self, request: pb.CreateWebhookRequest, call: Call) -> pb.Webhook:
        webhook = await self._service.create(
            call.caller,
            parse_agent_name(request.parent, "parent"),
            request.webhook.url,
            convert.event_types_from_proto(request.webhook.event_types, "webhook.event_types"),
            convert.state_from_proto(request.webhook.state),
        )
        return convert.webhook_to_proto(webhook)

    async def GetWebhook(self, request: pb.GetWebhookRequest, call: Call) -> pb.Webhook:
        webhook = await self._service.get(
            call.caller, *convert.parse_webhook_name(request.name, "name")
        )
        return convert.webhook_to_proto(webhook)

    async def ListWebhooks(
        self, request: pb.ListWebhooksRequest, call: Call
    ) -> pb.ListWebhooksResponse:
        webhooks, token = await self._service.list_webhooks(
            call.caller,
            parse_agent_name(request.parent, "parent"),
            request.page_size,
            request.page_token,
        )
        return pb.ListWebhooksResponse(
            webhooks=[convert.webhook_to_proto(w) for w in webhooks], next_page_token=token
        )

    async def UpdateWebhook(self, request: pb.UpdateWebhookRequest, call: Call) -> pb.Webhook:
        webhook = await self._service.update(
            call.caller,
            *convert.parse_webhook_name(request.webhook.name, "webhook.name"),
            convert.webhook_changes(request.webhook),
            list(request.update_mask.paths),
            populated_fields(request.webhook),
        )
        return convert.webhook_to_proto(webhook)

    async def DeleteWebhook(self, request: pb.DeleteWebhookRequest, call: Call) -> empty_pb2.Empty:
        await self._service.delete(call.caller, *convert.parse_webhook_name(request.name, "name"))
        return empty_pb2.Empty()

    async def RotateWebhookSecret(
        self, request: pb.RotateWebhookSecretRequest, call: Call
    ) -> pb.Webhook:
        webhook = await self._service.rotate_secret(
            call.caller, *convert.parse_webhook_name(request.name, "name")
        )
        return convert.webhook_to_proto(webhook)

    async def ListWebhookDeliveries(
        self, request: pb.ListWebhookDeliveriesRequest, call: Call
    ) -> pb.ListWebhookDeliveriesResponse:
        deliveries, token = await self._service.list_deliveries(
            call.caller,
            *convert.parse_webhook_name(request.parent, "parent"),
            request.page_size,
            request.page_token,
        )
        return pb.ListWebhookDeliveriesResponse(
            deliveries=[convert.delivery_to_proto(d) for d in deliveries], next_page_token=token
        )
