"""The status a server ended a stream with, as the server sent it.

grpcio's asyncio client gives a stream its own status, INTERNAL "Internal error from
Core" with no trailers, when one of the caller's writes fails because the server has
just ended the call: the write was in flight, or started before the client had taken
in the server's status. The server's code and ErrorInfo (a superseded heartbeat
stream's ABORTED, a refused opening's UNAUTHENTICATED) are then lost to whoever reads
the call, however correctly they were sent; at once if the server's status had been
taken in first. That is common on a heartbeat stream, whose writer beats on its own
clock while the server may end it at any time.

Every status the call is given passes its done callbacks, the server's included, so
`ServerStatus` keeps the last one that the server sent and `error()` answers it in
place of the client's own.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc

_LOCAL_DETAILS = "Internal error from Core"  # grpcio's status for a failed write
_CODES = {code.value[0]: code for code in grpc.StatusCode}
WAIT_S = 5.0  # for the server's status after the client's own (it follows at once)
POLL_S = 0.01


def is_local_write_failure(error: grpc.aio.AioRpcError) -> bool:
    """The client's own INTERNAL for a write that raced the end, not the server's status."""
    return error.code() == grpc.StatusCode.INTERNAL and error.details() == _LOCAL_DETAILS


def _status_now(call: Any) -> Any:
    """The call's status as set right now (the done callbacks run as it is set), read
    without waiting: `status()` answers at once once there is one."""
    waiting = getattr(getattr(call, "_cython_call", None), "status", None)
    if waiting is None:
        return None
    step = waiting()
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    return None


class ServerStatus:
    """Watches one call from its start: `ServerStatus(stub.Heartbeat(...))`.

    The server's status reaches the call either before the client's own INTERNAL (which
    then replaces it: the call's done callbacks, run once, keep it here) or after it (it
    replaces the client's own, and is read off the call)."""

    def __init__(self, call: grpc.aio.Call) -> None:
        self._call = call
        self._first: grpc.aio.AioRpcError | None = None
        call.add_done_callback(self._given)

    def _given(self, call: grpc.aio.Call) -> None:
        self._first = _server_error(call)

    async def error(
        self, raised: grpc.aio.AioRpcError, within_s: float = WAIT_S
    ) -> grpc.aio.AioRpcError:
        """`raised` (what a read or write of the call raised), or the server's status where
        `raised` is the client's own INTERNAL for a write that raced the end. The server's
        status follows the client's own at once; it is looked for `within_s` at most."""
        if not is_local_write_failure(raised):
            return raised
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            found = self._first or _server_error(self._call)
            if found is not None:
                return raised if found.code() == grpc.StatusCode.OK else found
            if asyncio.get_running_loop().time() >= deadline:
                return raised
            await asyncio.sleep(POLL_S)


def _server_error(call: grpc.aio.Call) -> grpc.aio.AioRpcError | None:
    """The call's status as an error, if it has one and it is not the client's own."""
    status = None
    with contextlib.suppress(Exception):  # a grpcio without these internals: no help
        status = _status_now(call)
    if status is None:
        return None
    code = _CODES.get(status.code(), grpc.StatusCode.UNKNOWN)
    if code == grpc.StatusCode.INTERNAL and status.details() == _LOCAL_DETAILS:
        return None
    return grpc.aio.AioRpcError(
        code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata.from_tuple(status.trailing_metadata() or ()),
        status.details(),
        status.debug_error_string(),
    )
