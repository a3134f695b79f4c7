"""The registry's errors, decoded: the gRPC code plus the `google.rpc` details it sends.

Callers branch on `reason` (stable, UPPER_SNAKE, e.g. `AGENT_NOT_FOUND`), not on message
text; `fields` lists the request fields a BadRequest named; `retry_after_s` comes from
RetryInfo when a call was rate limited.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


class RegistryError(Exception):
    """A call the registry refused or could not serve."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        fields: dict[str, str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {reason + ': ' if reason else ''}{message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.fields = fields or {}
        self.retry_after_s = retry_after_s

    @classmethod
    def from_rpc(cls, error: grpc.aio.AioRpcError) -> RegistryError:
        return cls.from_status(error.code(), error.details() or "", error.trailing_metadata())

    @classmethod
    def from_status(cls, code: grpc.StatusCode, message: str, trailers: object) -> RegistryError:
        """From a call's code, details and trailing metadata (`grpc-status-details-bin`)."""
        reason, fields, retry_after = "", {}, None
        for key, value in trailers or ():  # type: ignore[attr-defined]
            if key != STATUS_DETAILS_KEY or not isinstance(value, bytes):
                continue
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                bad_request = error_details_pb2.BadRequest()
                retry = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    reason = info.reason
                elif detail.Unpack(bad_request):
                    fields = {v.field: v.description for v in bad_request.field_violations}
                elif detail.Unpack(retry):
                    retry_after = retry.retry_delay.ToTimedelta().total_seconds()
        return cls(code, message, reason, fields, retry_after)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape the CLI prints."""
        document: dict[str, object] = {"code": self.code.name, "message": self.message}
        if self.reason:
            document["reason"] = self.reason
        if self.fields:
            document["fields"] = self.fields
        if self.retry_after_s is not None:
            document["retry_after_s"] = self.retry_after_s
        return document


class NotRegistered(RegistryError):
    """The key has no agent name yet: register first (or set AGENTREGISTRY_AGENT)."""

    def __init__(self) -> None:
        super().__init__(
            grpc.StatusCode.FAILED_PRECONDITION,
            "this key has no agent name: register it first or pass the agent's name",
            "NOT_REGISTERED",
        )


class PresenceEnded(RegistryError):
    """The heartbeat stream ended for good (superseded, agent deleted, or refused)."""
