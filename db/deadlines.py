"""Deadlines on every wait for Postgres, so a stalled server fails a call, never hangs it.

A Postgres that is alive but silent (stopped, swapping, a frozen VM) keeps its sockets
open: a query waits for a reply that does not come, and a new connection for the
server's greeting. libpq has no read timeout, and cancelling the waiting task does not
help either: psycopg then asks the server to cancel the query and waits for it to
agree, up to ten seconds on a server that answers nothing. So:

- opening a connection is bounded by libpq's `connect_timeout`;
- a statement is bounded twice: Postgres cancels it past `statement_timeout` (a slow
  query ends cleanly, the connection stays usable), and the connection stops waiting
  for any reply `REPLY_MARGIN_S` after that (the server itself is not answering), by
  psycopg's own wait timeout; it then closes the connection, whose pool replaces it;
- waiting for a pooled connection is bounded by the pool's timeout (db/engine.py,
  db/point_reads.py);
- the liveness check a pooled connection gets before each use (`ping`) waits only
  `ping_timeout_s`: an empty round trip not answered in that time means the server is not
  answering, whatever a slow statement may legitimately take.

A ping, reply or connect that times out opens the process's breaker (db/breaker.py):
until a probe finds Postgres answering again, calls are refused at once instead of each
waiting out its own timeout.

Every one of these fails with psycopg's OperationalError, which the call path maps to
UNAVAILABLE with RetryInfo (server/calls/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from db.breaker import Breaker, SilentServer

# How much longer than statement_timeout the client waits before it gives up on a reply.
REPLY_MARGIN_S = 1.0

_WAIT_INTERVAL_S = 0.1  # psycopg's own default between checks for an interrupt

RV = TypeVar("RV")


@dataclass(frozen=True, slots=True)
class Deadlines:
    pool_timeout_s: float
    connect_timeout_s: int
    statement_timeout_s: float
    ping_timeout_s: float = 0.5
    # One per process (per server build): every connection to this Postgres shares it.
    breaker: Breaker = field(default_factory=Breaker, compare=False)

    @property
    def reply_timeout_s(self) -> float:
        return self.statement_timeout_s + REPLY_MARGIN_S

    def connect_args(self, libpq_url: str) -> dict[str, Any]:
        """libpq parameters for each new connection: its connect timeout, and the
        statement timeout added to any `options` the URL already carries."""
        existing = str(conninfo_to_dict(libpq_url).get("options") or "")
        timeout_ms = max(1, round(self.statement_timeout_s * 1000))
        options = f"{existing} -c statement_timeout={timeout_ms}".strip()
        return {"connect_timeout": self.connect_timeout_s, "options": options}

    def connection_class(self) -> type[BoundedConnection]:
        """psycopg's AsyncConnection that waits at most `reply_timeout_s` for any reply
        (`ping_timeout_s` for a ping), and reports to the breaker."""
        bounds = {
            "reply_timeout_s": self.reply_timeout_s,
            "ping_timeout_s": self.ping_timeout_s,
            "breaker": self.breaker,
        }
        return type("BoundedConnection", (BoundedConnection,), bounds)


class BoundedConnection(psycopg.AsyncConnection[Any]):
    """Every wait on the server has the class's timeout unless the caller gave one."""

    reply_timeout_s: ClassVar[float | None] = None
    ping_timeout_s: ClassVar[float | None] = None
    breaker: ClassVar[Breaker | None] = None
    _bound: float | None = None  # this exchange's, when not reply_timeout_s

    @classmethod
    async def connect(cls, *args: Any, **kwargs: Any) -> Self:
        """Refused at once while the breaker is open; a connect timeout opens it."""
        if cls.breaker is None:
            return await super().connect(*args, **kwargs)
        with cls.breaker.exchange():
            return await super().connect(*args, **kwargs)

    async def ping(self) -> None:
        """An empty round trip within `ping_timeout_s`, through the breaker: raises if the
        connection is dead, the server silent, or the breaker refuses."""
        self._bound = self.ping_timeout_s
        try:
            if self.breaker is None:
                await AsyncConnectionPool.check_connection(self)
                return
            with self.breaker.exchange():
                await AsyncConnectionPool.check_connection(self)
        finally:
            self._bound = None

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = _WAIT_INTERVAL_S,
        timeout: float | None = None,  # noqa: ASYNC109  # psycopg's signature, overridden
    ) -> RV:
        bound = self.reply_timeout_s if self._bound is None else self._bound
        if timeout is not None or bound is None:
            return await super().wait(gen, interval, timeout)
        try:
            return await super().wait(gen, interval, bound)
        except pg_errors._WaitTimeout:
            # Mid-exchange: what the server sends next, if anything, belongs to a request
            # nobody waits for, so the connection is closed and its pool opens another.
            self.pgconn.finish()
            if self.breaker is not None:
                self.breaker.silent()
            raise SilentServer(f"no reply from Postgres in {bound:g} s") from None
