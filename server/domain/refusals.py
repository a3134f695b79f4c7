"""One constructor per error reason, continued (server/domain/failures.py has the input,
missing-resource and conflict ones): credentials, permissions, preconditions, quotas
and unavailable backends."""

from __future__ import annotations

from server.domain.errors import (
    FailedPrecondition,
    PermissionDenied,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)
from server.domain.names import agent_name
from server.domain.reasons import Reason

# Credentials (UNAUTHENTICATED).


def session_required(message: str = "a session token is required") -> Unauthenticated:
    return Unauthenticated(message, reason=Reason.SESSION_REQUIRED)


def session_invalid() -> Unauthenticated:
    return Unauthenticated("session token is invalid or expired", reason=Reason.SESSION_INVALID)


def malformed_authorization() -> Unauthenticated:
    return Unauthenticated(
        "authorization must be 'Bearer <token>'", reason=Reason.MALFORMED_AUTHORIZATION
    )


def challenge_invalid() -> Unauthenticated:
    return Unauthenticated(
        "challenge is unknown, expired or already used",
        reason=Reason.CHALLENGE_INVALID,
        metadata={"field": "challenge_id"},
    )


def api_key_invalid() -> Unauthenticated:
    return Unauthenticated("API key is invalid or revoked", reason=Reason.API_KEY_INVALID)


def api_key_expired() -> Unauthenticated:
    return Unauthenticated("API key has expired", reason=Reason.API_KEY_EXPIRED)


# Permissions (PERMISSION_DENIED).


def not_owner(agent_id: str) -> PermissionDenied:
    return PermissionDenied(
        "only the agent itself may do this",
        reason=Reason.NOT_OWNER,
        metadata={"agent": agent_name(agent_id)},
    )


def scope_missing(scope: str) -> PermissionDenied:
    return PermissionDenied(
        f"the API key lacks the {scope} scope",
        reason=Reason.SCOPE_MISSING,
        metadata={"scope": scope},
    )


def operator_required() -> PermissionDenied:
    return PermissionDenied("only operators may do this", reason=Reason.OPERATOR_REQUIRED)


def plan_operator_only() -> PermissionDenied:
    return PermissionDenied(
        "new API keys are FREE; operators set plans",
        reason=Reason.PLAN_OPERATOR_ONLY,
        metadata={"field": "api_key.plan"},
    )


def scope_operator_only() -> PermissionDenied:
    return PermissionDenied(
        "operator keys are minted by operators only",
        reason=Reason.SCOPE_OPERATOR_ONLY,
        metadata={"field": "api_key.scopes"},
    )


def not_attester(attestation_id: str) -> PermissionDenied:
    return PermissionDenied(
        "only the attester may revoke an attestation",
        reason=Reason.NOT_ATTESTER,
        metadata={"attestation": f"attestations/{attestation_id}"},
    )


def agent_suspended(agent_id: str) -> PermissionDenied:
    return PermissionDenied(
        "the agent is suspended",
        reason=Reason.AGENT_SUSPENDED,
        metadata={"agent": agent_name(agent_id)},
    )


def suspended_agents_key(agent_id: str) -> Unauthenticated:
    """AGENT_SUSPENDED for an API key of a suspended agent: the credential stops working."""
    return Unauthenticated(
        "the key's agent is suspended",
        reason=Reason.AGENT_SUSPENDED,
        metadata={"agent": agent_name(agent_id)},
    )


# Preconditions (FAILED_PRECONDITION).


def agent_not_active(agent_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        "only active agents can be verified",
        reason=Reason.AGENT_NOT_ACTIVE,
        metadata={"agent": agent_name(agent_id)},
    )


def attestation_not_active(attestation_id: str, state: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"attestation is {state}, not active",
        reason=Reason.ATTESTATION_NOT_ACTIVE,
        metadata={"attestation": f"attestations/{attestation_id}"},
    )


def domain_not_claimed(agent_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        "claim a domain first",
        reason=Reason.DOMAIN_NOT_CLAIMED,
        metadata={"agent": agent_name(agent_id)},
    )


def domain_proof_failed(agent_id: str, domain: str, why: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"domain proof failed: {why}",
        reason=Reason.DOMAIN_PROOF_FAILED,
        metadata={"agent": agent_name(agent_id), "domain": domain},
    )


def card_fetch_failed(why: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"the card could not be fetched: {why}",
        reason=Reason.CARD_FETCH_FAILED,
        metadata={"field": "card_uri"},
    )


def webhook_limit_reached(agent_id: str, limit: int) -> FailedPrecondition:
    return FailedPrecondition(
        f"at most {limit} webhooks per agent",
        reason=Reason.WEBHOOK_LIMIT_REACHED,
        metadata={"agent": agent_name(agent_id), "limit": str(limit)},
    )


# Quotas (RESOURCE_EXHAUSTED, with RetryInfo).


def rate_limited(limit: int, tier: str, method_class: str, retry_after_s: float) -> QuotaExceeded:
    return QuotaExceeded(
        f"rate limit of {limit} {method_class} calls exceeded for {tier}",
        retry_after_s=max(retry_after_s, 0.001),
        reason=Reason.RATE_LIMITED,
        metadata={"limit": str(limit), "tier": tier, "methodClass": method_class},
    )


def auth_failures_rate_limited(retry_after_s: float) -> QuotaExceeded:
    return QuotaExceeded(
        "too many calls with invalid credentials from this address",
        retry_after_s=max(retry_after_s, 0.001),
        reason=Reason.AUTH_FAILURES_RATE_LIMITED,
    )


def too_many_watches(limit: int, retry_after_s: float) -> QuotaExceeded:
    return QuotaExceeded(
        f"at most {limit} concurrent watches per caller",
        retry_after_s=retry_after_s,
        reason=Reason.TOO_MANY_WATCHES,
        metadata={"limit": str(limit)},
    )


# Backends (UNAVAILABLE, with RetryInfo).


def backend_unavailable() -> Unavailable:
    return Unavailable("a backing service did not answer; retry", reason=Reason.BACKEND_UNAVAILABLE)


def database_unavailable() -> Unavailable:
    return Unavailable("the database did not answer; retry", reason=Reason.DATABASE_UNAVAILABLE)


def presence_unavailable() -> Unavailable:
    return Unavailable("presence store unreachable", reason=Reason.PRESENCE_UNAVAILABLE)


def stream_opens_busy(retry_after_s: float) -> Unavailable:
    return Unavailable(
        "too many heartbeat streams are opening on this server; reopen after the retry delay",
        reason=Reason.PRESENCE_UNAVAILABLE,
        retry_after_s=retry_after_s,
    )


def feed_unavailable() -> Unavailable:
    return Unavailable("the change feed is not served here", reason=Reason.FEED_UNAVAILABLE)
