"""Turns domain errors into rich gRPC statuses, and anything else into a bare INTERNAL."""

from __future__ import annotations

import logging
import math
from typing import NoReturn

import grpc
import psycopg
from google.rpc import error_details_pb2, status_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from server.call import Call
from server.domain import refusals
from server.domain.errors import DomainError
from server.errors import (
    STATUS_DETAILS_KEY,
    internal_status,
    to_status,
    unimplemented_status,
    www_authenticate,
)

log = logging.getLogger("agentregistry.errors")

# Postgres down, restarting, refusing connections, or the pool exhausted: the same call
# succeeds later, so the client is told to retry (the pool drops dead connections itself).
_DATABASE_DOWN = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


def _database_down(error: BaseException) -> bool:
    if isinstance(error, _DATABASE_DOWN):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def status_of(method: str, error: Exception) -> tuple[grpc.StatusCode, str, status_pb2.Status]:
    if isinstance(error, DomainError):
        return to_status(error)
    if isinstance(error, NotImplementedError):  # a declared RPC whose servicer has no body yet
        return unimplemented_status()
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        # Redis not answering (down, or overloaded past the socket timeout) is a condition
        # to retry, not a bug: UNAVAILABLE, as the health check would report it.
        log.warning("redis did not answer in %s: %r", method, error)
        return to_status(refusals.backend_unavailable())
    if _database_down(error):
        log.warning("postgres did not answer in %s: %r", method, error)
        return to_status(refusals.database_unavailable())
    log.exception("unhandled error in %s", method, exc_info=error)
    return internal_status()


def retry_after(status: status_pb2.Status) -> str | None:
    """HTTP `Retry-After` (whole seconds, rounded up) from the status's RetryInfo."""
    info = error_details_pb2.RetryInfo()
    for detail in status.details:
        if detail.Unpack(info):
            delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
            return str(max(1, math.ceil(delay)))
    return None


async def abort_with(method: str, error: Exception, call: Call) -> NoReturn:
    """The call ends with `error`'s status, the pairs gathered so far in its trailers."""
    code, message, status = status_of(method, error)
    trailers = list(call.pairs)
    after = retry_after(status)
    if after is not None:
        trailers.append(("retry-after", after))
    challenge = www_authenticate(status)
    if challenge is not None:
        trailers.append(("www-authenticate", challenge))
    # Sent as a trailers-only answer, which Envoy's transcoder turns into HTTP headers.
    details = (STATUS_DETAILS_KEY, status.SerializeToString())
    await call.abort(code, message, (*trailers, details))
