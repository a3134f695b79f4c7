"""Challenges and sessions in Redis: short-lived, so they never touch Postgres.

Sessions are keyed by a hash of the token (a leaked Redis dump holds no usable
token). Each agent has a session epoch: its key version, -1 while it is deleted,
suspended or taken down, and `<key version>:<random>` once an operator reinstates
it. A session records the epoch it was minted under and lives only while that is
still the agent's epoch, so rotating a key, deleting, suspending or reinstating
an agent ends all its sessions with one write. (Were reinstatement to restore the
plain key version, sessions minted before the suspension would work again.)
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

_CHALLENGE = "auth:challenge:{}"
_SESSION = "auth:session:{}"
EPOCH_KEY = "auth:epoch:{}"
DELETED_EPOCH = -1

# Mint a session under the agent's current epoch (set to its key version if it has none).
_PUT_SESSION = """
redis.call('SET', KEYS[2], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[2])
local session = cjson.decode(ARGV[1])
session['epoch'] = epoch
redis.call('SET', KEYS[1], cjson.encode(session), 'EX', ARGV[3])
"""

# Session and its agent's epoch in one round trip: every authenticated call (and every
# heartbeat stream opening) pays it. The epoch key is derived inside the script, so this
# assumes one Redis (not a cluster), like the rest of the registry.
_READ_SESSION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local agent = cjson.decode(raw)['agent_id']
return {raw, redis.call('GET', ARGV[1] .. agent)}
"""


@dataclass(frozen=True, slots=True)
class StoredChallenge:
    agent_id: str
    nonce: bytes


@dataclass(frozen=True, slots=True)
class StoredSession:
    agent_id: str
    key_version: int
    verified: bool


def _token_key(token: str) -> str:
    return _SESSION.format(hashlib.sha256(token.encode()).hexdigest())


class AuthStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._read_session = redis.register_script(_READ_SESSION)
        self._put_session = redis.register_script(_PUT_SESSION)

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
        found = await self._read_session(keys=[_token_key(token)], args=[EPOCH_KEY.format("")])
        if not found:
            return None
        raw = found[0]
        epoch = found[1] if len(found) > 1 else None  # a nil epoch truncates the Lua table
        data = json.loads(raw)
        if epoch is None:
            return None
        current = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        minted = str(data.get("epoch", data["key_version"]))  # older sessions: no epoch kept
        if current != minted or current.partition(":")[0] != str(data["key_version"]):
            return None
        return StoredSession(
            agent_id=data["agent_id"],
            key_version=data["key_version"],
            verified=bool(data.get("verified", False)),
        )

    async def delete_session(self, token: str) -> None:
        await self._redis.delete(_token_key(token))

    async def set_epoch(self, agent_id: str, epoch: int) -> None:
        """Called after a key rotation, delete or suspension commits: older sessions stop
        working."""
        await self._redis.set(EPOCH_KEY.format(agent_id), epoch)

    async def renew_epoch(self, agent_id: str, key_version: int) -> None:
        """After a reinstatement commits: new sessions work, none minted before do."""
        await self._redis.set(EPOCH_KEY.format(agent_id), f"{key_version}:{secrets.token_hex(8)}")
