"""Domain errors. `server/errors.py` maps each to a gRPC status in one table.

Raise sites build them through server/domain/failures.py, one constructor per reason,
so a reason's message and ErrorInfo.metadata are written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from server.domain.reasons import Reason


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client may see: a stable `reason` (ErrorInfo.reason) and the
    `metadata` naming the resource, field or limit involved (ErrorInfo.metadata, AIP-193).
    Only InvalidArgument and QuotaExceeded have a default reason; others must name one."""

    reason: Reason

    def __init__(
        self,
        message: str,
        *,
        reason: Reason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        elif not hasattr(self, "reason"):
            raise TypeError(f"{type(self).__name__} needs a reason")
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    """Bad input; `metadata` names the field when only one is wrong (unless given)."""

    reason = Reason.INVALID_ARGUMENT

    def __init__(
        self,
        violations: list[FieldViolation] | FieldViolation,
        *,
        message: str = "request has invalid fields",
        reason: Reason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        listed = [violations] if isinstance(violations, FieldViolation) else violations
        if metadata is None and len(listed) == 1 and listed[0].field:
            metadata = {"field": listed[0].field}
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = listed

    @classmethod
    def field(
        cls,
        field: str,
        description: str,
        *,
        reason: Reason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> InvalidArgument:
        return cls(
            FieldViolation(field, description),
            message=f"{field}: {description}",
            reason=reason,
            metadata=metadata,
        )


class NotFound(DomainError):
    """The resource does not exist (or the caller may not know it does)."""


class AlreadyExists(DomainError):
    """The resource, or a unique part of it, exists already."""


class Unauthenticated(DomainError):
    """Credentials are missing or do not hold."""


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the call."""


class Conflict(DomainError):
    """Optimistic concurrency failure (etag mismatch); the client should re-read."""


class QuotaExceeded(DomainError):
    reason = Reason.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float,
        reason: Reason | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """A backing service is down or overloaded: the client should retry after a pause."""

    def __init__(
        self,
        message: str,
        *,
        reason: Reason,
        retry_after_s: float = 1.0,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_s = retry_after_s
