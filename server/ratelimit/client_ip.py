"""The client address a limit may trust.

Only the proxies we run append to `x-forwarded-for`, each adding the address it
saw, and only a call whose peer is one of them (the Envoy in front, by address)
carries a header we wrote: from any other peer the header is the caller's own
and is ignored. With N trusted hops, the N-th entry from the right is the
client; anything to its left was written by the client and is ignored, so
forging the header buys nothing. With no trusted hops the peer is used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def peer_ip(peer: str) -> str:
    """`ipv4:1.2.3.4:5678` / `ipv6:[::1]:5678` / `unix:/path` → the address part."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


def is_trusted(address: str, proxies: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip(
    peer: str, forwarded_for: str | None, trusted_hops: int, proxies: Iterable[Network]
) -> str:
    address = peer_ip(peer)
    if trusted_hops <= 0 or not forwarded_for or not is_trusted(address, proxies):
        return address
    hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
    if len(hops) < trusted_hops:
        return address
    candidate = hops[-trusted_hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return address
