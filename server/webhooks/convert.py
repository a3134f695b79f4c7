"""Pure conversions between webhook protos and domain objects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentregistry.v1 import resources_pb2
from agentregistry.v1 import webhook_service_pb2 as pb

from server.domain.errors import InvalidArgument
from server.domain.names import parse_agent_name
from server.domain.webhooks import WEBHOOK_ID, DeliveryState, Webhook, WebhookDelivery, WebhookState
from server.domain.wire import timestamp
from server.events.convert import event_type_from_proto, event_type_to_proto
from server.webhooks.service import webhook_name

_STATE_TO_PROTO = {
    WebhookState.ENABLED: pb.Webhook.STATE_ENABLED,
    WebhookState.PAUSED: pb.Webhook.STATE_PAUSED,
    WebhookState.DISABLED: pb.Webhook.STATE_DISABLED,
}
_STATE_FROM_PROTO = {v: k for k, v in _STATE_TO_PROTO.items()}
_DELIVERY_STATE_TO_PROTO = {
    DeliveryState.PENDING: pb.WebhookDelivery.STATE_PENDING,
    DeliveryState.SUCCEEDED: pb.WebhookDelivery.STATE_SUCCEEDED,
    DeliveryState.FAILED: pb.WebhookDelivery.STATE_FAILED,
}


def parse_webhook_name(name: str, field: str) -> tuple[str, str]:
    """`agents/{agent_id}/webhooks/{webhook_id}` -> (agent_id, webhook_id)."""
    parent, sep, webhook_id = name.rpartition("/webhooks/")
    if not sep or not WEBHOOK_ID.fullmatch(webhook_id):
        raise InvalidArgument.field(field, "must be agents/{agent_id}/webhooks/{webhook_id}")
    return parse_agent_name(parent, field), webhook_id


def state_from_proto(value: int) -> WebhookState | None:
    return _STATE_FROM_PROTO.get(value)  # type: ignore[call-overload, no-any-return]


def event_types_from_proto(values: Iterable[int], field: str) -> list[str]:
    names: list[str] = []
    for i, value in enumerate(values):
        if (
            value == resources_pb2.EVENT_TYPE_UNSPECIFIED
            or value not in resources_pb2.EventType.values()
        ):
            raise InvalidArgument.field(f"{field}[{i}]", "must be a known event type")
        names.append(event_type_from_proto(value))
    return names


def webhook_changes(webhook: pb.Webhook) -> dict[str, Any]:
    return {
        "url": webhook.url,
        "event_types": event_types_from_proto(webhook.event_types, "webhook.event_types"),
        "state": state_from_proto(webhook.state),
    }


def webhook_to_proto(webhook: Webhook) -> pb.Webhook:
    return pb.Webhook(
        name=webhook_name(webhook.agent_id, webhook.webhook_id),
        url=webhook.url,
        event_types=[event_type_to_proto(name) for name in webhook.event_types],
        state=_STATE_TO_PROTO[webhook.state],
        secret=webhook.secret,
        consecutive_failures=webhook.consecutive_failures,
        create_time=timestamp(webhook.created_at),
        update_time=timestamp(webhook.updated_at),
    )


def delivery_to_proto(delivery: WebhookDelivery) -> pb.WebhookDelivery:
    parent = webhook_name(delivery.agent_id, delivery.webhook_id)
    message = pb.WebhookDelivery(
        name=f"{parent}/deliveries/{delivery.delivery_id}",
        event_id=delivery.event_id,
        event_type=event_type_to_proto(delivery.event_type),
        state=_DELIVERY_STATE_TO_PROTO[delivery.state],
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code or 0,
        last_error=delivery.last_error or "",
        create_time=timestamp(delivery.created_at),
    )
    if delivery.next_attempt_at is not None and delivery.state == DeliveryState.PENDING:
        message.next_attempt_time.CopyFrom(timestamp(delivery.next_attempt_at))
    return message
