from __future__ import annotations

import ipaddress

import pytest

from server.domain.api_keys import Plan
from server.domain.principal import Principal, Tier
from server.method_policy import of as policy_of
from server.ratelimit.client_ip import client_ip, peer_ip
from server.ratelimit.policy import Budgets, MethodClass


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("/agentregistry.v1.RegistryService/GetAgent", MethodClass.READ),
        ("/agentregistry.v1.RegistryService/ListAgents", MethodClass.READ),
        ("/agentregistry.v1.SearchService/SearchAgents", MethodClass.SEARCH),
        ("/agentregistry.v1.PresenceService/Heartbeat", MethodClass.HEARTBEAT),
        ("/agentregistry.v1.RegistryService/CreateAgent", MethodClass.WRITE),
        ("/grpc.health.v1.Health/Check", None),
    ],
)
def test_method_classes(method: str, expected: MethodClass | None) -> None:
    assert policy_of(method).rate_class == expected


def test_peer_addresses() -> None:
    assert peer_ip("ipv4:10.1.2.3:5555") == "10.1.2.3"
    assert peer_ip("ipv6:[::1]:5555") == "::1"


def test_only_the_trusted_hop_is_believed() -> None:
    peer = "ipv4:10.0.0.5:1234"  # the proxy
    proxies = [ipaddress.ip_network("10.0.0.0/24")]
    assert client_ip(peer, "6.6.6.6", 0, proxies) == "10.0.0.5"  # no hops: header ignored
    assert client_ip(peer, "6.6.6.6, 203.0.113.9", 1, proxies) == "203.0.113.9"  # left: forged
    assert client_ip(peer, "1.1.1.1, 203.0.113.9, 10.0.0.4", 2, proxies) == "203.0.113.9"
    assert client_ip(peer, "203.0.113.9", 2, proxies) == "10.0.0.5"  # fewer hops than trusted
    assert client_ip(peer, "not-an-ip", 1, proxies) == "10.0.0.5"


def test_forwarded_for_from_a_peer_that_is_not_the_proxy_is_ignored() -> None:
    proxies = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("::1")]
    assert client_ip("ipv4:127.0.0.1:999", "203.0.113.9", 1, proxies) == "203.0.113.9"
    assert client_ip("ipv6:[::1]:999", "203.0.113.9", 1, proxies) == "203.0.113.9"
    assert client_ip("ipv4:192.0.2.7:999", "203.0.113.9", 1, proxies) == "192.0.2.7"
    assert client_ip("unix:/tmp/s", "203.0.113.9", 1, proxies) == "unix:/tmp/s"
    assert client_ip("ipv4:127.0.0.1:999", "203.0.113.9", 1, []) == "127.0.0.1"


def test_tiers_rise_with_standing() -> None:
    assert Principal("ag_x").tier == Tier.AGENT
    assert Principal("ag_x", verified=True).tier == Tier.VERIFIED
    assert Principal("ag_x", api_key_id="ak_y", plan=Plan.PRO).tier == Tier.PRO
    budgets = Budgets('{"anonymous.read": "7/second"}')
    assert budgets.item(Tier.ANONYMOUS, MethodClass.READ).amount == 7
    order = [Tier.ANONYMOUS, Tier.AGENT, Tier.VERIFIED, Tier.FREE, Tier.PRO, Tier.ENTERPRISE]
    amounts = [Budgets().item(t, MethodClass.READ).amount for t in order]
    assert amounts == sorted(amounts) and len(set(amounts)) == len(amounts)
