"""One constructor per error reason (server/domain/reasons.py): each reason's message,
status class and ErrorInfo.metadata are written here once, and raise sites call them.

Metadata keys are lowerCamelCase (AIP-193) and name what the reason's documentation
in protos/agentregistry/v1/error_reason.proto promises: the resource (`agent`,
`capability`, ... as resource names), the `field`, the `limit`.
"""

from __future__ import annotations

from server.domain.errors import (
    AlreadyExists,
    Conflict,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from server.domain.names import agent_name, api_key_name, capability_name
from server.domain.reasons import Reason

# Input (INVALID_ARGUMENT; the generic reason is InvalidArgument's own default).


def malformed_request() -> InvalidArgument:
    why = "the request message could not be decoded"
    return InvalidArgument(FieldViolation("", why), message=why, reason=Reason.MALFORMED_REQUEST)


def text_has_nul(problems: list[FieldViolation]) -> InvalidArgument:
    return InvalidArgument(
        problems, reason=Reason.TEXT_HAS_NUL, metadata={"field": problems[0].field}
    )


def timestamp_out_of_range(problems: list[FieldViolation]) -> InvalidArgument:
    return InvalidArgument(
        problems, reason=Reason.TIMESTAMP_OUT_OF_RANGE, metadata={"field": problems[0].field}
    )


def path_mismatch(problems: list[FieldViolation]) -> InvalidArgument:
    return InvalidArgument(
        problems,
        message="the request body names another resource than the URL path",
        reason=Reason.PATH_MISMATCH,
        metadata={"field": problems[0].field},
    )


def page_token_invalid() -> InvalidArgument:
    return InvalidArgument.field(
        "page_token", "is not a token from this query", reason=Reason.PAGE_TOKEN_INVALID
    )


def signature_invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument.field(field, description, reason=Reason.SIGNATURE_INVALID)


def session_signature_invalid() -> Unauthenticated:
    """SIGNATURE_INVALID at sign-in is UNAUTHENTICATED: a credential, not a field, failed."""
    return Unauthenticated(
        "signature does not match the agent's key",
        reason=Reason.SIGNATURE_INVALID,
        metadata={"field": "signature"},
    )


def self_attestation(problems: list[FieldViolation], agent_id: str) -> InvalidArgument:
    return InvalidArgument(
        problems,
        reason=Reason.SELF_ATTESTATION,
        metadata={"field": "attestation.subject", "agent": agent_name(agent_id)},
    )


def webhook_url_refused(field: str, why: str) -> InvalidArgument:
    return InvalidArgument.field(field, why, reason=Reason.WEBHOOK_URL_REFUSED)


def card_url_refused(why: str) -> InvalidArgument:
    return InvalidArgument.field("card_uri", why, reason=Reason.CARD_URL_REFUSED)


def card_signature_invalid(description: str) -> InvalidArgument:
    return InvalidArgument.field(
        "card.signatures", description, reason=Reason.CARD_SIGNATURE_INVALID
    )


def document_refused(
    problems: list[FieldViolation], reason: Reason, message: str = "request has invalid fields"
) -> InvalidArgument:
    """The DOCUMENT_* reasons (server/domain/documents.py says which): where the JSON
    document breaks a limit or is not JSON."""
    where = problems[0].field if problems else ""
    return InvalidArgument(
        problems, message=message, reason=reason, metadata={"field": where} if where else {}
    )


# Missing resources.


def agent_not_found(agent_id: str) -> NotFound:
    return NotFound(
        f"agent {agent_id} not found",
        reason=Reason.AGENT_NOT_FOUND,
        metadata={"agent": agent_name(agent_id)},
    )


def capability_not_found(capability_ids: list[str] | str) -> NotFound:
    missing = sorted([capability_ids] if isinstance(capability_ids, str) else capability_ids)
    message = (
        f"capability {missing[0]} not found"
        if len(missing) == 1
        else f"unknown capabilities: {', '.join(missing)}"
    )
    return NotFound(
        message,
        reason=Reason.CAPABILITY_NOT_FOUND,
        metadata={"capability": capability_name(missing[0])},
    )


def capability_not_offered(agent_id: str, capability_id: str) -> NotFound:
    return NotFound(
        f"agent does not offer {capability_id}",
        reason=Reason.CAPABILITY_NOT_OFFERED,
        metadata={"agent": agent_name(agent_id), "capability": capability_name(capability_id)},
    )


def attestation_not_found(attestation_id: str) -> NotFound:
    return NotFound(
        f"attestation {attestation_id} not found",
        reason=Reason.ATTESTATION_NOT_FOUND,
        metadata={"attestation": f"attestations/{attestation_id}"},
    )


def api_key_not_found(agent_id: str, key_id: str) -> NotFound:
    return NotFound(
        f"API key {key_id} not found",
        reason=Reason.API_KEY_NOT_FOUND,
        metadata={"apiKey": api_key_name(agent_id, key_id)},
    )


def webhook_not_found(agent_id: str, webhook_id: str) -> NotFound:
    return NotFound(
        f"webhook {webhook_id} not found",
        reason=Reason.WEBHOOK_NOT_FOUND,
        metadata={"webhook": f"{agent_name(agent_id)}/webhooks/{webhook_id}"},
    )


# Conflicts with what exists.


def public_key_taken() -> AlreadyExists:
    return AlreadyExists(
        "public key is registered to another agent",
        reason=Reason.PUBLIC_KEY_TAKEN,
        metadata={"field": "public_key"},
    )


def capability_already_added(agent_id: str, capability_id: str) -> AlreadyExists:
    return AlreadyExists(
        f"agent already offers {capability_id}",
        reason=Reason.CAPABILITY_ALREADY_ADDED,
        metadata={"agent": agent_name(agent_id), "capability": capability_name(capability_id)},
    )


def etag_mismatch(agent_id: str) -> Conflict:
    return Conflict(
        "the agent changed since it was read",
        reason=Reason.ETAG_MISMATCH,
        metadata={"agent": agent_name(agent_id)},
    )


def public_key_mismatch(agent_id: str) -> Conflict:
    return Conflict(
        "the key was rotated concurrently",
        reason=Reason.PUBLIC_KEY_MISMATCH,
        metadata={"agent": agent_name(agent_id)},
    )
