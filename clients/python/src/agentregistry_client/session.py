"""Credentials for calls: a session logged in with the agent's key (renewed before it
expires), or an API key, or neither (public reads)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import grpc

from agentregistry_client._proto import auth_service_pb2, auth_service_pb2_grpc
from agentregistry_client.errors import NotRegistered, RegistryError
from agentregistry_client.keys import AgentKey
from agentregistry_client.signing import session_message

Metadata = tuple[tuple[str, str], ...]

# A session is renewed once this share of its lifetime is left (at least MIN_MARGIN_S).
REFRESH_SHARE = 0.1
MIN_MARGIN_S = 5.0


@dataclass(frozen=True)
class Session:
    token: str
    agent: str
    expire_time: datetime
    # time.monotonic() after which the session is renewed.
    refresh_at: float


class Credentials:
    """What authenticates a client's calls; `metadata()` renews a session when it is due."""

    def __init__(
        self,
        auth: auth_service_pb2_grpc.AuthServiceStub,
        key: AgentKey | None = None,
        api_key: str | None = None,
        token: str | None = None,
    ) -> None:
        self._auth = auth
        self.key = key
        self.api_key = api_key
        self._fixed_token = token
        self._session: Session | None = None
        self._lock = asyncio.Lock()

    @property
    def session(self) -> Session | None:
        return self._session

    @property
    def can_login(self) -> bool:
        return self.key is not None and self.key.agent is not None

    async def login(self) -> Session:
        """Challenge, sign, exchange: a new session token for the key's agent."""
        if self.key is None or self.key.agent is None:
            raise NotRegistered()
        try:
            challenge = await self._auth.CreateChallenge(
                auth_service_pb2.CreateChallengeRequest(agent=self.key.agent)
            )
            reply = await self._auth.CreateSession(
                auth_service_pb2.CreateSessionRequest(
                    challenge_id=challenge.challenge_id,
                    signature=self.key.sign(session_message(challenge.nonce)),
                )
            )
        except grpc.aio.AioRpcError as error:
            raise RegistryError.from_rpc(error) from None
        return self.adopt(reply.token, reply.agent, reply.expire_time.ToDatetime(timezone.utc))

    def adopt(self, token: str, agent: str, expire_time: datetime) -> Session:
        """Use a session obtained earlier (the CLI keeps one between commands): sent and
        renewed like one logged in here, and dropped like one if the server refuses it."""
        lifetime = max(0.0, (expire_time - datetime.now(timezone.utc)).total_seconds())
        margin = max(MIN_MARGIN_S, lifetime * REFRESH_SHARE)
        self._session = Session(token, agent, expire_time, time.monotonic() + lifetime - margin)
        return self._session

    async def token(self) -> str | None:
        """The bearer token to send, logging in (again) when none is fresh enough."""
        if self._fixed_token is not None:
            return self._fixed_token
        if not self.can_login:
            return None
        async with self._lock:
            if self._session is None or time.monotonic() >= self._session.refresh_at:
                await self.login()
            assert self._session is not None
            return self._session.token

    async def metadata(self, required: bool = False) -> Metadata:
        """Call metadata. A public read (`required` False) logs in for nobody: it carries the
        session only if one is fresh already (for the agent's rate-limit tier)."""
        if self.api_key is not None:
            return (("x-api-key", self.api_key),)
        if required:
            token = await self.token()
            if token is None:
                raise NotRegistered()
        elif self._fixed_token is not None:
            token = self._fixed_token
        elif self._session is not None and time.monotonic() < self._session.refresh_at:
            token = self._session.token
        else:
            return ()
        return (("authorization", f"Bearer {token}"),)

    def forget(self, token: str | None = None) -> None:
        """Drop the session, e.g. after the server refused it; the next call logs in. With
        `token`, only if the session still is that one: one renewed since is kept."""
        if token is None or (self._session is not None and self._session.token == token):
            self._session = None

    async def logout(self) -> None:
        """End the session on the server (DeleteSession) and forget it."""
        if self._session is None:
            return
        metadata = (("authorization", f"Bearer {self._session.token}"),)
        self._session = None
        try:
            await self._auth.DeleteSession(
                auth_service_pb2.DeleteSessionRequest(), metadata=metadata
            )
        except grpc.aio.AioRpcError as error:
            raise RegistryError.from_rpc(error) from None
