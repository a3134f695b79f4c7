"""One call as its handler sees it, handed to the handler in place of gRPC's context.

It sits below every feature (their servicers take it) and below the call layer that
makes it, so neither imports the other through it.

The call layer (server/calls/layer.py) makes one per call: what it read from the call's
metadata (request id, credentials, forwarded-for, the HTTP edge's mark, a transcoded
call's URL path), who is calling once that is known (`caller`), the admission check the
handler's first Redis script may run (`ticket`, server/hot/ticket.py), and the response
metadata gathered during the call (`pairs`). Nothing about a call lives in a context
variable but its request id on log lines (server/observability/logs.py).

Response metadata is sent once, where its reader sees it: gRPC keeps one set of initial
and one of trailing metadata per call, and `abort` replaces the trailers. Native gRPC
clients read the pairs from the trailers. An HTTP edge (Envoy's transcoder) passes
initial metadata on as response headers but drops the trailers of a successful call, so
calls it marks (EDGE_MARKER) get the pairs as initial metadata instead; a failed call's
trailers-only answer reaches HTTP as headers either way.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc

from server.domain.principal import Principal
from server.hot.ticket import CountTicket, SessionTicket, Ticket

Context = grpc.aio.ServicerContext[Any, Any]
Pairs = list[tuple[str, str]]

REQUEST_ID = "x-request-id"
# Set by Envoy's Lua filter on every request that did not arrive as gRPC.
EDGE_MARKER = ("x-registry-edge", "http")
_EDGE_KEY, _EDGE_VALUE = EDGE_MARKER
ORIGINAL_PATH = "x-envoy-original-path"  # the URL path Envoy transcoded a JSON call from


def _new_request_id() -> str:
    """32 hex digits like a uuid4's, from the process's seeded generator: uuid4 reads
    os.urandom, a system call per call, for an id that needs no secrecy."""
    return f"{random.getrandbits(128):032x}"


class Call:
    """`read` and `write` are set for streaming handlers that read and write themselves
    (each message read checked, the pairs sent before the first write to an HTTP edge)."""

    __slots__ = (
        "api_key",
        "authorization",
        "caller",
        "context",
        "edge",
        "forwarded_for",
        "original_path",
        "pairs",
        "read",
        "request_id",
        "ticket",
        "write",
    )

    read: Callable[[], Awaitable[Any]]
    write: Callable[[Any], Awaitable[None]]

    def __init__(
        self,
        context: Context,
        request_id: str,
        api_key: str | None = None,
        authorization: str | None = None,
        forwarded_for: str | None = None,
        edge: bool = False,
        original_path: str | None = None,
    ) -> None:
        self.context = context
        self.request_id = request_id
        self.api_key = api_key
        self.authorization = authorization
        self.forwarded_for = forwarded_for
        self.edge = edge
        self.original_path = original_path
        self.caller: Principal | None = None
        self.ticket: Ticket | None = None
        self.pairs: Pairs = [(REQUEST_ID, request_id)]

    @classmethod
    def of(cls, context: Context) -> Call:
        """The call behind `context`, its metadata read in one pass."""
        request_id = key = authorization = original_path = None
        forwarded: list[str] = []
        edge = False
        for name, value in context.invocation_metadata() or ():
            if name == REQUEST_ID:
                if request_id is None and isinstance(value, str) and 0 < len(value) <= 128:
                    request_id = value
            elif name == "x-api-key":
                if key is None and str(value).strip():
                    key = str(value).strip()
            elif name == "authorization":
                if authorization is None:
                    authorization = str(value)
            elif name == "x-forwarded-for":
                forwarded.append(str(value))
            elif name == _EDGE_KEY and value == _EDGE_VALUE:
                edge = True
            elif name == ORIGINAL_PATH:
                original_path = str(value)
        return cls(
            context,
            request_id or _new_request_id(),
            key,
            authorization,
            ",".join(forwarded) if forwarded else None,
            edge,
            original_path,
        )

    @property
    def credentialed(self) -> bool:
        """The call carried `authorization` or `x-api-key`."""
        return self.api_key is not None or self.authorization is not None

    def add(self, key: str, value: str) -> None:
        """A response metadata pair (sent when the call ends)."""
        self.pairs.append((key, value))

    def take_session(self) -> SessionTicket | None:
        """The call's session check, for the script about to run it; None when the call has
        none or it is taken already (the handler then reads `caller`)."""
        ticket = self.ticket
        if isinstance(ticket, SessionTicket) and ticket.take():
            return ticket
        return None

    def take_count(self) -> CountTicket | None:
        """The call's budget count, for the script about to run it (as `take_session`)."""
        ticket = self.ticket
        if isinstance(ticket, CountTicket) and ticket.take():
            return ticket
        return None

    def peer(self) -> str:
        return self.context.peer()

    def invocation_metadata(self) -> Any:
        return self.context.invocation_metadata()

    async def abort(self, code: grpc.StatusCode, details: str, trailers: Any = ()) -> NoReturn:
        await self.context.abort(code, details, trailers)
        raise AssertionError("abort returned")  # (gRPC's abort always raises)
