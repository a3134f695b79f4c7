"""Pure conversions between auth protos and domain objects."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from agentregistry.v1 import auth_service_pb2 as pb
from google.protobuf.message import Message

from server.domain.api_keys import ApiKey, Plan, Scope
from server.domain.errors import InvalidArgument
from server.domain.names import api_key_name
from server.domain.wire import timestamp

_PLAN_FROM_PROTO = {
    pb.API_KEY_PLAN_UNSPECIFIED: Plan.FREE,
    pb.API_KEY_PLAN_FREE: Plan.FREE,
    pb.API_KEY_PLAN_PRO: Plan.PRO,
    pb.API_KEY_PLAN_ENTERPRISE: Plan.ENTERPRISE,
}
_PLAN_TO_PROTO = {
    Plan.FREE: pb.API_KEY_PLAN_FREE,
    Plan.PRO: pb.API_KEY_PLAN_PRO,
    Plan.ENTERPRISE: pb.API_KEY_PLAN_ENTERPRISE,
}


def scopes_from_proto(values: Iterable[str]) -> tuple[Scope, ...]:
    scopes = []
    for index, value in enumerate(values):
        try:
            scopes.append(Scope(value))
        except ValueError:
            raise InvalidArgument.field(
                f"api_key.scopes[{index}]", "must be one of read, write, admin"
            ) from None
    return tuple(scopes)


def plan_to_proto(plan: Plan) -> pb.ApiKeyPlan:
    return _PLAN_TO_PROTO[plan]


def plan_from_proto(value: int) -> Plan:
    plan = _PLAN_FROM_PROTO.get(value)  # type: ignore[call-overload]
    if plan is None:
        raise InvalidArgument.field("api_key.plan", "unknown plan")
    return plan  # type: ignore[no-any-return]


def optional_time(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    value: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    return value


def api_key_to_proto(key: ApiKey, secret: str = "") -> pb.ApiKey:
    message = pb.ApiKey(
        name=api_key_name(key.agent_id or "-", key.key_id),
        display_name=key.display_name,
        scopes=[str(s) for s in key.scopes],
        plan=_PLAN_TO_PROTO[key.plan],
        key=secret,
        key_prefix=key.key_prefix,
        create_time=timestamp(key.created_at),
    )
    if key.expires_at is not None:
        message.expire_time.CopyFrom(timestamp(key.expires_at))
    if key.last_used_at is not None:
        message.last_used_time.CopyFrom(timestamp(key.last_used_at))
    return message
