"""The client address a limit may trust.

Only the proxies we run append to `x-forwarded-for`, each adding the address it
saw. With N trusted hops, the N-th entry from the right is the client; anything
to its left was written by the client and is ignored, so forging the header
buys nothing. With no trusted hops the header is ignored and the peer is used.
"""

from __future__ import annotations

import ipaddress


def peer_ip(peer: str) -> str:
    """`ipv4:1.2.3.4:5678` / `ipv6:[::1]:5678` / `unix:/path` → the address part."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


def client_ip(peer: str, forwarded_for: str | None, trusted_hops: int) -> str:
    if trusted_hops <= 0 or not forwarded_for:
        return peer_ip(peer)
    hops = [part.strip() for part in forwarded_for.split(",") if part.strip()]
    if len(hops) < trusted_hops:
        return peer_ip(peer)
    candidate = hops[-trusted_hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer_ip(peer)
