"""A real local HTTP receiver for webhook and domain-proof tests and the bench (127.0.0.1 only).

Records every request (headers, raw body, arrival time) and answers with
scripted statuses per path (200 once a path's script runs out), with the body
served for that path if one is set.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    _scripts: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    bodies: dict[str, bytes] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    port: int = 0
    # Seconds to wait before answering: keeps deliveries in flight (crash tests).
    delay_s: float = 0.0

    def script(self, path: str, *statuses: int) -> None:
        self._scripts[path].extend(statuses)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(path, headers, body, time.time()))
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                script = self._scripts.get(path)
                status = script.popleft() if script else 200
                served = self.bodies.get(path, b"")
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-length: {len(served)}\r\n\r\n".encode()
                    + served
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # The loop is ending with this keep-alive connection idle: finish quietly rather
            # than leave a cancelled handler for asyncio to report after the results.
            pass
        finally:
            writer.close()
