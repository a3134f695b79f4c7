"""Exceptions that escape a handler become precise statuses, not a bare INTERNAL."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.domain.errors import NotFound
from server.interceptors.errors import status_of


def _reason(status: object) -> str:
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)  # type: ignore[attr-defined]
    return info.reason


@pytest.mark.parametrize("error", [RedisConnectionError("refused"), RedisTimeoutError("slow")])
def test_redis_not_answering_is_unavailable(error: Exception) -> None:
    code, _, status = status_of("/m", error)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert _reason(status) == "BACKEND_UNAVAILABLE"


def test_other_failures_keep_their_status() -> None:
    assert (
        status_of("/m", NotFound("gone", reason="AGENT_NOT_FOUND"))[0] == grpc.StatusCode.NOT_FOUND
    )
    # A command Redis rejected is our bug, not an outage.
    code, message, status = status_of("/m", ResponseError("WRONGTYPE"))
    assert (code, message, _reason(status)) == (
        grpc.StatusCode.INTERNAL,
        "internal error",
        "INTERNAL",
    )
