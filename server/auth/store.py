"""Challenges and sessions in Redis: short-lived, so they never touch Postgres.

Sessions are keyed by a hash of the token (a leaked Redis dump holds no usable
token). Each agent has a session epoch: its key version, -1 while it is deleted,
suspended or taken down, and `<key version>:<random>` once an operator reinstates
it. A session records the epoch it was minted under and lives only while that is
still the agent's epoch, so rotating a key, deleting, suspending or reinstating
an agent ends all its sessions with one write. (Were reinstatement to restore the
plain key version, sessions minted before the suspension would work again.)

Calls whose work is itself a Redis script (a unary heartbeat, a heartbeat stream
opening) check their session inside that script instead of before it: admit.lua
(server/hot/lua/) is the same check, in front of the work, so the call costs one round
trip.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from server.hot import scripts
from server.hot.ticket import AdmitCheck

_CHALLENGE = "auth:challenge:{}"
_SESSION = "auth:session:{}"
EPOCH_KEY = "auth:epoch:{}"
DELETED_EPOCH = -1


@dataclass(frozen=True, slots=True)
class StoredChallenge:
    agent_id: str
    nonce: bytes


@dataclass(frozen=True, slots=True)
class StoredSession:
    agent_id: str
    key_version: int
    verified: bool


# Copied per token: a new hash object fetches its algorithm from OpenSSL's providers again
# each time; a copy skips that.
_SHA256 = hashlib.sha256()


def _token_key(token: str) -> str:
    digest = _SHA256.copy()
    digest.update(token.encode())
    return _SESSION.format(digest.hexdigest())


# How a heartbeat stream remembers the credential it was opened with, so that revoking
# that credential names it (server/presence/streams.py): a session by its key's digest
# (never the token), an API key by its id. ANY_SESSION names every session-opened stream.
SESSION_CREDENTIAL = "session:"
ANY_SESSION = SESSION_CREDENTIAL + "*"


class StreamRevoker(Protocol):
    """Live heartbeat streams (server/presence), ended when their credential is revoked."""

    async def revoke(self, agent_id: str, credential: str) -> None: ...


def session_credential(session_key: str) -> str:
    return SESSION_CREDENTIAL + session_key.rsplit(":", 1)[-1]


def api_key_credential(key_id: str) -> str:
    return f"key:{key_id}"


def admit_check(token: str, counter: Sequence[str | int] | None) -> AdmitCheck:
    """The check of `token`; `counter` is (prefix, suffix, budget, verified suffix,
    verified budget, window s) of the caller's budget, None when calls are not counted."""
    counted = tuple(counter) if counter is not None else ("", "", 0, "", 0, 0)
    return AdmitCheck(_token_key(token), (EPOCH_KEY.format(""), *counted))


def _session(data: dict[str, object]) -> StoredSession:
    assert isinstance(data["agent_id"], str) and isinstance(data["key_version"], int)
    return StoredSession(
        agent_id=data["agent_id"],
        key_version=data["key_version"],
        verified=bool(data.get("verified", False)),
    )


class AuthStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._read_session = redis.register_script(scripts.text("read_session"))
        self._put_session = redis.register_script(scripts.text("put_session"))

    async def put_challenge(self, agent_id: str, ttl_s: int) -> tuple[str, bytes]:
        challenge_id = secrets.token_urlsafe(18)
        nonce = secrets.token_bytes(32)
        value = json.dumps({"agent_id": agent_id, "nonce": nonce.hex()})
        await self._redis.set(_CHALLENGE.format(challenge_id), value, ex=ttl_s)
        return challenge_id, nonce

    async def take_challenge(self, challenge_id: str) -> StoredChallenge | None:
        """GETDEL makes a challenge single-use even under concurrent attempts."""
        raw = await self._redis.getdel(_CHALLENGE.format(challenge_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return StoredChallenge(agent_id=data["agent_id"], nonce=bytes.fromhex(data["nonce"]))

    async def put_session(
        self, agent_id: str, key_version: int, ttl_s: int, *, verified: bool = False
    ) -> str:
        token = secrets.token_urlsafe(32)
        value = json.dumps({"agent_id": agent_id, "key_version": key_version, "verified": verified})
        await self._put_session(
            keys=[_token_key(token), EPOCH_KEY.format(agent_id)], args=[value, key_version, ttl_s]
        )
        return token

    async def get_session(self, token: str) -> StoredSession | None:
        check = admit_check(token, None)
        raw = await self._read_session(keys=[check.session_key], args=list(check.args))
        return None if not raw else _session(json.loads(raw))

    async def delete_session(self, token: str) -> tuple[str, str] | None:
        """Ends the session; (its agent, its credential id) if it was alive."""
        key = _token_key(token)
        raw = await self._redis.getdel(key)
        if raw is None:
            return None
        agent_id = json.loads(raw).get("agent_id")
        return (agent_id, session_credential(key)) if isinstance(agent_id, str) else None

    async def set_epoch(self, agent_id: str, epoch: int) -> None:
        """Called after a key rotation, delete or suspension commits: older sessions stop
        working."""
        await self._redis.set(EPOCH_KEY.format(agent_id), epoch)

    async def renew_epoch(self, agent_id: str, key_version: int) -> None:
        """After a reinstatement commits: new sessions work, none minted before do."""
        await self._redis.set(EPOCH_KEY.format(agent_id), f"{key_version}:{secrets.token_hex(8)}")
