"""Deadlines on every wait for Postgres, so a stalled server fails a call, never hangs it.

A Postgres that is alive but silent (stopped, swapping, a frozen VM) keeps its sockets
open: a query waits for a reply that does not come, and a new connection for the
server's greeting. libpq has no read timeout, and cancelling the waiting task does not
help either: psycopg then asks the server to cancel the query and waits for it to
agree, up to ten seconds on a server that answers nothing. So:

- opening a connection is bounded by libpq's `connect_timeout`;
- the liveness check a pooled connection gets before each use (`ping`) waits only
  `ping_timeout_s`: an empty round trip not answered in that time means the server is not
  answering, whatever a slow statement may legitimately take;
- a statement that has heard nothing for half a ping's bound asks whether Postgres
  answers at all (db/liveness.py: any reply heard since, or one probe's round trip, which
  waits a ping's bound at most); it goes on waiting while the server answers, and gives
  up when it does not, about a second into a stall rather than a statement timeout
  later. Postgres cancels a statement itself past `statement_timeout` (a slow query ends
  cleanly, the connection stays usable), and the connection stops waiting
  `REPLY_MARGIN_S` after that whatever the probe says;
- waiting for a pooled connection is bounded by the pool's timeout (db/engine.py,
  db/point_reads.py).

Before any of these declares the server silent it looks at the socket (a poll with no
timeout): the process's own event loop, held up by CPU work (a first import, a trust
computation), may have let the deadline pass while the reply sat unread, and a reply
that is there is no silence. Jobs and migrations run on engines without these deadlines.

A ping, reply or connect that times out opens the process's breaker (db/breaker.py):
until a probe finds Postgres answering again, calls are refused at once instead of each
waiting out its own timeout. A connection given up on mid-exchange is closed (what the
server sends next belongs to a request nobody waits for), and its pool opens another.

Every one of these fails with psycopg's OperationalError, which the call path maps to
UNAVAILABLE with RetryInfo (server/calls/errors.py).
"""

from __future__ import annotations

import functools
import select
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, Self, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.abc import PQGen
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from db.breaker import Breaker, SilentServer
from db.liveness import Liveness

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
    # One liveness probe per Postgres URL, shared by every pool on it.
    _liveness: dict[str, Liveness] = field(default_factory=dict, compare=False, repr=False)

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

    def connection_class(self, libpq_url: str) -> type[BoundedConnection]:
        """psycopg's AsyncConnection for `libpq_url` that waits as the module says, and
        reports to the breaker."""
        bounds = {
            "reply_timeout_s": self.reply_timeout_s,
            "ping_timeout_s": self.ping_timeout_s,
            "breaker": self.breaker,
            "liveness": self._liveness_of(libpq_url),
        }
        return type("BoundedConnection", (BoundedConnection,), bounds)

    def _liveness_of(self, libpq_url: str) -> Liveness:
        if libpq_url not in self._liveness:
            # The probe's own connection: pings only, its silence reported to its asker.
            bounds = {"reply_timeout_s": self.ping_timeout_s, "ping_timeout_s": self.ping_timeout_s}
            probe: type[BoundedConnection] = type("ProbeConnection", (BoundedConnection,), bounds)
            options = {"autocommit": True, **self.connect_args(libpq_url)}
            connect = functools.partial(probe.connect, libpq_url, **options)
            self._liveness[libpq_url] = Liveness(connect, SilentServer)
        return self._liveness[libpq_url]

    async def close(self) -> None:
        """Close the liveness probes' connections (the pools close their own)."""
        for liveness in self._liveness.values():
            await liveness.close()


class BoundedConnection(psycopg.AsyncConnection[Any]):
    """Every wait on the server is bounded as the module says unless the caller gave a
    timeout of its own."""

    reply_timeout_s: ClassVar[float | None] = None
    ping_timeout_s: ClassVar[float | None] = None
    breaker: ClassVar[Breaker | None] = None
    liveness: ClassVar[Liveness | None] = None
    _pinging = False

    @classmethod
    async def connect(cls, *args: Any, **kwargs: Any) -> Self:
        """Refused at once while the breaker is open; a connect timeout opens it."""
        if cls.breaker is None:
            return await super().connect(*args, **kwargs)
        with cls.breaker.exchange():
            connection = await super().connect(*args, **kwargs)
        if cls.liveness is not None:
            cls.liveness.warm()
        return connection

    async def ping(self) -> None:
        """An empty round trip within `ping_timeout_s`, through the breaker: raises if the
        connection is dead, the server silent, or the breaker refuses."""
        self._pinging = True
        try:
            if self.breaker is None:
                await AsyncConnectionPool.check_connection(self)
                return
            with self.breaker.exchange():
                await AsyncConnectionPool.check_connection(self)
        finally:
            self._pinging = False

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = _WAIT_INTERVAL_S,
        timeout: float | None = None,  # noqa: ASYNC109  # psycopg's signature, overridden
    ) -> RV:
        """psycopg's wait in steps (a generator that timed out is resumed: psycopg's
        generators take a wake-up with nothing ready as "wait again"): a ping's bound for a
        ping, half of it for a statement, so one on a stalled server gives up within
        about two ping bounds of the stall, whenever in its wait that began."""
        if timeout is not None or self.ping_timeout_s is None:
            return await super().wait(gen, interval, timeout)
        step = self.ping_timeout_s if self._pinging else self.ping_timeout_s / 2
        started = time.monotonic()
        silent_s = 0.0  # steps that found nothing: a step the loop was held through counts once
        while True:
            try:
                result = await super().wait(gen, interval, step)
            except pg_errors._WaitTimeout:
                if _unread(self.pgconn.socket):
                    continue  # the reply is here: this process's loop was late, not Postgres
                silent_s += step
                if not await self._answering(silent_s, step):
                    self._give_up(time.monotonic() - started)
                continue
            if self.liveness is not None:
                self.liveness.heard()
            return result

    async def _answering(self, silent_s: float, step: float) -> bool:
        """Whether a statement silent for `silent_s` should wait on: only while Postgres
        answers something else and the statement is within its own bound."""
        if self._pinging or self.liveness is None:
            return False
        if self.reply_timeout_s is not None and silent_s >= self.reply_timeout_s:
            return False
        try:
            return await self.liveness.answering(time.monotonic() - step)
        except BaseException:
            # Cancelled mid-statement: psycopg would ask the server to cancel it and wait
            # for the answer; closing the connection ends it without another wait.
            self.pgconn.finish()
            raise

    def _give_up(self, waited_s: float) -> NoReturn:
        # Mid-exchange: what the server sends next, if anything, belongs to a request
        # nobody waits for, so the connection is closed and its pool opens another.
        self.pgconn.finish()
        if self.breaker is not None:
            self.breaker.silent()
        raise SilentServer(f"no reply from Postgres in {waited_s:.1f} s")


def _unread(fd: int) -> bool:
    """Whether the socket holds something not yet read (or its end: POLLHUP, POLLERR)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
