"""Resolves credentials to a principal for the rest of the call.

`authorization: Bearer <session token>` or an API key (`x-api-key: ak_…` or
`authorization: Bearer ak_…`). Anonymous calls pass through (public reads) and
cost nothing here; a credential that is present but invalid fails the call at
once, so a client never silently loses its identity (or its rate-limit tier).
With rate limits on, each such failure costs the caller's address
(server/ratelimit/auth_failures.py).

Methods whose work is one Redis script (server/presence: a unary heartbeat, a
heartbeat stream opening) take a session token as a ticket instead (Session, a
server/hot/ticket.py SessionTicket): no lookup here; the handler runs the session
check, and the budget count, inside its own script (admit.lua), so the call costs
one Redis round trip instead of three.
The check is exactly the one `resolve` does, against Redis at the time of the call:
a session that was ended, or whose agent's key was rotated or which was deleted or
suspended, is refused the moment that write has landed, on every process.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.auth.api_keys import ApiKeyService, looks_like_key
from server.auth.metadata import bearer_token
from server.auth.service import AuthService
from server.auth.store import admit_check
from server.call import Call
from server.calls.rate_limit import Admission, caller_address
from server.domain import principal, refusals
from server.domain.errors import Unauthenticated
from server.hot.ticket import AdmitCheck, SessionTicket
from server.ratelimit.auth_failures import AuthFailureGate
from server.ratelimit.client_ip import Network
from server.ratelimit.limiter import SharedCounter
from server.ratelimit.policy import MethodClass


class Session(SessionTicket):
    """A bearer session token whose check rides on the handler's first Redis script."""

    __slots__ = (
        "_admission",
        "_agent",
        "_authenticator",
        "_call",
        "_check",
        "_method_class",
        "_verified",
    )

    def __init__(
        self,
        authenticator: Authenticator,
        token: str,
        call: Call,
        admission: Admission | None,
        method_class: MethodClass | None,
    ) -> None:
        super().__init__()
        self._authenticator = authenticator
        self._call = call
        self._admission = admission if method_class is not None else None
        self._method_class = method_class
        self._agent: SharedCounter | None = None
        self._verified: SharedCounter | None = None
        counter: tuple[str | int, ...] | None = None
        if self._admission is not None and method_class is not None:
            found = authenticator.counters(self._admission, method_class)
            if found is not None:
                self._agent, self._verified, counter = found
        self._check: AdmitCheck = admit_check(token, counter)

    @property
    def check(self) -> AdmitCheck:
        return self._check

    @property
    def counted(self) -> bool:
        """False when the budget is not in the script (limits off, or the shared store down:
        then `settle` counts the call the ordinary way)."""
        return self._check.args[1] != ""

    async def settle(
        self, verdict: str, agent_id: str, verified: bool, count: int
    ) -> principal.Principal:
        """The script's answer to admit.lua: the caller, now the call's, or the refusal."""
        self._settle()
        call = self._call
        if verdict == "unauthenticated":
            await self._authenticator.failed(call)
            raise refusals.session_invalid()
        caller = call.caller = principal.Principal(agent_id=agent_id, verified=verified)
        if self._admission is not None and self._method_class is not None:
            if self.counted:
                counter = self._verified if verified else self._agent
                assert counter is not None
                Admission.apply(call, counter.decision(count), caller.tier, self._method_class)
            else:
                await self._admission.admit(self._method_class, call)
        return caller

    async def _resolve(self) -> None:
        """The ordinary path (lookup, then count), for a call that ended before its script:
        its refusal, if any, is what the caller hears, as if nothing had been deferred."""
        call = self._call
        call.caller = await self._authenticator.resolve(call)
        if self._admission is not None and self._method_class is not None:
            await self._admission.admit(self._method_class, call)


class Authenticator:
    def __init__(
        self,
        auth: AuthService,
        api_keys: ApiKeyService,
        failures: AuthFailureGate | None = None,
        trusted_hops: int = 0,
        trusted_proxies: Iterable[Network] = (),
    ) -> None:
        self._auth = auth
        self._api_keys = api_keys
        self._failures = failures
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    async def resolve(self, call: Call) -> principal.Principal | None:
        key = call.api_key
        token = None
        if key is None and call.authorization is not None:
            token = bearer_token((("authorization", call.authorization),))
        if key is None and token is None:
            return None
        if self._failures is None:
            return await self._lookup(key, token)
        if self._failures.blocking:  # the address is worked out only when it may matter
            self._failures.admit(self._address(call))
        try:
            return await self._lookup(key, token)
        except Unauthenticated:
            await self._failures.failed(self._address(call))
            raise

    def defer(
        self, call: Call, admission: Admission | None, method_class: MethodClass | None
    ) -> Session | None:
        """A session token becomes the call's ticket (anything else, None: the caller
        resolves it as usual). An address refused for bad credentials stays refused."""
        if call.api_key is not None or call.authorization is None:
            return None
        token = bearer_token((("authorization", call.authorization),))
        if token is None or looks_like_key(token):
            return None
        if self._failures is not None and self._failures.blocking:
            self._failures.admit(self._address(call))
        ticket = Session(self, token, call, admission, method_class)
        call.ticket = ticket
        return ticket

    async def failed(self, call: Call) -> None:
        """A deferred session did not resolve: it costs the address, as in `resolve`."""
        if self._failures is not None:
            await self._failures.failed(self._address(call))

    def counters(
        self, admission: Admission, method_class: MethodClass
    ) -> tuple[SharedCounter, SharedCounter, tuple[str | int, ...]] | None:
        """The counters admit.lua increments for agent sessions (unverified, verified) and
        their arguments; None while the shared store is down."""
        limiter = admission.limiter
        agent = limiter.shared_counter(principal.Tier.AGENT, method_class, "agent:")
        verified = limiter.shared_counter(principal.Tier.VERIFIED, method_class, "agent:")
        if agent is None or verified is None or agent.window_end != verified.window_end:
            return None  # (budgets of different windows are counted the ordinary way)
        args = (agent.prefix, agent.suffix, agent.amount, verified.suffix, verified.amount)
        return agent, verified, (*args, agent.window_s)

    def _address(self, call: Call) -> str:
        return caller_address(call, self._trusted_hops, self._trusted_proxies)

    async def _lookup(self, key: str | None, token: str | None) -> principal.Principal:
        if key is not None:
            return await self._api_keys.authenticate(key)
        assert token is not None
        if looks_like_key(token):
            return await self._api_keys.authenticate(token)
        return await self._auth.authenticate(token)
