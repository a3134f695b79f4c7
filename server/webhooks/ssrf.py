"""SSRF guard: URLs the registry fetches (webhooks, agent cards, domain proofs) must point at
public addresses.

A URL is checked when it is written (create/update) and again before every
delivery, against the addresses its host resolves to *then*; the delivery then
connects to exactly the address that passed (see sender.py), so a DNS answer
that changes between check and connect (rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import httpx

from server.webhooks.body import ACCEPT_ENCODING, BodyRefused, read_limited

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048

# Cloud metadata endpoints; most are link-local or private already, listed so the
# intent survives any change in how the ipaddress module classifies them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


# IPv6 forms that carry an IPv4 address a packet may end up at: NAT64 (well-known and
# local-use prefixes); 6to4 (2002::/16) and Teredo (2001::/32) are read by `ipaddress`.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address embeds (mapped, compatible, 6to4, NAT64, Teredo)."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo  # (server, client): both are reached through it
    if any(address in network for network in _NAT64):
        return (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF),)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return (ipaddress.IPv4Address(int(address)),)
    return ()


class RefusedUrl(Exception):
    """The URL is malformed or reaches a refused address; `str()` says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect, and the host name to present (Host, SNI)."""

    url: SplitResult
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    def pinned_url(self) -> httpx.URL:
        """The URL with the checked address as its host: connect there and nowhere else."""
        return httpx.URL(self.url.geturl()).copy_with(host=str(self.addresses[0]))

    def host_header(self) -> str:
        """The original host, for `Host` (with https, SNI carries it too)."""
        default = 443 if self.url.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def extensions(self) -> dict[str, str]:
        """httpx request extensions: TLS SNI (and certificate checks) for the original host."""
        return {"sni_hostname": self.host} if self.url.scheme == "https" else {}


def refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why `address` may not be reached, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        else:
            for inner in embedded:
                reason = refusal(inner, allow_loopback=False)
                if reason is not None:
                    return f"an IPv6 address embedding {reason}"
            if address.sixtofour is not None:
                # 6to4 reaches the IPv4 address it embeds, which passed. Judged here, not by
                # ipaddress: Python 3.13 (and later 3.11/3.12 patches) call all of 2002::/16
                # non-global, older ones do not.
                return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "an unspecified, multicast or reserved address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or not address.is_global:
        return "a private address"
    return None


def parse(url: str, allow_loopback: bool) -> SplitResult:
    """Syntax only: absolute https (http only when loopback is allowed), a host, no credentials."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"must be an absolute URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise RefusedUrl("is not a valid URL") from exc
    allowed = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in allowed:
        raise RefusedUrl("must use https")
    if not parts.hostname:
        raise RefusedUrl("must name a host")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("must not carry credentials")
    if parts.fragment:
        raise RefusedUrl("must not have a fragment")
    return parts


async def resolve(url: str, allow_loopback: bool) -> Target:
    """Parse and resolve; refuse if any address the host resolves to is refused."""
    parts = parse(url, allow_loopback)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedUrl(f"host {host!r} does not resolve") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = refusal(address, allow_loopback)
        if reason is not None:
            raise RefusedUrl(f"host {host!r} resolves to {reason}")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise RefusedUrl(f"host {host!r} does not resolve")
    if parts.scheme == "http" and not all(a.is_loopback for a in addresses):
        raise RefusedUrl("must use https")
    return Target(parts, host, port, tuple(addresses))


class FetchFailed(Exception):
    """A checked GET gave no 200 body within its size limit and deadline; `str()` says why."""


async def _get(
    client: httpx.AsyncClient, target: Target, max_bytes: int, headers: dict[str, str]
) -> bytes:
    request = client.build_request(
        "GET",
        target.pinned_url(),
        headers={"host": target.host_header(), "accept-encoding": ACCEPT_ENCODING, **headers},
        extensions=target.extensions(),
    )
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code != 200:
                raise FetchFailed(f"HTTP {response.status_code}")
            return await read_limited(response, max_bytes)
        finally:
            await response.aclose()
    except BodyRefused as exc:
        raise FetchFailed(str(exc)) from exc
    except httpx.TimeoutException as exc:
        raise FetchFailed("timed out") from exc
    except httpx.HTTPError as exc:
        raise FetchFailed(type(exc).__name__) from exc


async def fetch_checked(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_loopback: bool,
    max_bytes: int,
    headers: dict[str, str],
    deadline_s: float,
) -> bytes:
    """Resolve and check `url`, then GET it at the address that passed: no redirects, at
    most `max_bytes` once decoded, and `deadline_s` for the whole of it (httpx's timeouts
    bound each read, so a server dripping a byte at a time would otherwise hold the call),
    since the registry fetches on someone else's say-so. Raises RefusedUrl or FetchFailed."""
    try:
        async with asyncio.timeout(deadline_s):
            target = await resolve(url, allow_loopback)
            return await _get(client, target, max_bytes, headers)
    except TimeoutError as exc:
        raise FetchFailed(f"no complete answer within {deadline_s:g} s") from exc
