"""Reading a fetched body within a byte limit counted on the decoded bytes.

httpx inflates each compressed chunk whole before handing it over, so a 64 KiB chunk of
a gzip bomb becomes tens of megabytes before any running count can stop it. Here the raw
bytes are read and inflated with zlib's `max_length`: no more than the limit plus one
byte is ever produced, whatever the ratio.
"""

from __future__ import annotations

import zlib

import httpx

# What the registry accepts, and so advertises; anything else is refused unread.
ACCEPT_ENCODING = "gzip, deflate"
# zlib window bits: gzip framing, or zlib framing (RFC 9110's "deflate").
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# Framing a compressor may add to a body that does not compress.
_RAW_SLACK = 1024


class BodyRefused(Exception):
    """The body is larger than allowed or cannot be decoded; `str()` says why."""


async def read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it (or the raw stream) passes `max_bytes`."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", *_WBITS):
        raise BodyRefused(f"content-encoding {encoding!r} is not supported")
    decoder = zlib.decompressobj(_WBITS[encoding]) if encoding in _WBITS else None
    body = bytearray()
    raw_bytes = 0
    async for chunk in response.aiter_raw():
        raw_bytes += len(chunk)
        if raw_bytes > max_bytes + _RAW_SLACK:
            raise BodyRefused(f"larger than {max_bytes} bytes")
        if decoder is None:
            body += chunk
        else:
            try:
                # Output stops at the limit plus one: input left over means too large.
                body += decoder.decompress(chunk, max_bytes - len(body) + 1)
            except zlib.error as exc:
                raise BodyRefused(f"not valid {encoding}") from exc
        if len(body) > max_bytes:
            raise BodyRefused(f"larger than {max_bytes} bytes")
        if decoder is not None and decoder.eof:
            break
    if decoder is not None and not decoder.eof:
        raise BodyRefused(f"truncated {encoding}")
    return bytes(body)
