"""The call layer: everything the registry does around a call, wrapped once around each
method's handler where it is registered (server/calls/method_table.py); each handler
is handed the call (server/call.py) in place of gRPC's context.

In order, per call: read the call's metadata once (request id, credentials,
forwarded-for, the HTTP edge's mark, a transcoded call's URL path); refuse requests no
handler should see (server/calls/request_guard.py) and JSON calls whose body
names another resource than their URL (server/calls/path_binding.py); resolve
the caller (server/calls/auth.py); count the call against its budget
(server/calls/rate_limit.py); run the handler;
add the HTTP cache headers (server/calls/cache_headers.py); send the response
metadata where its reader sees it (server/call.py); turn
any error into a rich status (server/calls/errors.py); record the outcome
(server/calls/access_log.py).

Why one layer: each grpc.aio interceptor wraps the handler in another coroutine
(and each streamed message in another generator), and each one re-read the
metadata; six of them were about a sixth of a worker's time on a cached read.
Why not a grpc.aio interceptor at all: gRPC runs interceptors on every call just to
find the handler (a chain of coroutines and a partial per call, about 10 µs of a
cached read), while a handler wrapped at registration costs nothing to find. What
depends only on the method (its policy as its proto declares it, server/method_policy.py;
whether its request type can hold text or timestamps at all; its metric series) is
worked out once per method, when it is wrapped.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf import message as pb_message
from grpc._cython import cygrpc  # type: ignore[attr-defined]

from server import method_policy
from server.call import Call, Context
from server.calls import access_log, cache_headers, path_binding, request_guard
from server.calls.auth import Authenticator
from server.calls.errors import abort_with
from server.calls.rate_limit import Admission
from server.edge.http_template import Template
from server.observability import logs
from server.ratelimit.policy import MethodClass

UnaryBehavior = Callable[[Any, Call], Awaitable[Any]]
StreamBehavior = Callable[[Any, Call], AsyncIterator[Any]]
# A streaming handler in gRPC's reader-writer form: it reads and writes through the call.
CallBehavior = Callable[[Any, Call], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MethodPlan:
    method: str
    rate_class: MethodClass | None
    guarded: bool  # the request type can hold a string or a timestamp somewhere
    cached: bool  # a public read that gets an HTTP etag
    series: access_log.Series
    policy: method_policy.MethodPolicy = method_policy.NO_POLICY
    request_streaming: bool = False
    path_templates: tuple[Template, ...] = ()  # HTTP paths that bind request fields

    @property
    def defers_session(self) -> bool:
        """The handler checks a session token in its own script."""
        return self.policy.session_in_script

    @property
    def defers_count(self) -> bool:
        """The handler counts the call in its own script."""
        return self.policy.count_in_script


def _plan(method: str, request_type: type | None, request_streaming: bool = False) -> MethodPlan:
    guarded = True
    descriptor = getattr(request_type, "DESCRIPTOR", None)
    if descriptor is not None:
        guarded = request_guard.can_hold_checked_fields(descriptor)
    policy = method_policy.of(method)
    return MethodPlan(
        method=method,
        rate_class=policy.rate_class,
        guarded=guarded,
        cached=policy.http_max_age_s > 0,
        series=access_log.Series(method),
        policy=policy,
        request_streaming=request_streaming,
        path_templates=() if request_streaming else path_binding.templates(method),
    )


def _hung_up(context: Context, error: BaseException) -> bool:
    """The client went away during the call (cancelled it, or its connection closed, e.g.
    through Envoy): gRPC then fails a send on the finished call with ExecuteBatchError.
    Nothing can reach the client any more; the call is recorded as CANCELLED."""
    return isinstance(error, cygrpc.ExecuteBatchError) or context.cancelled()


class CallLayer:
    def __init__(
        self, authenticator: Authenticator, admission: Admission | None, live_max_age_s: float
    ) -> None:
        """Methods whose policy says so check a session token, or count the call against
        its budget, inside their handler's first Redis script rather than before the
        handler (a ticket, server/hot/ticket.py)."""
        self._authenticator = authenticator
        self._admission = admission
        self._live_max_age_s = max(0, int(live_max_age_s))

    def wrap(self, method: str, handler: Any) -> Any:
        """`handler` (a method's as gRPC serves it) inside this layer."""
        decode = request_guard.tolerant(handler.request_deserializer)
        encode = handler.response_serializer
        plan = _plan(
            method,
            _request_type(handler.request_deserializer),
            request_streaming=handler.request_streaming,
        )
        # The handlers below are partials of plain functions, not of bound methods: gRPC asks
        # `inspect` what each is on every call, and a bound method inside a partial takes
        # its slow path there.
        if handler.response_streaming:
            inner_stream = handler.unary_stream or handler.stream_stream
            if inspect.iscoroutinefunction(inner_stream):  # reader-writer: no generator at all
                streaming: Any = functools.partial(CallLayer._call, self, plan, inner_stream)
            else:
                # The generator below is the handler itself (gRPC sees through the partial):
                # one generator layer per message.
                streaming = functools.partial(CallLayer._stream, self, plan, inner_stream)
            if handler.request_streaming:
                return grpc.stream_stream_rpc_method_handler(streaming, decode, encode)
            return grpc.unary_stream_rpc_method_handler(streaming, decode, encode)
        inner_unary = handler.unary_unary or handler.stream_unary
        unary = functools.partial(CallLayer._unary, self, plan, inner_unary)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(unary, decode, encode)
        return grpc.unary_unary_rpc_method_handler(unary, decode, encode)

    async def _enter(self, plan: MethodPlan, call: Call, request: Any) -> Any:
        """Everything before the handler; returns the request it is to see."""
        if plan.request_streaming:  # each message as it comes
            if plan.guarded:
                request = request_guard.checked(request)
        else:
            if plan.guarded or not isinstance(request, pb_message.Message):
                request_guard.check(request)
            if plan.path_templates and call.original_path is not None:
                path_binding.check(plan.path_templates, call.original_path, request)
        if plan.defers_session and self._authenticator.defer(
            call, self._admission, plan.rate_class
        ):
            return request
        call.caller = await self._authenticator.resolve(call)
        if self._admission is not None and plan.rate_class is not None:
            if plan.defers_count and self._admission.defer(plan.rate_class, call):
                return request
            await self._admission.admit(plan.rate_class, call)
        return request

    async def _failed(self, plan: MethodPlan, call: Call, raised: Exception) -> NoReturn:
        """A handler's failure as the client hears it (a refusal of a check still owed comes
        first); a call whose client has gone ends cancelled, as gRPC ends it quietly."""
        if _hung_up(call.context, raised):
            raise asyncio.CancelledError("the client has gone") from raised
        error = raised
        if call.ticket is not None:
            error = await call.ticket.refusal_first(raised)
        if call.edge:
            call.add("cache-control", cache_headers.NO_STORE)
        await abort_with(plan.method, error, call)

    async def _unary(
        self,
        plan: MethodPlan,
        behavior: UnaryBehavior,
        request: Any,
        context: Context,
    ) -> Any:
        started, call = _begin(context)
        error: BaseException | None = None
        try:
            request = await self._enter(plan, call, request)
            response = await behavior(request, call)
            if call.ticket is not None:
                await call.ticket.finish()
            if call.edge:
                self._cache_headers(plan, call, response)
                await context.send_initial_metadata(tuple(call.pairs))
            else:
                context.set_trailing_metadata(tuple(call.pairs))
            return response
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = raised
            await self._failed(plan, call, raised)
        except BaseException as raised:  # cancelled
            error = raised
            raise
        finally:
            access_log.record(plan.series, context, started, error)

    async def _stream(
        self,
        plan: MethodPlan,
        behavior: StreamBehavior,
        request: Any,
        context: Context,
    ) -> AsyncIterator[Any]:
        started, call = _begin(context)
        # Read while the call is alive: once a stream is torn down, `peer()` touches freed memory.
        peer = context.peer()
        error: BaseException | None = None
        try:
            request = await self._enter(plan, call, request)
            unsent = call.edge  # HTTP clients get the pairs as headers, with the first message
            async for item in behavior(request, call):
                if unsent:
                    await context.send_initial_metadata(tuple(call.pairs))
                    unsent = False
                yield item
            context.set_trailing_metadata(tuple(call.pairs))
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = raised
            await self._failed(plan, call, raised)
        except BaseException as raised:
            error = raised
            raise
        finally:
            access_log.record(plan.series, context, started, error, peer)

    async def _call(
        self,
        plan: MethodPlan,
        behavior: CallBehavior,
        request: Any,
        context: Context,
    ) -> None:
        """A streaming call whose handler reads and writes through the call itself."""
        started, call = _begin(context)
        # Read while the call is alive: once a stream is torn down, `peer()` touches freed memory.
        peer = context.peer()
        error: BaseException | None = None
        try:
            request = await self._enter(plan, call, request)
            call.read = context.read
            if plan.request_streaming and plan.guarded:  # what it reads is checked as it comes
                call.read = functools.partial(_read_checked, context)
            call.write = context.write
            if call.edge:  # HTTP clients get the pairs as headers, with the first message
                call.write = _HeadersFirst(call).write
            await behavior(request, call)
            context.set_trailing_metadata(tuple(call.pairs))
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = raised
            await self._failed(plan, call, raised)
        except BaseException as raised:
            error = raised
            raise
        finally:
            access_log.record(plan.series, context, started, error, peer)

    def _cache_headers(self, plan: MethodPlan, call: Call, response: Any) -> None:
        control = cache_headers.cache_control(plan.policy, call.credentialed, self._live_max_age_s)
        call.add("cache-control", control)
        if plan.cached:
            tag = cache_headers.etag_of(response)
            if tag:
                call.add("etag", tag)


class _HeadersFirst:
    """An HTTP edge's call: the response pairs leave as headers with the first message
    (the edge drops the trailers of a successful call)."""

    __slots__ = ("_call", "_unsent")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._unsent = True

    async def write(self, message: Any) -> None:
        context = self._call.context
        if self._unsent:
            self._unsent = False
            await context.send_initial_metadata(tuple(self._call.pairs))
        await context.write(message)


async def _read_checked(context: Context) -> Any:
    """Each message read is refused as the request guard would refuse a request."""
    message = await context.read()
    if message is not grpc.aio.EOF:
        request_guard.check(message)
    return message


def _begin(context: Context) -> tuple[float, Call]:
    """What every call starts with: its clock, its call, and its request id on the log
    lines and in the response metadata."""
    started = time.perf_counter()
    call = Call.of(context)
    logs.request_id.set(call.request_id)
    return started, call


def _request_type(deserializer: Any) -> type | None:
    """The message class behind a generated stub's deserializer (`Message.FromString`)."""
    owner = getattr(deserializer, "__self__", None)
    return owner if isinstance(owner, type) else None
