"""Background tasks of a server process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# A shutdown step (a task, a connection) that takes longer is logged and left behind,
# rather than holding the rest of the shutdown (pending writes) forever.
STOP_STEP_S = 5.0


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has really ended (its finally blocks ran)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def bounded(what: str, step: Coroutine[Any, Any, None]) -> None:
    try:
        await asyncio.wait_for(step, STOP_STEP_S)
    except TimeoutError:
        log.warning("shutdown: %s did not stop within %.0f s", what, STOP_STEP_S)
