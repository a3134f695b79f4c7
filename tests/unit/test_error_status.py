"""Exceptions that escape a handler become precise statuses, not a bare INTERNAL."""

from __future__ import annotations

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from server.calls.errors import status_of
from server.domain.errors import NotFound


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


def _retry_delay_s(status: object) -> float:
    retry = error_details_pb2.RetryInfo()
    for detail in status.details:  # type: ignore[attr-defined]
        if detail.Unpack(retry):
            return retry.retry_delay.ToMilliseconds() / 1000
    raise AssertionError("no RetryInfo")


@pytest.mark.parametrize(
    "error",
    [
        sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused")),
        sa_exc.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("connection closed")),
        sa_exc.TimeoutError("QueuePool limit reached, connection timed out"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        sa_exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    ],
)
def test_database_not_answering_is_unavailable_with_retry_info(error: Exception) -> None:
    code, _, status = status_of("/m", error)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert _reason(status) == "DATABASE_UNAVAILABLE"
    assert _retry_delay_s(status) > 0


def test_a_statement_postgres_rejected_stays_internal() -> None:
    error = sa_exc.ProgrammingError("SELEC 1", {}, psycopg.errors.SyntaxError("syntax"))
    assert status_of("/m", error)[0] == grpc.StatusCode.INTERNAL
