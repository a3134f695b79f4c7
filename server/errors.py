"""The one table from domain errors to gRPC status codes with google.rpc details."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import grpc
from agentregistry.v1 import error_reason_pb2
from google.protobuf import any_pb2, duration_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from server.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)
from server.domain.reasons import Reason

log = logging.getLogger(__name__)

ERROR_DOMAIN = "agentregistry.dev"
REASON_PREFIX = "ERROR_REASON_"
# ErrorInfo.reason as sent: the ErrorReason value's name without its prefix, as
# google.api.ErrorReason spells reasons (error_reason.proto says why).
_WIRE_REASONS: dict[str, str] = {
    name.removeprefix(REASON_PREFIX): name.removeprefix(REASON_PREFIX)
    for name in error_reason_pb2.ErrorReason.DESCRIPTOR.values_by_name
    if name != "ERROR_REASON_UNSPECIFIED"
}

_CODES: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ABORTED,
    QuotaExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}

STATUS_DETAILS_KEY = "grpc-status-details-bin"


def _pack(detail: message.Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def error_info(reason: Reason, metadata: Mapping[str, str] | None = None) -> any_pb2.Any:
    """The packed ErrorInfo of `reason`, spelled as the proto's ErrorReason says. A unit
    test keeps Reason and the proto equal; a reason the proto lacks (a bare string from
    code not yet moved to Reason) is still sent, and logged, rather than failing the
    error it reports."""
    wire = _WIRE_REASONS.get(reason)
    if wire is None:
        log.error("error reason %s is not in error_reason.proto", reason)
        wire = str(reason)
    info = error_details_pb2.ErrorInfo(reason=wire, domain=ERROR_DOMAIN, metadata=metadata or {})
    return _pack(info)


def code_for(error: DomainError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return grpc.StatusCode.UNKNOWN


def to_status(error: DomainError) -> tuple[grpc.StatusCode, str, status_pb2.Status]:
    """Build the rich status: ErrorInfo always, plus BadRequest or RetryInfo where they apply."""
    code = code_for(error)
    details = [error_info(error.reason, error.metadata)]
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        details.append(_pack(bad_request))
    if isinstance(error, QuotaExceeded | Unavailable):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(max(1, int(error.retry_after_s * 1000)))
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    return code, error.message, status


def internal_status() -> tuple[grpc.StatusCode, str, status_pb2.Status]:
    """Unknown failures say nothing about internals; the trace goes to the log."""
    message = "internal error"
    info = error_info(Reason.INTERNAL)
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=message, details=[info])
    return grpc.StatusCode.INTERNAL, message, status


def unimplemented_status() -> tuple[grpc.StatusCode, str, status_pb2.Status]:
    """A declared RPC not served yet: UNIMPLEMENTED, so HTTP edges answer 501."""
    message = "method not implemented"
    info = error_info(Reason.NOT_IMPLEMENTED)
    status = status_pb2.Status(code=code_pb2.UNIMPLEMENTED, message=message, details=[info])
    return grpc.StatusCode.UNIMPLEMENTED, message, status


# Reasons that mean "the credential sent is no good" (RFC 6750's invalid_token), and the
# one that means the header itself is malformed; any other 401 names only the scheme.
_INVALID_TOKEN = {
    Reason.SESSION_INVALID,
    Reason.SESSION_EXPIRED,
    Reason.API_KEY_INVALID,
    Reason.API_KEY_EXPIRED,
    Reason.CREDENTIALS_REVOKED,
    Reason.AGENT_SUSPENDED,
}


def www_authenticate(status: status_pb2.Status) -> str | None:
    """The `WWW-Authenticate` challenge an UNAUTHENTICATED status answers with: HTTP
    requires one on every 401, and it tells a client which scheme to send (a session
    token or an API key, both as Bearer)."""
    if status.code != code_pb2.UNAUTHENTICATED:
        return None
    challenge = 'Bearer realm="agentregistry"'
    info = error_details_pb2.ErrorInfo()
    reason = next((info.reason for d in status.details if d.Unpack(info)), "")
    if reason == Reason.MALFORMED_AUTHORIZATION:
        return challenge + ', error="invalid_request"'
    if reason in _INVALID_TOKEN:
        return challenge + ', error="invalid_token"'
    return challenge
