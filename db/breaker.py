"""A process-wide "Postgres is not answering" breaker.

Once an exchange with Postgres times out at the connection level (a liveness ping or a
reply past its bound, a connect past libpq's timeout: not a statement Postgres itself
cancelled), every call would otherwise spend its own timeout on the same silent server,
one after another. Instead, for COOL_DOWN_S every new exchange is refused at once (the
call fails UNAVAILABLE with RetryInfo); after that one exchange at a time is let through
as a probe while the rest are still refused, so nothing queues behind a silent server.
The probe's answer closes the breaker; its silence opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

COOL_DOWN_S = 1.0


class NotAnswering(psycopg.OperationalError):
    """Refused without asking: Postgres did not answer recently and a probe is out."""


class SilentServer(psycopg.OperationalError):
    """Postgres did not answer in time: the breaker opens on it."""


class Breaker:
    def __init__(
        self, cool_down_s: float = COOL_DOWN_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cool_down_s = cool_down_s
        self._clock = clock
        self._opened_at: float | None = None  # None: closed
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def refuse_if_open(self) -> None:
        """For a caller about to wait for a connection: fail at once while open and
        cooling down or probed (the probe itself happens in `exchange`)."""
        if self._opened_at is not None and (
            self._probing or self._clock() - self._opened_at < self._cool_down_s
        ):
            raise NotAnswering("Postgres is not answering; not asked again yet")

    def answered(self) -> None:
        self._opened_at = None
        self._probing = False

    def silent(self) -> None:
        self._opened_at = self._clock()
        self._probing = False

    @contextmanager
    def exchange(self) -> Iterator[None]:
        """Around a connect or a liveness ping: refused while open, except one probe at a
        time once the cool-down is over; its outcome closes or reopens the breaker."""
        self.refuse_if_open()
        probe = self._opened_at is not None
        self._probing = probe
        try:
            yield
        except SilentServer:
            self.silent()
            raise
        except psycopg.errors.ConnectionTimeout:
            self.silent()
            raise
        except BaseException:
            if probe:  # it showed nothing (refused, cancelled): the next caller probes
                self._probing = False
            raise
        self.answered()
