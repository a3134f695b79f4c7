"""The SSRF guard's address classification and URL syntax rules (no network)."""

from __future__ import annotations

import ipaddress

import pytest

from server.webhooks import ssrf
from server.webhooks.retry import backoff_s, retry_window_s


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "fe80::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(address), allow_loopback=False) is not None


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "64:ff9b:1::c0a8:101",  # local-use NAT64 of 192.168.1.1
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible
        "::10.0.0.1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:3fff:fdd2",  # Teredo, server 10.0.0.1
    ],
)
@pytest.mark.parametrize("allow_loopback", [False, True])
def test_ipv6_forms_embedding_refused_ipv4_are_refused(address: str, allow_loopback: bool) -> None:
    """Even where loopback is allowed: these reach the IPv4 address through a relay."""
    assert ssrf.refusal(ipaddress.ip_address(address), allow_loopback) is not None


@pytest.mark.parametrize("address", ["2002:808:808::1", "2606:4700::1111"])
def test_ipv6_forms_embedding_public_ipv4_pass(address: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(address), allow_loopback=False) is None


def test_loopback_only_when_allowed() -> None:
    assert ssrf.refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert ssrf.refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True) is not None
    assert ssrf.refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None


def test_public_addresses_pass() -> None:
    assert ssrf.refusal(ipaddress.ip_address("93.184.216.34"), allow_loopback=False) is None
    assert ssrf.refusal(ipaddress.ip_address("2606:4700::1111"), allow_loopback=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
        "https:///nohost",
        "https://example.com/#frag",
        "https://example.com:99999/",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ssrf.RefusedUrl):
        ssrf.parse(url, allow_loopback=False)


def test_backoff_is_bounded_and_jittered() -> None:
    delays = [backoff_s(n, 10.0, 60.0) for n in range(1, 12) for _ in range(20)]
    assert all(0 <= d <= 60.0 for d in delays) and len(set(delays)) > 1
    assert retry_window_s(4, 10.0, 60.0) == 10 + 20 + 40
