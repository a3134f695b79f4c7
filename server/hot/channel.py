"""One pipelined Redis connection for the scripts a call waits on: a unary beat, a
stream opening, a cached read's lookup, a rate-limit count.

Why not redis-py for these: its per-command path (a pool checkout under an
asyncio timeout, `wait_for` around the write, another timeout around the read,
the retry wrapper) was about a fifth of a unary heartbeat's CPU, more than the
script itself costs Redis. Here a call packs its command (hiredis), queues it,
and waits for its reply; every command queued in one loop iteration leaves in one
write, and replies come back in order on the one connection, so no checkout, no
timers. It speaks every URL the registry takes (`redis://`, `rediss://` with
redis-py's TLS options, `unix://`), so the hot path has no second implementation.

A lost connection fails the calls waiting on it with redis-py's ConnectionError
(UNAVAILABLE to the caller, as for any Redis outage) and the next call connects
again. A Redis that stops answering without closing the connection (stalled,
overloaded, paused) is found by one timer per connection, not one per call: when
the oldest waiting call has had no reply for `reply_timeout_s`, every waiting call
fails with a TimeoutError and the connection is dropped, so the next call connects
anew. Once `max_waiting` commands wait on the connection, a call is refused at
once rather than queued behind a Redis that does not answer. With a breaker
(server/redis_breaker.py) the channel reports replies and silences to it, is refused
by it while Redis is known not to answer, and sends its probes (a PING).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from collections.abc import Callable, Sequence
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import RedisSSLContext, SSLConnection, parse_url
from redis.exceptions import BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.redis_breaker import RedisBreaker, TooManyWaiting

Arg = str | bytes | int | float

REPLY_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 1.0
MAX_WAITING = 10_000
_RECHECK_S = 0.05  # an overdue connection's last look, after the loop has read its socket


class NoReply(RedisTimeoutError):
    """Redis kept the connection but sent no reply within the reply timeout."""


def _pack(command: tuple[Arg, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(command)  # type: ignore[arg-type]  # stub: 1-tuples
    return packed


class Script:
    """A script's text and SHA-1, for EVALSHA with a SCRIPT LOAD when Redis lacks it."""

    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


class ScriptChannel(asyncio.Protocol):
    def __init__(
        self,
        options: dict[str, Any],
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        max_waiting: int = MAX_WAITING,
        breaker: RedisBreaker | None = None,
    ) -> None:
        self._options = options
        self._breaker = breaker
        if breaker is not None:
            breaker.prober = self._probe
        self._reply_timeout_s = reply_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._max_waiting = max_waiting
        # When the connection last showed it was alive: a reply came, or a call was sent
        # while none was waiting. The watchdog fails the waiting calls once it is too old.
        self._progress_at = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._overdue_since = -1.0  # the `_progress_at` found overdue, given one more look
        self._dropped = 0  # connections dropped here whose connection_lost is still due
        self._transport: asyncio.Transport | None = None
        self._ready = False  # connected, and past AUTH / SELECT
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._outgoing: list[bytes] = []
        self._reader = hiredis.Reader()
        # Replies whose caller stopped waiting, but still needs them (`adopt`).
        self._adopted: dict[asyncio.Future[Any], Callable[[Any], None]] = {}

    @classmethod
    def for_url(
        cls,
        url: str,
        *,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        max_waiting: int = MAX_WAITING,
        breaker: RedisBreaker | None = None,
    ) -> ScriptChannel:
        """A channel for a `redis://`, `rediss://` or `unix://` URL."""
        options = dict(parse_url(url))
        if not ("path" in options or "host" in options):
            raise ValueError(f"no Redis server in {url!r}")
        return cls(
            options,
            reply_timeout_s=reply_timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_waiting=max_waiting,
            breaker=breaker,
        )

    @classmethod
    def for_client(cls, redis: Redis) -> ScriptChannel:
        """A channel to the server `redis` talks to (its address, credentials, TLS)."""
        pool = redis.connection_pool
        options = dict(pool.connection_kwargs)
        if issubclass(pool.connection_class, SSLConnection):
            options["connection_class"] = SSLConnection
        return cls(options)

    async def run(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """EVALSHA; on NOSCRIPT (a restarted or flushed Redis) load it and run it again."""
        try:
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self.call("SCRIPT", "LOAD", script.text)
            return await self.call("EVALSHA", script.sha, len(keys), *keys, *args)

    def submit(
        self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]
    ) -> asyncio.Future[Any] | None:
        """EVALSHA queued now, without a coroutine or task around it: the future of its raw
        reply (`answer` reads it), or None while the channel is not connected (use `run`).
        A caller that stops waiting can still have the reply handed to it (`adopt`)."""
        if not self._ready:
            return None
        self._admit()
        return self._send(_pack(("EVALSHA", script.sha, len(keys), *keys, *args)))

    def adopt(self, future: asyncio.Future[Any], on_reply: Callable[[Any], None]) -> None:
        """A submitted command whose waiter was cancelled: its reply, when it comes, goes to
        `on_reply` (not if the connection is lost first: then its outcome is unknown)."""
        if future.cancelled():
            self._adopted[future] = on_reply
        elif future.done() and future.exception() is None:
            on_reply(future.result())

    async def call(self, *command: Arg) -> Any:
        self._admit()
        if not self._ready:
            await self._connect()
        return self.answer(await self._send(_pack(command)))

    async def many(self, commands: Sequence[tuple[Arg, ...]]) -> list[Any]:
        """Commands sent together (one write, not a transaction); their replies in order.
        An error reply raises once all are in, as a redis-py pipeline does."""
        self._admit()  # one caller: a large batch (a presence tick) is not refused for its size
        if not self._ready:
            await self._connect()
        futures = [self._send(_pack(command)) for command in commands]
        replies = [await future for future in futures]
        for reply in replies:
            self.answer(reply)
        return replies

    @staticmethod
    def answer(reply: Any) -> Any:
        """A raw reply as `call` answers it: an error reply raises."""
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            if message.startswith("NOSCRIPT"):
                raise NoScriptError(message)
            if message.startswith("LOADING"):  # just restarted: retry, as for a lost connection
                raise BusyLoadingError(message)
            raise ResponseError(message)
        return reply

    def _probe(self) -> None:
        """A PING for the breaker, in the background: its reply closes the breaker
        (`data_received`), its silence keeps it open (`_watch`)."""
        task = asyncio.ensure_future(self._ping())
        task.add_done_callback(_retrieved)

    async def _ping(self) -> None:
        if not self._ready:
            await self._connect()
        await self._send(_pack(("PING",)))

    def _admit(self) -> None:
        if self._breaker is not None:
            self._breaker.admit()
        if len(self._waiting) >= self._max_waiting:
            raise TooManyWaiting(
                f"{len(self._waiting)} commands already wait on Redis (bound {self._max_waiting})"
            )

    def _send(self, packed: bytes) -> asyncio.Future[Any]:
        # The connection's own loop, not asyncio.get_running_loop(): on Python 3.11 that is
        # a getpid() system call, which costs here about what the rest of a call does.
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[Any] = loop.create_future()
        if not self._outgoing:
            loop.call_soon(self._flush)
        if not self._waiting:  # the reply timeout runs from now
            self._progress_at = loop.time()
            if self._watchdog is None:
                self._watchdog = loop.call_at(
                    self._progress_at + self._reply_timeout_s, self._watch
                )
        self._outgoing.append(packed)
        self._waiting.append(future)
        return future

    def _watch(self) -> None:
        """The one timer: fails everything waiting when the oldest call has waited too long.

        Overdue, it looks once more after the loop has polled the socket: uvloop runs due
        timers before reading, so after the loop itself was held up a reply already in
        the socket would otherwise count as none."""
        self._watchdog = None
        if not self._waiting:
            return  # rearmed by the next call sent
        loop = self._loop
        assert loop is not None
        due = self._progress_at + self._reply_timeout_s
        if loop.time() < due:
            self._watchdog = loop.call_at(due, self._watch)
        elif self._overdue_since != self._progress_at:
            self._overdue_since = self._progress_at
            self._watchdog = loop.call_later(_RECHECK_S, self._watch)
        else:
            if self._breaker is not None:
                self._breaker.silent()
            self._drop(NoReply(f"no reply from Redis in {self._reply_timeout_s:g} s"))

    def _drop(self, error: Exception) -> None:
        """Give up on this connection: its replies, if they ever come, would be out of step
        with the next call's, so it is closed and the next call connects anew."""
        transport, self._transport = self._transport, None
        self._ready = False
        if transport is not None:
            self._dropped += 1
            transport.abort()
        self._fail(error)

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self._transport is None:  # lost while these were queued: fail them
            self._fail(RedisConnectionError("Redis connection lost"))
            return
        self._transport.write(b"".join(outgoing))

    async def _connect(self) -> None:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _open(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        options = self._options
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                if "path" in options:
                    await loop.create_unix_connection(lambda: self, options["path"])
                else:
                    host = options.get("host", "localhost")
                    tls = _tls(options)
                    await loop.create_connection(
                        lambda: self,
                        host,
                        int(options.get("port", 6379)),
                        ssl=tls,
                        server_hostname=host if tls is not None else None,
                    )
        except (OSError, TimeoutError) as error:
            if isinstance(error, TimeoutError) and self._breaker is not None:
                self._breaker.silent()
            raise RedisConnectionError(f"cannot connect to Redis: {error}") from error
        if options.get("password"):
            user = options.get("username")
            auth = ("AUTH", *([user] if user else []), options["password"])
            self.answer(await self._send(_pack(auth)))
        if options.get("db"):
            self.answer(await self._send(_pack(("SELECT", int(options["db"])))))
        self._ready = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._reader = hiredis.Reader()

    def data_received(self, data: bytes) -> None:
        assert self._loop is not None
        self._progress_at = self._loop.time()
        if self._breaker is not None:
            self._breaker.answered()
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            future = self._waiting.popleft()
            if not future.done():  # its caller may have given up; the order still holds
                future.set_result(reply)
            elif self._adopted and (on_reply := self._adopted.pop(future, None)) is not None:
                on_reply(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._dropped:  # a connection `_drop` already gave up on, not the current one
            self._dropped -= 1
            return
        self._transport = None
        self._ready = False
        self._fail(RedisConnectionError(f"Redis connection lost: {exc or 'closed'}"))

    def _fail(self, error: Exception) -> None:
        waiting, self._waiting = self._waiting, collections.deque()
        self._outgoing = []
        self._adopted = {}
        for future in waiting:
            if not future.done():
                future.set_exception(error)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _retrieved(task: asyncio.Future[None]) -> None:
    """A probe's failure is the breaker's business, already told: not logged as lost."""
    if not task.cancelled():
        task.exception()


def _tls(options: dict[str, Any]) -> ssl.SSLContext | None:
    """The TLS context of a `rediss://` URL's options, as redis-py builds its own."""
    if options.get("connection_class") is not SSLConnection and not options.get("ssl"):
        return None
    cert_reqs = options.get("ssl_cert_reqs", "required")
    verify = cert_reqs not in ("none", ssl.CERT_NONE, None)
    return RedisSSLContext(
        keyfile=options.get("ssl_keyfile"),
        certfile=options.get("ssl_certfile"),
        cert_reqs=cert_reqs,
        ca_certs=options.get("ssl_ca_certs"),
        ca_data=options.get("ssl_ca_data"),
        ca_path=options.get("ssl_ca_path"),
        check_hostname=verify and bool(options.get("ssl_check_hostname", True)),
        min_version=options.get("ssl_min_version"),
        ciphers=options.get("ssl_ciphers"),
        password=options.get("ssl_password"),
    ).get()
