"""Each RPC's serving policy, as its proto declares it (protos/agentregistry/v1/policy.proto):
read from the descriptors once, at import, so nothing keeps a table of method names.

Every RPC of the registry's services must declare a rate class: one that does not stops
the server at start (this module fails to import), so a new RPC cannot go unlimited by omission.
Methods of other services (health, reflection) have no policy: never limited or cached.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from agentregistry.v1 import (
    admin_service_pb2,
    agent_card_service_pb2,
    attestation_service_pb2,
    auth_service_pb2,
    domain_service_pb2,
    policy_pb2,
    presence_service_pb2,
    registry_service_pb2,
    search_service_pb2,
    webhook_service_pb2,
)
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor

from server.ratelimit.policy import MethodClass

_FILES: tuple[FileDescriptor, ...] = (
    admin_service_pb2.DESCRIPTOR,
    agent_card_service_pb2.DESCRIPTOR,
    attestation_service_pb2.DESCRIPTOR,
    auth_service_pb2.DESCRIPTOR,
    domain_service_pb2.DESCRIPTOR,
    presence_service_pb2.DESCRIPTOR,
    registry_service_pb2.DESCRIPTOR,
    search_service_pb2.DESCRIPTOR,
    webhook_service_pb2.DESCRIPTOR,
)

_RATE_CLASSES = {
    policy_pb2.RATE_CLASS_READ: MethodClass.READ,
    policy_pb2.RATE_CLASS_SEARCH: MethodClass.SEARCH,
    policy_pb2.RATE_CLASS_WRITE: MethodClass.WRITE,
    policy_pb2.RATE_CLASS_HEARTBEAT: MethodClass.HEARTBEAT,
}


class Generation(enum.Enum):
    """What retires a cached answer (server/cache/keys.py names each one's Redis key)."""

    AGENT = policy_pb2.CACHE_GENERATION_AGENT
    AGENTS = policy_pb2.CACHE_GENERATION_AGENTS
    AGENTS_STATUS = policy_pb2.CACHE_GENERATION_AGENTS_STATUS
    CAPABILITIES = policy_pb2.CACHE_GENERATION_CAPABILITIES
    REPUTATION = policy_pb2.CACHE_GENERATION_REPUTATION
    LEADERBOARD = policy_pb2.CACHE_GENERATION_LEADERBOARD


@dataclass(frozen=True, slots=True)
class MethodPolicy:
    method: str  # "/pkg.Service/Method"
    rate_class: MethodClass | None  # None: never limited
    session_in_script: bool = False
    count_in_script: bool = False
    cache_ttl_s: int = 0  # 0: the server caches no answer
    generations: tuple[Generation, ...] = ()
    http_max_age_s: int = 0  # 0: not cacheable over HTTP
    presence_merge: bool = False

    def public_max_age(self, live_max_age_s: int) -> int:
        """Seconds an HTTP cache may keep an anonymous call's answer (0: not at all): never
        longer than the server keeps its own copy, nor than one heartbeat interval when
        the answer shows live presence."""
        max_age = self.http_max_age_s
        if self.presence_merge:
            max_age = min(max_age, live_max_age_s)
        return max_age


NO_POLICY = MethodPolicy("", None)


def _declared(method: MethodDescriptor) -> MethodPolicy:
    options = method.GetOptions().Extensions
    declared: policy_pb2.MethodPolicy = options[policy_pb2.policy]  # type: ignore[index]
    return checked(f"/{method.containing_service.full_name}/{method.name}", declared)


def checked(name: str, declared: policy_pb2.MethodPolicy) -> MethodPolicy:
    """The policy `name` declares; raises for one the server cannot serve by."""
    rate_class = _RATE_CLASSES.get(declared.rate_class)
    if rate_class is None:
        raise RuntimeError(f"{name} declares no rate class (agentregistry.v1.policy)")
    ttl = declared.cache_ttl_seconds
    http = declared.http_max_age_seconds or ttl
    if ttl and http > ttl:
        raise RuntimeError(f"{name}: an HTTP max-age of {http} s outlives its {ttl} s cache")
    return MethodPolicy(
        method=name,
        rate_class=rate_class,
        session_in_script=declared.admission == policy_pb2.ADMISSION_SESSION_IN_SCRIPT,
        count_in_script=declared.admission == policy_pb2.ADMISSION_COUNT_IN_SCRIPT,
        cache_ttl_s=ttl,
        generations=tuple(Generation(g) for g in declared.cache_generations),
        http_max_age_s=http,
        presence_merge=declared.presence_merge,
    )


def _read(files: Iterable[FileDescriptor]) -> dict[str, MethodPolicy]:
    found = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                policy = _declared(method)
                found[policy.method] = policy
    return found


_BY_METHOD = _read(_FILES)


def of(method: str) -> MethodPolicy:
    """The policy of a full method name; NO_POLICY for methods of other services."""
    return _BY_METHOD.get(method, NO_POLICY)


def methods() -> dict[str, MethodPolicy]:
    return dict(_BY_METHOD)
