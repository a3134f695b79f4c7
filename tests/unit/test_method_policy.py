"""Each RPC's policy as its proto declares it (protos/agentregistry/v1/policy.proto)."""

from __future__ import annotations

import pytest
from agentregistry.v1 import policy_pb2, registry_service_pb2
from google.protobuf import descriptor_pool

from server import method_policy
from server.calls.cache_headers import NO_STORE, cache_control
from server.method_policy import Generation, MethodPolicy
from server.ratelimit.policy import MethodClass

_REGISTRY = "/agentregistry.v1.RegistryService/"
_LEADERBOARD = "/agentregistry.v1.ReputationService/ListLeaderboard"
LIVE_S = 10  # one heartbeat interval


def test_every_rpc_the_server_serves_declares_a_rate_class() -> None:
    from server.app import SERVICE_NAMES

    pool = descriptor_pool.Default()
    served = {
        f"/{name}/{method.name}"
        for name in SERVICE_NAMES
        for method in pool.FindServiceByName(name).methods
    }
    policies = method_policy.methods()
    assert served == set(policies)
    assert all(p.rate_class is not None for p in policies.values())


def test_an_http_copy_never_outlives_the_servers_own() -> None:
    for policy in method_policy.methods().values():
        if policy.cache_ttl_s:
            assert 0 < policy.public_max_age(LIVE_S) <= policy.cache_ttl_s, policy.method


def test_the_leaderboard_is_kept_by_http_caches_no_longer_than_by_the_server() -> None:
    leaderboard = method_policy.of(_LEADERBOARD)
    assert leaderboard.generations == (Generation.LEADERBOARD,)
    assert cache_control(leaderboard, False, LIVE_S) == f"public, max-age={leaderboard.cache_ttl_s}"


@pytest.mark.parametrize(
    ("method", "anonymous", "credentialed"),
    [
        (_REGISTRY + "GetAgent", f"public, max-age={LIVE_S}", NO_STORE),  # live presence
        (_REGISTRY + "ListCapabilities", "public, max-age=3600", NO_STORE),
        ("/agentregistry.v1.SearchService/SuggestAgents", "public, max-age=60", NO_STORE),
        (_REGISTRY + "CreateAgent", NO_STORE, NO_STORE),
        ("/grpc.health.v1.Health/Check", NO_STORE, NO_STORE),
    ],
)
def test_cache_control_follows_the_declared_policy(
    method: str, anonymous: str, credentialed: str
) -> None:
    policy = method_policy.of(method)
    assert cache_control(policy, False, LIVE_S) == anonymous
    assert cache_control(policy, True, LIVE_S) == credentialed


def test_admission_in_script_is_declared_on_the_hot_calls() -> None:
    assert method_policy.of(_REGISTRY + "GetAgent").count_in_script
    assert method_policy.of("/agentregistry.v1.PresenceService/Heartbeat").session_in_script
    assert not method_policy.of(_REGISTRY + "UpdateAgent").count_in_script
    assert method_policy.of(_REGISTRY + "WatchEvents").rate_class is MethodClass.READ


def test_a_policy_that_lets_http_outlive_the_cache_stops_the_start() -> None:
    too_long = policy_pb2.MethodPolicy(
        rate_class=policy_pb2.RATE_CLASS_READ, cache_ttl_seconds=10, http_max_age_seconds=300
    )
    with pytest.raises(RuntimeError, match="outlives"):
        method_policy.checked("/probe.S/Call", too_long)


def test_a_method_without_a_rate_class_stops_the_start() -> None:
    with pytest.raises(RuntimeError, match="no rate class"):
        method_policy.checked("/probe.S/Call", policy_pb2.MethodPolicy())


def test_no_policy_means_never_limited_nor_cached() -> None:
    assert method_policy.of("/grpc.health.v1.Health/Check") == method_policy.NO_POLICY
    assert MethodPolicy("", None).public_max_age(LIVE_S) == 0
    assert registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"]
