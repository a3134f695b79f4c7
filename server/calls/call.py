"""The call layer: everything the registry does around a call, wrapped once around each
method's handler where it is registered (server/method_table.py).

In order, per call: read the call's metadata once (request id, credentials,
forwarded-for, the HTTP edge's mark, a transcoded call's URL path); refuse requests no
handler should see (server/calls/request_guard.py) and JSON calls whose body
names another resource than their URL (server/calls/path_binding.py); resolve
the caller (server/calls/auth.py); count the call against its budget
(server/calls/rate_limit.py); run the handler;
add the HTTP cache headers (server/calls/cache_headers.py); send the response
metadata where its reader sees it (server/calls/response_metadata.py); turn
any error into a rich status (server/calls/errors.py); record the outcome
(server/calls/access_log.py).

Why one layer: each grpc.aio interceptor wraps the handler in another coroutine
(and each streamed message in another generator), and each one re-read the
metadata; six of them were about a sixth of a worker's time on a cached read.
Why not a grpc.aio interceptor at all: gRPC runs interceptors on every call just to
find the handler (a chain of coroutines and a partial per call, about 10 µs of a
cached read), while a handler wrapped at registration costs nothing to find. What
depends only on the method (its rate-limit class, cache policy, whether its request
type can hold text or timestamps at all, its metric series) is worked out once per
method, when it is wrapped.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

import grpc
from google.protobuf import message as pb_message

from server.auth import principal
from server.calls import (
    access_log,
    cache_headers,
    deferred,
    path_binding,
    request_guard,
    response_metadata,
)
from server.calls.auth import Authenticator
from server.calls.errors import abort_with
from server.calls.rate_limit import Admission
from server.edge.http_template import Template
from server.observability import logs
from server.ratelimit.policy import MethodClass, classify

Context = grpc.aio.ServicerContext[Any, Any]
UnaryBehavior = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior = Callable[[Any, Context], AsyncIterator[Any]]
# A streaming handler in gRPC's reader-writer form: it reads and writes through the context.
CallBehavior = Callable[[Any, Context], Awaitable[None]]

_REQUEST_ID = access_log.REQUEST_ID
_EDGE_KEY, _EDGE_VALUE = response_metadata.EDGE_MARKER


def _new_request_id() -> str:
    """32 hex digits like a uuid4's, from the process's seeded generator: uuid4 reads
    os.urandom, a system call per call, for an id that needs no secrecy."""
    return f"{random.getrandbits(128):032x}"


@dataclass(slots=True)
class CallHeaders:
    """What the registry reads from a call's metadata, gathered in one pass."""

    request_id: str
    api_key: str | None
    authorization: str | None
    forwarded_for: str | None
    edge: bool
    original_path: str | None = None  # the URL path of a call Envoy transcoded from JSON

    @classmethod
    def read(cls, metadata: Any) -> CallHeaders:
        request_id = key = authorization = original_path = None
        forwarded: list[str] = []
        edge = False
        for name, value in metadata or ():
            if name == _REQUEST_ID:
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
            elif name == path_binding.ORIGINAL_PATH:
                original_path = str(value)
        return cls(
            request_id or _new_request_id(),
            key,
            authorization,
            ",".join(forwarded) if forwarded else None,
            edge,
            original_path,
        )

    @property
    def credentialed(self) -> bool:
        return self.api_key is not None or self.authorization is not None


@dataclass(frozen=True, slots=True)
class MethodPlan:
    method: str
    rate_class: MethodClass | None
    guarded: bool  # the request type can hold a string or a timestamp somewhere
    cached: bool  # a public read that gets an HTTP etag
    series: access_log.Series
    request_streaming: bool = False
    defers_session: bool = False  # the handler checks a session token in its own script
    defers_count: bool = False  # the handler counts the call in its own script
    path_templates: tuple[Template, ...] = ()  # HTTP paths that bind request fields

    @property
    def defers(self) -> bool:
        return self.defers_session or self.defers_count


def _plan(
    method: str,
    request_type: type | None,
    request_streaming: bool = False,
    defers_session: bool = False,
    defers_count: bool = False,
) -> MethodPlan:
    guarded = True
    descriptor = getattr(request_type, "DESCRIPTOR", None)
    if descriptor is not None:
        guarded = request_guard.can_hold_checked_fields(descriptor)
    return MethodPlan(
        method=method,
        rate_class=classify(method),
        guarded=guarded,
        cached=method in cache_headers.PUBLIC_MAX_AGE_S,
        series=access_log.Series(method),
        request_streaming=request_streaming,
        defers_session=defers_session,
        defers_count=defers_count,
        path_templates=() if request_streaming else path_binding.templates(method),
    )


class CallLayer:
    def __init__(
        self,
        authenticator: Authenticator,
        admission: Admission | None,
        live_max_age_s: float,
        session_in_script: Iterable[str] = (),
        count_in_script: Iterable[str] = (),
    ) -> None:
        """Methods `session_in_script` check a session token, and `count_in_script` count
        the call against its budget, inside their handler's first Redis script rather
        than before the handler (server/calls/deferred.py)."""
        self._authenticator = authenticator
        self._admission = admission
        self._session_in_script = frozenset(session_in_script)
        self._count_in_script = frozenset(count_in_script)
        self._live_max_age_s = max(0, int(live_max_age_s))

    def wrap(self, method: str, handler: Any) -> Any:
        """`handler` (a method's as gRPC serves it) inside this layer."""
        decode = request_guard.tolerant(handler.request_deserializer)
        encode = handler.response_serializer
        plan = _plan(
            method,
            _request_type(handler.request_deserializer),
            request_streaming=handler.request_streaming,
            defers_session=method in self._session_in_script,
            defers_count=method in self._count_in_script,
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

    async def _enter(
        self, plan: MethodPlan, headers: CallHeaders, request: Any, context: Context
    ) -> Any:
        """Everything before the handler; returns the request it is to see."""
        if plan.request_streaming:  # each message as it comes
            if plan.guarded:
                request = request_guard.checked(request)
        else:
            if plan.guarded or not isinstance(request, pb_message.Message):
                request_guard.check(request)
            if plan.path_templates and headers.original_path is not None:
                path_binding.check(plan.path_templates, headers.original_path, request)
        if plan.defers_session:
            pending = self._authenticator.defer(headers, context, self._admission, plan.rate_class)
            if pending is not None:
                principal.set_current(None)
                return request
        caller = await self._authenticator.resolve(headers, context)
        principal.set_current(caller)
        if self._admission is not None and plan.rate_class is not None:
            if plan.defers_count and self._admission.defer(
                plan.rate_class, caller, headers, context
            ):
                return request
            await self._admission.admit(plan.rate_class, caller, headers, context)
        return request

    async def _unary(
        self,
        plan: MethodPlan,
        behavior: UnaryBehavior,
        request: Any,
        context: Context,
    ) -> Any:
        started, headers, pairs = _begin(context)
        error: BaseException | None = None
        try:
            request = await self._enter(plan, headers, request, context)
            response = await behavior(request, context)
            if plan.defers:
                await deferred.settle_untaken()
            if headers.edge:
                self._cache_headers(plan, headers, response, pairs)
                await context.send_initial_metadata(tuple(pairs))
            else:
                context.set_trailing_metadata(tuple(pairs))
            return response
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = await deferred.refusal_first(raised) if plan.defers else raised
            if headers.edge:
                pairs.append(("cache-control", cache_headers.NO_STORE))
            await abort_with(plan.method, error, context)
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
        started, headers, pairs = _begin(context)
        # Read while the call is alive: once a stream is torn down, `peer()` touches freed memory.
        peer = context.peer()
        error: BaseException | None = None
        try:
            request = await self._enter(plan, headers, request, context)
            unsent = headers.edge  # HTTP clients get the pairs as headers, with the first message
            async for item in behavior(request, context):
                if unsent:
                    await context.send_initial_metadata(tuple(pairs))
                    unsent = False
                yield item
            context.set_trailing_metadata(tuple(pairs))
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = await deferred.refusal_first(raised) if plan.defers else raised
            await abort_with(plan.method, error, context)
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
        """A streaming call whose handler reads and writes through the context itself."""
        started, headers, pairs = _begin(context)
        # Read while the call is alive: once a stream is torn down, `peer()` touches freed memory.
        peer = context.peer()
        error: BaseException | None = None
        try:
            request = await self._enter(plan, headers, request, context)
            handed = context
            if plan.request_streaming and plan.guarded:
                handed = cast(Context, _Checked(handed))  # what it reads is checked as it comes
            if headers.edge:  # HTTP clients get the pairs as headers, with the first message
                handed = cast(Context, _HeadersFirst(handed, pairs))
            await behavior(request, handed)
            context.set_trailing_metadata(tuple(pairs))
        except grpc.aio.AbortError as raised:
            error = raised
            raise
        except Exception as raised:
            error = await deferred.refusal_first(raised) if plan.defers else raised
            await abort_with(plan.method, error, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            access_log.record(plan.series, context, started, error, peer)

    def _cache_headers(
        self, plan: MethodPlan, headers: CallHeaders, response: Any, pairs: response_metadata.Pairs
    ) -> None:
        pairs.append(
            (
                "cache-control",
                cache_headers.cache_control(
                    plan.method, headers.credentialed, self._live_max_age_s
                ),
            )
        )
        if plan.cached:
            tag = cache_headers.etag_of(response)
            if tag:
                pairs.append(("etag", tag))


class _Relay:
    """A handler's context with one method changed; everything else is the call's own."""

    __slots__ = ("_context",)

    def __init__(self, context: Context) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class _HeadersFirst(_Relay):
    """An HTTP edge's call: the response pairs leave as headers with the first message
    (the edge drops the trailers of a successful call)."""

    __slots__ = ("_pairs", "_unsent")

    def __init__(self, context: Context, pairs: response_metadata.Pairs) -> None:
        super().__init__(context)
        self._pairs = pairs
        self._unsent = True

    async def write(self, message: Any) -> None:
        if self._unsent:
            self._unsent = False
            await self._context.send_initial_metadata(tuple(self._pairs))
        await self._context.write(message)


class _Checked(_Relay):
    """Each message read is refused as the request guard would refuse a request."""

    __slots__ = ()

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not grpc.aio.EOF:
            request_guard.check(message)
        return message


def _begin(context: Context) -> tuple[float, CallHeaders, response_metadata.Pairs]:
    """What every call starts with: its clock, its metadata, and its request id on the
    log lines and in the response metadata."""
    started = time.perf_counter()
    headers = CallHeaders.read(context.invocation_metadata())
    logs.request_id.set(headers.request_id)
    pairs = response_metadata.begin()
    pairs.append((_REQUEST_ID, headers.request_id))
    return started, headers, pairs


def _request_type(deserializer: Any) -> type | None:
    """The message class behind a generated stub's deserializer (`Message.FromString`)."""
    owner = getattr(deserializer, "__self__", None)
    return owner if isinstance(owner, type) else None
