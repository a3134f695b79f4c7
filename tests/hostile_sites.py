"""Hostile HTTP sites on 127.0.0.1 for fetch tests: a body dripping one byte a second (or
its headers a line a second), a gzip bomb, or any body as given; every path answers the same."""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from functools import cache

# The drip stops by itself after this many bytes, should a client never hang up.
DRIP_BYTES = 120
BOMB_INFLATED = 200 * 1024 * 1024


@cache
def gzip_bomb() -> bytes:
    """200 MiB of zeros as gzip (about 200 KiB), made once per test run."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(BOMB_INFLATED // len(block))]
    return b"".join([*parts, compressor.flush()])


def _head(length: int, *extra: str) -> bytes:
    lines = [
        "HTTP/1.1 200 OK",
        "content-type: application/json",
        f"content-length: {length}",
        "connection: close",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextlib.asynccontextmanager
async def hostile_site(kind: str, body: bytes = b"") -> AsyncIterator[str]:
    """kind: "drip" (headers, then a byte a second), "drip-headers" (a header line a
    second), "bomb" (gzip_bomb()), "body" (`body` as is), "gzip" or "deflate" (`body`
    compressed so). Yields the site's base URL."""
    handlers: set[asyncio.Task[object]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            if kind in ("drip", "drip-headers"):
                head = _head(DRIP_BYTES)
                writer.write(head if kind == "drip" else head[: head.index(b"\r\n") + 2])
                for index in range(DRIP_BYTES):
                    await writer.drain()
                    await asyncio.sleep(1.0)  # the hostile cadence itself, not a wait in a test
                    writer.write(b" " if kind == "drip" else b"x-drip: %d\r\n" % index)
            elif kind in ("gzip", "deflate"):
                wbits = 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS
                packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
                packed = packer.compress(body) + packer.flush()
                writer.write(_head(len(packed), f"content-encoding: {kind}") + packed)
            elif kind == "bomb":
                bomb = gzip_bomb()
                writer.write(_head(len(bomb), "content-encoding: gzip") + bomb)
            else:
                writer.write(_head(len(body)) + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up, as it should
        except asyncio.CancelledError:
            pass  # the site is closing under a drip: end quietly, as the asyncio server expects
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in handlers:  # a drip still asleep ends with the site
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()
