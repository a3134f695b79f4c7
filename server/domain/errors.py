"""Domain errors. `server/errors.py` maps each to a gRPC status in one table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client may see; `reason` is a stable UPPER_SNAKE code."""

    reason: str = "DOMAIN_ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgument(DomainError):
    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        violations: list[FieldViolation] | FieldViolation,
        *,
        message: str = "request has invalid fields",
        reason: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.violations = [violations] if isinstance(violations, FieldViolation) else violations

    @classmethod
    def field(cls, field: str, description: str, *, reason: str | None = None) -> InvalidArgument:
        return cls(
            FieldViolation(field, description), message=f"{field}: {description}", reason=reason
        )


class NotFound(DomainError):
    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    reason = "ALREADY_EXISTS"


class Unauthenticated(DomainError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    reason = "PERMISSION_DENIED"


class FailedPrecondition(DomainError):
    reason = "FAILED_PRECONDITION"


class Conflict(DomainError):
    """Optimistic concurrency failure (etag mismatch); the client should re-read."""

    reason = "CONFLICT"


class QuotaExceeded(DomainError):
    reason = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_s: float, reason: str | None = None) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A backing service is down or overloaded: the client should retry after a pause."""

    reason = "UNAVAILABLE"

    def __init__(
        self, message: str, *, retry_after_s: float = 1.0, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after_s = retry_after_s


class BackendUnavailable(Unavailable):
    """Postgres or Redis did not answer in time (down, stalled, or with too many calls
    already waiting on it): the same call succeeds once it answers again."""

    reason = "BACKEND_UNAVAILABLE"
