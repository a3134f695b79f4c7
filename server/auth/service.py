"""Challenge → signed session, and resolving bearer tokens to principals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db.ports import UnitsOfWork
from server.auth.store import AuthStore, StreamRevoker
from server.domain import failures, refusals, signing
from server.domain.agents import AgentState
from server.domain.clock import Clock, utc_now
from server.domain.principal import Principal
from server.domain.validation import raise_if, signature_violations


@dataclass(frozen=True, slots=True)
class IssuedChallenge:
    challenge_id: str
    nonce: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    agent_id: str
    expires_at: datetime


class AuthService:
    def __init__(
        self,
        uow: UnitsOfWork,
        store: AuthStore,
        *,
        challenge_ttl_s: int,
        session_ttl_s: int,
        streams: StreamRevoker | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._store = store
        self._streams = streams
        self._challenge_ttl_s = challenge_ttl_s
        self._session_ttl_s = session_ttl_s

    async def create_challenge(self, agent_id: str) -> IssuedChallenge:
        async with self._uow() as uow:
            agent = await uow.agents.get(agent_id)
            if agent is None or agent.state is AgentState.TAKEN_DOWN:
                raise failures.agent_not_found(agent_id)
            if agent.state is not AgentState.ACTIVE:
                raise refusals.agent_suspended(agent_id)
        challenge_id, nonce = await self._store.put_challenge(agent_id, self._challenge_ttl_s)
        expires_at = self._clock() + timedelta(seconds=self._challenge_ttl_s)
        return IssuedChallenge(challenge_id, nonce, expires_at)

    async def create_session(self, challenge_id: str, signature: bytes) -> IssuedSession:
        raise_if(signature_violations("signature", signature))
        challenge = await self._store.take_challenge(challenge_id) if challenge_id else None
        if challenge is None:
            raise refusals.challenge_invalid()
        async with self._uow() as uow:
            agent = await uow.agents.get(challenge.agent_id)
        message = signing.session_message(challenge.nonce)
        if agent is not None and agent.state is not AgentState.ACTIVE:
            raise refusals.agent_suspended(agent.agent_id)
        if agent is None or not signing.verify(agent.public_key, signature, message):
            raise failures.session_signature_invalid()
        token = await self._store.put_session(
            agent.agent_id, agent.key_version, self._session_ttl_s, verified=agent.verified
        )
        expires_at = self._clock() + timedelta(seconds=self._session_ttl_s)
        return IssuedSession(token, agent.agent_id, expires_at)

    async def authenticate(self, token: str) -> Principal:
        session = await self._store.get_session(token)
        if session is None:
            raise refusals.session_invalid()
        return Principal(agent_id=session.agent_id, verified=session.verified)

    async def end_session(self, token: str | None) -> None:
        if not token:
            raise refusals.session_required()
        ended = await self._store.delete_session(token)
        if ended is not None and self._streams is not None:  # its live stream ends now
            await self._streams.revoke(*ended)
